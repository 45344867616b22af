"""Linear algebra: matmul (Gorgonia's Mul: mat@mat, mat@vec, vec@mat, vec@vec, batched,
either side optionally transposed) and outer."""

import numpy as np

import gorgon as G
from gorgon import Op, TensorType
from gorgon.infer import require_float, shape_error


def swap_last(array):
    return np.swapaxes(array, -1, -2)


class Matmul(Op):
    """Matrix product with numpy's `@` rules: a vector on the left is a row, on the right
    a column; leading (batch) dimensions broadcast. `transpose_a` / `transpose_b` use
    the last two axes of that side swapped, without copying it (BLAS reads it
    transposed); gradient rules use them so no transpose is ever materialised."""

    name = "matmul"
    transpose_a = False
    transpose_b = False

    @classmethod
    def call(cls, a, b, transpose_a=False, transpose_b=False):
        flags = {k: True for k, v in (("transpose_a", transpose_a), ("transpose_b", transpose_b)) if v}
        return G.apply(cls(**flags), a, b)

    def infer(self, a, b):
        dtype = require_float(self, a, b)
        if a.ndim == 0 or b.ndim == 0:
            raise shape_error(self, "needs at least one dimension on each side (use mul for scalars)", a, b)
        if (self.transpose_a and a.ndim < 2) or (self.transpose_b and b.ndim < 2):
            raise shape_error(self, "only a side with two or more dimensions can be transposed", a, b)
        a_shape = a.shape[:-2] + a.shape[-2:][::-1] if self.transpose_a else a.shape
        b_shape = b.shape[:-2] + b.shape[-2:][::-1] if self.transpose_b else b.shape
        k_a = a_shape[-1]
        k_b = b_shape[0] if len(b_shape) == 1 else b_shape[-2]
        if k_a != k_b:
            raise shape_error(self, f"inner dimensions differ ({k_a} vs {k_b})", a, b)
        try:
            batch = np.broadcast_shapes(a_shape[:-2], b_shape[:-2])
        except ValueError:
            raise shape_error(self, "batch dimensions cannot be broadcast", a, b) from None
        rows = a_shape[-2:-1] if len(a_shape) >= 2 else ()
        cols = b_shape[-1:] if len(b_shape) >= 2 else ()
        return TensorType(tuple(batch) + rows + cols, dtype)

    def forward(self, a, b, out=None):
        return np.matmul(swap_last(a) if self.transpose_a else a,
                         swap_last(b) if self.transpose_b else b, out=out)

    def flops(self, inputs, output):
        """A multiply-add per output element and element of the inner dimension."""
        a = inputs[0].shape
        inner = a[-2] if self.transpose_a else a[-1]
        return 2 * int(np.prod(output.shape)) * inner

    def vjp(self, inputs, output, gy):
        a, b = inputs
        if a.ndim >= 2 and b.ndim >= 2:
            return self.matrix_vjp(a, b, gy)
        a2 = a if a.ndim >= 2 else G.reshape(a, (1,) + a.shape)
        b2 = b if b.ndim >= 2 else G.reshape(b, b.shape + (1,))
        batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
        gy2 = G.reshape(gy, batch + (a2.shape[-2], b2.shape[-1]))

        def grad_a():
            ga = G.matmul(gy2, b2, transpose_b=True)
            return ga if a.ndim >= 2 else G.sum(ga, axis=tuple(range(ga.ndim - 1)))

        def grad_b():
            gb = G.matmul(a2, gy2, transpose_a=True)
            return gb if b.ndim >= 2 else G.sum(gb, axis=tuple(range(gb.ndim - 2)) + (gb.ndim - 1,))

        return grad_a, grad_b

    def matrix_vjp(self, a, b, gy):
        """With A = a (or its transpose) and B likewise: dA = gy B^T and dB = A^T gy,
        transposed back where a side was transposed."""
        ta, tb = self.transpose_a, self.transpose_b
        return ((lambda: G.matmul(b, gy, transpose_a=tb, transpose_b=True)) if ta
                else (lambda: G.matmul(gy, b, transpose_b=not tb)),
                (lambda: G.matmul(gy, a, transpose_a=True, transpose_b=ta)) if tb
                else (lambda: G.matmul(a, gy, transpose_a=not ta)))


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
