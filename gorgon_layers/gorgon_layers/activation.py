"""Activations as modules (no parameters): ReLU, LeakyReLU, GELU, SiLU, Sigmoid, Tanh,
Softmax."""

from __future__ import annotations

import numpy as np

import gorgon as G
from gorgon import Node
from gorgon_layers.module import Module


class _Elementwise(Module):
    cost = 1

    def flops(self, x: Node, y: Node) -> int:
        return self.cost * int(np.prod(y.shape))


class ReLU(_Elementwise):
    def forward(self, x: Node) -> Node:
        return G.relu(x)


class LeakyReLU(_Elementwise):
    """`x` where positive, else `negative_slope * x`."""

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x: Node) -> Node:
        return G.leaky_relu(x, self.negative_slope)


class GELU(_Elementwise):
    """`x * Phi(x)`; `approximate="tanh"` for the tanh form."""

    cost = 8

    def __init__(self, approximate: str = "none"):
        super().__init__()
        self.approximate = approximate
        if approximate not in ("none", "tanh"):
            raise G.ArgumentValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")

    def forward(self, x: Node) -> Node:
        return G.gelu(x, approximate=self.approximate)


class SiLU(_Elementwise):
    """`x * sigmoid(x)`."""

    cost = 5

    def forward(self, x: Node) -> Node:
        return G.silu(x)


class Sigmoid(_Elementwise):
    cost = 4

    def forward(self, x: Node) -> Node:
        return G.sigmoid(x)


class Tanh(_Elementwise):
    cost = 4

    def forward(self, x: Node) -> Node:
        return G.tanh(x)


class Softmax(_Elementwise):
    """Softmax along `dim` (default the last axis)."""

    cost = 5

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = int(dim)

    def forward(self, x: Node) -> Node:
        return G.softmax(x, axis=self.dim)
