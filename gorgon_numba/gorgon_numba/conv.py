"""conv_transpose2d (conv2d's input gradient) as a BLAS GEMM per chunk of M images (see
`conv2d`) into channel-major columns (F*kh*kw, M*H*W), which `planes.scatter` adds into
zeroed channel-major padded planes and `planes.crop` takes back to NCHW; x goes
channel-major in one copy first. The scratch (x channel-major, the columns, the planes)
is allocated once by `bind`. Any stride, padding, output_padding, dilation and groups,
float32/float64.

numpy's kernel folds its columns back with a strided add per kernel offset; the kernel
this replaces ran `columns.col2im_loop` over a transposed, non-contiguous view of the
columns (the same GEMM, 4.5 ms alone; the fold and copies took the rest). Measured on
LeNet's second layer (gy 64x64x14x14 float32, 3x3, padding 1; medians of 31 calls
interleaved in one process): numpy 10.5 ms, that kernel 9.9, this one 7.6."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from gorgon import TensorType
from gorgon_numba.planes import crop, scatter
from gorgon_numba.window import Planes, WindowKernel, accepts, channel_major, groups_of


class ConvTransposeKernel(WindowKernel):
    """`kernel(x, w, out)` and `bind` for the TapeMachine."""

    def steps(self, x: np.ndarray, w: np.ndarray, out: np.ndarray) -> Callable[[], None]:
        (n, c), f, g, geometry = x.shape[:2], out.shape[1], self.groups, self.planes
        chunks = geometry.chunks(f, n, x.dtype)
        weights = np.swapaxes(groups_of(w, g, c // g), -1, -2)
        steps = []
        for chunk, (channels, source) in zip(chunks, channel_major(x, chunks)):
            steps.append((channels, source, groups_of(channels, g, c // g),
                          groups_of(chunk.cols, g, f // g * geometry.window[0] * geometry.window[1]),
                          chunk.cols, chunk.planes, out[chunk.images]))
        top, left, window = geometry.top, geometry.left, geometry.window

        def run() -> None:
            for channels, source, grouped, result, cols, planes, target in steps:
                np.copyto(channels, source)
                np.matmul(weights, grouped, out=result)
                scatter(cols, *window, planes)
                crop(planes, top, left, target)

        return run


def make_conv_transpose(op: Any, inputs: Sequence[TensorType], output: TensorType,
                        ) -> ConvTransposeKernel | None:
    """conv_transpose2d on float32/float64, any window and groups."""
    x, w = inputs
    if not accepts(x, w, output):
        return None
    return ConvTransposeKernel(Planes.of(op, w.shape[2:], output.shape[2:]), op.groups)
