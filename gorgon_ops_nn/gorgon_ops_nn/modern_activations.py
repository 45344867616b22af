"""More activations, as torch.nn.functional defines them: silu, mish, hardswish, selu and
softsign. Each gradient is written with gorgon ops, so it is differentiable again."""

from __future__ import annotations

import numpy as np

import gorgon as G
from gorgon import Node, Op, TensorType
from gorgon.infer import elementwise
from gorgon_ops_nn.buffers import out_buffer

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


class Activation(Op):
    """An elementwise activation of one float input."""

    def infer(self, x: Node) -> TensorType:
        return elementwise(self, x, floats_only=True)


class Silu(Activation):
    """`silu(x)`: x * sigmoid(x) (also called swish)."""

    name = "silu"

    def forward(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        result = np.negative(x, out=out_buffer(out, x.shape, x.dtype))
        with np.errstate(over="ignore"):
            np.exp(result, out=result)
        result += 1.0
        np.divide(x, result, out=result)
        return result

    def vjp(self, inputs, output, gy):
        x = inputs[0]
        gate = G.sigmoid(x)
        return (gy * (gate * (x * (1.0 - gate) + 1.0)),)


class Mish(Activation):
    """`mish(x)`: x * tanh(softplus(x)), softplus(x) = log(1 + exp(x))."""

    name = "mish"

    def forward(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        result = np.logaddexp(0.0, x, out=out_buffer(out, x.shape, x.dtype))
        np.tanh(result, out=result)
        result *= x
        return result

    def vjp(self, inputs, output, gy):
        x = inputs[0]
        t = G.tanh(G.softplus(x))
        return (gy * (t + x * G.sigmoid(x) * (1.0 - t * t)),)


class Hardswish(Activation):
    """`hardswish(x)`: x * clip(x + 3, 0, 6) / 6; its slope is 0 up to -3, x / 3 + 1/2
    between, 1 from 3 on (at the kinks, the outer pieces' slopes, as torch)."""

    name = "hardswish"

    def forward(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        result = np.add(x, 3.0, out=out_buffer(out, x.shape, x.dtype))
        np.clip(result, 0.0, 6.0, out=result)
        result *= x
        result /= 6.0
        return result

    def vjp(self, inputs, output, gy):
        x = inputs[0]
        slope = G.where(G.le(x, -3.0), 0.0, G.where(G.lt(x, 3.0), x / 3.0 + 0.5, 1.0))
        return (gy * slope,)


class Selu(Activation):
    """`selu(x)`: scale * (x where x > 0, else alpha * (exp(x) - 1)), with the
    self-normalising constants alpha = 1.6733 and scale = 1.0507."""

    name = "selu"

    def forward(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        result = np.minimum(x, 0.0, out=out_buffer(out, x.shape, x.dtype))
        np.expm1(result, out=result)
        result *= SELU_ALPHA
        np.copyto(result, x, where=x > 0)
        result *= SELU_SCALE
        return result

    def vjp(self, inputs, output, gy):
        x = inputs[0]
        negative_slope = G.exp(G.minimum(x, 0.0)) * (SELU_ALPHA * SELU_SCALE)
        return (gy * G.where(G.gt(x, 0.0), SELU_SCALE, negative_slope),)


class Softsign(Activation):
    """`softsign(x)`: x / (1 + |x|)."""

    name = "softsign"

    def forward(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        result = np.abs(x, out=out_buffer(out, x.shape, x.dtype))
        result += 1.0
        np.divide(x, result, out=result)
        return result

    def vjp(self, inputs, output, gy):
        denominator = G.abs(inputs[0]) + 1.0
        return (gy / (denominator * denominator),)


OPS = [Silu, Mish, Hardswish, Selu, Softsign]
