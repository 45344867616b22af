"""The window geometry and the scratch the convolution kernels share: a window over
padded channel-major planes (`Planes`), the batch in chunks of images with scratch
views (`Chunk`), NCHW chunks against channel-major scratch, weights and columns as BLAS
matrices per group, what the kernels accept, and their common base (`WindowKernel`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from gorgon import TensorType
from gorgon_numba.contiguous import ContiguousKernel

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
        (kh, kw), (sh, sw), (dh, dw) = _pair(kernel), _pair(op.stride), _pair(op.dilation)
        (top, bottom), (left, right) = _pads(op.padding)
        hp, wp = size[0] + top + bottom, size[1] + left + right
        grid = ((hp - dh * (kh - 1) - 1) // sh + 1, (wp - dw * (kw - 1) - 1) // sw + 1)
        return cls((kh, kw, sh, sw, dh, dw), top, left, (hp, wp), grid)

    @property
    def pixels(self) -> int:
        return self.grid[0] * self.grid[1]

    @property
    def unpadded(self) -> tuple[int, int, int, int, int, int, int, int]:
        """The window as `columns.im2col_loop` takes it: (kh, kw, sh, sw, top, left, dh, dw)."""
        kh, kw, sh, sw, dh, dw = self.window
        return kh, kw, sh, sw, self.top, self.left, dh, dw

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


def channel_major(nchw: np.ndarray, chunks: Sequence[Chunk]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per chunk of M images, channel-major scratch (C, M, H*W) (one allocation shared by
    the chunks) and those images of `nchw` (N, C, H, W) seen the same way: the two sides
    of the transposing copy between NCHW and a GEMM's operand or product."""
    c, pixels = nchw.shape[1], nchw[0, 0].size
    scratch = np.empty(c * chunks[0].count * pixels, nchw.dtype)
    return [(scratch[:c * chunk.count * pixels].reshape(c, chunk.count, pixels),
             nchw[chunk.images].reshape(chunk.count, c, pixels).transpose(1, 0, 2)) for chunk in chunks]


def groups_of(a: np.ndarray, groups: int, rows: int) -> np.ndarray:
    """`a` as `groups` matrices of `rows` rows (one matrix, 2-d, for one group: BLAS's
    plain call, without numpy's loop over a stack)."""
    return a.reshape(rows, -1) if groups == 1 else a.reshape(groups, rows, -1)


def accepts(*types: TensorType) -> bool:
    """One float dtype for all, and nothing empty."""
    return len({np.dtype(t.dtype) for t in types}) == 1 and np.dtype(types[0].dtype) in FLOATS and \
        all(0 not in t.shape for t in types)


class WindowKernel(ContiguousKernel, ABC):
    """A convolution kernel over a window (`Planes`) in `groups`: `bind(a, b, out)` is
    the subclass's `steps` on C-contiguous arrays, None when one is not."""

    tolerance = TOLERANCE

    def __init__(self, planes: Planes, groups: int):
        self.planes, self.groups = planes, groups

    def bind(self, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> Callable[[], None] | None:
        """The kernel on these arrays, or None when one is not C-contiguous."""
        if not all(array.flags.c_contiguous for array in (a, b, out)):
            return None
        return self.steps(a, b, out)

    @abstractmethod
    def steps(self, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> Callable[[], None]:
        """The ready step on these C-contiguous arrays (scratch allocated here, once)."""
