"""Gathering and scattering along an axis, with torch's semantics (and its argument
order): `gather(x, axis, index)` and `scatter_add(x, axis, index, src)`. `index` is an
integer node or array with x's number of dimensions, no larger than x off `axis`;
index values are checked when the kernel runs (numpy raises there)."""

import numpy as np

import gorgon as G
from gorgon import Op, TensorType
from gorgon.infer import normalize_axis, require_integer, same_dtype, shape_error


def check_index(op, x, index, *nodes):
    require_integer(op, index)
    if index.ndim != x.ndim:
        raise shape_error(op, f"index must have x's {x.ndim} dimensions", *nodes)
    for axis, (i, d) in enumerate(zip(index.shape, x.shape)):
        if axis != op.axis and i > d:
            raise shape_error(op, f"index is larger than x on axis {axis}", *nodes)


def grid(index, axis):
    """The full numpy index that puts `index` on `axis` and every other axis in order."""
    positions = list(np.ix_(*[np.arange(n) for n in index.shape]))
    positions[axis] = index
    return tuple(positions)


def zeros(like, shape):
    return G.broadcast_to(G.constant(np.zeros((), like.dtype), like.graph), shape)


class Gather(Op):
    """`gather(x, axis, index)`: out[i][j][k] = x[i][index[i][j][k]][k] for axis=1."""

    name = "gather"

    @classmethod
    def call(cls, x, axis, index):
        axis = normalize_axis(cls.name, x, axis)
        return G.apply(cls(axis=axis), x, index)

    def infer(self, x, index):
        check_index(self, x, index, x, index)
        return TensorType(index.shape, x.dtype)

    def forward(self, x, index, out=None):
        result = x[grid(index, self.axis)]
        if out is None:
            return result
        np.copyto(out, result)
        return out

    def vjp(self, inputs, output, gy):
        x, index = inputs
        return G.scatter_add(zeros(x, x.shape), self.axis, index, gy), None


class ScatterAdd(Op):
    """`scatter_add(x, axis, index, src)`: x with out[i][index[i][j][k]][k] += src[i][j][k]
    for axis=1 (repeated indices add up); src has index's shape."""

    name = "scatter_add"
    inplace = 0

    @classmethod
    def call(cls, x, axis, index, src):
        axis = normalize_axis(cls.name, x, axis)
        return G.apply(cls(axis=axis), x, index, src)

    def infer(self, x, index, src):
        same_dtype(self, x, src)
        check_index(self, x, index, x, index, src)
        if src.shape != index.shape:
            raise shape_error(self, "src must have index's shape", x, index, src)
        return TensorType(x.shape, x.dtype)

    def forward(self, x, index, src, out=None):
        out = np.array(x) if out is None else out
        if out is not x:
            np.copyto(out, x)
        np.add.at(out, grid(index, self.axis), src)
        return out

    def vjp(self, inputs, output, gy):
        x, index, src = inputs
        return gy, None, lambda: G.gather(gy, self.axis, index)


OPS = [Gather, ScatterAdd]
