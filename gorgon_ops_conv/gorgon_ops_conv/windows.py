"""The numpy side of sliding windows: padding, strided window views, unfold (im2col),
scattering back through the windows, and the `out` buffer protocol the kernels share.
Nothing here loops over batch, channel or pixel; scatter loops over kernel offsets."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.lib.stride_tricks import as_strided

from gorgon_ops_conv.geometry import Pair, Window


def target(out: np.ndarray | None, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """Where a kernel writes: `out` when it is contiguous (reshaping it gives views),
    else a new array that `deliver` copies into `out`."""
    if out is not None and out.flags.c_contiguous:
        return out
    return np.empty(shape, dtype)


def deliver(result: np.ndarray, out: np.ndarray | None) -> np.ndarray:
    """The kernel's return value: `out` holding `result`, or `result` itself."""
    if out is None or result is out:
        return result
    np.copyto(out, result)
    return out


def padded(x: np.ndarray, window: Window, fill: float = 0.0) -> np.ndarray:
    """`x` with its last two axes padded by the window's padding, filled with `fill`
    (x itself when the window has no padding)."""
    if not window.has_padding:
        return x
    (top, bottom), (left, right) = window.pads
    n, c, h, w = x.shape
    result = np.empty((n, c, h + top + bottom, w + left + right), x.dtype)
    result[:, :, :top] = fill
    result[:, :, top + h:] = fill
    result[:, :, top:top + h, :left] = fill
    result[:, :, top:top + h, left + w:] = fill
    result[:, :, top:top + h, left:left + w] = x
    return result


def at_offset(xp: np.ndarray, window: Window, grid: Pair, i: int, j: int) -> np.ndarray:
    """The (N, C, OH, OW) view of padded `xp` that kernel offset (i, j) reads; writable
    when `xp` is."""
    (sh, sw), (dh, dw) = window.stride, window.dilation
    rows = slice(i * dh, i * dh + (grid[0] - 1) * sh + 1, sh)
    cols = slice(j * dw, j * dw + (grid[1] - 1) * sw + 1, sw)
    return xp[:, :, rows, cols]


def patches(x: np.ndarray, window: Window) -> np.ndarray:
    """Every window of `x` as an (N, C, kh, kw, OH, OW) read-only view."""
    xp = padded(x, window)
    grid = window.grid(x.shape[2:])
    (sh, sw), (dh, dw) = window.stride, window.dilation
    n_stride, c_stride, h_stride, w_stride = xp.strides
    return as_strided(xp, shape=xp.shape[:2] + window.kernel + grid,
                      strides=(n_stride, c_stride, h_stride * dh, w_stride * dw,
                               h_stride * sh, w_stride * sw), writeable=False)


def unfold(x: np.ndarray, window: Window, out: np.ndarray | None = None) -> np.ndarray:
    """im2col: `x` (N, C, H, W) as columns (N, C*kh*kw, OH*OW), rows channel-major then
    kernel row and column, as torch's unfold."""
    (n, c), grid = x.shape[:2], window.grid(x.shape[2:])
    cols = target(out, (n, c * window.kernel[0] * window.kernel[1], grid[0] * grid[1]), x.dtype)
    np.copyto(cols.reshape((n, c) + window.kernel + grid), patches(x, window))
    return deliver(cols, out)


def scatter(lead: tuple[int, ...], size: Pair, window: Window, grid: Pair,
            add: Callable[[np.ndarray, int], None], dtype: np.dtype,
            out: np.ndarray | None = None) -> np.ndarray:
    """An image of shape `lead + size`: zeros, then for each kernel offset (numbered
    as in `window.offsets`) `add(view, index)` adds into the (N, C, OH, OW) view of
    the padded image that offset reads; the padding is dropped at the end."""
    result = target(out, lead + tuple(size), dtype)
    image = np.empty(lead + window.padded(size), dtype) if window.has_padding else result
    image.fill(0)
    for index, (i, j) in enumerate(window.offsets):
        add(at_offset(image, window, grid, i, j), index)
    if window.has_padding:
        np.copyto(result, crop(image, window, size))
    return deliver(result, out)


def crop(xp: np.ndarray, window: Window, size: Pair) -> np.ndarray:
    """The view of padded `xp` that holds the unpadded image of `size`."""
    (top, _), (left, _) = window.pads
    return xp[:, :, top:top + size[0], left:left + size[1]]
