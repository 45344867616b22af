"""The ResNet-style model of the ONNX tests (stem, two residual stages with batch norm,
global pooling, a linear head), exported by torch.onnx.export for a batch of 16
3x32x32 images: importing it, then its forward pass on gorgon's TapeMachine, in
onnxruntime and in PyTorch, on the same inputs. Skipped without torch."""

import warnings

import numpy as np
import pytest

import gorgon as G

gorgon_onnx = pytest.importorskip("gorgon_onnx")
BATCH, SHAPE = 16, (3, 32, 32)
THREADS = 2


def resnet(torch):
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self, channels, stride=1):
            super().__init__()
            self.conv1 = nn.Conv2d(channels // stride, channels, 3, stride=stride, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(channels)
            self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(channels)
            self.skip = (nn.Sequential(nn.Conv2d(channels // stride, channels, 1, stride=stride, bias=False),
                                       nn.BatchNorm2d(channels)) if stride > 1 else nn.Identity())

        def forward(self, x):
            y = torch.relu(self.bn1(self.conv1(x)))
            return torch.relu(self.bn2(self.conv2(y)) + self.skip(x))

    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
                         Block(16), Block(32, stride=2), Block(64, stride=2), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(64, 10)).eval()


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    torch = pytest.importorskip("torch")
    model = resnet(torch)
    x = np.random.default_rng(0).standard_normal((BATCH, *SHAPE)).astype(np.float32)
    path = tmp_path_factory.mktemp("onnx") / "resnet.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.from_numpy(x),), str(path), dynamo=False, opset_version=17,
                          input_names=["x"], output_names=["y"], do_constant_folding=False)
    return model, x, path


def session(path):
    onnxruntime = pytest.importorskip("onnxruntime")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = THREADS
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def test_import_gorgon(benchmark, record, exported):
    record("ONNX ResNet import", "gorgon_onnx.load + TapeMachine compile")
    _, _, path = exported

    def load():
        imported = gorgon_onnx.load(path)
        return G.TapeMachine(imported.graph), imported

    machine, imported = benchmark(load)
    assert imported.outputs["y"].shape == (BATCH, 10)


def test_import_onnxruntime(benchmark, record, exported):
    record("ONNX ResNet import", "onnxruntime InferenceSession")
    _, _, path = exported
    assert benchmark(session, path).get_outputs()[0].name == "y"


def test_forward_gorgon_tape(benchmark, record, exported):
    record("ONNX ResNet forward", "gorgon TapeMachine")
    model, x, path = exported
    imported = gorgon_onnx.load(path)
    G.let(imported.inputs["x"], x)
    machine = G.TapeMachine(imported.graph)
    benchmark(machine.run_all)
    import torch

    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(imported.outputs["y"].value, want, rtol=1e-4, atol=1e-5)


def test_forward_onnxruntime(benchmark, record, exported):
    record("ONNX ResNet forward", "onnxruntime")
    _, x, path = exported
    run = session(path)
    (y,) = benchmark(run.run, None, {"x": x})
    assert y.shape == (BATCH, 10)


def test_forward_torch(benchmark, record, torch, exported):
    record("ONNX ResNet forward", "torch eager")
    model, x, _ = exported
    inputs = torch.from_numpy(x)

    def forward():
        with torch.no_grad():
            return model(inputs)

    assert benchmark(forward).shape == (BATCH, 10)
