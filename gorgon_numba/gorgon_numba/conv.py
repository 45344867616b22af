"""conv_transpose2d (conv2d's input gradient) as one BLAS GEMM for the whole batch into
channel-major columns (F*kh*kw, N*H*W), then the one-pass col2im of `columns` over them;
the columns and the channel-major copy of x are scratch the TapeMachine's bound step
allocates once. numpy's kernel folds its columns back with a
strided add per kernel offset, the part this replaces (measured in
benchmarks/test_numba_bench.py's LeNet step). One group only; others are declined."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np

from gorgon import TensorType
from gorgon_numba.contiguous import ContiguousKernel
from gorgon_numba.columns import col2im_loop, geometry

TOLERANCE = {"float32": (1e-4, 1e-5), "float64": (1e-12, 1e-13)}  # GEMMs summed in another order


class ConvTransposeKernel(ContiguousKernel):
    """`kernel(x, w, out)` and `bind` for the TapeMachine."""

    tolerance = TOLERANCE

    def __init__(self, shape: tuple[int, ...], columns: tuple[int, ...], dtype: np.dtype):
        self.geometry, self.columns, self.dtype = shape, columns, dtype

    def _step(self, x: np.ndarray, w: np.ndarray, out: np.ndarray) -> Callable[[], None]:
        n, c = x.shape[:2]
        _, f, kh, kw, oh, ow = self.columns
        channels = np.empty((c, n, oh * ow), self.dtype)  # x channel-major, for one GEMM
        cols = np.empty((f * kh * kw, n * oh * ow), self.dtype)
        weights = w.reshape(c, -1).T
        images = x.reshape(n, c, -1).transpose(1, 0, 2)
        grid = cols.reshape(f, kh, kw, n, oh, ow).transpose(3, 0, 1, 2, 4, 5)
        flat = channels.reshape(c, -1)
        shape = self.geometry

        def run() -> None:
            np.copyto(channels, images)
            np.matmul(weights, flat, out=cols)
            col2im_loop(grid, *shape, out)

        return run

    def bind(self, x: np.ndarray, w: np.ndarray, out: np.ndarray) -> Callable[[], None] | None:
        """The kernel on these arrays, or None when one is not C-contiguous."""
        if not all(a.flags.c_contiguous for a in (x, w, out)):
            return None
        return self._step(x, w, out)


def make_conv_transpose(op: Any, inputs: Sequence[TensorType], output: TensorType,
                        ) -> ConvTransposeKernel | None:
    """conv_transpose2d with one group on float32/float64."""
    x, w = inputs
    dtypes = {np.dtype(t.dtype) for t in (x, w, output)}
    if (op.groups != 1 or len(dtypes) != 1 or not dtypes <= {np.dtype(np.float32), np.dtype(np.float64)}
            or 0 in output.shape or 0 in x.shape):
        return None
    window = SimpleNamespace(kernel_size=tuple(w.shape[2:]), stride=op.stride, padding=op.padding,
                             dilation=op.dilation)
    shape, _ = geometry(window, output.shape[2:])
    grid = tuple(x.shape[2:])  # the window's grid over the output is the input's size
    return ConvTransposeKernel(shape, (x.shape[0], output.shape[1], *w.shape[2:], *grid), dtypes.pop())
