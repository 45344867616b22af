"""Linear algebra: matmul (Gorgonia's Mul: mat@mat, mat@vec, vec@mat, vec@vec, batched)
and outer."""

import numpy as np

import gorgon as G
from gorgon import Op, TensorType
from gorgon.infer import require_float, shape_error


def swap_last(x):
    axes = tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2)
    return G.transpose(x, axes)


class Matmul(Op):
    """Matrix product with numpy's `@` rules: a vector on the left is a row, on the right
    a column; leading (batch) dimensions broadcast."""

    name = "matmul"

    def infer(self, a, b):
        dtype = require_float(self, a, b)
        if a.ndim == 0 or b.ndim == 0:
            raise shape_error(self, "needs at least one dimension on each side (use mul for scalars)", a, b)
        k_a = a.shape[-1]
        k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
        if k_a != k_b:
            raise shape_error(self, f"inner dimensions differ ({k_a} vs {k_b})", a, b)
        try:
            batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        except ValueError:
            raise shape_error(self, "batch dimensions cannot be broadcast", a, b) from None
        rows = a.shape[-2:-1] if a.ndim >= 2 else ()
        cols = b.shape[-1:] if b.ndim >= 2 else ()
        return TensorType(tuple(batch) + rows + cols, dtype)

    def forward(self, a, b, out=None):
        return np.matmul(a, b, out=out)

    def vjp(self, inputs, output, gy):
        a, b = inputs
        a2 = a if a.ndim >= 2 else G.reshape(a, (1,) + a.shape)
        b2 = b if b.ndim >= 2 else G.reshape(b, b.shape + (1,))
        batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
        gy2 = gy if a.ndim >= 2 and b.ndim >= 2 else G.reshape(gy, batch + (a2.shape[-2], b2.shape[-1]))

        def grad_a():
            ga = G.matmul(gy2, swap_last(b2))
            return ga if a.ndim >= 2 else G.sum(ga, axis=tuple(range(ga.ndim - 1)))

        def grad_b():
            gb = G.matmul(swap_last(a2), gy2)
            return gb if b.ndim >= 2 else G.sum(gb, axis=tuple(range(gb.ndim - 2)) + (gb.ndim - 1,))

        return grad_a, grad_b


class Outer(Op):
    """Outer product of two vectors: `outer(a, b)[i, j] = a[i] * b[j]`."""

    name = "outer"

    def infer(self, a, b):
        dtype = require_float(self, a, b)
        if a.ndim != 1 or b.ndim != 1:
            raise shape_error(self, "needs two vectors", a, b)
        return TensorType((a.shape[0], b.shape[0]), dtype)

    def forward(self, a, b, out=None):
        return np.multiply.outer(a, b, out=out)

    def vjp(self, inputs, output, gy):
        a, b = inputs
        return lambda: G.matmul(gy, b), lambda: G.matmul(a, gy)


OPS = [Matmul, Outer]
