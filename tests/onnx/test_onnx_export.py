"""Export: gorgon graphs become ONNX models that pass the full checker, run in
onnxruntime with gorgon's outputs, and import back to the same values."""

import numpy as np
import onnx
import pytest

import gorgon as G
import gorgon_onnx
from gorgon_onnx import UnsupportedError

ort = pytest.importorskip("onnxruntime")
rng = np.random.default_rng(0)


def randn(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def run_ort(path, feeds):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def run_gorgon(outputs):
    machine = G.TapeMachine(outputs[0].graph)
    machine.run_all()
    values = [np.array(o.value) for o in outputs]
    machine.reset()
    return values


def cnn_graph():
    """A small CNN with batch norm, dropout, pooling and a softmax head."""
    g = G.Graph()
    x = G.tensor(g, G.Float32, (4, 1, 8, 8), name="images", value=randn(4, 1, 8, 8))
    w1 = G.tensor(g, G.Float32, (6, 1, 3, 3), name="w1", value=randn(6, 1, 3, 3) * 0.3)
    scale = G.tensor(g, G.Float32, (6,), name="scale", value=1 + 0.1 * randn(6))
    shift = G.tensor(g, G.Float32, (6,), name="shift", value=0.1 * randn(6))
    mean = G.tensor(g, G.Float32, (6,), name="mean", value=0.1 * randn(6))
    var = G.tensor(g, G.Float32, (6,), name="var", value=np.abs(randn(6)) + 0.5)
    w2 = G.tensor(g, G.Float32, (6 * 4 * 4, 5), name="w2", value=randn(96, 5) * 0.1)
    h = G.relu(G.batch_norm(G.conv2d(x, w1, padding=1), scale, shift, mean, var))
    h = G.dropout(G.max_pool2d(h, 2), p=0.3)
    logits = G.matmul(G.flatten(h, start_axis=1), w2)
    return x, G.softmax(logits), G.log_softmax(logits)


def test_a_cnn_runs_in_onnxruntime_with_gorgons_outputs(tmp_path):
    x, probabilities, log_probabilities = cnn_graph()
    x.graph.eval()
    want = run_gorgon([probabilities, log_probabilities])
    x.graph.train()
    model = gorgon_onnx.export([probabilities, log_probabilities], tmp_path / "cnn.onnx", inputs=[x])
    onnx.checker.check_model(onnx.load(tmp_path / "cnn.onnx"), full_check=True)
    assert [i.name for i in model.graph.input] == ["images"]
    assert x.graph.training, "export leaves the graph's mode as it was"
    got = run_ort(tmp_path / "cnn.onnx", {"images": x.value})
    for g_value, o_value in zip(want, got):
        np.testing.assert_allclose(o_value, g_value, rtol=1e-5, atol=1e-6)


def test_gorgon_to_onnx_to_gorgon_gives_the_same_values(tmp_path):
    x, probabilities, _ = cnn_graph()
    x.graph.eval()
    (want,) = run_gorgon([probabilities])
    gorgon_onnx.export(probabilities, tmp_path / "cnn.onnx", inputs=[x])
    back = gorgon_onnx.load(tmp_path / "cnn.onnx")
    assert set(back.parameters) == {"w1", "scale", "shift", "w2"} and set(back.buffers) == {"mean", "var"}
    (name,) = back.outputs
    for machine in ("tape", "lisp"):
        np.testing.assert_allclose(back.run({"images": x.value}, machine)[name], want, rtol=1e-6, atol=1e-7)


def test_unbound_inputs_become_graph_inputs_by_default(tmp_path):
    g = G.Graph()
    a = G.tensor(g, G.Float32, (3, 4), name="a")
    b = G.tensor(g, G.Float32, (4,), name="b", value=randn(4))
    y = G.tanh(a * b)[1:, ::2] + G.sum(a, axis=1, keepdims=True)[1:]
    model = gorgon_onnx.export(y, tmp_path / "m.onnx")
    assert [i.name for i in model.graph.input] == ["a"]
    assert [t.name for t in model.graph.initializer if t.name == "b"] == ["b"]
    value = randn(3, 4)
    G.let(a, value)
    (want,) = run_gorgon([y])
    np.testing.assert_allclose(run_ort(tmp_path / "m.onnx", {"a": value})[0], want, rtol=1e-6)


def test_an_input_without_a_value_outside_inputs_is_refused(tmp_path):
    g = G.Graph()
    a = G.tensor(g, G.Float32, (3,), name="a")
    b = G.tensor(g, G.Float32, (3,), name="b")
    with pytest.raises(G.BindError, match="'b' have no value"):
        gorgon_onnx.export(a + b, tmp_path / "m.onnx", inputs=[a])


@pytest.mark.parametrize("opset", [13, 16, 17, 18, 20, 21])
def test_every_supported_opset_exports_a_checked_model(tmp_path, opset):
    g = G.Graph()
    x = G.tensor(g, G.Float32, (2, 3, 4), name="x", value=randn(2, 3, 4))
    scale = G.tensor(g, G.Float32, (4,), name="scale", value=1 + randn(4) * 0.1)
    shift = G.tensor(g, G.Float32, (4,), name="shift", value=randn(4) * 0.1)
    y = G.gelu(G.layer_norm(x, scale, shift)) + G.gelu(x, approximate="tanh")
    z = G.mean(y, axis=(0, 2)) + G.max(y, axis=(0, 2))
    (want,) = run_gorgon([z])
    model = gorgon_onnx.export(z, tmp_path / "m.onnx", inputs=[x], opset=opset)
    assert model.opset_import[0].version == opset
    np.testing.assert_allclose(run_ort(tmp_path / "m.onnx", {"x": x.value})[0], want, rtol=1e-5, atol=1e-6)


def test_opsets_outside_13_to_21_are_refused(tmp_path):
    g = G.Graph()
    x = G.tensor(g, G.Float32, (2,), name="x")
    with pytest.raises(G.ArgumentValueError, match="opset 12 is not supported"):
        gorgon_onnx.export(G.exp(x), tmp_path / "m.onnx", opset=12)


def test_parameters_onnx_cannot_express_are_refused_naming_the_node(tmp_path):
    g = G.Graph()
    x = G.tensor(g, G.Float32, (1, 1, 5, 5), name="x")
    y = G.avg_pool2d(x, 2, stride=1, dilation=2)
    with pytest.raises(UnsupportedError, match=r"avg_pool2d.*opset 17: AveragePool takes dilations"):
        gorgon_onnx.export(y, tmp_path / "m.onnx")
    gorgon_onnx.export(y, tmp_path / "m.onnx", opset=19)


def test_a_failed_export_leaves_the_old_file(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"old")
    g = G.Graph()
    x = G.tensor(g, G.Float32, (1, 1, 5, 5), name="x")
    with pytest.raises(UnsupportedError):
        gorgon_onnx.export(G.avg_pool2d(x, 2, stride=1, dilation=2), path)
    assert path.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]


