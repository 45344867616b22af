"""max_pool2d and its gradient max_pool2d_grad in one pass over each image plane (numpy
makes one pass per kernel offset, and builds a mask per offset for the gradient), planes
in parallel over the cores. Windows without padding or dilation; others are declined."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numba
import numpy as np

from gorgon import TensorType

TOLERANCE = {"float32": (0.0, 0.0), "float64": (0.0, 0.0)}  # picks and copies: exact


@numba.njit(cache=True, nogil=True, parallel=True)
def _forward(x, kh, kw, sh, sw, out):  # pragma: no cover - compiled by numba (checked through the kit)
    n, c, oh, ow = out.shape
    for plane in numba.prange(n * c):
        i, j = plane // c, plane % c
        for p in range(oh):
            for q in range(ow):
                best = x[i, j, p * sh, q * sw]
                for a in range(kh):
                    for b in range(kw):
                        value = x[i, j, p * sh + a, q * sw + b]
                        if value > best or value != value:
                            best = value
                            if value != value:
                                break
                out[i, j, p, q] = best


@numba.njit(cache=True, nogil=True, parallel=True)
def _grad(x, gy, kh, kw, sh, sw, out):  # pragma: no cover - compiled by numba
    n, c, oh, ow = gy.shape
    for plane in numba.prange(n * c):
        i, j = plane // c, plane % c
        out[i, j] = 0
        for p in range(oh):
            for q in range(ow):
                top, left = p * sh, q * sw
                best = x[i, j, top, left]
                for a in range(kh):
                    for b in range(kw):
                        if x[i, j, p * sh + a, q * sw + b] > best:
                            best = x[i, j, p * sh + a, q * sw + b]
                            top, left = p * sh + a, q * sw + b
                out[i, j, top, left] += gy[i, j, p, q]


def _pair(value: Any) -> tuple[int, int] | None:
    if isinstance(value, int):
        return value, value
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return value
    return None


class PoolKernel:
    """`kernel(*arrays, out)` over C-contiguous copies when needed; `bind` for the TapeMachine."""

    tolerance = TOLERANCE

    def __init__(self, run: Callable[..., None], window: tuple[int, int, int, int]):
        self.run, self.window = run, window

    def __call__(self, *arrays: np.ndarray) -> np.ndarray:
        *inputs, out = arrays
        self.run(*[np.ascontiguousarray(a) for a in inputs], *self.window, out)
        return out

    def bind(self, *arrays: np.ndarray) -> Callable[[], None] | None:
        """The kernel on these arrays, or None when one is not C-contiguous."""
        if not all(a.flags.c_contiguous for a in arrays):
            return None
        *inputs, out = arrays
        run, window = self.run, self.window
        return lambda: run(*inputs, *window, out)


def _window(op: Any, *types: TensorType) -> tuple[int, int, int, int] | None:
    kernel, stride = _pair(op.kernel_size), _pair(op.stride)
    dtypes = {np.dtype(t.dtype) for t in types}
    if (kernel is None or stride is None or op.padding != 0 or _pair(op.dilation) != (1, 1)
            or len(dtypes) != 1 or not dtypes <= {np.dtype(np.float32), np.dtype(np.float64)}
            or any(0 in t.shape for t in types)):
        return None
    return (*kernel, *stride)


def make_max_pool(op: Any, inputs: Sequence[TensorType], output: TensorType) -> PoolKernel | None:
    window = _window(op, *inputs, output)
    return None if window is None else PoolKernel(_forward, window)


def make_max_pool_grad(op: Any, inputs: Sequence[TensorType], output: TensorType) -> PoolKernel | None:
    window = _window(op, *inputs, output)
    return None if window is None else PoolKernel(_grad, window)
