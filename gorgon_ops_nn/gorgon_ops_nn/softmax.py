"""The softmax family along one axis, stable for large inputs (the maximum is taken out
first): softmax, log_softmax, their fused gradients softmax_grad and log_softmax_grad,
and logsumexp over any axes."""

from __future__ import annotations

import numpy as np

import gorgon as G
from gorgon import Node, Op, TensorType
from gorgon.errors import ArgumentTypeError
from gorgon.infer import elementwise, integer, normalize_axes, normalize_axis, require_float, shape_error


def check_axis(op: Op, *nodes: Node) -> None:
    """The op's single `axis` must exist in its first input (it may be empty: so is
    the result, as in PyTorch)."""
    x = nodes[0]
    if x.ndim == 0:
        raise shape_error(op, "needs at least one dimension", *nodes)
    normalize_axis(op, x, op.axis, *nodes[1:])


def shifted_max(x: np.ndarray, axis: int | tuple[int, ...] | None) -> np.ndarray:
    """The maximum over `axis` (kept), with infinities replaced by 0 so `x - max` stays finite."""
    peak = np.asarray(np.max(x, axis=axis, keepdims=True, initial=-np.inf))
    peak[~np.isfinite(peak)] = 0
    return peak


def softmax_into(x: np.ndarray, axis: int, out: np.ndarray | None) -> np.ndarray:
    """exp(x) / sum(exp(x)) along `axis`, written into `out` when given."""
    result = np.subtract(x, shifted_max(x, axis), out=out)
    np.exp(result, out=result)
    result /= np.sum(result, axis=axis, keepdims=True)
    return result


def log_softmax_into(x: np.ndarray, axis: int, out: np.ndarray | None) -> np.ndarray:
    """x - logsumexp(x) along `axis`, written into `out` when given."""
    result = np.subtract(x, shifted_max(x, axis), out=out)
    with np.errstate(divide="ignore"):  # log(0) only for an empty axis, whose result is empty
        result -= np.log(np.sum(np.exp(result), axis=axis, keepdims=True))
    return result


class AlongAxis(Op):
    """An op of one float input along one `axis` (default the last), output of its shape."""

    @classmethod
    def call(cls, x: Node, axis: int = -1) -> Node:
        return G.apply(cls(axis=integer(cls.name, "axis", axis)), x)

    def infer(self, x: Node) -> TensorType:
        check_axis(self, x)
        return elementwise(self, x, floats_only=True)

    def flops(self, inputs: list[TensorType], output: TensorType) -> int:
        """About five per element: max, subtract, exp, sum, and divide (or log)."""
        return 5 * int(np.prod(output.shape))


class FusedGrad(Op):
    """A fused gradient `op_grad(y, gy, axis=-1)` from an op's output y and its gradient gy."""

    @classmethod
    def call(cls, y: Node, gy: Node, axis: int = -1) -> Node:
        return G.apply(cls(axis=integer(cls.name, "axis", axis)), y, gy)

    def infer(self, y: Node, gy: Node) -> TensorType:
        check_axis(self, y, gy)
        if y.shape != gy.shape:
            raise shape_error(self, "y and gy must have the same shape", y, gy)
        return elementwise(self, y, gy, floats_only=True)

    def flops(self, inputs: list[TensorType], output: TensorType) -> int:
        """About four per element: a product, its sum, a subtraction, a product."""
        return 4 * int(np.prod(output.shape))


