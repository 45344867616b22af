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
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from gorgon import TensorType
from gorgon_numba.contiguous import ContiguousKernel
from gorgon_numba.planes import gather, pad

TOLERANCE = {"float32": (1e-4, 1e-5), "float64": (1e-12, 1e-13)}  # GEMMs summed in another order
FLOATS = {np.dtype(np.float32), np.dtype(np.float64)}
CHUNK_BYTES = 64 << 20  # the columns of a chunk of images, at most (one image at least)


def _pair(value: Any) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _pads(value: Any) -> tuple[tuple[int, int], tuple[int, int]]:
    """((top, bottom), (left, right)) of a canonical padding: an int, a pair, or pairs."""
    if isinstance(value, int):
        return (value, value), (value, value)
    first, second = value
    if isinstance(first, (tuple, list)):
        return (int(first[0]), int(first[1])), (int(second[0]), int(second[1]))
    return (int(first), int(first)), (int(second), int(second))


class Chunk(NamedTuple):
    """A run of images and the scratch views their columns are cut into."""

    images: slice
    planes: np.ndarray  # (C, M, hp, wp)
    cols: np.ndarray  # (C, kh, kw, M, oh, ow)

    @property
    def count(self) -> int:
        return self.images.stop - self.images.start


@dataclass(frozen=True)
class Planes:
    """A window over images of `size`: the padded planes (hp, wp), the grid (oh, ow),
    and the window as `gather`/`scatter` take it (kh, kw, sh, sw, dh, dw)."""

    window: tuple[int, int, int, int, int, int]
    top: int
    left: int
    padded: tuple[int, int]
    grid: tuple[int, int]

    @classmethod
    def of(cls, op: Any, kernel: Sequence[int], size: Sequence[int]) -> Planes:
        """The window of an op (stride, padding, dilation) with `kernel` over `size`."""
        (kh, kw), (sh, sw), (dh, dw) = _pair(tuple(kernel)), _pair(op.stride), _pair(op.dilation)
        (top, bottom), (left, right) = _pads(op.padding)
        hp, wp = size[0] + top + bottom, size[1] + left + right
        grid = ((hp - dh * (kh - 1) - 1) // sh + 1, (wp - dw * (kw - 1) - 1) // sw + 1)
        return cls((kh, kw, sh, sw, dh, dw), top, left, (hp, wp), grid)

    @property
    def pixels(self) -> int:
        return self.grid[0] * self.grid[1]

    def chunks(self, channels: int, n: int, dtype: np.dtype) -> list[Chunk]:
        """The batch of `n` images in chunks of about CHUNK_BYTES of columns, with
        scratch planes and columns (one allocation each, shared by the chunks)."""
        kh, kw = self.window[:2]
        rows = channels * kh * kw
        size = max(1, min(n, CHUNK_BYTES // (rows * self.pixels * np.dtype(dtype).itemsize)))
        planes = np.empty(channels * size * self.padded[0] * self.padded[1], dtype)
        cols = np.empty(rows * size * self.pixels, dtype)
        found = []
        for start in range(0, n, size):
            m = min(size, n - start)
            found.append(Chunk(slice(start, start + m),
                               planes[:channels * m * self.padded[0] * self.padded[1]].reshape(
                                   channels, m, *self.padded),
                               cols[:rows * m * self.pixels].reshape(channels, kh, kw, m, *self.grid)))
        return found


def groups_of(a: np.ndarray, groups: int, rows: int) -> np.ndarray:
    """`a` as `groups` matrices of `rows` rows (one matrix, 2-d, for one group: BLAS's
    plain call, without numpy's loop over a stack)."""
    return a.reshape(rows, -1) if groups == 1 else a.reshape(groups, rows, -1)


def accepts(*types: TensorType) -> bool:
    """One float dtype for all, and nothing empty."""
    return len({np.dtype(t.dtype) for t in types}) == 1 and np.dtype(types[0].dtype) in FLOATS and \
        all(0 not in t.shape for t in types)


class Conv2dKernel(ContiguousKernel):
    """conv2d's `kernel(x, w, out)` and `bind` for the TapeMachine."""

    tolerance = TOLERANCE

    def __init__(self, planes: Planes, groups: int):
        self.planes, self.groups = planes, groups

    def bind(self, x: np.ndarray, w: np.ndarray, out: np.ndarray) -> Callable[[], None] | None:
        """The kernel on these arrays, or None when one is not C-contiguous."""
        if not all(a.flags.c_contiguous for a in (x, w, out)):
            return None
        (n, c), f, g, geometry = x.shape[:2], w.shape[0], self.groups, self.planes
        chunks = geometry.chunks(c, n, x.dtype)
        product = np.empty(f * chunks[0].count * geometry.pixels, x.dtype)
        weights, rows = groups_of(w, g, f // g), w[0].size
        steps = []
        for chunk in chunks:
            result = product[:f * chunk.count * geometry.pixels]
            nchw = out[chunk.images].reshape(chunk.count, f, -1)
            source = result.reshape(f, chunk.count, -1).transpose(1, 0, 2)
            steps.append((x[chunk.images], chunk.planes, chunk.cols, groups_of(chunk.cols, g, rows),
                          groups_of(result, g, f // g), nchw, source))
        top, left, window = geometry.top, geometry.left, geometry.window

        def run() -> None:
            for images, planes, cols, grouped, result, nchw, source in steps:
                pad(images, top, left, planes)
                gather(planes, *window, cols)
                np.matmul(weights, grouped, out=result)
                np.copyto(nchw, source)

        return run


class Conv2dGradWeightKernel(ContiguousKernel):
    """conv2d_grad_weight's `kernel(x, gy, out)` and `bind` for the TapeMachine."""

    tolerance = TOLERANCE

    def __init__(self, planes: Planes, groups: int):
        self.planes, self.groups = planes, groups

    def bind(self, x: np.ndarray, gy: np.ndarray, out: np.ndarray) -> Callable[[], None] | None:
        """The kernel on these arrays, or None when one is not C-contiguous."""
        if not all(a.flags.c_contiguous for a in (x, gy, out)):
            return None
        (n, c), f, g, geometry = x.shape[:2], gy.shape[1], self.groups, self.planes
        chunks = geometry.chunks(c, n, x.dtype)
        grads = np.empty(f * chunks[0].count * geometry.pixels, x.dtype)
        result, partial = groups_of(out, g, f // g), groups_of(np.empty(out.shape, x.dtype), g, f // g)
        steps = []
        for chunk in chunks:
            rows = grads[:f * chunk.count * geometry.pixels]
            source = gy[chunk.images].reshape(chunk.count, f, -1).transpose(1, 0, 2)
            columns = np.swapaxes(groups_of(chunk.cols, g, out[0].size), -1, -2)
            steps.append((x[chunk.images], chunk.planes, chunk.cols, rows.reshape(f, chunk.count, -1),
                          source, groups_of(rows, g, f // g), columns))
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


def make_conv2d(op: Any, inputs: Sequence[TensorType], output: TensorType) -> Conv2dKernel | None:
    """conv2d on float32/float64, any window and groups, unless the columns are no
    bigger than the output (C*kh*kw <= F: numpy's kernel then makes a GEMM per image
    straight into NCHW, as fast; LeNet's first layer measured 1.6 ms here against
    numpy's 1.4)."""
    x, w = inputs
    if not accepts(x, w, output) or math.prod(w.shape[1:]) * op.groups <= w.shape[0]:
        return None
    return Conv2dKernel(Planes.of(op, w.shape[2:], x.shape[2:]), op.groups)


def make_conv2d_grad_weight(op: Any, inputs: Sequence[TensorType], output: TensorType,
                            ) -> Conv2dGradWeightKernel | None:
    """conv2d_grad_weight on float32/float64, any window and groups, unless the
    columns are no bigger than gy (C*kh*kw <= F, as for conv2d; LeNet's first layer
    measured 1.83 ms here against numpy's 1.81)."""
    x, gy = inputs
    if not accepts(x, gy, output) or math.prod(output.shape[1:]) * op.groups <= output.shape[0]:
        return None
    return Conv2dGradWeightKernel(Planes.of(op, output.shape[2:], x.shape[2:]), op.groups)
