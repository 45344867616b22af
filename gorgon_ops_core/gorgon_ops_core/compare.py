"""Comparisons (boolean results, no gradient), `where` and `cast`."""

import numpy as np

import gorgon as G
from gorgon import Op, TensorType, UfuncOp
from gorgon.dtypes import Bool, as_dtype
from gorgon.infer import broadcast_shape, dtype_error, require_numeric, same_dtype


class Comparison(UfuncOp):
    """Elementwise comparison of two numeric nodes of one dtype; the result is boolean."""

    differentiable = False

    def infer(self, a, b):
        require_numeric(self, a, b)
        return TensorType(broadcast_shape(self, a, b), Bool)


class Eq(Comparison):
    """`a == b` elementwise."""

    name = "eq"
    ufunc = np.equal


class Ne(Comparison):
    """`a != b` elementwise."""

    name = "ne"
    ufunc = np.not_equal


class Lt(Comparison):
    """`a < b` elementwise."""

    name = "lt"
    ufunc = np.less


class Le(Comparison):
    """`a <= b` elementwise."""

    name = "le"
    ufunc = np.less_equal


class Gt(Comparison):
    """`a > b` elementwise."""

    name = "gt"
    ufunc = np.greater


class Ge(Comparison):
    """`a >= b` elementwise."""

    name = "ge"
    ufunc = np.greater_equal


class Where(Op):
    """`where(condition, a, b)`: `a` where the boolean condition holds, else `b`."""

    name = "where"

    def infer(self, condition, a, b):
        if condition.dtype != Bool:
            raise dtype_error(self, f"condition must be boolean, got {condition.dtype}", condition)
        dtype = same_dtype(self, a, b)
        return TensorType(broadcast_shape(self, condition, a, b), dtype)

    def forward(self, condition, a, b, out=None):
        if out is None:
            return np.where(condition, a, b)
        np.copyto(out, b)
        np.copyto(out, a, where=condition)
        return out

    def vjp(self, inputs, output, gy):
        condition = inputs[0]
        return None, lambda: G.where(condition, gy, 0.0), lambda: G.where(condition, 0.0, gy)


class Cast(Op):
    """`cast(x, dtype)`: convert to another dtype (booleans and integers to floats, say).
    Differentiable between float dtypes."""

    name = "cast"
    elementwise = True

    @classmethod
    def call(cls, x, dtype):
        return G.apply(cls(dtype=as_dtype(dtype)), x)

    def infer(self, x):
        return TensorType(x.shape, self.dtype)

    def forward(self, x, out=None):
        if out is None:
            return x.astype(self.dtype)
        np.copyto(out, x, casting="unsafe")
        return out

    def vjp(self, inputs, output, gy):
        (x,) = inputs
        return (lambda: G.cast(gy, x.dtype),)


OPS = [Eq, Ne, Lt, Le, Gt, Ge, Where, Cast]
