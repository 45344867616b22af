"""avg_pool2d and its gradient avg_pool2d_grad (each the other's adjoint), and
global_avg_pool2d."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

import gorgon as G
from gorgon import Node, Op, TensorType
from gorgon_ops_conv.geometry import Pair, Window, pair
from gorgon_ops_conv.nchw import images
from gorgon_ops_conv.pool import Pool, pool_params
from gorgon_ops_conv.windows import at_offset, deliver, padded, scatter, target


class AvgPooling(Pool):
    """What avg_pool2d and its gradient share: the divisor of each window."""

    def divisor(self, window: Window, size: Pair, dtype: np.dtype) -> int | np.ndarray:
        """kh*kw with count_include_pad, else each window's count of input pixels (OH, OW)."""
        if self.count_include_pad:
            return window.kernel[0] * window.kernel[1]
        rows, cols = window.coverage(size)
        return np.multiply.outer(rows, cols).astype(dtype)


class AvgPool2d(AvgPooling):
    """`avg_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, count_include_pad=True)`:
    the mean of each window of an NCHW batch; stride defaults to kernel_size; padding
    counts as zeros in the mean, or, with count_include_pad=False, not at all."""

    name = "avg_pool2d"

    @classmethod
    def call(cls, x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
             dilation: Any = 1, count_include_pad: bool = True) -> Node:
        return G.apply(cls(count_include_pad=bool(count_include_pad),
                           **pool_params(kernel_size, stride, padding, dilation)), x)

    def infer(self, x: Node) -> TensorType:
        dtype = images(self, x)
        return TensorType(self.pooled(x, x), dtype)

    def forward(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        window = Window.of(self)
        grid = window.grid(x.shape[2:])
        xp = padded(x, window)
        views = [at_offset(xp, window, grid, i, j) for i, j in window.offsets]
        y = target(out, x.shape[:2] + grid, x.dtype)
        np.copyto(y, views[0])
        for view in views[1:]:
            np.add(y, view, out=y)
        y /= self.divisor(window, x.shape[2:], x.dtype)
        return deliver(y, out)

    def vjp(self, inputs: Sequence[Node], output: Node, gy: Node) -> Sequence[Node]:
        return (G.avg_pool2d_grad(gy, inputs[0].shape[2:], **self.params),)


class AvgPool2dGrad(AvgPooling):
    """`avg_pool2d_grad(gy, input_size, kernel_size, stride=None, padding=0, dilation=1,
    count_include_pad=True)`: the gradient of avg_pool2d over an input of `input_size`:
    each element of gy, divided as the mean divided, spread over its window."""

    name = "avg_pool2d_grad"

    @classmethod
    def call(cls, gy: Any, input_size: Any, kernel_size: Any, stride: Any = None,
             padding: Any = 0, dilation: Any = 1, count_include_pad: bool = True) -> Node:
        return G.apply(cls(input_size=pair(input_size, "input_size"),
                           count_include_pad=bool(count_include_pad),
                           **pool_params(kernel_size, stride, padding, dilation)), gy)

    def infer(self, gy: Node) -> TensorType:
        dtype = images(self, gy)
        window = Window.of(self)
        grid = window.check(self, self.input_size, gy)
        window.check_reaches_input(self, self.input_size, gy)
        self.expect(gy, gy.shape[:2] + grid, "the gradient", gy)
        return TensorType(gy.shape[:2] + self.input_size, dtype)

    def forward(self, gy: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        window = Window.of(self)
        shares = gy / self.divisor(window, self.input_size, gy.dtype)

        def add(view: np.ndarray, index: int) -> None:
            np.add(view, shares, out=view)

        return scatter(gy.shape[:2], self.input_size, window, gy.shape[2:], add, gy.dtype, out)

    def vjp(self, inputs: Sequence[Node], output: Node, ggx: Node) -> Sequence[Node]:
        geometry = {k: v for k, v in self.params.items() if k != "input_size"}
        return (G.avg_pool2d(ggx, **geometry),)


class GlobalAvgPool2d(Op):
    """`global_avg_pool2d(x)`: the mean of each channel of an NCHW batch, shape (N, C, 1, 1)."""

    name = "global_avg_pool2d"

    def infer(self, x: Node) -> TensorType:
        dtype = images(self, x)
        return TensorType(x.shape[:2] + (1, 1), dtype)

    def forward(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return np.mean(x, axis=(2, 3), keepdims=True, dtype=x.dtype, out=out)

    def flops(self, inputs: Sequence[TensorType], output: TensorType) -> int:
        return int(np.prod(inputs[0].shape))

    def vjp(self, inputs: Sequence[Node], output: Node, gy: Node) -> Sequence[Node]:
        x = inputs[0]
        return (G.broadcast_to(gy, x.shape) / float(x.shape[2] * x.shape[3]),)


OPS = [AvgPool2d, AvgPool2dGrad, GlobalAvgPool2d]
