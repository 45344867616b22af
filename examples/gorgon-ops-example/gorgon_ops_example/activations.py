"""Activations: swish, x * sigmoid(beta * x), and mish, x * tanh(softplus(x))."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

import gorgon as G
from gorgon import Node, Op, TensorType
from gorgon.infer import elementwise


class Swish(Op):
    """`swish(x, beta=1.0)`: x * sigmoid(beta * x)."""

    name = "swish"

    @classmethod
    def call(cls, x: Node, beta: float = 1.0) -> Node:
        return G.apply(cls(beta=float(beta)), x)

    def infer(self, x: Node) -> TensorType:
        return elementwise(self, x, floats_only=True)

    def forward(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        out = np.empty_like(x) if out is None else out
        np.multiply(x, 0.5 * self.beta, out=out)
        np.tanh(out, out=out)
        out += 1.0
        out *= 0.5
        out *= x
        return out

    def vjp(self, inputs: Sequence[Node], output: Node, gy: Node) -> tuple[Node]:
        (x,) = inputs
        s = G.sigmoid(x * self.beta)
        return (gy * (s + output * self.beta * (1.0 - s)),)

class Mish(Op):
    """`mish(x)`: x * tanh(softplus(x))."""

    name = "mish"

    def infer(self, x: Node) -> TensorType:
        return elementwise(self, x, floats_only=True)

    def forward(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        out = np.empty_like(x) if out is None else out
        np.logaddexp(0.0, x, out=out)
        np.tanh(out, out=out)
        out *= x
        return out

    def vjp(self, inputs: Sequence[Node], output: Node, gy: Node) -> tuple[Node]:
        (x,) = inputs
        t = G.tanh(G.softplus(x))
        return (gy * (t + x * (1.0 - t * t) * G.sigmoid(x)),)
