"""max_pool1d and avg_pool1d: the 2-D pooling kernels on sequences seen as images one
pixel high; their gradients are the 2-D pools' gradient ops on those images."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

import gorgon as G
from gorgon import Node, Op, TensorType
from gorgon_ops_conv.avgpool import AvgPool2d
from gorgon_ops_conv.geometry import integer
from gorgon_ops_conv.line import (Pads1d, as_image, image_node, image_params, length_pads, line_node,
                                  line_window)
from gorgon_ops_conv.maxpool import MaxPool2d
from gorgon_ops_conv.nchw import floats, nonempty, rank


def line_pool_params(kernel_size: Any, stride: Any, padding: Any, dilation: Any) -> dict[str, Any]:
    """Canonical 1-D pooling params; stride None means kernel_size."""
    return dict(kernel_size=integer(kernel_size, "kernel_size"),
                stride=integer(kernel_size if stride is None else stride, "stride"),
                padding=length_pads(padding), dilation=integer(dilation, "dilation"))


class Pool1d(Op):
    """What the 1-D pools share: the pooled length, and the 2-D pool that does the work."""

    def image_params(self) -> dict[str, Any]:
        """The 2-D pool's params on (N, C, 1, L) images."""
        geometry = {k: self.params[k] for k in ("kernel_size", "stride", "padding", "dilation")}
        others = {k: v for k, v in self.params.items() if k not in geometry}
        return {**others, **image_params(**geometry)}

    def infer(self, x: Node) -> TensorType:
        rank(self, x, 3, "a batch of sequences (N, C, L)", x)
        nonempty(self, x, x, batch=True)
        dtype = floats(self, x)
        window = line_window(self.kernel_size, self.stride, self.padding, self.dilation)
        grid = window.check(self, (1, x.shape[2]), x)
        window.check_reaches_input(self, (1, x.shape[2]), x)
        return TensorType(x.shape[:2] + grid[1:], dtype)

    def forward(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        y = self.image_op(**self.image_params()).forward(as_image(x), out=as_image(out))
        return y[:, :, 0, :] if out is None else out


class MaxPool1d(Pool1d):
    """`max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1)`: the largest value
    of each window of x (N, C, L); stride defaults to kernel_size; padding (an int or a
    (left, right) pair) never wins."""

    name = "max_pool1d"
    image_op = MaxPool2d

    @classmethod
    def call(cls, x: Any, kernel_size: int, stride: int | None = None, padding: Pads1d = 0,
             dilation: int = 1) -> Node:
        return G.apply(cls(**line_pool_params(kernel_size, stride, padding, dilation)), x)

    def vjp(self, inputs: Sequence[Node], output: Node, gy: Node) -> Sequence[Node]:
        x = inputs[0]
        return (line_node(G.max_pool2d_grad(image_node(x), image_node(gy), **self.image_params())),)


class AvgPool1d(Pool1d):
    """`avg_pool1d(x, kernel_size, stride=None, padding=0, dilation=1, count_include_pad=True)`:
    the mean of each window of x (N, C, L); stride defaults to kernel_size; padding (an
    int or a (left, right) pair) counts as zeros, or, with count_include_pad=False, not
    at all."""

    name = "avg_pool1d"
    image_op = AvgPool2d

    @classmethod
    def call(cls, x: Any, kernel_size: int, stride: int | None = None, padding: Pads1d = 0,
             dilation: int = 1, count_include_pad: bool = True) -> Node:
        return G.apply(cls(count_include_pad=bool(count_include_pad),
                           **line_pool_params(kernel_size, stride, padding, dilation)), x)

    def vjp(self, inputs: Sequence[Node], output: Node, gy: Node) -> Sequence[Node]:
        x = inputs[0]
        return (line_node(G.avg_pool2d_grad(image_node(gy), (1, x.shape[2]), **self.image_params())),)


OPS = [MaxPool1d, AvgPool1d]