class Softmax(AlongAxis):
    """`softmax(x, axis=-1)`: exp(x) normalised to sum to 1 along `axis`."""

    name = "softmax"

    def forward(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return softmax_into(x, self.axis, out)

    def vjp(self, inputs, output, gy):
        return (G.softmax_grad(output, gy, axis=self.axis),)


class SoftmaxGrad(FusedGrad):
    """`softmax_grad(y, gy, axis=-1)`: y * (gy - sum(gy * y)), the gradient of softmax
    given its output y, fused."""

    name = "softmax_grad"

    def forward(self, y: np.ndarray, gy: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        result = np.multiply(y, gy, out=out)
        dot = np.sum(result, axis=self.axis, keepdims=True)
        np.subtract(gy, dot, out=result)
        result *= y
        return result

    def vjp(self, inputs, output, gg):
        y, gy = inputs
        axis = self.axis

        def grad_y():
            return (gg * (gy - G.sum(gy * y, axis=axis, keepdims=True))
                    - gy * G.sum(gg * y, axis=axis, keepdims=True))

        return grad_y, lambda: G.softmax_grad(y, gg, axis=axis)


class LogSoftmax(AlongAxis):
    """`log_softmax(x, axis=-1)`: x - logsumexp(x) along `axis`."""

    name = "log_softmax"

    def forward(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return log_softmax_into(x, self.axis, out)

    def vjp(self, inputs, output, gy):
        return (G.log_softmax_grad(output, gy, axis=self.axis),)


class LogSoftmaxGrad(FusedGrad):
    """`log_softmax_grad(y, gy, axis=-1)`: gy - exp(y) * sum(gy), the gradient of
    log_softmax given its output y, fused."""

    name = "log_softmax_grad"

    def forward(self, y: np.ndarray, gy: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        result = np.exp(y, out=out)
        result *= np.sum(gy, axis=self.axis, keepdims=True)
        np.subtract(gy, result, out=result)
        return result

    def vjp(self, inputs, output, gg):
        y, gy = inputs
        axis = self.axis

        def grad_y():
            return -(gg * G.exp(y)) * G.sum(gy, axis=axis, keepdims=True)

        return grad_y, lambda: gg - G.sum(gg * G.exp(y), axis=axis, keepdims=True)


class LogSumExp(Op):
    """`logsumexp(x, axis=None, keepdims=False, b=None)`: log(sum(b * exp(x))) over `axis`
    (an int, a tuple, or None for all axes), without overflow, as scipy's logsumexp: the
    weights b (default 1) broadcast to x's shape; where b is 0, x may be -inf; a negative
    sum gives NaN."""

    name = "logsumexp"

    @classmethod
    def call(cls, x: Node, axis: int | tuple[int, ...] | None = None, keepdims: bool = False,
             b: Node | np.ndarray | float | None = None) -> Node:
        if not isinstance(x, Node):
            raise ArgumentTypeError(f"logsumexp: expected a node, got {type(x).__name__}")
        axes = normalize_axes(cls.name, x, axis)
        op = cls(axis=axes, keepdims=bool(keepdims))
        return G.apply(op, x) if b is None else G.apply(op, x, b)

    def kept_shape(self, x: Node) -> tuple[int, ...]:
        return tuple(1 if i in self.axis else d for i, d in enumerate(x.shape))

    def infer(self, x: Node, *b: Node) -> TensorType:
        dtype = require_float(self, x, *b)
        if b and elementwise(self, x, *b).shape != x.shape:
            raise shape_error(self, "the weights b must broadcast to the shape of x", x, *b)
        if self.keepdims:
            return TensorType(self.kept_shape(x), dtype)
        return TensorType(tuple(d for i, d in enumerate(x.shape) if i not in self.axis), dtype)

    def forward(self, x: np.ndarray, *b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        if b and not np.all(b[0]):
            x = np.where(b[0] == 0, -np.inf, x)
        peak = shifted_max(x, self.axis)
        terms = np.exp(x - peak)
        if b:
            terms *= b[0]
        total = np.asarray(np.sum(terms, axis=self.axis, keepdims=True))
        with np.errstate(divide="ignore", invalid="ignore"):
            np.log(total, out=total)
        total += peak
        result = total if self.keepdims else np.squeeze(total, axis=self.axis)
        if out is None:
            return result
        np.copyto(out, result)
        return out

    def vjp(self, inputs, output, gy):
        x = inputs[0]
        kept = self.kept_shape(x)
        share = G.reshape(gy, kept) * G.exp(x - G.reshape(output, kept))
        if len(inputs) == 1:
            return (share,)
        return lambda: share * inputs[1], lambda: share


OPS = [Softmax, SoftmaxGrad, LogSoftmax, LogSoftmaxGrad, LogSumExp]
