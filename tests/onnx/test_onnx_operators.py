"""Every ONNX operator the importer covers, as one-node models at the opsets it is used
at: gorgon's outputs (both machines) equal onnx's reference evaluator, and G.grad
through the imported graph agrees with central differences (float64)."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

import gorgon as G
import gorgon_onnx

rng = np.random.default_rng(0)


def r(*shape):
    return rng.standard_normal(shape)


def pos(*shape):
    return rng.uniform(0.5, 2.0, shape)


def ints(*values):
    return np.array(values, dtype=np.int64)


class Case:
    """One node `op(*inputs, **attrs)`: inputs are (kind, array) with kind "in" (graph
    input), "init" (initializer) or "" (an omitted optional input)."""

    def __init__(self, label, op, inputs, opset=17, outputs=1, grad=True, **attrs):
        self.label, self.op, self.inputs, self.opset = label, op, inputs, opset
        self.outputs, self.grad, self.attrs = outputs, grad, attrs

    def __repr__(self):
        return self.label


def In(a):  # noqa: N802
    return ("in", np.asarray(a))


def Init(a):  # noqa: N802
    return ("init", np.asarray(a))


NONE = ("", None)
LSTM_W, LSTM_R, LSTM_B = r(2, 12, 4) * 0.5, r(2, 12, 3) * 0.5, r(2, 24) * 0.1
GRU_W, GRU_R, GRU_B = r(1, 9, 4) * 0.5, r(1, 9, 3) * 0.5, r(1, 18) * 0.1

CASES = [
    Case("conv2d groups bias", "Conv", [In(r(2, 4, 5, 5)), Init(r(6, 2, 3, 3)), Init(r(6))], group=2,
         pads=[1, 0, 1, 2], strides=[2, 1]),
    Case("conv2d same_upper dilated", "Conv", [In(r(1, 2, 6, 7)), Init(r(3, 2, 3, 2))], auto_pad="SAME_UPPER",
         dilations=[2, 1]),
    Case("conv1d", "Conv", [In(r(2, 3, 9)), Init(r(4, 3, 3)), Init(r(4))], pads=[1, 1], strides=[2]),
    Case("conv_transpose", "ConvTranspose", [In(r(1, 4, 3, 3)), Init(r(4, 2, 3, 3)), Init(r(2))],
         strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1]),
    Case("gemm", "Gemm", [In(r(3, 4)), Init(r(5, 4)), Init(r(5))], transB=1, alpha=0.5, beta=2.0),
    Case("gemm transA no C", "Gemm", [In(r(4, 3)), Init(r(4, 5))], transA=1),
    Case("matmul batched", "MatMul", [In(r(2, 3, 4)), In(r(4, 5))]),
    Case("add", "Add", [In(r(3, 4)), Init(r(4))]), Case("sub", "Sub", [In(r(3, 1)), In(r(1, 4))]),
    Case("mul", "Mul", [In(r(2, 3)), In(r(2, 3))]), Case("div", "Div", [In(r(2, 3)), In(pos(3))]),
    Case("pow square", "Pow", [In(r(2, 3)), Init(np.array(2.0))]),
    Case("pow tensor", "Pow", [In(pos(2, 3)), In(r(2, 3))]),
    Case("pow root", "Pow", [In(pos(2, 3)), Init(np.array(0.5))]),
    Case("pow cube", "Pow", [In(r(2, 3)), Init(np.array(3.0))]),
    Case("elu", "Elu", [In(r(3, 3))], alpha=0.5), Case("neg", "Neg", [In(r(3))]),
    Case("max of three", "Max", [In(r(2, 3)), In(r(3)), In(r(2, 1))]), Case("sum", "Sum", [In(r(3)), In(r(3))]),
    Case("sqrt", "Sqrt", [In(pos(3, 2))]), Case("exp", "Exp", [In(r(4))]), Case("log", "Log", [In(pos(4))]),
    Case("erf", "Erf", [In(r(3, 3))]), Case("relu", "Relu", [In(r(3, 3))]),
    Case("leaky_relu", "LeakyRelu", [In(r(3, 3))], alpha=0.2), Case("sigmoid", "Sigmoid", [In(r(3))]),
    Case("tanh", "Tanh", [In(r(3))]), Case("gelu", "Gelu", [In(r(5))], opset=20),
    Case("gelu tanh", "Gelu", [In(r(5))], opset=20, approximate="tanh"),
    Case("softmax axis 1", "Softmax", [In(r(2, 3, 4))], axis=1),
    Case("log_softmax", "LogSoftmax", [In(r(2, 5))], opset=13),
    Case("batch_norm", "BatchNormalization", [In(r(2, 3, 4, 4)), Init(pos(3)), Init(r(3)), Init(r(3)),
                                              Init(pos(3))], epsilon=1e-3),
    Case("layer_norm", "LayerNormalization", [In(r(2, 3, 4)), Init(pos(4)), Init(r(4))]),
    Case("layer_norm axis 1 no bias", "LayerNormalization", [In(r(2, 3, 4)), Init(pos(3, 4))], axis=1),
    Case("instance_norm", "InstanceNormalization", [In(r(2, 3, 4, 5)), Init(pos(3)), Init(r(3))]),
    Case("group_norm 18", "GroupNormalization", [In(r(2, 4, 3, 3)), Init(pos(2)), Init(r(2))], opset=18,
         num_groups=2),
    Case("group_norm 21", "GroupNormalization", [In(r(2, 4, 3, 3)), Init(pos(4)), Init(r(4))], opset=21,
         num_groups=2),
    Case("max_pool", "MaxPool", [In(r(2, 3, 6, 6))], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
    Case("max_pool 1d", "MaxPool", [In(r(2, 3, 8))], kernel_shape=[2], strides=[2]),
    Case("avg_pool", "AveragePool", [In(r(1, 2, 5, 5))], kernel_shape=[2, 2], pads=[1, 1, 0, 0]),
    Case("avg_pool with pad", "AveragePool", [In(r(1, 2, 5, 5))], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
         count_include_pad=1),
    Case("global_avg_pool", "GlobalAveragePool", [In(r(2, 3, 4, 5))]),
    Case("flatten axis 2", "Flatten", [In(r(2, 3, 4, 5))], axis=2),
    Case("flatten axis 0", "Flatten", [In(r(2, 3))], axis=0),
    Case("reshape 0 and -1", "Reshape", [In(r(2, 3, 4)), Init(ints(0, -1))]),
    Case("transpose", "Transpose", [In(r(2, 3, 4))], perm=[2, 0, 1]),
    Case("transpose default", "Transpose", [In(r(2, 3))]),
    Case("concat", "Concat", [In(r(2, 3)), In(r(2, 1)), Init(r(2, 2))], axis=-1),
    Case("split sizes", "Split", [In(r(6, 2)), Init(ints(1, 2, 3))], outputs=3),
    Case("split equal", "Split", [In(r(2, 6))], outputs=3, axis=1),
    Case("split num_outputs", "Split", [In(r(7, 2))], outputs=3, opset=18, num_outputs=3),
    Case("slice", "Slice", [In(r(5, 6)), Init(ints(1, -1)), Init(ints(4, 0)), Init(ints(0, 1)),
                            Init(ints(2, -2))]),
    Case("slice to the end", "Slice", [In(r(5, 6)), Init(ints(2)), Init(ints(2**62)), Init(ints(1))]),
    Case("gather vector", "Gather", [In(r(5, 3)), Init(ints(4, -1, 0, 0))]),
    Case("gather scalar axis 1", "Gather", [In(r(2, 5)), Init(np.array(3, np.int64))], axis=1),
    Case("squeeze", "Squeeze", [In(r(1, 3, 1)), Init(ints(0))]),
    Case("squeeze all", "Squeeze", [In(r(1, 3, 1))]),
    Case("unsqueeze", "Unsqueeze", [In(r(3, 4)), Init(ints(0, -1))]),
    Case("reduce_mean 13", "ReduceMean", [In(r(2, 3, 4))], opset=13, axes=[1], keepdims=0),
    Case("reduce_mean 18", "ReduceMean", [In(r(2, 3, 4)), Init(ints(0, 2))], opset=18),
    Case("reduce_sum", "ReduceSum", [In(r(2, 3, 4)), Init(ints(-1))], keepdims=0),
    Case("reduce_sum all", "ReduceSum", [In(r(2, 3))]),
    Case("reduce_max", "ReduceMax", [In(r(2, 3, 4))], axes=[1]),
    Case("argmax", "ArgMax", [In(r(3, 4))], axis=1, keepdims=0, grad=False),
    Case("argmin keepdims", "ArgMin", [In(r(3, 4))], grad=False),
    Case("dropout", "Dropout", [In(r(3, 4)), Init(np.array(0.3, np.float32))]),
    Case("identity", "Identity", [In(r(3))]),
    Case("gather computed indices", "Gather", [In(r(5, 3)), In(np.array([[4, 0], [1, 1]]))], axis=0),
    Case("cast like", "CastLike", [In(r(3) > 0), In(r(2))], grad=False),
    Case("not", "Not", [In(r(3, 2) > 0)], grad=False),
    Case("pad constant", "Pad", [In(r(2, 3)), Init(ints(1, 0, 2, 1)), Init(np.array(1.5))]),
    Case("pad reflect", "Pad", [In(r(2, 4)), Init(ints(0, 2, 0, 3))], mode="reflect"),
    Case("pad edge", "Pad", [In(r(3, 4)), Init(ints(1, 0, 0, 2))], mode="edge"),
    Case("clip", "Clip", [In(r(3, 4)), Init(np.array(-0.5)), Init(np.array(0.7))]),
    Case("clip max only", "Clip", [In(r(3, 4)), NONE, Init(np.array(0.1))]),
    Case("where", "Where", [In(r(3, 4) > 0), In(r(3, 4)), In(r(4))]),
    Case("equal", "Equal", [In(np.array([1, 2, 3])), In(np.array([1, 0, 3]))], grad=False),
    Case("less", "Less", [In(r(3, 4)), In(r(4))], grad=False),
    Case("greater", "Greater", [In(r(3, 4)), In(r(3, 1))], grad=False),
    Case("cast", "Cast", [In(r(3, 4) > 0)], to=TensorProto.FLOAT, grad=False),
    Case("expand", "Expand", [In(r(3, 1)), Init(ints(2, 1, 4))]),
    Case("resize asymmetric", "Resize", [In(r(1, 2, 2, 3)), NONE, Init(np.array([1, 1, 2, 2], np.float32))],
         coordinate_transformation_mode="asymmetric", nearest_mode="floor", mode="nearest"),
    Case("resize half_pixel sizes", "Resize", [In(r(1, 2, 2, 3)), NONE, NONE, Init(ints(1, 2, 6, 3))],
         mode="nearest"),
    Case("einsum matmul", "Einsum", [In(r(2, 3, 4)), In(r(2, 4, 5))], equation="bij,bjk->bik"),
    Case("einsum attention", "Einsum", [In(r(2, 2, 3, 4)), In(r(2, 2, 5, 4))], equation="bhqd,bhkd->bhqk"),
    Case("einsum sums", "Einsum", [In(r(3, 4)), In(r(4))], equation="ij,j->"),
    Case("einsum transpose", "Einsum", [In(r(3, 4))], equation="ij->ji"),
    Case("einsum implicit", "Einsum", [In(r(3, 4)), In(r(4, 2)), In(r(2))], equation="ij,jk,k"),
    Case("lstm bidirectional", "LSTM", [In(r(4, 2, 4)), Init(LSTM_W), Init(LSTM_R), Init(LSTM_B), NONE,
                                        In(r(2, 2, 3)), In(r(2, 2, 3))],
         outputs=3, hidden_size=3, direction="bidirectional"),
    Case("lstm batch first", "LSTM", [In(r(2, 4, 4)), Init(LSTM_W[:1]), Init(LSTM_R[:1])], outputs=2,
         hidden_size=3, layout=1),
    Case("gru", "GRU", [In(r(3, 2, 4)), Init(GRU_W), Init(GRU_R), Init(GRU_B)], outputs=2, hidden_size=3,
         linear_before_reset=1),
    Case("gru reverse", "GRU", [In(r(3, 2, 4)), Init(GRU_W), Init(GRU_R), Init(GRU_B)], outputs=2,
         hidden_size=3, direction="reverse"),
]


def onnx_type(array):
    return helper.np_dtype_to_tensor_dtype(array.dtype)


def build(case, dtype):
    """The case's one-node model in `dtype` (floats), and its graph-input feeds."""
    names, inputs, inits, feeds = [], [], [], {}
    for k, (kind, array) in enumerate(case.inputs):
        if kind == "":
            names.append("")
            continue
        name = f"i{k}"
        names.append(name)
        if array.dtype.kind == "f" and not (case.op == "Resize" and k > 0):  # scales stay float32
            array = array.astype(dtype)
        if kind == "in":
            inputs.append(helper.make_tensor_value_info(name, onnx_type(array), array.shape))
            feeds[name] = array
        else:
            inits.append(numpy_helper.from_array(array, name))
    outs = [f"o{k}" for k in range(case.outputs)]
    attrs = dict(case.attrs)
    if case.op == "Cast":
        attrs["to"] = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    node = helper.make_node(case.op, names, outs, **attrs)
    graph = helper.make_graph([node], "case", inputs, [helper.make_empty_tensor_value_info(o) for o in outs],
                              inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", case.opset)]), feeds


@pytest.mark.parametrize("machine", ["tape", "lisp"])
@pytest.mark.parametrize("case", CASES, ids=repr)
def test_operator_matches_the_reference(tmp_path, case, machine):
    model, feeds = build(case, np.float32)
    want = ReferenceEvaluator(model).run(None, feeds)
    path = tmp_path / "case.onnx"
    path.write_bytes(model.SerializeToString())
    imported = gorgon_onnx.load(path)
    got = imported.run(feeds, machine)
    for k, expected in enumerate(want):
        value = got[f"o{k}"]
        assert value.shape == expected.shape, f"output {k}"
        np.testing.assert_allclose(value, expected, rtol=1e-5, atol=1e-5, err_msg=f"output {k}")


GRADIENT_CASES = [c for c in CASES if c.grad]


@pytest.mark.parametrize("case", GRADIENT_CASES, ids=repr)
def test_grad_through_the_imported_operator_agrees_with_central_differences(tmp_path, case):
    model, feeds = build(case, np.float64)
    path = tmp_path / "case.onnx"
    path.write_bytes(model.SerializeToString())
    imported = gorgon_onnx.load(path)
    g = imported.graph
    wrt = [imported.inputs[n] for n in feeds if feeds[n].dtype.kind == "f"]
    wrt += list(imported.parameters.values())
    weights = [G.constant(np.random.default_rng(k).standard_normal(o.shape), g)
               for k, o in enumerate(imported.outputs.values())]
    cost = sum((G.sum(o * w) for o, w in zip(imported.outputs.values(), weights)), start=G.constant(0.0, g))
    grads = G.grad(cost, *wrt)
    for name, value in feeds.items():
        G.let(imported.inputs[name], value)
    machine = G.TapeMachine(g)
    machine.run_all()
    analytic = [np.array(grad.value) for grad in grads]
    directions = [np.random.default_rng(7).standard_normal(n.shape) for n in wrt]
    originals = [np.array(n.value) for n in wrt]

    def cost_at(step):
        for node, original, direction in zip(wrt, originals, directions):
            node.value[...] = original + step * direction
        machine.run_all()
        return float(cost.value)

    eps = 1e-6
    numeric = (cost_at(eps) - cost_at(-eps)) / (2 * eps)
    cost_at(0.0)
    predicted = sum(float(np.sum(a * d)) for a, d in zip(analytic, directions))
    assert predicted == pytest.approx(numeric, rel=1e-5, abs=1e-6)


def test_negative_pads_crop(tmp_path):
    case = Case("pad negative", "Pad", [In(r(3, 4)), Init(ints(-1, 1, 0, -2))])
    model, feeds = build(case, np.float32)
    path = tmp_path / "case.onnx"
    path.write_bytes(model.SerializeToString())
    (x,) = feeds.values()
    want = np.pad(x[1:, :2], ((0, 0), (1, 0)))
    np.testing.assert_array_equal(gorgon_onnx.load(path).run(feeds)["o0"], want)


def one_node(tmp_path, op, inputs, outputs=1, opset=17, **attrs):
    """A one-node model file reading `inputs` (name -> array): graph inputs, except the
    names starting with "k" (initializers)."""
    values = [helper.make_tensor_value_info(n, onnx_type(a), a.shape) for n, a in inputs.items() if n[0] != "k"]
    inits = [numpy_helper.from_array(a, n) for n, a in inputs.items() if n[0] == "k"]
    node = helper.make_node(op, list(inputs), [f"o{k}" for k in range(outputs)], name="the_node", **attrs)
    graph = helper.make_graph([node], "g", values, [helper.make_empty_tensor_value_info(f"o{k}")
                                                     for k in range(outputs)], inits)
    path = tmp_path / "m.onnx"
    path.write_bytes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]).SerializeToString())
    return path


