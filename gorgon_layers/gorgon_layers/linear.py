"""Linear (a dense layer) and Embedding (a lookup table)."""

from __future__ import annotations

from typing import Any

import numpy as np

import gorgon as G
from gorgon import Node
from gorgon_layers.checks import float_dtype, size
from gorgon_layers.init import fan_in_uniform, normal
from gorgon_layers.module import Module


class Linear(Module):
    """`y = x @ weight.T + bias` over x's last axis; weight is (out, in) as in PyTorch."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype: Any = np.float32):
        super().__init__()
        self.in_features = size("Linear", "in_features", in_features)
        self.out_features = size("Linear", "out_features", out_features)
        dtype = float_dtype("Linear", dtype)
        self.weight = fan_in_uniform((self.out_features, self.in_features), self.in_features, dtype)
        if bias:
            self.bias = fan_in_uniform((self.out_features,), self.in_features, dtype)

    def forward(self, x: Node) -> Node:
        self.expect(x, (None,) * (x.ndim - 1) + (self.in_features,) if x.ndim else (self.in_features,),
                    "an input with last axis in_features")
        y = G.matmul(x, self.weight, transpose_b=True)
        return y + self.bias if "bias" in self._parameters else y

    def flops(self, x: Node, y: Node) -> int:
        return 2 * int(np.prod(y.shape)) * self.in_features


class Embedding(Module):
    """Row `i` of weight (num_embeddings, embedding_dim) for each integer index i."""

    def __init__(self, num_embeddings: int, embedding_dim: int, dtype: Any = np.float32):
        super().__init__()
        self.num_embeddings = size("Embedding", "num_embeddings", num_embeddings)
        self.embedding_dim = size("Embedding", "embedding_dim", embedding_dim)
        self.weight = normal((self.num_embeddings, self.embedding_dim), float_dtype("Embedding", dtype))

    def forward(self, indices: Node) -> Node:
        if indices.dtype.kind not in "iu":
            raise G.DtypeError(f"{self.describe()}: expected integer indices, got {indices.name!r} "
                               f"of shape {indices.shape} ({indices.dtype})")
        return G.embedding(indices, self.weight)
