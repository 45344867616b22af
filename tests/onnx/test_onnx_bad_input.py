"""Hostile and broken ONNX files are refused with an OnnxError naming the problem, and
nothing outside the model's folder is ever opened."""

import os
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import gorgon_onnx
from gorgon_onnx import OnnxError, UnsupportedError

OPENED: list[str] | None = None


def _audit(event, args):
    if event == "open" and OPENED is not None and isinstance(args[0], (str, bytes, os.PathLike)):
        OPENED.append(os.fsdecode(args[0]))


sys.addaudithook(_audit)


def small_model(opset=17, dims=(2, 3), initializer=None, extra_nodes=()):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(dims))
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    weight = initializer if initializer is not None else numpy_helper.from_array(
        np.arange(6, dtype=np.float32).reshape(2, 3), "w")
    nodes = [helper.make_node("Add", ["x", weight.name], ["s"], name="add"),
             helper.make_node("Relu", ["s"], ["y"], name="relu"), *extra_nodes]
    graph = helper.make_graph(nodes, "g", [x], [y], [weight])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def tensor(dims, raw=None, floats=None):
    """A float initializer 'w' built field by field (onnx's helpers refuse bad ones)."""
    proto = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=list(dims))
    if raw is not None:
        proto.raw_data = raw
    if floats is not None:
        proto.float_data.extend(floats)
    return proto


def save(model, path):
    path.write_bytes(model.SerializeToString())
    return path


def test_a_good_small_model_loads(tmp_path):
    loaded = gorgon_onnx.load(save(small_model(), tmp_path / "m.onnx"))
    out = loaded.run({"x": -np.ones((2, 3), np.float32)})["y"]
    np.testing.assert_array_equal(out, np.maximum(np.arange(6, dtype=np.float32).reshape(2, 3) - 1, 0))


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(OnnxError, match="no ONNX model file at .*absent.onnx"):
        gorgon_onnx.load(tmp_path / "absent.onnx")


@pytest.mark.parametrize("content", [b"", b"hello, this is not a model", bytes(range(256)) * 4,
                                     b"\x08\x07\x12\x05gorgon"])
def test_non_onnx_files_are_refused(tmp_path, content):
    path = tmp_path / "m.onnx"
    path.write_bytes(content)
    with pytest.raises(OnnxError, match="not an ONNX model"):
        gorgon_onnx.load(path)


def test_every_truncation_of_a_model_is_refused(tmp_path):
    data = small_model().SerializeToString()
    path = tmp_path / "m.onnx"
    for cut in range(1, len(data), 7):
        path.write_bytes(data[:cut])
        with pytest.raises(OnnxError):
            gorgon_onnx.load(path)


def test_a_cycle_is_refused_naming_its_nodes(tmp_path):
    loop = [helper.make_node("Neg", ["b"], ["a"], name="first"),
            helper.make_node("Neg", ["a"], ["b"], name="second")]
    model = small_model(extra_nodes=loop)
    with pytest.raises(OnnxError, match="cycle through the nodes 'first' \\(Neg\\), 'second' \\(Neg\\)"):
        gorgon_onnx.load(save(model, tmp_path / "m.onnx"))


def test_an_input_nothing_defines_is_refused(tmp_path):
    model = small_model(extra_nodes=[helper.make_node("Neg", ["ghost"], ["z"], name="reader")])
    with pytest.raises(OnnxError, match="node 'reader' \\(Neg\\) reads 'ghost'"):
        gorgon_onnx.load(save(model, tmp_path / "m.onnx"))


def test_a_dimension_of_two_to_the_forty_is_refused(tmp_path):
    with pytest.raises(OnnxError, match="value 'x' has dimension 1099511627776"):
        gorgon_onnx.load(save(small_model(dims=(2, 2**40)), tmp_path / "m.onnx"))
    huge = tensor([2**40], raw=b"")
    with pytest.raises(OnnxError, match="initializer 'w' has dimension 1099511627776"):
        gorgon_onnx.load(save(small_model(initializer=huge), tmp_path / "m.onnx"))


@pytest.mark.parametrize("raw", [True, False])
def test_initializer_data_disagreeing_with_its_shape_is_refused(tmp_path, raw):
    values = np.arange(5, dtype=np.float32)
    short = tensor([2, 3], raw=values.tobytes()) if raw else tensor([2, 3], floats=values)
    with pytest.raises(OnnxError, match="initializer 'w' has shape \\[2, 3\\].*holds (20 bytes|5 values)"):
        gorgon_onnx.load(save(small_model(initializer=short), tmp_path / "m.onnx"))


@pytest.mark.parametrize("opset, words", [(22, "newer than supported"), (11, "older than supported")])
def test_opsets_outside_13_to_21_are_refused(tmp_path, opset, words):
    with pytest.raises(OnnxError, match=f"opset {opset} is {words} \\(opsets 13 to 21\\)"):
        gorgon_onnx.load(save(small_model(opset=opset), tmp_path / "m.onnx"))


