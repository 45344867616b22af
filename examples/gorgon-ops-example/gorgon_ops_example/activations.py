"""Activations: swish, x * sigmoid(beta * x), and bent_identity, (sqrt(x**2 + 1) - 1) / 2 + x."""

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

class BentIdentity(Op):
    """`bent_identity(x)`: (sqrt(x**2 + 1) - 1) / 2 + x."""

    name = "bent_identity"

    def infer(self, x: Node) -> TensorType:
        return elementwise(self, x, floats_only=True)

    def forward(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        out = np.empty_like(x) if out is None else out
        np.hypot(x, 1.0, out=out)
        out -= 1.0
        out *= 0.5
        out += x
        return out

    def vjp(self, inputs: Sequence[Node], output: Node, gy: Node) -> tuple[Node]:
        (x,) = inputs
        return (gy * (1.0 + 0.5 * x / G.sqrt(G.square(x) + 1.0)),)
