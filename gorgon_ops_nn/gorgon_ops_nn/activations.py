"""Activations: leaky_relu, elu, gelu (exact or tanh approximation), and gelu_grad, the
fused gradient of exact gelu."""

from __future__ import annotations

import math

import numpy as np
from scipy import special

import gorgon as G
from gorgon import Node, Op, TensorType
from gorgon.infer import elementwise, inputs_of, nodes_in, real
from gorgon_ops_nn.buffers import out_buffer

GELU_TANH_SCALE = math.sqrt(2.0 / math.pi)
GELU_TANH_CUBIC = 0.044715
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


class LeakyRelu(Op):
    """`leaky_relu(x, alpha=0.01)`: x where x > 0, else alpha * x."""

    name = "leaky_relu"

    @classmethod
    def call(cls, x: Node, alpha: float = 0.01) -> Node:
        return G.apply(cls(alpha=real(cls.name, "alpha", alpha, *nodes_in(x))), x)

    def infer(self, x: Node) -> TensorType:
        return elementwise(self, x, floats_only=True)

    def forward(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        result = np.multiply(x, self.alpha, out=out_buffer(out, x.shape, x.dtype))
        np.copyto(result, x, where=x > 0)
        return result

    def vjp(self, inputs, output, gy):
        return (G.where(G.gt(inputs[0], 0.0), gy, gy * self.alpha),)


class Elu(Op):
    """`elu(x, alpha=1.0)`: x where x > 0, else alpha * (exp(x) - 1)."""

    name = "elu"

    @classmethod
    def call(cls, x: Node, alpha: float = 1.0) -> Node:
        return G.apply(cls(alpha=real(cls.name, "alpha", alpha, *nodes_in(x))), x)

    def infer(self, x: Node) -> TensorType:
        return elementwise(self, x, floats_only=True)

    def forward(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        result = np.minimum(x, 0.0, out=out_buffer(out, x.shape, x.dtype))
        np.expm1(result, out=result)
        result *= self.alpha
        np.copyto(result, x, where=x > 0)
        return result

    def vjp(self, inputs, output, gy):
        return (G.where(G.gt(inputs[0], 0.0), gy, gy * (output + self.alpha)),)


class Gelu(Op):
    """`gelu(x, approximate="none")`: x * Phi(x), Phi the standard normal CDF;
    `approximate="tanh"` uses 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""

    name = "gelu"
    elementwise = True

    @classmethod
    def call(cls, x: Node, approximate: str = "none") -> Node:
        if not isinstance(approximate, str) or approximate not in ("none", "tanh"):
            raise G.ArgumentValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}"
                                       f"{inputs_of([x])}")
        return G.apply(cls(approximate=approximate), x)

    def infer(self, x: Node) -> TensorType:
        return elementwise(self, x, floats_only=True)

    def forward(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        result = out_buffer(out, x.shape, x.dtype)
        if self.approximate == "tanh":
            np.square(x, out=result)
            result *= GELU_TANH_CUBIC
            result += 1.0
            result *= x
            result *= GELU_TANH_SCALE
            np.tanh(result, out=result)
            result += 1.0
            result *= 0.5
        else:
            special.ndtr(x, out=result)
        result *= x
        return result

    def vjp(self, inputs, output, gy):
        x = inputs[0]
        if self.approximate == "none":
            return (lambda: G.gelu_grad(x, gy),)
        square = x * x
        t = G.tanh(x * (square * GELU_TANH_CUBIC + 1.0) * GELU_TANH_SCALE)
        inner_slope = (square * (3.0 * GELU_TANH_CUBIC) + 1.0) * GELU_TANH_SCALE
        return (gy * ((t + 1.0) * 0.5 + x * (1.0 - t * t) * inner_slope * 0.5),)


class GeluGrad(Op):
    """`gelu_grad(x, gy)`: gy * (Phi(x) + x phi(x)), the gradient of exact gelu, fused."""

    name = "gelu_grad"

    def infer(self, x: Node, gy: Node) -> TensorType:
        return elementwise(self, x, gy, floats_only=True)

    def forward(self, x: np.ndarray, gy: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        result = np.square(x, out=out_buffer(out, np.broadcast_shapes(x.shape, gy.shape), x.dtype))
        result *= -0.5
        np.exp(result, out=result)
        result *= x
        result *= INV_SQRT_2PI
        result += special.ndtr(x)
        result *= gy
        return result

    def vjp(self, inputs, output, gg):
        x, gy = inputs
        square = x * x
        density = G.exp(square * -0.5) * INV_SQRT_2PI
        return lambda: gg * gy * density * (2.0 - square), lambda: G.gelu_grad(x, gg)


OPS = [LeakyRelu, Elu, Gelu, GeluGrad]
