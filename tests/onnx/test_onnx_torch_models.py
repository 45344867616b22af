"""Models exported by torch.onnx.export, imported into gorgon: outputs equal PyTorch's
(float32, 1e-5 relative) on both machines, and the gradients of a loss with respect to
every imported parameter equal PyTorch's. Skipped without torch."""

import numpy as np
import pytest

import gorgon as G
import gorgon_onnx

torch = pytest.importorskip("torch")
import onnx_zoo  # noqa: E402  (needs torch)

NAMES = sorted(onnx_zoo.MODELS)


def scale(array):
    return float(np.abs(array).max())


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("zoo")
    made = {}
    for name in NAMES:
        model, x = onnx_zoo.make(name)
        made[name] = (model, x, onnx_zoo.export(model, x, folder / f"{name}.onnx"))
    return made


@pytest.mark.parametrize("machine", ["tape", "lisp"])
@pytest.mark.parametrize("name", NAMES)
def test_outputs_equal_pytorch(exported, name, machine):
    model, x, path = exported[name]
    imported = gorgon_onnx.load(path)
    want = model(torch.from_numpy(x)).detach().numpy()
    got = imported.run({"x": x}, machine)["y"]
    assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * scale(want))


@pytest.mark.parametrize("name", NAMES)
def test_parameter_gradients_equal_pytorch(exported, name):
    model, x, path = exported[name]
    weights = np.random.default_rng(1).standard_normal(model(torch.from_numpy(x)).shape).astype(np.float32)
    model.zero_grad()
    (model(torch.from_numpy(x)) * torch.from_numpy(weights)).sum().backward()
    expected = {n: p.grad.numpy() for n, p in model.named_parameters()}

    imported = gorgon_onnx.load(path)
    assert set(imported.parameters) == set(expected)
    cost = G.sum(imported.outputs["y"] * G.constant(weights, imported.graph))
    names = sorted(imported.parameters)
    grads = G.grad(cost, *[imported.parameters[n] for n in names])
    G.let(imported.inputs["x"], x)
    machine = G.TapeMachine(imported.graph)
    machine.run_all()
    for n, grad in zip(names, grads):
        np.testing.assert_allclose(grad.value, expected[n], rtol=1e-4, atol=1e-5 * scale(expected[n]),
                                   err_msg=f"{name}: gradient of {n}")


def test_lisp_machine_backpropagates_an_imported_graph(exported):
    model, x, path = exported["lenet"]
    weights = np.linspace(-1, 1, 20, dtype=np.float32).reshape(2, 10)
    model.zero_grad()
    (model(torch.from_numpy(x)) * torch.from_numpy(weights)).sum().backward()
    imported = gorgon_onnx.load(path)
    G.sum(imported.outputs["y"] * G.constant(weights, imported.graph))
    G.let(imported.inputs["x"], x)
    G.LispMachine(imported.graph).run_all()
    weight = imported.parameters["head.3.weight"]
    np.testing.assert_allclose(weight.grad, model.head[3].weight.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_dynamic_batch_axis_takes_the_given_shape(tmp_path):
    model, x = onnx_zoo.make("mlp")
    path = onnx_zoo.export(model, x, tmp_path / "mlp.onnx", dynamic_batch=True)
    with pytest.raises(gorgon_onnx.OnnxError, match="symbolic dimension 'batch'.*shapes="):
        gorgon_onnx.load(path)
    bigger = np.random.default_rng(3).standard_normal((13, 6)).astype(np.float32)
    imported = gorgon_onnx.load(path, shapes={"x": (13, 6)})
    want = model(torch.from_numpy(bigger)).detach().numpy()
    np.testing.assert_allclose(imported.run({"x": bigger})["y"], want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("opset", [13, 15, 18, 20, 21])
def test_other_opsets_import_too(tmp_path, opset):
    model, x = onnx_zoo.make("resnet")
    path = onnx_zoo.export(model, x, tmp_path / "resnet.onnx", opset=opset)
    want = model(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(gorgon_onnx.load(path).run({"x": x})["y"], want, rtol=1e-5,
                               atol=1e-5 * scale(want))


@pytest.mark.parametrize("name", NAMES)
def test_an_imported_model_exports_again_and_runs_in_onnxruntime(exported, name, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    model, x, path = exported[name]
    imported = gorgon_onnx.load(path)
    again = tmp_path / "again.onnx"
    gorgon_onnx.export(imported.outputs["y"], again, inputs=[imported.inputs["x"]])
    session = ort.InferenceSession(str(again), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"x": x})
    want = model(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * scale(want))
    back = gorgon_onnx.load(again)
    (output,) = back.outputs
    np.testing.assert_allclose(back.run({"x": x})[output], imported.run({"x": x})["y"], rtol=1e-6, atol=1e-7)
