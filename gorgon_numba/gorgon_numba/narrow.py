"""conv2d and conv2d_grad_weight where the columns are no bigger than the output
(C*kh*kw <= F, a first layer over few channels): batch-major columns (N, C*kh*kw,
OH*OW) from `columns.im2col_loop`, then a GEMM per image straight into NCHW (conv2d)
or into per-image products summed over the batch (the weight gradient), as numpy's
kernels do; here the columns and products are scratch that `bind` allocates once
(numpy's kernels allocate them on every call: 2 MB per LeNet step). LeNet's first layer
(x 64x1x28x28 float32, 32 filters 3x3, padding 1; medians of 21 calls interleaved with
numpy's kernels, two runs): conv2d 1.55/1.68 ms against 1.70/1.87, the weight gradient
1.77/1.99 against 2.02/2.14."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gorgon_numba.columns import im2col_loop
from gorgon_numba.window import Planes, WindowKernel


def _columns(planes: Planes, x: np.ndarray) -> tuple[np.ndarray, tuple[int, ...]]:
    """Scratch columns (N, C, kh, kw, OH, OW) for x, and im2col_loop's window arguments."""
    return np.empty((*x.shape[:2], *planes.window[:2], *planes.grid), x.dtype), planes.unpadded


class NarrowConv2dKernel(WindowKernel):
    """conv2d's `kernel(x, w, out)` and `bind` for the TapeMachine."""

    def steps(self, x: np.ndarray, w: np.ndarray, out: np.ndarray) -> Callable[[], None]:
        (n, f), g = out.shape[:2], self.groups
        cols, window = _columns(self.planes, x)
        grouped = cols.reshape(n, g, w[0].size, -1)
        weights, result = w.reshape(g, f // g, -1), out.reshape(n, g, f // g, -1)

        def run() -> None:
            im2col_loop(x, *window, cols)
            np.matmul(weights, grouped, out=result)

        return run


class NarrowGradWeightKernel(WindowKernel):
    """conv2d_grad_weight's `kernel(x, gy, out)` and `bind` for the TapeMachine."""

    def steps(self, x: np.ndarray, gy: np.ndarray, out: np.ndarray) -> Callable[[], None]:
        (n, f), g = gy.shape[:2], self.groups
        cols, window = _columns(self.planes, x)
        columns = cols.reshape(n, g, out[0].size, -1).transpose(0, 1, 3, 2)
        grads = gy.reshape(n, g, f // g, -1)
        products = np.empty((n, g, f // g, out[0].size), x.dtype)
        result = out.reshape(g, f // g, -1)

        def run() -> None:
            im2col_loop(x, *window, cols)
            np.matmul(grads, columns, out=products)
            np.sum(products, axis=0, out=result)

        return run
