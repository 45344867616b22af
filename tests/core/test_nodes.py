"""Nodes built by ops: weak scalar typing, dtype and shape errors, Python operators,
and the DOT listing."""

import numpy as np
import pytest

import gorgon as G
from gorgon.errors import DtypeError, GorgonError, ShapeError


def run(graph: G.Graph) -> None:
    G.TapeMachine(graph).run_all()


def test_python_scalars_take_the_dtype_of_the_nodes_beside_them():
    g = G.Graph()
    x = G.vector(g, G.Float32, (2,), name="x", value=np.array([1.0, 2.0], np.float32))
    i = G.vector(g, G.Int64, (2,), name="i", value=[1, 2])
    half, doubled, shifted = x * 0.5, 2 * x, i + 1
    scaled = i * 0.5
    assert (half.dtype, doubled.dtype, shifted.dtype, scaled.dtype) == (
        G.Float32, G.Float32, G.Int64, G.Float64)
    assert (x + True).dtype == G.Float32
    run(g)
    assert half.value.tolist() == [0.5, 1.0] and shifted.value.tolist() == [2, 3]
    assert scaled.value.tolist() == [0.5, 1.0] and scaled.value.dtype == G.Float64


def test_numpy_arrays_are_strongly_typed_constants():
    g = G.Graph()
    x = G.vector(g, G.Float32, (2,), name="x")
    with pytest.raises(DtypeError):
        x + np.ones(2)
    assert (np.ones(2, np.float32) + x).dtype == G.Float32
    with pytest.raises(TypeError, match="cannot use dict"):
        x + {}


def test_mixed_float_dtypes_are_an_error_naming_op_nodes_and_shapes():
    g = G.Graph()
    a = G.vector(g, G.Float32, (2,), name="a")
    b = G.vector(g, G.Float64, (2,), name="b")
    with pytest.raises(DtypeError) as info:
        G.mul(a, b)
    message = str(info.value)
    for part in ("mul", "'a'", "'b'", "(2,)", "float32", "float64"):
        assert part in message


def test_shapes_that_do_not_broadcast_are_a_shape_error():
    g = G.Graph()
    a = G.vector(g, G.Float64, (2,), name="a")
    b = G.vector(g, G.Float64, (3,), name="b")
    with pytest.raises(ShapeError, match=r"add: shapes cannot be broadcast.*'a' \(shape \(2,\)"):
        a + b
    assert (G.matrix(g, G.Float64, (3, 1), name="m") + a).shape == (3, 2)


def test_operators_build_the_ops_they_stand_for():
    g = G.Graph()
    a = G.vector(g, G.Float64, (2,), name="a", value=np.array([1.0, -2.0]))
    b = G.vector(g, G.Float64, (2,), name="b", value=np.array([4.0, 2.0]))
    expressions = {
        "add": (a + b, [5.0, 0.0]), "radd": (1.0 + a, [2.0, -1.0]),
        "sub": (a - b, [-3.0, -4.0]), "rsub": (1.0 - a, [0.0, 3.0]),
        "mul": (a * b, [4.0, -4.0]), "rmul": (3.0 * a, [3.0, -6.0]),
        "div": (a / b, [0.25, -1.0]), "rdiv": (1.0 / b, [0.25, 0.5]),
        "pow": (b ** 2.0, [16.0, 4.0]), "rpow": (2.0 ** a, [2.0, 0.25]),
        "neg": (-a, [-1.0, 2.0]), "abs": (abs(a), [1.0, 2.0]),
        "array+node": (np.array([1.0, 1.0]) + a, [2.0, -1.0]),
    }
    run(g)
    for label, (node, expected) in expressions.items():
        assert isinstance(node, G.Node), label
        np.testing.assert_allclose(node.value, expected, err_msg=label)
    assert (a + b).op.name == "add" and (-a).op.name == "neg" and abs(a).op.name == "abs"


def test_matmul_operators(needs_ops):
    needs_ops("matmul")
    g = G.Graph()
    m = G.matrix(g, G.Float64, (2, 2), name="m", value=np.array([[1.0, 2.0], [3.0, 4.0]]))
    v = G.vector(g, G.Float64, (2,), name="v", value=np.array([1.0, 1.0]))
    mv, vm = m @ v, np.array([1.0, 0.0]) @ m
    run(g)
    assert mv.value.tolist() == [3.0, 7.0] and vm.value.tolist() == [1.0, 2.0]


def test_transpose_and_indexing_go_through_their_ops(needs_ops):
    needs_ops("transpose", "getitem")
    g = G.Graph()
    m = G.matrix(g, G.Float64, (2, 3), name="m", value=np.arange(6.0).reshape(2, 3))
    t, row = m.T, m[1]
    run(g)
    assert (t.op.name, t.shape, row.op.name) == ("transpose", (3, 2), "getitem")
    assert row.value.tolist() == [3.0, 4.0, 5.0]


def test_nodes_of_two_graphs_do_not_mix():
    a = G.scalar(G.Graph(), G.Float64, name="a")
    b = G.scalar(G.Graph(), G.Float64, name="b")
    with pytest.raises(GorgonError, match="'b' belongs to another graph"):
        a + b


def test_a_node_has_no_truth_value_and_is_not_iterable():
    g = G.Graph()
    x = G.vector(g, G.Float64, (2,), name="x")
    with pytest.raises(TypeError, match="truth value of node 'x'"):
        bool(x)
    with pytest.raises(TypeError, match="G.where"):
        x and 1.0
    with pytest.raises(TypeError, match="not iterable"):
        list(x)
    with pytest.raises(TypeError, match="not iterable"):
        a, b = x


def test_to_dot_shows_ops_shapes_and_dtypes():
    g = G.Graph()
    x = G.vector(g, G.Float64, (3,), name="x")
    y = G.tanh(x * 2.0)
    G.grad(y, x, grad_output=G.constant(np.ones(3), g, name="seed"))
    dot = g.to_dot()
    assert dot.startswith("digraph gorgon {") and dot.rstrip().endswith("}")
    for part in ('x\\ninput\\n(3,) float64', "\\nmul\\n", "\\ntanh\\n", "seed\\nconstant",
                 "color=red", f"n{x.id} -> n{y.inputs[0].id} [label=0]"):
        assert part in dot
