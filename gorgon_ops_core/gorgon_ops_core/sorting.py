"""Sorting along an axis: sort and topk (values, differentiable: the gradient goes back
to the elements they came from) and argsort and topk_indices (integer positions, no
gradient). Ties keep their order (a stable sort); descending order keeps it too."""

import numpy as np

import gorgon as G
from gorgon import ArgumentTypeError, ArgumentValueError, Op, TensorType
from gorgon.dtypes import Int64
from gorgon.infer import normalize_axes, require_numeric, shape_error


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


class Sorting(Op):
    """Common call and inference: `axis` (default -1), `descending`, and for the top-k
    ops `k`."""

    takes_k = False

    @classmethod
    def call(cls, x, *args, axis=-1, descending=None, largest=None):
        if not isinstance(x, G.Node):
            raise ArgumentTypeError(f"{cls.name}: expected a node, got {type(x).__name__}")
        params = {"axis": normalize_axes(cls(axis=0, descending=False, k=None), x, axis)[0]}
        if cls.takes_k:
            if len(args) != 1 or not isinstance(args[0], (int, np.integer)) or isinstance(args[0], bool):
                raise ArgumentTypeError(f"{cls.name}: takes x and an int k, got {args!r}")
            params["k"] = int(args[0])
            params["descending"] = True if largest is None else bool(largest)
        else:
            if args:
                raise ArgumentTypeError(f"{cls.name}: takes x only (axis= and descending= by keyword)")
            params["k"] = None
            params["descending"] = bool(descending)
        return G.apply(cls(**params), x)

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
        base = G.broadcast_to(G.constant(np.zeros((), x.dtype), x.graph), x.shape)
        return (G.scatter_add(base, self.axis, positions, gy),)


class Positions(Sorting):
    """Positions of the sorted values along the axis; no gradient."""

    differentiable = False

    @staticmethod
    def of(values):
        cls = TopkIndices if values.takes_k else Argsort
        return cls(axis=values.axis, descending=values.descending, k=values.k)

    def forward(self, x, out=None):
        return write(self.positions(x).astype(Int64, copy=False), out)


class Sort(Values):
    """`sort(x, axis=-1, descending=False)`."""

    name = "sort"


class Argsort(Positions):
    """`argsort(x, axis=-1, descending=False)`: the positions that sort x (int64)."""

    name = "argsort"


class Topk(Values):
    """`topk(x, k, axis=-1, largest=True)`: the k largest (or smallest) values along
    `axis`, in sorted order."""

    name = "topk"
    takes_k = True


class TopkIndices(Positions):
    """`topk_indices(x, k, axis=-1, largest=True)`: where topk's values are (int64)."""

    name = "topk_indices"
    takes_k = True


OPS = [Sort, Argsort, Topk, TopkIndices]
