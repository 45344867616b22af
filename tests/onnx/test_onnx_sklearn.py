"""A scikit-learn MLPClassifier converted by skl2onnx predicts the same classes (and
probabilities) in gorgon. Skipped without scikit-learn or skl2onnx."""

import warnings

import numpy as np
import pytest

import gorgon_onnx

skl2onnx = pytest.importorskip("skl2onnx")
datasets = pytest.importorskip("sklearn.datasets")
neural_network = pytest.importorskip("sklearn.neural_network")


def test_an_mlp_classifier_predicts_the_same_classes(tmp_path):
    X, y = datasets.load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = neural_network.MLPClassifier(hidden_layer_sizes=(32,), max_iter=60, random_state=0)
        clf.fit(X[:1200], y[:1200])
        model = skl2onnx.to_onnx(clf, X[:1], target_opset={"": 17, "ai.onnx.ml": 3},
                                 options={id(clf): {"zipmap": False}})
    (tmp_path / "mlp.onnx").write_bytes(model.SerializeToString())
    test = X[1200:]
    imported = gorgon_onnx.load(tmp_path / "mlp.onnx", shapes={"X": test.shape})
    out = imported.run({"X": test})
    np.testing.assert_array_equal(out["label"], clf.predict(test))
    np.testing.assert_allclose(out["probabilities"], clf.predict_proba(test), rtol=1e-4, atol=1e-6)
    assert (out["label"] == y[1200:]).mean() > 0.9
