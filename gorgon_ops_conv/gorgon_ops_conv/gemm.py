"""The three GEMMs of convolution on numpy arrays (conv2d, its weight gradient, and
the transposed convolution that is its input gradient), each in the column layout
that suits its shapes (see `columns`)."""

from __future__ import annotations

import numpy as np

from gorgon_ops_conv.columns import Layout, batch_major, channel_major, columns, fold_columns
from gorgon_ops_conv.geometry import Pair, Window
from gorgon_ops_conv.windows import deliver, target


def convolve(x: np.ndarray, w: np.ndarray, window: Window, groups: int,
             out: np.ndarray | None = None) -> np.ndarray:
    """conv2d of x (N, C, H, W) with w (F, C/groups, kh, kw): (N, F, OH, OW)."""
    n, f = x.shape[0], w.shape[0]
    layout = Layout.choose(window, x.shape[2:], w[0].size * groups, f)
    cols = columns(x, layout)
    weights = w.reshape(groups, f // groups, w[0].size)
    y = target(out, (n, f) + window.grid(layout.size), x.dtype)
    if layout.batch_first:
        np.matmul(weights, cols.reshape(n, groups, w[0].size, cols.shape[-1]),
                  out=y.reshape(n, groups, f // groups, cols.shape[-1]))
    else:
        batch_major(np.matmul(weights, cols.reshape(groups, w[0].size, cols.shape[-1])), y)
    return deliver(y, out)


def weight_gradient(x: np.ndarray, gy: np.ndarray, window: Window, groups: int,
                    out: np.ndarray | None = None) -> np.ndarray:
    """The gradient of conv2d's weights from its input x (N, C, H, W) and its output's
    gradient gy (N, F, OH, OW): (F, C/groups, kh, kw)."""
    (n, c), f = x.shape[:2], gy.shape[1]
    rows = c // groups * window.kernel[0] * window.kernel[1]
    layout = Layout.choose(window, x.shape[2:], rows * groups, f)
    cols = columns(x, layout)
    gw = target(out, (f, c // groups) + window.kernel, x.dtype)
    flat = gw.reshape(groups, f // groups, rows)
    if layout.batch_first:
        per_sample = np.matmul(gy.reshape(n, groups, f // groups, cols.shape[-1]),
                               cols.reshape(n, groups, rows, cols.shape[-1]).transpose(0, 1, 3, 2))
        np.sum(per_sample, axis=0, out=flat)
    else:
        grads = channel_major(gy, layout.width).reshape(groups, f // groups, cols.shape[-1])
        np.matmul(grads, cols.reshape(groups, rows, cols.shape[-1]).transpose(0, 2, 1), out=flat)
    return deliver(gw, out)


def transpose_convolve(x: np.ndarray, w: np.ndarray, window: Window, groups: int, size: Pair,
                       out: np.ndarray | None = None) -> np.ndarray:
    """The transposed convolution of x (N, C, H, W) with w (C, F/groups, kh, kw) into
    an (N, F) image of `size`, over which the window's grid is (H, W)."""
    n, c = x.shape[:2]
    layout = Layout.choose(window, size, w[0].size * groups, c)
    weights = w.reshape(groups, c // groups, w[0].size).transpose(0, 2, 1)
    if layout.batch_first:
        cols = np.matmul(weights, x.reshape(n, groups, c // groups, x.shape[2] * x.shape[3]))
    else:
        flat = channel_major(x, layout.width)
        cols = np.matmul(weights, flat.reshape(groups, c // groups, flat.shape[1]))
    return fold_columns(cols, n, layout, out)
