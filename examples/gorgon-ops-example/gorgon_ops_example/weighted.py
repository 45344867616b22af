"""weighted_mean(x, weights, axis=None, keepdims=False): sum(x * weights) / sum(weights)
over `axis`, the weights broadcast against x as numpy broadcasts."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

import gorgon as G
from gorgon import Node, Op, TensorType
from gorgon.infer import broadcast_shape, integers, normalize_axes, require_float, shape_error


class WeightedMean(Op):
    """`weighted_mean(x, weights, axis=None, keepdims=False)`: numpy's `average` with
    weights that broadcast to x's shape (one per column, one per row, or one per element)."""

    name = "weighted_mean"

    @classmethod
    def call(cls, x: Node, weights: Node, axis: int | Sequence[int] | None = None,
             keepdims: bool = False) -> Node:
        axis = None if axis is None else integers("weighted_mean", "axis", axis)
        return G.apply(cls(axis=axis, keepdims=bool(keepdims)), x, weights)

    def infer(self, x: Node, weights: Node) -> TensorType:
        dtype = require_float(self, x, weights)
        if broadcast_shape(self, x, weights) != x.shape:
            raise shape_error(self, "weights must broadcast to the shape of x", x, weights)
        axes = normalize_axes(self, x, self.axis)
        if self.keepdims:
            return TensorType(tuple(1 if i in axes else d for i, d in enumerate(x.shape)), dtype)
        return TensorType(tuple(d for i, d in enumerate(x.shape) if i not in axes), dtype)

    def forward(self, x: np.ndarray, weights: np.ndarray,
                out: np.ndarray | None = None) -> np.ndarray:
        weights = np.broadcast_to(weights, x.shape)
        total = np.sum(x * weights, axis=self.axis, keepdims=self.keepdims)
        weight = np.sum(weights, axis=self.axis, keepdims=self.keepdims)
        if out is None:
            return np.asarray(total / weight)
        return np.divide(total, weight, out=out)

    def vjp(self, inputs: Sequence[Node], output: Node, gy: Node) -> tuple:
        x, weights = inputs
        axes = normalize_axes(self, x, self.axis)
        kept = tuple(1 if i in axes else d for i, d in enumerate(x.shape))
        total = G.sum(G.broadcast_to(weights, x.shape), axis=axes, keepdims=True)
        scale = G.reshape(gy, kept) / total
        mean = G.reshape(output, kept)
        return (lambda: G.broadcast_to(scale * weights, x.shape),
                lambda: scale * (x - mean))
