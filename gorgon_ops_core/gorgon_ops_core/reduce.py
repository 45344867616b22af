"""Reductions over axes: sum mean max min prod, and argmax argmin (no gradient)."""

import math

import numpy as np

import gorgon as G
from gorgon import Op, TensorType
from gorgon.dtypes import Int64
from gorgon.errors import ArgumentTypeError
from gorgon.infer import normalize_axes, normalize_axis, require_numeric, shape_error


def reduced_shape(shape, axes, keepdims):
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def spread(op, x, gy):
    """The output gradient `gy` broadcast back over the reduced axes to x's shape."""
    kept = reduced_shape(x.shape, op.axis, True)
    if gy.shape != kept:
        gy = G.reshape(gy, kept)
    return G.broadcast_to(gy, x.shape)


class Reduction(Op):
    """A reduction over `axis` (an int, a tuple, or None for all), keeping reduced axes
    as size 1 with `keepdims=True`."""

    reducer = None
    accumulates = False
    reduction = True

    @classmethod
    def call(cls, x, axis=None, keepdims=False):
        if not isinstance(x, G.Node):
            raise ArgumentTypeError(f"{cls.name}: expected a node, got {type(x).__name__}")
        return G.apply(cls(axis=normalize_axes(cls.name, x, axis), keepdims=bool(keepdims)), x)

    def infer(self, x):
        dtype = require_numeric(self, x)
        return TensorType(reduced_shape(x.shape, self.axis, self.keepdims), dtype)

    def forward(self, x, out=None):
        extra = {"dtype": x.dtype} if self.accumulates else {}
        return type(self).reducer(x, axis=self.axis, keepdims=self.keepdims, out=out, **extra)


class Sum(Reduction):
    """Sum over axes."""

    name = "sum"
    reducer = np.sum
    accumulates = True

    def vjp(self, inputs, output, gy):
        return (spread(self, inputs[0], gy),)


class Mean(Reduction):
    """Arithmetic mean over axes (floats only)."""

    name = "mean"
    reducer = np.mean
    accumulates = True

    def infer(self, x):
        if x.dtype.kind != "f":
            raise G.DtypeError(f"{self}: needs a float input, got {x.dtype}; inputs: '{x.name}'")
        if any(x.shape[a] == 0 for a in self.axis):
            raise shape_error(self, "cannot average over an empty axis (numpy and PyTorch give NaN; "
                              "sum gives 0)", x)
        return super().infer(x)

    def vjp(self, inputs, output, gy):
        x = inputs[0]
        count = int(np.prod([x.shape[a] for a in self.axis], dtype=np.int64))
        return (spread(self, x, gy) / float(max(count, 1)),)


class Extremum(Reduction):
    """max/min: the gradient is shared equally among tied extreme elements."""

    def infer(self, x):
        if any(x.shape[a] == 0 for a in self.axis):
            raise shape_error(self, "cannot reduce an empty axis", x)
        return super().infer(x)

    def vjp(self, inputs, output, gy):
        x = inputs[0]
        hits = G.cast(G.eq(x, spread(self, x, output)), x.dtype)
        count = G.sum(hits, axis=self.axis, keepdims=True)
        return (hits * spread(self, x, gy) / count,)


class Max(Extremum):
    """Largest element over axes."""

    name = "max"
    reducer = np.max


class Min(Extremum):
    """Smallest element over axes."""

    name = "min"
    reducer = np.min


class Prod(Reduction):
    """Product over axes. Its gradient is the product of the other elements, computed
    without dividing by zero: with one zero in a product only that zero gets a gradient
    (the product of the rest), with two or more none does."""

    name = "prod"
    reducer = np.prod
    accumulates = True

    def vjp(self, inputs, output, gy):
        x = inputs[0]
        is_zero = G.eq(x, 0.0)
        zeros = G.sum(G.cast(is_zero, x.dtype), axis=self.axis, keepdims=True)
        safe = G.where(is_zero, 1.0, x)
        rest = G.prod(safe, axis=self.axis, keepdims=True)
        at_zero = rest * G.cast(G.eq(zeros, 1.0), x.dtype)
        elsewhere = rest / safe * G.cast(G.eq(zeros, 0.0), x.dtype)
        return (spread(self, x, gy) * G.where(is_zero, at_zero, elsewhere),)


class ArgReduction(Op):
    """Index of the extreme element along one axis (None: over the flattened input)."""

    differentiable = False
    finder = None

    @classmethod
    def call(cls, x, axis=None, keepdims=False):
        if axis is not None:
            axis = normalize_axis(cls.name, x, axis)
        return G.apply(cls(axis=axis, keepdims=bool(keepdims)), x)

    def infer(self, x):
        require_numeric(self, x)
        axes = tuple(range(x.ndim)) if self.axis is None else (self.axis,)
        if math.prod(x.shape[a] for a in axes) == 0:
            where = "an empty input" if self.axis is None else f"the empty axis {self.axis}"
            raise shape_error(self, f"cannot search {where}", x)
        return TensorType(reduced_shape(x.shape, axes, self.keepdims), Int64)

    def forward(self, x, out=None):
        result = type(self).finder(x, axis=self.axis, keepdims=self.keepdims)
        if out is None:
            return np.asarray(result, dtype=Int64)
        out[...] = result
        return out


class Argmax(ArgReduction):
    """Index of the largest element (the first, at ties)."""

    name = "argmax"
    finder = np.argmax


class Argmin(ArgReduction):
    """Index of the smallest element (the first, at ties)."""

    name = "argmin"
    finder = np.argmin


OPS = [Sum, Mean, Max, Min, Prod, Argmax, Argmin]
