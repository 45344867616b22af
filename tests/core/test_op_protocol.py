"""The Op base class, `G.apply` and the inference helpers plugins use."""

import numpy as np
import pytest

import gorgon as G
from gorgon.errors import DtypeError, GorgonError, ShapeError
from gorgon.infer import normalize_axes, require_float, require_integer, require_numeric


class Scale(G.Op):
    """`x * factor`, the factor a parameter."""

    name = "test_scale"

    def infer(self, x):
        return G.TensorType(x.shape, require_float(self, x))

    def forward(self, x, out=None):
        return np.multiply(x, self.factor, out=out)

    def vjp(self, inputs, output, gy):
        return (gy * self.factor,)


class Draw(Scale):
    """An impure op: never equal to another instance."""

    name = "test_draw"
    pure = False


def test_ops_are_values_named_by_their_parameters():
    assert Scale(factor=2.0) == Scale(factor=2.0) != Scale(factor=3.0)
    assert hash(Scale(factor=2.0)) == hash(Scale(factor=2.0))
    assert Scale(factor=2.0) != "test_scale"
    assert str(Scale(factor=2.0, label="a", dtype=G.Float32)) == "test_scale{dtype=float32,factor=2.0,label='a'}"
    assert repr(Scale()) == "<op test_scale>"
    first = Draw(factor=1.0)
    assert first == first and first != Draw(factor=1.0) and hash(first) == id(first)
    with pytest.raises(GorgonError, match="parameters must be hashable"):
        Scale(factor=[1.0])


def test_call_builds_a_node_and_the_base_class_has_no_behaviour():
    g = G.Graph()
    x = G.vector(g, G.Float32, (2,), name="x", value=np.ones(2, np.float32))
    y = Scale.call(x, factor=3.0)
    assert (y.op, y.inputs, y.shape, y.dtype) == (Scale(factor=3.0), (x,), (2,), G.Float32)
    blank = G.Op()
    with pytest.raises(NotImplementedError, match="no inference"):
        blank.infer(x)
    with pytest.raises(NotImplementedError, match="no kernel"):
        blank.forward(np.ones(2))


def test_weak_scalars_beside_booleans_keep_their_own_type():
    g = G.Graph()
    b = G.vector(g, G.Bool, (2,), name="b")
    assert G.where(b, 1, 0).dtype == G.Int64


def test_inference_helpers_name_the_op_and_nodes():
    g = G.Graph()
    op = Scale(factor=1.0)
    i = G.vector(g, G.Int32, (2,), name="i")
    f = G.matrix(g, G.Float64, (2, 3), name="f")
    b = G.vector(g, G.Bool, (2,), name="b")
    with pytest.raises(DtypeError, match=r"test_scale\{factor=1.0\}: needs float inputs, got int32; inputs: 'i'"):
        require_float(op, i)
    with pytest.raises(DtypeError, match="needs numeric inputs, got bool"):
        require_numeric(op, b)
    with pytest.raises(DtypeError, match="needs an integer input, got float64"):
        require_integer(op, f)
    assert require_integer(op, i) == G.Int32
    assert normalize_axes(op, f, -1) == (1,) and normalize_axes(op, f, None) == (0, 1)
    with pytest.raises(ShapeError, match="axis 2 is out of range for 2 dimensions"):
        normalize_axes(op, f, 2)
    with pytest.raises(ShapeError, match="repeated axis"):
        normalize_axes(op, f, (0, -2))
    assert str(G.TensorType((2,), np.float64)) == "(2,) float64"
