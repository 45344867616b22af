"""Compiled passes between NCHW batches and the channel-major, zero-padded planes
(C, N, Hp, Wp) that convolution columns are cut from, and between those planes and
the channel-major columns (C, kh, kw, N, OH, OW) that one BLAS GEMM for the whole
batch takes or gives (see `conv2d`).

`pad` turns the batch channel-major and pads it in one pass, `gather` cuts the columns
from the padded planes with no bounds to test (the padding is in the planes), `scatter`
adds columns back into zeroed planes in kernel-offset order, and `crop` takes the
unpadded part back to NCHW. Indices inside a row are unsigned, which spares numba's
negative-index check per element and lets the row copies vectorise (see `columns`):
measured on LeNet's second layer (64x32x14x14 float32, 3x3, padding 1) with signed
indices, the gather took 5.3 ms against 1.8 ms. One core each (see `pool`)."""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True, error_model="numpy")
def pad(x, top, left, planes):  # pragma: no cover - compiled by numba
    """planes[c, b] = x[b, c], zero-padded by `top` rows and `left` columns (the
    bottom and right padding is whatever the planes have left)."""
    n, c, h, w = x.shape
    hp, wp = planes.shape[2], planes.shape[3]
    uw, ut, ul = np.uint64(w), np.uint64(top), np.uint64(left)
    for ch in range(c):
        for b in range(n):
            dst, src = planes[ch, b], x[b, ch]
            for r in range(hp):
                row = dst[r]
                if r < top or r >= top + h:
                    for s in range(np.uint64(wp)):
                        row[s] = 0
                    continue
                line = src[np.uint64(r) - ut]
                for s in range(ul):
                    row[s] = 0
                for s in range(uw):
                    row[s + ul] = line[s]
                for s in range(ul + uw, np.uint64(wp)):
                    row[s] = 0


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _walk(cols, kh, kw, sh, sw, dh, dw, planes, add):  # pragma: no cover - compiled by numba
    """`gather` (add False) or `scatter` (add True): each column entry against the plane
    entry planes[c, b, p * sh + i * dh, q * sw + j * dw], in kernel-offset order; inlined
    into both, so `add` is a constant there and its branches fold away."""
    c, n, hp, wp = planes.shape
    flat = planes.reshape(-1)
    oh, ow = cols.shape[4], cols.shape[5]
    entries = cols.reshape(-1)
    plane, uow, usw = hp * wp, np.uint64(ow), np.uint64(sw)
    o = np.uint64(0)
    for ch in range(c):
        if add:
            block = np.uint64(ch * n * plane)
            for e in range(np.uint64(n * plane)):
                flat[block + e] = 0
        for i in range(kh):
            for j in range(kw):
                base = ch * n * plane + i * dh * wp + j * dw
                for b in range(n):
                    for p in range(oh):
                        s = np.uint64(base + b * plane + p * sh * wp)
                        if add and sw == 1:
                            for q in range(uow):
                                flat[s + q] += entries[o + q]
                        elif add:
                            for q in range(uow):
                                flat[s + q * usw] += entries[o + q]
                        elif sw == 1:
                            for q in range(uow):
                                entries[o + q] = flat[s + q]
                        else:
                            for q in range(uow):
                                entries[o + q] = flat[s + q * usw]
                        o += uow


@numba.njit(cache=True, nogil=True, error_model="numpy")
def gather(planes, kh, kw, sh, sw, dh, dw, cols):  # pragma: no cover - compiled by numba
    """cols[c, i, j, b, p, q] = planes[c, b, p * sh + i * dh, q * sw + j * dw]; cols
    is the flat (C*kh*kw*N*OH*OW,) array."""
    _walk(cols, kh, kw, sh, sw, dh, dw, planes, False)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def scatter(cols, kh, kw, sh, sw, dh, dw, planes):  # pragma: no cover - compiled by numba
    """The adjoint of `gather`: planes zeroed, then each column entry added where
    `gather` takes it from, kernel offsets in row-major order."""
    _walk(cols, kh, kw, sh, sw, dh, dw, planes, True)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def crop(planes, top, left, out):  # pragma: no cover - compiled by numba
    """out[b, c] = planes[c, b] without its padding (`top` rows, `left` columns, and
    whatever lies past out's size)."""
    n, c, h, w = out.shape
    uw, ul = np.uint64(w), np.uint64(left)
    for b in range(n):
        for ch in range(c):
            dst, src = out[b, ch], planes[ch, b]
            for r in range(h):
                row, line = dst[r], src[r + top]
                for s in range(uw):
                    row[s] = line[s + ul]
