"""Sorting along an axis: sort and topk (values, differentiable: the gradient goes back
to the elements they came from) and argsort and topk_indices (integer positions, no
gradient). Ties keep their order (a stable sort); descending order keeps it too."""

import numpy as np

import gorgon as G
from gorgon import ArgumentTypeError, ArgumentValueError, Op, TensorType
from gorgon.dtypes import Int64
from gorgon.infer import normalize_axis, require_numeric
from gorgon_ops_core.gather import zeros


def order(x, axis, descending, k=None):
    """The stable sorting permutation of x along `axis` (the first k of it)."""
    if descending:
        positions = np.flip(np.argsort(np.flip(x, axis), axis=axis, kind="stable"), axis)
        positions = x.shape[axis] - 1 - positions
    else:
        positions = np.argsort(x, axis=axis, kind="stable")
    if k is not None:
        positions = positions[(slice(None),) * axis + (slice(0, k),)]
    return positions


def write(result, out):
    if out is None:
        return result
    np.copyto(out, result)
    return out


def checked_axis(cls, x, axis):
    if not isinstance(x, G.Node):
        raise ArgumentTypeError(f"{cls.name}: expected a node, got {type(x).__name__}")
    return normalize_axis(cls.name, x, axis)


class Sorting(Op):
    """Common inference: along `axis`, in `descending` order, the first `k` (None: all)."""

    takes_k = False

    def infer(self, x):
        dtype = require_numeric(self, x)
        shape = list(x.shape)
        if self.k is not None:
            if not 0 <= self.k <= x.shape[self.axis]:
                raise ArgumentValueError(f"{self}: k={self.k} for an axis of size {x.shape[self.axis]}; "
                                         f"inputs: {x.name!r} {x.shape}")
            shape[self.axis] = self.k
        return TensorType(tuple(shape), dtype if self.differentiable else Int64)

    def positions(self, x):
        return order(x, self.axis, self.descending, self.k)


class Values(Sorting):
    """Values in sorted order; the gradient scatters back through the positions."""

    def forward(self, x, out=None):
        return write(np.take_along_axis(x, self.positions(x), self.axis), out)

    def vjp(self, inputs, output, gy):
        x = inputs[0]
        positions = G.apply(Positions.of(self), x)
        return (G.scatter_add(zeros(x, x.shape), self.axis, positions, gy),)


class Positions(Sorting):
    """Positions of the sorted values along the axis; no gradient."""

    differentiable = False

    @staticmethod
    def of(values):
        """The positions op that goes with a values op."""
        cls = TopkIndices if values.takes_k else Argsort
        return cls(axis=values.axis, descending=values.descending, k=values.k)

    def forward(self, x, out=None):
        return write(self.positions(x).astype(Int64, copy=False), out)


class Whole:
    """The call of the ops that sort the whole axis."""

    @classmethod
    def call(cls, x, axis=-1, descending=False):
        return G.apply(cls(axis=checked_axis(cls, x, axis), descending=bool(descending), k=None), x)


class Top:
    """The call of the top-k ops."""

    takes_k = True

    @classmethod
    def call(cls, x, k, axis=-1, largest=True):
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool):
            raise ArgumentTypeError(f"{cls.name}: k must be an int, got {k!r}")
        return G.apply(cls(axis=checked_axis(cls, x, axis), descending=bool(largest), k=int(k)), x)


class Sort(Whole, Values):
    """`sort(x, axis=-1, descending=False)`."""

    name = "sort"


class Argsort(Whole, Positions):
    """`argsort(x, axis=-1, descending=False)`: the positions that sort x (int64)."""

    name = "argsort"


class Topk(Top, Values):
    """`topk(x, k, axis=-1, largest=True)`: the k largest (or smallest) values along
    `axis`, in sorted order."""

    name = "topk"


class TopkIndices(Top, Positions):
    """`topk_indices(x, k, axis=-1, largest=True)`: where topk's values are (int64)."""

    name = "topk_indices"


OPS = [Sort, Argsort, Topk, TopkIndices]