X4 = {"x": np.zeros((1, 2, 4, 4), np.float32)}
W4 = {"w": np.zeros((2, 2, 3, 3), np.float32)}
SEQ = {"x": np.zeros((3, 1, 2), np.float32), "w": np.zeros((1, 8, 2), np.float32),
       "r": np.zeros((1, 8, 2), np.float32)}
REFUSED = [
    ("Conv", {"x": np.zeros((1, 1, 3, 3, 3), np.float32), "w": np.zeros((1, 1, 2, 2, 2), np.float32)}, 1,
     {}, "3-D windows are not supported"),
    ("ConvTranspose", {**X4, **W4}, 1, {"output_shape": [9, 9]}, "output_shape and auto_pad"),
    ("ConvTranspose", {"x": np.zeros((1, 2, 4), np.float32), "w": np.zeros((2, 2, 3), np.float32)}, 1, {},
     "only 2-D transposed"),
    ("MaxPool", X4, 1, {"kernel_shape": [2, 2], "ceil_mode": 1}, "ceil_mode=1"),
    ("MaxPool", X4, 2, {"kernel_shape": [2, 2]}, "Indices output"),
    ("BatchNormalization", {**X4, **{k: np.ones(2, np.float32) for k in "sbmv"}}, 1, {"training_mode": 1},
     "training_mode=1"),
    ("BatchNormalization", {**X4, **{k: np.ones(2, np.float32) for k in "sbmv"}}, 3, {},
     "running statistics outputs"),
    ("LayerNormalization", {"x": np.zeros((2, 3), np.float32), "s": np.ones(3, np.float32)}, 2, {},
     "Mean and InvStdDev"),
    ("Resize", {"x": X4["x"], "roi": np.zeros(0, np.float32), "s": np.array([1, 1, 2, 2], np.float32)}, 1,
     {"mode": "linear"}, "mode 'linear'"),
    ("Resize", {"x": X4["x"], "kroi": np.zeros(0, np.float32), "ks": np.array([1, 1, 1.5, 2], np.float32)}, 1,
     {}, "only whole spatial factors"),
    ("Resize", {"x": X4["x"], "kroi": np.zeros(0, np.float32), "ks": np.array([1, 1, 3, 3], np.float32)}, 1,
     {"coordinate_transformation_mode": "align_corners"}, "coordinate_transformation_mode 'align_corners'"),
    ("Dropout", {"x": np.zeros(3, np.float32)}, 2, {}, "mask output"),
    ("Pad", {"x": np.zeros(3, np.float32), "p": np.array([1, 1])}, 1, {"mode": "wrap"}, "mode 'wrap'"),
    ("Reshape", {"x": np.zeros(4, np.float32), "shape": np.array([2, 2])}, 1, {},
     "its shape must be known when the model is loaded"),
    ("ArgMax", {"x": np.zeros(4, np.float32)}, 1, {"select_last_index": 1}, "select_last_index=1"),
    ("LSTM", SEQ, 1, {"hidden_size": 2, "clip": 1.0}, "cell clipping"),
    ("LSTM", SEQ, 1, {"hidden_size": 2, "input_forget": 1}, "input_forget=1"),
    ("LSTM", SEQ, 1, {"hidden_size": 2, "activations": ["Relu", "Tanh", "Tanh"]}, "activations"),
    ("GRU", {**SEQ, "w": np.zeros((1, 6, 2), np.float32), "r": np.zeros((1, 6, 2), np.float32), "b": np.zeros(
        (1, 12), np.float32), "lens": np.array([3], np.int32)}, 1, {"hidden_size": 2}, "sequence_lens"),
]


