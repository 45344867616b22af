"""conv2d and conv2d_grad_weight as BLAS GEMMs on channel-major columns (C*kh*kw, M*OH*OW)
over chunks of M images, cut by `planes` in two compiled passes (the chunk padded
channel-major, then the columns). conv2d's product (F, M*OH*OW) goes back to NCHW in one
transposing copy; the weight gradient is a GEMM per chunk with K = M*OH*OW against gy
made channel-major in one copy, the chunks' products summed. A chunk holds as many
images as fit CHUNK_BYTES of columns (at least one): it bounds the scratch, which `bind`
allocates once (planes, columns, product). Any stride, padding, dilation and groups,
float32/float64.

numpy's kernels copy the columns out in a strided pass per kernel offset and (conv2d)
transpose the product. Measured on LeNet's second layer (x 64x32x14x14 float32, 64
filters 3x3, padding 1, 14.4 MB of columns): alone, in a loop, chunks of 16 images were
fastest (conv2d medians of 21 interleaved calls: 6.0 ms, 7.2 for the whole batch), but in
LeNet's training step the whole batch wins (step medians of 15 interleaved rounds:
33.5-36.5 ms with one chunk, 39.4-40.8 with 4 MiB chunks, 42.9-44.9 with 1 MiB), so
the default keeps LeNet-sized batches whole."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from gorgon import TensorType
from gorgon_numba.narrow import NarrowConv2dKernel, NarrowGradWeightKernel
from gorgon_numba.planes import gather, pad
from gorgon_numba.window import Planes, WindowKernel, accepts, channel_major, groups_of


class Conv2dKernel(WindowKernel):
    """conv2d's `kernel(x, w, out)` and `bind` for the TapeMachine."""

    def steps(self, x: np.ndarray, w: np.ndarray, out: np.ndarray) -> Callable[[], None]:
        (n, c), f, g, geometry = x.shape[:2], w.shape[0], self.groups, self.planes
        chunks = geometry.chunks(c, n, x.dtype)
        weights, rows = groups_of(w, g, f // g), w[0].size
        steps = []
        for chunk, (product, images) in zip(chunks, channel_major(out, chunks)):
            steps.append((x[chunk.images], chunk.planes, chunk.cols, groups_of(chunk.cols, g, rows),
                          groups_of(product, g, f // g), images.transpose(1, 0, 2),
                          product.transpose(1, 0, 2)))
        top, left, window = geometry.top, geometry.left, geometry.window

        def run() -> None:
            for images, planes, cols, grouped, result, nchw, source in steps:
                pad(images, top, left, planes)
                gather(planes, *window, cols)
                np.matmul(weights, grouped, out=result)
                np.copyto(nchw, source)

        return run


class Conv2dGradWeightKernel(WindowKernel):
    """conv2d_grad_weight's `kernel(x, gy, out)` and `bind` for the TapeMachine."""

    def steps(self, x: np.ndarray, gy: np.ndarray, out: np.ndarray) -> Callable[[], None]:
        (n, c), f, g, geometry = x.shape[:2], gy.shape[1], self.groups, self.planes
        chunks = geometry.chunks(c, n, x.dtype)
        result, partial = groups_of(out, g, f // g), groups_of(np.empty(out.shape, x.dtype), g, f // g)
        steps = []
        for chunk, (rows, source) in zip(chunks, channel_major(gy, chunks)):
            columns = np.swapaxes(groups_of(chunk.cols, g, out[0].size), -1, -2)
            steps.append((x[chunk.images], chunk.planes, chunk.cols, rows, source,
                          groups_of(rows, g, f // g), columns))
        top, left, window = geometry.top, geometry.left, geometry.window

        def run() -> None:
            for number, (images, planes, cols, grads, source, rows, columns) in enumerate(steps):
                pad(images, top, left, planes)
                gather(planes, *window, cols)
                np.copyto(grads, source)
                np.matmul(rows, columns, out=partial if number else result)
                if number:
                    np.add(result, partial, out=result)

        return run


def make_conv2d(op: Any, inputs: Sequence[TensorType], output: TensorType,
                ) -> Conv2dKernel | NarrowConv2dKernel | None:
    """conv2d on float32/float64, any window and groups; `narrow`'s kernel where the
    columns are no bigger than the output (C*kh*kw <= F)."""
    x, w = inputs
    if not accepts(x, w, output):
        return None
    narrow = math.prod(w.shape[1:]) * op.groups <= w.shape[0]
    return (NarrowConv2dKernel if narrow else Conv2dKernel)(Planes.of(op, w.shape[2:], x.shape[2:]), op.groups)


def make_conv2d_grad_weight(op: Any, inputs: Sequence[TensorType], output: TensorType,
                            ) -> Conv2dGradWeightKernel | NarrowGradWeightKernel | None:
    """conv2d_grad_weight on float32/float64, any window and groups; `narrow`'s kernel
    where the columns are no bigger than gy (C*kh*kw <= F)."""
    x, gy = inputs
    if not accepts(x, gy, output):
        return None
    narrow = math.prod(output.shape[1:]) * op.groups <= output.shape[0]
    kind = NarrowGradWeightKernel if narrow else Conv2dGradWeightKernel
    return kind(Planes.of(op, output.shape[2:], x.shape[2:]), op.groups)
