"""Embedding lookup: rows of a weight matrix picked by integer indices."""

from __future__ import annotations

import numpy as np

import gorgon as G
from gorgon import Node, Op, TensorType
from gorgon.infer import require_float, require_integer, shape_error


class Embedding(Op):
    """`embedding(indices, weight)`: `weight[indices]`, one row of the (num, dim) weight
    per integer index, so the result has shape indices.shape + (dim,). The gradient adds
    into the weight's rows, once per occurrence of an index; indices get none."""

    name = "embedding"

    @classmethod
    def call(cls, indices: Node | np.ndarray, weight: Node) -> Node:
        return G.apply(cls(), indices, weight)

    def infer(self, indices: Node, weight: Node) -> TensorType:
        require_integer(self, indices)
        dtype = require_float(self, weight)
        if weight.ndim != 2:
            raise shape_error(self, "weight must be a (num_embeddings, dim) matrix", indices, weight)
        return TensorType(indices.shape + weight.shape[1:], dtype)

    def forward(self, indices: np.ndarray, weight: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        if indices.size and (indices.min() < 0 or indices.max() >= weight.shape[0]):
            raise IndexError(f"embedding indices must lie in [0, {weight.shape[0]}), got values "
                             f"from {indices.min()} to {indices.max()}")
        return np.take(weight, indices, axis=0, out=out)

    def vjp(self, inputs, output, gy):
        indices, weight = inputs
        return None, lambda: G.take_grad(gy, indices, weight.shape, axis=0)


OPS = [Embedding]
