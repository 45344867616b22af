"""Cumulative sums and products along an axis: cumsum cumprod (`reverse=True` runs from
the end). axis=None works on the flattened input, as numpy does."""

import numpy as np

import gorgon as G
from gorgon import Op, TensorType
from gorgon.infer import normalize_axis, require_numeric


def flipped(x, axis):
    """x reversed along `axis` (a view)."""
    return np.flip(x, axis)


class Cumulative(Op):
    """A scan along one axis; `reverse=True` accumulates from the last element."""

    inplace = 0
    ufunc_scan = None

    @classmethod
    def call(cls, x, axis=None, reverse=False):
        if not isinstance(x, G.Node):
            raise G.ArgumentTypeError(f"{cls.name}: expected a node, got {type(x).__name__}")
        if axis is None:
            x, axis = G.reshape(x, (-1,)), 0
        axis = normalize_axis(cls.name, x, axis)
        return G.apply(cls(axis=axis, reverse=bool(reverse)), x)

    def infer(self, x):
        return TensorType(x.shape, require_numeric(self, x))

    def forward(self, x, out=None):
        if out is None:
            out = np.empty(x.shape, x.dtype)
        if self.reverse:
            type(self).ufunc_scan.accumulate(flipped(x, self.axis), axis=self.axis, out=flipped(out, self.axis))
        else:
            type(self).ufunc_scan.accumulate(x, axis=self.axis, out=out)
        return out


class Cumsum(Cumulative):
    """`cumsum(x, axis=None, reverse=False)`; its gradient is the cumsum of the output
    gradient run the other way."""

    name = "cumsum"
    ufunc_scan = np.add

    def vjp(self, inputs, output, gy):
        return (G.cumsum(gy, self.axis, reverse=not self.reverse),)


class Cumprod(Cumulative):
    """`cumprod(x, axis=None, reverse=False)`. The gradient is exact with zeros in x: for
    each k it takes the products with x_k replaced by 1 (an n-by-n scan per position
    along the axis: O(n^2) work and memory in the axis length n), not y / x."""

    name = "cumprod"
    ufunc_scan = np.multiply

    def vjp(self, inputs, output, gy):
        x = inputs[0]
        n = x.shape[self.axis]
        last = x.ndim - 1
        order = list(range(x.ndim))
        order[self.axis], order[last] = last, self.axis
        xt, gt = G.transpose(x, order), G.transpose(gy, order)
        wide = xt.shape[:-1] + (n, n)
        # without_k[..., k, j] = x[..., j] with x[..., k] replaced by 1
        without_k = G.where(np.eye(n, dtype=bool), 1.0, G.broadcast_to(G.expand_dims(xt, -2), wide))
        products = G.cumprod(without_k, axis=-1, reverse=self.reverse)
        after = np.triu(np.ones((n, n), bool)) if not self.reverse else np.tril(np.ones((n, n), bool))
        # d y_i / d x_k = products[k, i] for i at or after k (in the scan's direction)
        terms = G.where(after, products * G.expand_dims(gt, -2), 0.0)
        return (G.transpose(G.sum(terms, axis=-1), order),)


OPS = [Cumsum, Cumprod]
