"""Convolution columns (im2col and col2im) in the layout that suits the GEMMs around them.

A convolution moves two big tensors besides its input: the columns (C*kh*kw rows per
output pixel) and the output (F channels per output pixel). The layout keeps the
bigger one as it is:

- batch-major, when the output outweighs the columns (C*kh*kw <= F): columns
  (N, C*kh*kw, OH*OW), the layout of torch's unfold, and one GEMM per sample, which
  reads and writes NCHW tensors with no transposing copy;
- channel-major otherwise: columns (C*kh*kw, N*OH*width), one GEMM for the whole
  batch, and NCHW outputs and gradients transposed once. With stride 1 these columns
  are "wide": `width` is the padded input width rather than OW, so each kernel offset
  reads (and col2im adds) one contiguous run of the flattened padded image instead of
  OH short rows. The extra columns of each row hold garbage that `batch_major` drops;
  gradients folded back carry zeros there (`channel_major` puts them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gorgon_ops_conv.geometry import Pair, Window
from gorgon_ops_conv.windows import at_offset, crop, deliver, patches, scatter, target, unfold


@dataclass(frozen=True)
class Layout:
    """How the columns over an input of `size` are laid out."""

    window: Window
    size: Pair
    batch_first: bool

    @classmethod
    def choose(cls, window: Window, size: Pair, rows: int, channels: int) -> Layout:
        """Batch-major unless the columns' `rows` (C*kh*kw) outnumber the GEMM output's
        `channels`."""
        return cls(window, tuple(size), rows <= channels)

    @property
    def wide(self) -> bool:
        """Channel-major with stride 1: rows as wide as the padded input."""
        return not self.batch_first and self.window.stride == (1, 1)

    @property
    def width(self) -> int:
        """The columns per output row."""
        return self.window.padded(self.size)[1] if self.wide else self.window.grid(self.size)[1]

    def start(self, i: int, j: int) -> int:
        """Where wide kernel offset (i, j) starts reading the flattened padded image."""
        return i * self.window.dilation[0] * self.width + j * self.window.dilation[1]

    @property
    def flat_size(self) -> int:
        """The flattened padded image, plus the tail the last wide run reads past it."""
        height, width = self.window.padded(self.size)
        return height * width + (self.window.kernel[1] - 1) * self.window.dilation[1]


def columns(x: np.ndarray, layout: Layout) -> np.ndarray:
    """im2col of x (N, C, H, W), rows channel-major then kernel row and column:
    (N, C*kh*kw, OH*OW) batch-major, (C*kh*kw, N*OH*width) channel-major."""
    window, (n, c) = layout.window, x.shape[:2]
    (oh, ow), width = window.grid(layout.size), layout.width
    if layout.batch_first:
        return unfold(x, window)
    cols = np.empty((c,) + window.kernel + (n, oh * width), x.dtype)
    if layout.wide:
        hp, wp = window.padded(layout.size)
        flat = np.zeros((n, c, layout.flat_size), x.dtype)
        np.copyto(crop(flat[:, :, :hp * wp].reshape(n, c, hp, wp), window, layout.size), x)
        for i, j in window.offsets:
            start = layout.start(i, j)
            np.copyto(cols[:, i, j], flat[:, :, start:start + oh * width].transpose(1, 0, 2))
    else:
        np.copyto(cols.reshape((c,) + window.kernel + (n, oh, ow)),
                  patches(x, window).transpose(1, 2, 3, 0, 4, 5))
    return cols.reshape(c * len(window.offsets), n * oh * width)


def fold_columns(cols: np.ndarray, n: int, layout: Layout,
                 out: np.ndarray | None = None) -> np.ndarray:
    """col2im: the (N, C, H, W) image that sums each column entry back where im2col
    took it from."""
    window, size = layout.window, layout.size
    (oh, ow), width = window.grid(size), layout.width
    per_channel = len(window.offsets) * (oh * ow if layout.batch_first else 1)
    c = math.prod(cols.shape[1:] if layout.batch_first else cols.shape[:-1]) // per_channel
    if layout.batch_first:
        parts = cols.reshape((n, c, len(window.offsets), oh, ow))

        def add(view: np.ndarray, index: int) -> None:
            np.add(view, parts[:, :, index], out=view)

        return scatter((n, c), size, window, (oh, ow), add, cols.dtype, out)
    parts = cols.reshape((c,) + window.kernel + (n, oh, width))
    hp, wp = window.padded(size)
    if layout.wide:
        flat = np.zeros((c, n, layout.flat_size), cols.dtype)
        for i, j in window.offsets:
            start = layout.start(i, j)
            run = flat[:, :, start:start + oh * width]
            np.add(run, parts[:, i, j].reshape(c, n, oh * width), out=run)
        image = flat[:, :, :hp * wp].reshape(c, n, hp, wp)
    else:
        image = np.zeros((c, n, hp, wp), cols.dtype)
        for i, j in window.offsets:
            view = at_offset(image, window, (oh, ow), i, j)
            np.add(view, parts[:, i, j], out=view)
    result = target(out, (n, c) + size, cols.dtype)
    np.copyto(result, crop(image, window, size).transpose(1, 0, 2, 3))
    return deliver(result, out)


def channel_major(y: np.ndarray, width: int) -> np.ndarray:
    """y (N, F, OH, OW) as (F, N*OH*width), with zeros past column OW of each row."""
    n, f, oh, ow = y.shape
    result = np.empty((f, n, oh, width), y.dtype)
    result[..., ow:] = 0
    np.copyto(result[..., :ow], y.transpose(1, 0, 2, 3))
    return result.reshape(f, n * oh * width)


def batch_major(product: np.ndarray, dest: np.ndarray) -> None:
    """Copy a channel-major GEMM result (F, N*OH*width) into dest (N, F, OH, OW),
    dropping the garbage columns."""
    n, f, oh, ow = dest.shape
    if dest.size:
        np.copyto(dest, product.reshape(f, n, oh, -1)[..., :ow].transpose(1, 0, 2, 3))
