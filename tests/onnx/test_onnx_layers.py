"""gorgon_layers models export with a dynamic batch axis: onnxruntime runs them at any
batch size with the model's own outputs, and they import back to the same values."""

import numpy as np
import onnx
import pytest

import gorgon as G
import gorgon_onnx

nn = pytest.importorskip("gorgon_layers")
ort = pytest.importorskip("onnxruntime")


def models():
    return {
        "cnn": (nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Dropout(0.2), nn.Flatten(), nn.Linear(64, 10)), (1, 8, 8)),
        "mlp": (nn.Sequential(nn.Linear(6, 8), nn.GELU(), nn.LayerNorm(8), nn.Linear(8, 3), nn.Softmax()),
                (6,)),
        "groupnorm": (nn.Sequential(nn.Conv2d(2, 4, 3), nn.GroupNorm(2, 4), nn.SiLU(), nn.GlobalAvgPool2d(),
                                    nn.Flatten(), nn.Linear(4, 2)), (2, 6, 6)),
        "lstm": (nn.LSTM(4, 5, batch_first=True), (7, 4)),
        "gru": (nn.GRU(4, 5, batch_first=True), (7, 4)),
    }


def reference(model, x):
    """The model's output for x, built in an evaluation-mode graph."""
    model.eval()
    g = G.Graph()
    result = model(G.tensor(g, x.dtype, x.shape, value=x))
    while isinstance(result, (tuple, list)):
        result = result[0]
    machine = G.TapeMachine(g)
    machine.run_all()
    return np.array(result.value)


@pytest.mark.parametrize("name", sorted(models()))
def test_a_layers_model_runs_in_onnxruntime_at_any_batch_size(tmp_path, name):
    model, shape = models()[name]
    model.train()
    exported = gorgon_onnx.export(model, tmp_path / "m.onnx", input_shape=shape)
    assert model.training, "export leaves the model's mode as it was"
    onnx.checker.check_model(onnx.load(tmp_path / "m.onnx"), full_check=True)
    assert exported.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert exported.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    for n in (1, 5, 9):
        x = np.random.default_rng(n).standard_normal((n, *shape)).astype(np.float32)
        (got,) = session.run(None, {"input": x})
        np.testing.assert_allclose(got, reference(model, x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["cnn", "lstm"])
def test_a_layers_model_imports_back_at_a_chosen_batch_size(tmp_path, name):
    model, shape = models()[name]
    gorgon_onnx.export(model, tmp_path / "m.onnx", input_shape=shape)
    back = gorgon_onnx.load(tmp_path / "m.onnx", shapes={"input": (4, *shape)})
    x = np.random.default_rng(0).standard_normal((4, *shape)).astype(np.float32)
    (out,) = back.outputs
    np.testing.assert_allclose(back.run({"input": x})[out], reference(model, x), rtol=1e-5, atol=1e-6)
    assert set(back.parameters) == {k for k, _ in model.named_parameters()}


def test_export_needs_a_model_and_its_input_shape(tmp_path):
    model, _ = models()["mlp"]
    with pytest.raises(G.ArgumentValueError, match="needs input_shape="):
        gorgon_onnx.export(model, tmp_path / "m.onnx")
    with pytest.raises(G.ArgumentTypeError, match="expected gorgon nodes or a gorgon_layers model"):
        gorgon_onnx.export({"not": "a model"}, tmp_path / "m.onnx", input_shape=(3,))


class AddsBatchConstant(nn.Module):
    """Adds a constant as large as the batch: ones, or (varying=True) a count."""

    def __init__(self, varying=False):
        super().__init__()
        self.varying = varying

    def forward(self, x):
        value = np.arange(x.size).reshape(x.shape) if self.varying else np.ones(x.shape)
        return x + G.constant(value.astype(x.dtype), x.graph)


def test_a_constant_as_large_as_the_batch_follows_the_batch(tmp_path):
    gorgon_onnx.export(AddsBatchConstant(), tmp_path / "m.onnx", input_shape=(3,))
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    x = np.zeros((6, 3), np.float32)
    np.testing.assert_array_equal(session.run(None, {"input": x})[0], x + 1)


def test_a_constant_that_varies_along_the_batch_cannot_be_exported(tmp_path):
    with pytest.raises(gorgon_onnx.UnsupportedError, match="varies along its batch-sized axes \\(0,\\)"):
        gorgon_onnx.export(AddsBatchConstant(varying=True), tmp_path / "m.onnx", input_shape=(3,))
