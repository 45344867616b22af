"""Input and constant constructors, and G.let."""

import numpy as np
import pytest

import gorgon as G
from gorgon.errors import BindError, DtypeError, GorgonError, ShapeError


def test_constructors_set_name_shape_dtype_and_value():
    g = G.Graph()
    s = G.scalar(g, G.Float32, name="s", value=1.5)
    v = G.vector(g, np.float64, 3, name="v")
    m = G.matrix(g, "float64", (2, 3), name="m", init=lambda shape, dtype: np.ones(shape, dtype))
    t = G.tensor(g, G.Int64, (2, 1, 4), value=np.zeros((2, 1, 4), np.int64))
    assert (s.shape, s.dtype, s.name, s.value) == ((), G.Float32, "s", np.float32(1.5))
    assert s.value.dtype == G.Float32 and s.is_leaf and s.ndim == 0
    assert (v.shape, v.dtype, v.value) == ((3,), G.Float64, None)
    np.testing.assert_array_equal(m.value, np.ones((2, 3)))
    assert (t.shape, t.size, t.name) == ((2, 1, 4), 8, "input3")
    assert g.inputs() == [s, v, m, t] and len(g) == 4 and list(g) == [s, v, m, t]
    assert g.by_name("m") is m
    with pytest.raises(KeyError, match="nope"):
        g.by_name("nope")
    assert repr(v) == "<Node v: input (3,) float64>" and repr(g) == "<Graph 4 nodes>"


def test_constants_in_a_graph_and_unattached():
    g = G.Graph()
    c = G.constant([1.0, 2.0], g, dtype=G.Float32, name="c")
    assert (c.shape, c.dtype, c.role) == ((2,), G.Float32, "constant")
    assert not c.value.flags.writeable
    loose = G.constant(3.0, name="three")
    assert "three" in repr(loose)
    x = G.scalar(g, G.Float64, name="x", value=2.0)
    y = x * loose
    three = y.inputs[1]
    assert (three.name, three.graph, float(three.value)) == ("three", g, 3.0)
    with pytest.raises(GorgonError, match="needs at least one node"):
        G.add(G.constant(1.0), G.constant(2.0))


@pytest.mark.parametrize("build, error, pattern", [
    (lambda g: G.vector(g, G.Float64, (-1,)), ShapeError, "negative"),
    (lambda g: G.matrix(g, G.Float64, (2, 2.5)), TypeError, "tuple of ints"),
    (lambda g: G.tensor(g, G.Float64, (True, 2)), TypeError, "tuple of ints"),
    (lambda g: G.tensor(g, G.Float64, "ab"), TypeError, "tuple of ints"),
    (lambda g: G.tensor(g, G.Float64, None), TypeError, "tuple of ints"),
    (lambda g: G.vector(g, G.Float64, (2, 2), name="v"), ShapeError, "one dimension"),
    (lambda g: G.matrix(g, G.Float64, (2,), name="m"), ShapeError, "two dimensions"),
    (lambda g: G.vector(g, "no such type", (2,)), DtypeError, "expected a dtype"),
    (lambda g: G.vector(g, None, (2,)), DtypeError, "got None"),
    (lambda g: G.vector(g, np.complex128, (2,)), DtypeError, "complex128"),
    (lambda g: G.vector(g, str, (2,)), DtypeError, "expected a dtype"),
    (lambda g: G.tensor("not a graph", G.Float64, ()), TypeError, "G.Graph"),
    (lambda g: G.scalar(g, G.Float64, value=1.0, init=np.zeros), BindError, "not both"),
    (lambda g: G.vector(g, G.Float64, 3, name="v", value=np.zeros(4)), ShapeError, "shape"),
])
def test_bad_constructor_arguments_raise_and_add_no_node(build, error, pattern):
    g = G.Graph()
    with pytest.raises(error, match=pattern):
        build(g)
    assert len(g) == 0


def test_let_binds_without_copy_and_converts_python_values():
    g = G.Graph()
    x = G.vector(g, G.Float32, (2,), name="x")
    array = np.array([1.0, 2.0], np.float32)
    G.let(x, array)
    assert x.value is array
    G.let(x, [3, 4])
    assert x.value.dtype == G.Float32 and x.value.tolist() == [3.0, 4.0]
    i = G.scalar(g, G.Int64, name="i")
    G.let(i, True)
    assert i.value == 1 and i.value.dtype == G.Int64
    G.let(i, np.int64(7))
    assert i.value == 7


@pytest.mark.parametrize("value, error, pattern", [
    (np.zeros(3), ShapeError, r"shape \(2,\), got a value of shape \(3,\)"),
    (np.zeros(2, np.float32), DtypeError, "float64, got a float32 array"),
    (np.zeros(2, np.int64), DtypeError, "astype"),
    ("ab", DtypeError, "cannot bind str"),
    ([1.0, 2.0, 3.0], ShapeError, "shape"),
])
def test_let_with_a_wrong_value_keeps_the_old_binding(value, error, pattern):
    g = G.Graph()
    x = G.vector(g, G.Float64, (2,), name="x")
    old = np.array([1.0, 2.0])
    G.let(x, old)
    with pytest.raises(error, match=pattern):
        G.let(x, value)
    assert x.value is old


def test_let_floats_into_an_integer_input_is_an_error():
    g = G.Graph()
    i = G.vector(g, G.Int32, (2,), name="i", value=[1, 2])
    with pytest.raises(DtypeError, match="int32; got floats"):
        G.let(i, [0.5, 1.5])
    assert i.value.tolist() == [1, 2]


def test_let_only_binds_inputs():
    g = G.Graph()
    x = G.scalar(g, G.Float64, name="x")
    c = G.constant(1.0, g, name="c")
    y = x + c
    with pytest.raises(BindError, match="'c' is a constant node"):
        G.let(c, 2.0)
    with pytest.raises(BindError, match="only inputs can be bound"):
        G.let(y, 2.0)
    with pytest.raises(TypeError, match="expected a node"):
        G.let(np.zeros(2), 2.0)
