"""max_pool2d, and the pair of ops that are its gradient and that gradient's gradient:
max_pool2d_grad scatters a gradient to each window's largest element, max_pool2d_select
gathers one from there. Ties go to the first largest element in row-major window order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

import gorgon as G
from gorgon import Node, TensorType
from gorgon_ops_conv.geometry import Pair, Window
from gorgon_ops_conv.nchw import images
from gorgon_ops_conv.pool import Pool, pool_params
from gorgon_ops_conv.windows import at_offset, deliver, padded, scatter, target


def winners(x: np.ndarray, window: Window, grid: Pair) -> list[np.ndarray]:
    """For each kernel offset (in `window.offsets` order), the mask of the windows of x
    whose largest element sits there; at ties the first offset wins. Masks, not indices:
    numpy's comparisons and multiplications are many times faster than its masked copies."""
    xp = padded(x, window, -np.inf)
    views = [at_offset(xp, window, grid, i, j) for i, j in window.offsets]
    best = views[0].copy()
    for view in views[1:]:
        np.maximum(best, view, out=best)
    masks = [np.equal(views[0], best)]
    free = np.logical_not(masks[0])
    for view in views[1:]:
        hit = np.equal(view, best)
        np.logical_and(hit, free, out=hit)
        np.logical_xor(free, hit, out=free)
        masks.append(hit)
    return masks


class MaxPool2d(Pool):
    """`max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1)`: the largest value
    of each window of an NCHW batch; stride defaults to kernel_size, padding never wins."""

    name = "max_pool2d"

    @classmethod
    def call(cls, x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
             dilation: Any = 1) -> Node:
        return G.apply(cls(**pool_params(kernel_size, stride, padding, dilation)), x)

    def infer(self, x: Node) -> TensorType:
        dtype = images(self, x)
        return TensorType(self.pooled(x, x), dtype)

    def forward(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        window = Window.of(self)
        grid = window.grid(x.shape[2:])
        xp = padded(x, window, -np.inf)
        views = [at_offset(xp, window, grid, i, j) for i, j in window.offsets]
        y = target(out, x.shape[:2] + grid, x.dtype)
        np.copyto(y, views[0])
        for view in views[1:]:
            np.maximum(y, view, out=y)
        return deliver(y, out)

    def vjp(self, inputs: Sequence[Node], output: Node, gy: Node) -> Sequence[Node]:
        return (G.max_pool2d_grad(inputs[0], gy, **self.params),)


class MaxPool2dGrad(Pool):
    """`max_pool2d_grad(x, gy, kernel_size, stride=None, padding=0, dilation=1)`: the
    gradient of max_pool2d: zeros shaped like x, plus each element of gy at its window's
    largest element of x (gy is spread by multiplying with 0/1 masks, so an infinite
    gradient makes NaNs across its window). Windows that tile x (the usual 2x2, stride 2)
    write each offset's share straight into its strided view. Linear in gy; constant in x
    almost everywhere."""

    name = "max_pool2d_grad"

    @classmethod
    def call(cls, x: Any, gy: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
             dilation: Any = 1) -> Node:
        return G.apply(cls(**pool_params(kernel_size, stride, padding, dilation)), x, gy)

    def infer(self, x: Node, gy: Node) -> TensorType:
        dtype = images(self, x, gy)
        self.expect(gy, self.pooled(x, x, gy), "the gradient", x, gy)
        return TensorType(x.shape, dtype)

    def forward(self, x: np.ndarray, gy: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        window = Window.of(self)
        grid = gy.shape[2:]
        masks = winners(x, window, grid)
        if window.tiles(x.shape[2:]):
            result = target(out, x.shape, x.dtype)
            for mask, (i, j) in zip(masks, window.offsets):
                np.multiply(gy, mask, out=at_offset(result, window, grid, i, j))
            return deliver(result, out)
        shares = np.empty(gy.shape, gy.dtype)

        def add(view: np.ndarray, index: int) -> None:
            np.multiply(gy, masks[index], out=shares)
            np.add(view, shares, out=view)

        return scatter(x.shape[:2], x.shape[2:], window, grid, add, x.dtype, out)

    def vjp(self, inputs: Sequence[Node], output: Node, ggx: Node) -> Sequence[Any]:
        x = inputs[0]
        return None, lambda: G.max_pool2d_select(x, ggx, **self.params)


class MaxPool2dSelect(Pool):
    """`max_pool2d_select(x, g, kernel_size, stride=None, padding=0, dilation=1)`: for each
    window, the element of g (shaped like x) where x is largest; pooled shape. The
    adjoint of max_pool2d_grad in its gradient."""

    name = "max_pool2d_select"

    @classmethod
    def call(cls, x: Any, g: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
             dilation: Any = 1) -> Node:
        return G.apply(cls(**pool_params(kernel_size, stride, padding, dilation)), x, g)

    def infer(self, x: Node, g: Node) -> TensorType:
        dtype = images(self, x, g)
        self.expect(g, x.shape, "the values", x, g)
        return TensorType(self.pooled(x, x, g), dtype)

    def forward(self, x: np.ndarray, g: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        window = Window.of(self)
        grid = window.grid(x.shape[2:])
        gp = padded(g, window)
        y = target(out, x.shape[:2] + grid, x.dtype)
        y.fill(0)
        picked = np.empty(y.shape, y.dtype)
        for mask, (i, j) in zip(winners(x, window, grid), window.offsets):
            np.multiply(at_offset(gp, window, grid, i, j), mask, out=picked)
            np.add(y, picked, out=y)
        return deliver(y, out)

    def vjp(self, inputs: Sequence[Node], output: Node, gy: Node) -> Sequence[Any]:
        x = inputs[0]
        return None, lambda: G.max_pool2d_grad(x, gy, **self.params)


OPS = [MaxPool2d, MaxPool2dGrad, MaxPool2dSelect]
