"""`norm(x, ord=None, axis=None, keepdims=False)`: numpy.linalg.norm's vector and matrix
norms. Vector norms (one axis, or a vector): ord None/2, 1, inf, -inf, and any other
positive p. Matrix norms (two axes, or a matrix): ord None/'fro', 1, -1, inf, -inf,
2 and 'nuc'. axis=None on more than 2 dimensions is the 2-norm of the flattened input.

The gradients are written with gorgon ops (so second order works), except the spectral
(2) and nuclear norms, whose gradients come from an SVD computed in the kernel of
`norm_svd_grad` (first order only). At ties of max/min norms the gradient is shared
equally, as for max; at x = 0 the 2-norm's gradient is 0.
"""

import math

import numpy as np

import gorgon as G
from gorgon import ArgumentValueError, Op, TensorType
from gorgon.infer import normalize_axes, require_float, shape_error

VECTOR_ORDS = (None, 2, 1, math.inf, -math.inf)
MATRIX_ORDS = (None, "fro", 1, -1, math.inf, -math.inf, 2, "nuc")


def kept_shape(shape, axes):
    return tuple(1 if i in axes else d for i, d in enumerate(shape))


class Norm(Op):
    """A vector or matrix norm over `axis` (see the module docstring for the ords)."""

    name = "norm"

    @classmethod
    def call(cls, x, ord=None, axis=None, keepdims=False):  # noqa: A002 - numpy's name
        if not isinstance(x, G.Node):
            raise G.ArgumentTypeError(f"{cls.name}: expected a node, got {type(x).__name__}")
        if axis is None:
            if ord is not None and x.ndim > 2:
                raise ArgumentValueError(f"{cls.name}: ord {ord!r} on {x.ndim} dimensions needs axis=")
            axes = tuple(range(x.ndim))
        else:
            normalize_axes(cls.name, x, axis)
            axes = tuple(a % x.ndim for a in (axis if isinstance(axis, (tuple, list)) else (axis,)))
        if ord is not None and len(axes) == 1:
            if isinstance(ord, str) or not (ord in VECTOR_ORDS or (isinstance(ord, (int, float)) and ord > 0)):
                raise ArgumentValueError(f"{cls.name}: ord {ord!r} is not a vector norm; vector "
                                         "ords: None, 2, 1, inf, -inf or a positive p")
        elif ord is not None and len(axes) == 2:
            if ord not in MATRIX_ORDS:
                raise ArgumentValueError(f"{cls.name}: ord {ord!r} is not a matrix norm; matrix ords: "
                                         "None, 'fro', 1, -1, inf, -inf, 2, 'nuc'")
        elif ord is not None:
            raise ArgumentValueError(f"{cls.name}: ord {ord!r} needs 1 or 2 axes, got {axes}")
        ord = float(ord) if isinstance(ord, int) and not isinstance(ord, bool) else ord
        return G.apply(cls(ord=ord, axis=axes, keepdims=bool(keepdims)), x)

    @property
    def flat(self):
        """Whether this is the 2-norm of all the axes as one vector."""
        return self.ord in (None, "fro") or (len(self.axis) == 1 and self.ord == 2.0)

    def minimum_axis(self):
        """The axis this norm takes a minimum over (-inf: of |x|, or for a matrix of the
        rows' sums; -1: of the columns' sums); None for the other ords."""
        if self.ord == -math.inf:
            return self.axis[0]
        if self.ord == -1.0 and len(self.axis) == 2:
            return self.axis[1]
        return None

    def infer(self, x):
        dtype = require_float(self, x)
        if self.ord in (2.0, "nuc") and len(self.axis) == 2 and any(x.shape[a] == 0 for a in self.axis):
            raise shape_error(self, "cannot take a spectral norm of an empty matrix", x)
        minimum = self.minimum_axis()
        if minimum is not None and x.shape[minimum] == 0:
            raise shape_error(self, f"ord={self.ord!r} takes a minimum over axis {minimum}, which is "
                              "empty: a minimum of nothing is undefined (numpy raises too)", x)
        kept = kept_shape(x.shape, self.axis)
        shape = kept if self.keepdims else tuple(d for i, d in enumerate(x.shape) if i not in self.axis)
        return TensorType(shape, dtype)

    def forward(self, x, out=None):
        if self.flat:
            result = np.sqrt(np.sum(np.square(x), axis=self.axis, keepdims=self.keepdims))
        else:
            result = np.linalg.norm(x, self.ord, self.axis, self.keepdims)
        result = np.asarray(result, x.dtype)
        if out is None:
            return result
        np.copyto(out, result)
        return out

    def vjp(self, inputs, output, gy):
        x = inputs[0]
        kept = kept_shape(x.shape, self.axis)
        gyb = G.broadcast_to(G.reshape(gy, kept), x.shape)
        nb = G.broadcast_to(G.reshape(output, kept), x.shape)
        if self.flat:
            return (gyb * x / G.where(G.eq(nb, 0.0), 1.0, nb),)
        if len(self.axis) == 2 and self.ord in (2.0, "nuc"):
            return (gyb * G.norm_svd_grad(x, self.axis, self.ord),)
        if len(self.axis) == 1:
            if self.ord == 1.0:
                return (gyb * G.sign(x),)
            if self.ord in (math.inf, -math.inf):
                return (gyb * G.sign(x) * share(G.abs(x), nb, self.axis),)
            p = self.ord
            return (gyb * G.sign(x) * G.abs(x) ** (p - 1.0) / G.where(G.eq(nb, 0.0), 1.0, nb) ** (p - 1.0),)
        rows, cols = self.axis
        summed, other = (cols, rows) if abs(self.ord) == math.inf else (rows, cols)
        sums = G.sum(G.abs(x), axis=summed, keepdims=True)
        hits = share(sums, G.reshape(output, kept), other)
        return (gyb * G.sign(x) * G.broadcast_to(hits, x.shape),)


def share(values, extreme, axes):
    """Where `values` reach the `extreme`, each hit's equal share (as max's gradient)."""
    hits = G.cast(G.eq(values, extreme), values.dtype)
    return hits / G.sum(hits, axis=axes, keepdims=True)


class NormSvdGrad(Op):
    """`norm_svd_grad(x, axes, ord)`: d norm / d x for the spectral norm (u1 v1^T, of the
    largest singular value) or the nuclear norm (U V^T), over the matrix `axes` of x.
    Not differentiable itself."""

    name = "norm_svd_grad"
    differentiable = False

    @classmethod
    def call(cls, x, axes, ord):  # noqa: A002 - numpy's name
        if ord not in (2.0, "nuc"):
            raise ArgumentValueError(f"{cls.name}: ord must be 2 or 'nuc', got {ord!r}")
        return G.apply(cls(axes=tuple(int(a) for a in axes), ord=ord), x)

    def infer(self, x):
        return TensorType(x.shape, require_float(self, x))

    def forward(self, x, out=None):
        moved = np.moveaxis(x, self.axes, (-2, -1))
        u, _, vt = np.linalg.svd(moved, full_matrices=False)
        if self.ord == 2.0:
            u, vt = u[..., :, :1], vt[..., :1, :]
        result = np.moveaxis(u @ vt, (-2, -1), self.axes)
        if out is None:
            return result
        np.copyto(out, result)
        return out


OPS = [Norm, NormSvdGrad]