def test_unsupported_operators_are_listed_all_at_once(tmp_path):
    odd = [helper.make_node("Hardmax", ["x"], ["h"], name="hm"),
           helper.make_node("Det", ["x"], ["d"], name="det"),
           helper.make_node("Fancy", ["x"], ["f"], name="custom", domain="com.example")]
    model = small_model(extra_nodes=odd)
    model.opset_import.append(helper.make_opsetid("com.example", 1))
    with pytest.raises(UnsupportedError, match="3 node\\(s\\) with unsupported operators: Hardmax \\('hm'\\), "
                                               "Det \\('det'\\), Fancy \\('custom'\\)") as caught:
        gorgon_onnx.load(save(model, tmp_path / "m.onnx"))
    assert caught.value.items == [("Hardmax", "hm"), ("Det", "det"), ("Fancy", "custom")]


def external(location, length=24):
    proto = tensor([2, 3])
    proto.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", str(length))):
        entry = proto.external_data.add()
        entry.key, entry.value = key, value
    return proto


@pytest.fixture
def secret(tmp_path):
    """A file outside the model's folder, which must never be opened."""
    path = tmp_path / "secret.bin"
    path.write_bytes(np.ones(6, np.float32).tobytes())
    (tmp_path / "models").mkdir()
    return path


@pytest.mark.parametrize("location", ["../secret.bin", "../../etc/passwd", "/etc/passwd", "SECRET",
                                      "sub/../../secret.bin"])
def test_external_data_outside_the_models_folder_is_refused_unopened(tmp_path, secret, location):
    global OPENED
    location = str(secret) if location == "SECRET" else location
    path = save(small_model(initializer=external(location)), tmp_path / "models" / "m.onnx")
    OPENED = []
    try:
        with pytest.raises(OnnxError, match="external data .*(only relative paths|outside the model's folder)"):
            gorgon_onnx.load(path)
        opened = [os.path.realpath(p) for p in OPENED]
    finally:
        OPENED = None
    assert os.path.realpath(path) in opened, "the audit hook sees the files load opens"
    assert str(secret) not in opened and "/etc/passwd" not in opened
    folder = str(path.parent)
    assert [p for p in opened if not p.startswith(folder) and not p.endswith((".py", ".pyc", ".so"))] == []


def test_a_symlink_out_of_the_folder_is_refused(tmp_path, secret):
    (tmp_path / "models" / "link.bin").symlink_to(secret)
    path = save(small_model(initializer=external("link.bin")), tmp_path / "models" / "m.onnx")
    with pytest.raises(OnnxError, match="outside the model's folder"):
        gorgon_onnx.load(path)


def test_external_data_inside_the_folder_loads(tmp_path):
    model = small_model()
    onnx.save_model(model, tmp_path / "m.onnx", save_as_external_data=True, all_tensors_to_one_file=True,
                    location="weights.bin", size_threshold=0)
    loaded = gorgon_onnx.load(tmp_path / "m.onnx")
    np.testing.assert_array_equal(loaded.parameters["w"].value, np.arange(6, dtype=np.float32).reshape(2, 3))


@pytest.mark.parametrize("length, words", [(20, "its external data length is 20"),
                                           (24, "holds 12 bytes from offset 0")])
def test_external_data_of_the_wrong_size_is_refused(tmp_path, length, words):
    (tmp_path / "w.bin").write_bytes(b"\0" * 12)
    path = save(small_model(initializer=external("w.bin", length)), tmp_path / "m.onnx")
    with pytest.raises(OnnxError, match=words):
        gorgon_onnx.load(path)


def test_missing_external_data_is_named(tmp_path):
    path = save(small_model(initializer=external("nowhere.bin")), tmp_path / "m.onnx")
    with pytest.raises(OnnxError, match="external data file 'nowhere.bin' is missing"):
        gorgon_onnx.load(path)


@pytest.mark.parametrize("op, inputs", [
    ("ConstantOfShape", [np.array([2**20, 2**20], np.int64)]),
    ("Expand", [np.zeros(1, np.float32), np.array([2**13, 2**13, 2**13], np.int64)]),
    ("Tile", [np.zeros(4, np.float32), np.array([2**30], np.int64)]),
    ("Range", [np.array(0, np.int64), np.array(2**40, np.int64), np.array(1, np.int64)]),
])
def test_constants_that_would_fold_into_huge_arrays_are_refused(tmp_path, op, inputs):
    names = [f"k{i}" for i in range(len(inputs))]
    consts = [helper.make_node("Constant", [], [n], value=numpy_helper.from_array(a)) for n, a in zip(names, inputs)]
    node = helper.make_node(op, names, ["y"], name="bomb")
    graph = helper.make_graph([*consts, node], "g", [], [helper.make_empty_tensor_value_info("y")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(OnnxError, match=f"{op} node 'bomb' would make a constant of [0-9]+ elements"):
        gorgon_onnx.load(save(model, tmp_path / "m.onnx"))


def test_an_input_without_a_shape_needs_one(tmp_path):
    model = small_model()
    model.graph.input[0].type.tensor_type.ClearField("shape")
    path = save(model, tmp_path / "m.onnx")
    with pytest.raises(OnnxError, match="input 'x' has no shape in the file"):
        gorgon_onnx.load(path)
    assert gorgon_onnx.load(path, shapes={"x": (2, 3)}).inputs["x"].shape == (2, 3)