@pytest.mark.parametrize("op, inputs, outputs, attrs, words", REFUSED, ids=[f"{c[0]}-{c[4][:20]}" for c in REFUSED])
def test_what_the_importer_cannot_do_is_refused_naming_the_node(tmp_path, op, inputs, outputs, attrs, words):
    path = one_node(tmp_path, op, inputs, outputs, **attrs)
    with pytest.raises(gorgon_onnx.UnsupportedError, match=f"{op} node 'the_node': .*{words}") as caught:
        gorgon_onnx.load(path)
    assert caught.value.items == [(op, "the_node")]


def test_lstm_peepholes_are_refused(tmp_path):
    model, _ = build(Case("peephole", "LSTM", [In(r(3, 1, 2)), Init(r(1, 8, 2)), Init(r(1, 8, 2)), NONE, NONE,
                                               NONE, NONE, Init(r(1, 6))], hidden_size=2), np.float32)
    (tmp_path / "m.onnx").write_bytes(model.SerializeToString())
    with pytest.raises(gorgon_onnx.UnsupportedError, match="peephole"):
        gorgon_onnx.load(tmp_path / "m.onnx")


def test_run_names_an_unknown_input(tmp_path):
    path = one_node(tmp_path, "Relu", {"x": np.zeros(3, np.float32)})
    with pytest.raises(G.ArgumentValueError, match="no input 'y'; its inputs are \\['x'\\]"):
        gorgon_onnx.load(path).run({"y": np.zeros(3)})
