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
from gorgon_ops_conv.pairs import PairWork, is_pairs, pairs_gradient, pairs_workspace
from gorgon_ops_conv.pool import Pool, pool_params
from gorgon_ops_conv.split import split
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


def spread(x: np.ndarray, gy: np.ndarray, window: Window, out: np.ndarray) -> None:
    """Into `out` (contiguous, shaped like x): zeros plus each element of gy at its
    window's largest element of x."""
    grid = gy.shape[2:]
    masks = winners(x, window, grid)
    if window.tiles(x.shape[2:]):
        for mask, (i, j) in zip(masks, window.offsets):
            np.multiply(gy, mask, out=at_offset(out, window, grid, i, j))
        return
    shares = np.empty(gy.shape, gy.dtype)

    def add(view: np.ndarray, index: int) -> None:
        np.multiply(gy, masks[index], out=shares)
        np.add(view, shares, out=view)

    scatter(x.shape[:2], x.shape[2:], window, grid, add, x.dtype, out)


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
        y = target(out, x.shape[:2] + grid, x.dtype)

        def part(lo: int, hi: int) -> None:
            xp = padded(x[lo:hi], window, -np.inf)
            views = [at_offset(xp, window, grid, i, j) for i, j in window.offsets]
            np.copyto(y[lo:hi], views[0])
            for view in views[1:]:
                np.maximum(y[lo:hi], view, out=y[lo:hi])

        split(x.shape[0], part, x.size)
        return deliver(y, out)

    def vjp(self, inputs: Sequence[Node], output: Node, gy: Node) -> Sequence[Node]:
        return (G.max_pool2d_grad(inputs[0], gy, **self.params),)


class MaxPool2dGrad(Pool):
    """`max_pool2d_grad(x, gy, kernel_size, stride=None, padding=0, dilation=1)`: the
    gradient of max_pool2d: zeros shaped like x, plus each element of gy at its window's
    largest element of x (gy is spread by multiplying with 0/1 masks, so an infinite
    gradient makes NaNs across its window). Windows that tile x (the usual 2x2, stride 2)
    write each offset's share straight into its strided view. Linear in gy; constant in x
    almost everywhere. The usual 2x2 windows with stride 2 over an even-sized input take a
    faster path (see `pairs`: the same values, but a window holding a NaN passes its
    gradient on). Both split the batch over threads (see `split`)."""

    name = "max_pool2d_grad"

    @classmethod
    def call(cls, x: Any, gy: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
             dilation: Any = 1) -> Node:
        return G.apply(cls(**pool_params(kernel_size, stride, padding, dilation)), x, gy)

    def infer(self, x: Node, gy: Node) -> TensorType:
        dtype = images(self, x, gy)
        self.expect(gy, self.pooled(x, x, gy), "the gradient", x, gy)
        return TensorType(x.shape, dtype)

    def workspace(self, x: TensorType, gy: TensorType) -> PairWork:
        """The 2x2 path's scratch arrays; none for other windows."""
        return pairs_workspace(x) if is_pairs(Window.of(self), x.shape) else ()

    def forward(self, x: np.ndarray, gy: np.ndarray, out: np.ndarray | None = None,
                work: tuple[np.ndarray, ...] | None = None) -> np.ndarray:
        window = Window.of(self)
        result = target(out, x.shape, x.dtype)
        if is_pairs(window, x.shape):
            work = work or tuple(np.empty(shape, dtype) for shape, dtype in
                                 pairs_workspace(TensorType(x.shape, x.dtype)))

            def part(lo: int, hi: int) -> None:
                pairs_gradient(x[lo:hi], gy[lo:hi], result[lo:hi], tuple(w[lo:hi] for w in work))
        else:
            def part(lo: int, hi: int) -> None:
                spread(x[lo:hi], gy[lo:hi], window, result[lo:hi])

        split(x.shape[0], part, x.size)
        return deliver(result, out)

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