def test_outputs_that_are_inputs_or_repeated_get_their_own_names(tmp_path):
    g = G.Graph()
    x = G.tensor(g, G.Float32, (3,), name="x")
    y = G.exp(x)
    model = gorgon_onnx.export([y, y, x], tmp_path / "m.onnx", inputs=[x])
    names = [o.name for o in model.graph.output]
    assert len(set(names)) == 3 and names[0] == y.name
    value = randn(3)
    got = run_ort(tmp_path / "m.onnx", {"x": value})
    np.testing.assert_allclose(got[1], np.exp(value), rtol=1e-6)
    np.testing.assert_array_equal(got[2], value)


def test_export_refuses_what_is_not_a_node(tmp_path):
    with pytest.raises(G.ArgumentTypeError, match="outputs must be gorgon nodes"):
        gorgon_onnx.export([1.0], tmp_path / "m.onnx")
    g = G.Graph()
    x = G.tensor(g, G.Float32, (3,), name="x")
    with pytest.raises(G.ArgumentValueError, match="input_shape= is for gorgon_layers models"):
        gorgon_onnx.export(x * 2.0, tmp_path / "m.onnx", input_shape=(3,))


@pytest.mark.parametrize("reverse", [False, True])
def test_a_scan_is_unrolled_with_the_same_outputs_and_final_state(tmp_path, reverse):
    g = G.Graph()
    x = G.tensor(g, G.Float32, (5, 2, 3), name="x")
    h0 = G.tensor(g, G.Float32, (2, 3), name="h0")
    w = G.tensor(g, G.Float32, (3, 3), name="w", value=randn(3, 3) * 0.5)
    result = G.scan(lambda h, xt, w: (G.tanh(h @ w + xt), h * 2.0), sequences=(x,), init=(h0,),
                    non_sequences=(w,), reverse=reverse)
    (final,) = result.final
    outputs = [result.outputs, final]
    gorgon_onnx.export(outputs, tmp_path / "scan.onnx", inputs=[x, h0])
    feeds = {"x": randn(5, 2, 3), "h0": randn(2, 3)}
    G.let(x, feeds["x"])
    G.let(h0, feeds["h0"])
    want = run_gorgon(outputs)
    for got, expected in zip(run_ort(tmp_path / "scan.onnx", feeds), want):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert set(gorgon_onnx.load(tmp_path / "scan.onnx").parameters) == {"w"}
