"""examples/onnx_roundtrip.py, small and fast: the exported digits CNN runs in
onnxruntime with gorgon's logits; a PyTorch CNN imports, learns from fine-tuning, and
its re-export agrees with gorgon. Steps needing torch or onnxruntime skip without them."""

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="the digits come with scikit-learn")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
import onnx_roundtrip  # noqa: E402


def test_the_exported_digits_cnn_runs_in_onnxruntime(tmp_path):
    pytest.importorskip("onnxruntime")
    result = onnx_roundtrip.export_digits(tmp_path, epochs=1, limit=10)
    assert result["onnxruntime"] and result["same_predictions"]
    assert result["max_difference"] < 1e-4
    assert result["path"].exists()


def test_a_pytorch_cnn_fine_tunes_in_gorgon_and_exports_again(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("onnxruntime")
    train_x, train_y, test_x, test_y = onnx_roundtrip.digits_cnn.load_digits()
    path = onnx_roundtrip.pytorch_cnn(tmp_path, train_x, train_y)
    result = onnx_roundtrip.fine_tune(path, tmp_path, epochs=1, limit=25)
    assert result["after"] > result["before"] + 0.1
    assert result["onnxruntime_accuracy"] == pytest.approx(result["after"], abs=1e-9)


def test_main_prints_each_step(tmp_path, capsys):
    pytest.importorskip("torch")
    pytest.importorskip("onnxruntime")
    onnx_roundtrip.main(["--epochs", "1", "--limit", "3", "--folder", str(tmp_path)])
    out = capsys.readouterr().out
    assert "same predictions: True" in out and "after fine-tuning in gorgon" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["digits_cnn.onnx", "fine_tuned.onnx", "torch_cnn.onnx"]
    assert np.isfinite(float(out.split("test accuracy ")[1].split("%")[0]))
