"""Diagonals: diag (vector -> matrix, matrix -> vector, offset k) and trace."""

import numpy as np

import gorgon as G
from gorgon import ArgumentTypeError, Op, TensorType
from gorgon.infer import require_numeric, shape_error


def diagonal_index(shape, k):
    """(rows, cols) of the k-th diagonal of a matrix of `shape`."""
    rows, cols = shape
    length = max(0, min(rows + min(k, 0), cols - max(k, 0)))
    start = np.arange(length)
    return start - min(k, 0), start + max(k, 0)


class Diag(Op):
    """`diag(x, k=0)`: numpy's diag. A vector becomes the square matrix with it on the
    k-th diagonal; a matrix gives its k-th diagonal. Each direction's gradient is the
    other direction."""

    name = "diag"

    @classmethod
    def call(cls, x, k=0):
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool):
            raise ArgumentTypeError(f"{cls.name}: k must be an int, got {k!r}")
        return G.apply(cls(k=int(k)), x)

    def infer(self, x):
        dtype = require_numeric(self, x)
        if x.ndim == 1:
            n = x.shape[0] + abs(self.k)
            return TensorType((n, n), dtype)
        if x.ndim == 2:
            return TensorType((len(diagonal_index(x.shape, self.k)[0]),), dtype)
        raise shape_error(self, f"needs a vector or a matrix, got {x.ndim} dimensions", x)

    def forward(self, x, out=None):
        if out is None:
            return np.diag(x, self.k).copy()
        if x.ndim == 1:
            out.fill(0)
            out[diagonal_index(out.shape, self.k)] = x
        else:
            np.copyto(out, np.diagonal(x, self.k))
        return out

    def vjp(self, inputs, output, gy):
        x = inputs[0]
        if x.ndim == 1:
            return (G.diag(gy, self.k),)
        return (G.getitem_grad(gy, x.shape, diagonal_index(x.shape, self.k)),)


class Trace(Op):
    """`trace(x, k=0)`: the sum of the k-th diagonal over x's first two axes (numpy's
    trace: a matrix gives a scalar, more axes give an array of the rest)."""

    name = "trace"

    @classmethod
    def call(cls, x, k=0):
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool):
            raise ArgumentTypeError(f"{cls.name}: k must be an int, got {k!r}")
        return G.apply(cls(k=int(k)), x)

    def infer(self, x):
        dtype = require_numeric(self, x)
        if x.ndim < 2:
            raise shape_error(self, f"needs at least 2 dimensions, got {x.ndim}", x)
        return TensorType(x.shape[2:], dtype)

    def forward(self, x, out=None):
        result = np.trace(x, self.k, out=out, dtype=x.dtype)
        return np.asarray(result) if out is None else out

    def vjp(self, inputs, output, gy):
        x = inputs[0]
        index = diagonal_index(x.shape[:2], self.k)
        spread = G.broadcast_to(gy, (len(index[0]),) + x.shape[2:])
        return (G.getitem_grad(spread, x.shape, index),)


OPS = [Diag, Trace]
