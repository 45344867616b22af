"""max_pool2d_grad for the usual 2x2 windows with stride 2 over an even-sized input, in
two stages: each window row's pair of columns first, then the window's pair of rows.
The first largest element in row-major order is the first largest (left, ties) of the
first largest row (top, ties), so the result is the general path's (a zero may differ
in sign, and a window holding a NaN passes its gradient on where the general path drops
it), while it takes half the numpy passes: strided 2x2 views make short inner loops, and the
general path makes 3 passes over them per kernel offset, this one 7 in all, four of them
over the columns' long stride-2 runs."""

from __future__ import annotations

import numpy as np

from gorgon import TensorType
from gorgon_ops_conv.geometry import Window

PairWork = tuple[tuple[tuple[int, ...], np.dtype], ...]


def is_pairs(window: Window, shape: tuple[int, ...]) -> bool:
    """Whether `window` over an input of `shape` is 2x2 windows with stride 2 tiling it."""
    return (window.kernel == (2, 2) and window.stride == (2, 2) and window.dilation == (1, 1)
            and not window.has_padding and shape[2] % 2 == 0 and shape[3] % 2 == 0)


def pairs_workspace(x: TensorType) -> PairWork:
    """Scratch: the right-beats-left mask and the row maxima (N, C, H, W/2), then the
    bottom-beats-top mask (N, C, H/2, W/2)."""
    n, c, h, w = x.shape
    halves = (n, c, h, w // 2)
    return (halves, np.dtype(bool)), (halves, np.dtype(x.dtype)), ((n, c, h // 2, w // 2), np.dtype(bool))


def pairs_gradient(x: np.ndarray, gy: np.ndarray, out: np.ndarray,
                   work: tuple[np.ndarray, ...]) -> None:
    """Into `out` (shaped like x): each element of gy at its 2x2 window's largest
    element of x, zeros elsewhere; `work` as `pairs_workspace` declares."""
    right_wins, rows, bottom_wins = work
    n, c, h, w = x.shape
    left, right = x[..., 0::2], x[..., 1::2]
    np.greater(right, left, out=right_wins)
    np.maximum(left, right, out=rows)
    pair = rows.reshape(n, c, h // 2, 2, w // 2)
    np.greater(pair[:, :, :, 1], pair[:, :, :, 0], out=bottom_wins)
    # rows now takes each row's share of gy: the bottom row's where it wins, the top's else
    np.multiply(gy, bottom_wins, out=pair[:, :, :, 1])
    np.subtract(gy, pair[:, :, :, 1], out=pair[:, :, :, 0])
    to_right = np.multiply(rows, right_wins, out=out[..., 1::2])
    np.subtract(rows, to_right, out=out[..., 0::2])
