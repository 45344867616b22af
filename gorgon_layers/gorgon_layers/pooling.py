"""Pooling and reshaping layers over NCHW batches: MaxPool2d, AvgPool2d,
GlobalAvgPool2d, Flatten; and Dropout."""

from __future__ import annotations

from typing import Any

import numpy as np

import gorgon as G
from gorgon import Node
from gorgon_layers.checks import rate, size, sizes
from gorgon_layers.module import Module


class _Pool2d(Module):
    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0):
        super().__init__()
        owner = type(self).__name__
        self.kernel_size = sizes(owner, "kernel_size", kernel_size)
        self.stride = self.kernel_size if stride is None else sizes(owner, "stride", stride)
        self.padding = sizes(owner, "padding", padding, minimum=0)

    def check(self, x: Node) -> None:
        self.expect(x, (None, None, None, None), "an NCHW batch")

    def flops(self, x: Node, y: Node) -> int:
        return int(np.prod(y.shape)) * int(np.prod(self.kernel_size))


class MaxPool2d(_Pool2d):
    """The maximum of each window."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1):
        super().__init__(kernel_size, stride, padding)
        self.dilation = sizes("MaxPool2d", "dilation", dilation)

    def forward(self, x: Node) -> Node:
        self.check(x)
        return G.max_pool2d(x, self.kernel_size, stride=self.stride, padding=self.padding,
                            dilation=self.dilation)


class AvgPool2d(_Pool2d):
    """The mean of each window (padding counted unless `count_include_pad=False`)."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, count_include_pad: bool = True):
        super().__init__(kernel_size, stride, padding)
        self.count_include_pad = bool(count_include_pad)

    def forward(self, x: Node) -> Node:
        self.check(x)
        return G.avg_pool2d(x, self.kernel_size, stride=self.stride, padding=self.padding,
                            count_include_pad=self.count_include_pad)


class GlobalAvgPool2d(Module):
    """The mean of each channel: (N, C, H, W) -> (N, C) (`keepdims=True`: (N, C, 1, 1))."""

    def __init__(self, keepdims: bool = False):
        super().__init__()
        self.keepdims = bool(keepdims)

    def forward(self, x: Node) -> Node:
        self.expect(x, (None, None, None, None), "an NCHW batch")
        y = G.global_avg_pool2d(x)
        return y if self.keepdims else G.reshape(y, x.shape[:2])

    def flops(self, x: Node, y: Node) -> int:
        return int(np.prod(x.shape))


class Flatten(Module):
    """Every axis from `start_dim` on merged into one."""

    def __init__(self, start_dim: int = 1):
        super().__init__()
        self.start_dim = size("Flatten", "start_dim", start_dim, minimum=0)

    def forward(self, x: Node) -> Node:
        if x.ndim <= self.start_dim:
            raise G.ShapeError(f"{self.describe()}: needs more than {self.start_dim} axes, got {x.name!r} "
                               f"of shape {x.shape} ({x.dtype})")
        return G.flatten(x, self.start_dim)


class Dropout(Module):
    """Zero each element with probability p in training mode (scaling the rest by
    1 / (1 - p)); the identity in evaluation mode. `seed` makes the masks reproducible."""

    def __init__(self, p: float = 0.5, seed: int | None = None):
        super().__init__()
        self.p = rate("Dropout", "p", p)
        self.seed = seed

    def forward(self, x: Node) -> Node:
        return G.dropout(x, self.p, seed=self.seed)
