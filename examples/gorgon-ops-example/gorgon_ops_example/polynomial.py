"""polynomial(x, coefficients): c0 + c1 x + c2 x**2 + ..., elementwise."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

import gorgon as G
from gorgon import Node, Op, TensorType
from gorgon.infer import elementwise


class Polynomial(Op):
    """`polynomial(x, coefficients=(c0, c1, ...))`: the sum of c_k * x**k, elementwise."""

    name = "polynomial"

    @classmethod
    def call(cls, x: Node, coefficients: Sequence[float]) -> Node:
        coefficients = tuple(float(c) for c in coefficients)
        if not coefficients:
            raise ValueError("polynomial: needs at least one coefficient")
        return G.apply(cls(coefficients=coefficients), x)

    def infer(self, x: Node) -> TensorType:
        return elementwise(self, x, floats_only=True)

    def forward(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        out = np.empty_like(x) if out is None else out
        *lower, highest = self.coefficients
        out.fill(highest)
        for coefficient in reversed(lower):
            out *= x
            out += coefficient
        return out

    def vjp(self, inputs: Sequence[Node], output: Node, gy: Node) -> tuple[Node]:
        (x,) = inputs
        slope = tuple(k * c for k, c in enumerate(self.coefficients))[1:] or (0.0,)
        return (gy * Polynomial.call(x, slope),)
