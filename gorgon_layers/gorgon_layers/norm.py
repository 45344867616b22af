"""Normalisation layers: BatchNorm1d/2d (running statistics as buffers, updated in place
by the batch_norm op in training mode), LayerNorm, GroupNorm."""

from __future__ import annotations

from typing import Any

import numpy as np

import gorgon as G
from gorgon import Node
from gorgon_layers.checks import float_dtype, rate, size, sizes
from gorgon_layers.init import constant, full
from gorgon_layers.module import Buffer, Module


def affine(module: Module, x: Node, shape: Any) -> tuple[Node, Node]:
    """The module's weight and bias nodes, or constant ones and zeros (of x's dtype) when
    it has none."""
    if "weight" in module._parameters:
        return module.weight, module.bias
    return (G.constant(np.ones(shape, x.dtype), x.graph), G.constant(np.zeros(shape, x.dtype), x.graph))


class _BatchNorm(Module):
    ranks: tuple[int, ...] = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, affine: bool = True,
                 dtype: Any = np.float32):
        super().__init__()
        owner = type(self).__name__
        self.num_features = size(owner, "num_features", num_features)
        self.eps = rate(owner, "eps", eps, 0.0, 1.0)
        self.momentum = rate(owner, "momentum", momentum, 0.0, 1.0 + 1e-12)
        self.affine = bool(affine)
        dtype = float_dtype(owner, dtype)
        shape = (self.num_features,)
        if self.affine:
            self.weight = constant(shape, 1.0, dtype)
            self.bias = constant(shape, 0.0, dtype)
        self.running_mean = Buffer(full(shape, 0.0, dtype))
        self.running_var = Buffer(full(shape, 1.0, dtype))
        # PyTorch's count of training batches (the Trainer counts; the statistics use momentum)
        self.num_batches_tracked = Buffer(full((), 0, np.dtype(np.int64)))

    def forward(self, x: Node) -> Node:
        rank = x.ndim if x.ndim in self.ranks else self.ranks[-1]
        self.expect(x, (None, self.num_features) + (None,) * (rank - 2), "a batch")
        scale, shift = affine(self, x, self.num_features)
        return G.batch_norm(x, scale, shift, self.running_mean, self.running_var,
                            momentum=self.momentum, eps=self.eps)

    def flops(self, x: Node, y: Node) -> int:
        return 4 * int(np.prod(y.shape))


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) over the batch (and length) per channel."""

    ranks = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of NCHW batches per channel."""

    ranks = (4,)


class LayerNorm(Module):
    """Normalise each example over its trailing `normalized_shape` axes, then scale and
    shift elementwise (weight and bias of that shape)."""

    def __init__(self, normalized_shape: Any, eps: float = 1e-5, elementwise_affine: bool = True,
                 dtype: Any = np.float32):
        super().__init__()
        count = len(normalized_shape) if isinstance(normalized_shape, (list, tuple)) else 1
        self.normalized_shape = sizes("LayerNorm", "normalized_shape", normalized_shape, count)
        self.eps = rate("LayerNorm", "eps", eps)
        dtype = float_dtype("LayerNorm", dtype)
        if elementwise_affine:
            self.weight = constant(self.normalized_shape, 1.0, dtype)
            self.bias = constant(self.normalized_shape, 0.0, dtype)

    def forward(self, x: Node) -> Node:
        trailing = len(self.normalized_shape)
        self.expect(x, (None,) * max(x.ndim - trailing, 1) + self.normalized_shape, "an input ending in")
        scale, shift = affine(self, x, self.normalized_shape)
        return G.layer_norm(x, scale, shift, eps=self.eps)

    def flops(self, x: Node, y: Node) -> int:
        return 5 * int(np.prod(y.shape))


class GroupNorm(Module):
    """Normalise each example over groups of channels (N, C, ...): C is split into
    num_groups groups, each normalised over its channels and positions, then scaled and
    shifted per channel (weight and bias (C,))."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 dtype: Any = np.float32):
        super().__init__()
        self.num_groups = size("GroupNorm", "num_groups", num_groups)
        self.num_channels = size("GroupNorm", "num_channels", num_channels)
        if self.num_channels % self.num_groups:
            raise G.ArgumentValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                                       f"num_groups ({num_groups})")
        self.eps = rate("GroupNorm", "eps", eps)
        dtype = float_dtype("GroupNorm", dtype)
        shape = (self.num_channels,)
        if affine:
            self.weight = constant(shape, 1.0, dtype)
            self.bias = constant(shape, 0.0, dtype)

    def forward(self, x: Node) -> Node:
        self.expect(x, (None, self.num_channels) + (None,) * max(x.ndim - 2, 0), "a batch (N, C, ...)")
        scale, shift = affine(self, x, (self.num_channels,))
        return G.group_norm(x, self.num_groups, scale, shift, eps=self.eps)

    def flops(self, x: Node, y: Node) -> int:
        return 7 * int(np.prod(y.shape))
