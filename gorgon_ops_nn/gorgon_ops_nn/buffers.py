"""Output buffers for kernels that compute in place."""

from __future__ import annotations

import numpy as np


def out_buffer(out: np.ndarray | None, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """`out` when given, else a new array of `shape` and `dtype` (never a numpy scalar, so
    in-place steps work for 0-d results too)."""
    return np.empty(shape, dtype) if out is None else out
