"""One-pass row kernels, where numpy makes several passes over memory: softmax and
log_softmax along the last axis, and layer_norm over the trailing axes. Each row is
read into cache once per pass it needs, on one core (see `fused.parallel` for why).
layer_norm's sums may be reordered (fast-math reassociation alone) so that they
vectorise: the GELU/layer-norm block of benchmarks/test_numba_bench.py measured 34-35 ms
with that against 39 ms in order (numpy 118-121 ms), medians of 9 interleaved."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numba
import numpy as np

from gorgon import TensorType

TOLERANCE = {"float32": (2e-5, 1e-6), "float64": (1e-12, 1e-14)}


@numba.njit(cache=True, nogil=True, inline="always", error_model="numpy")
def row_peak(x, r):  # pragma: no cover - compiled by numba
    """Row r's maximum, the shift of a stable softmax (0 when it is not finite)."""
    peak = -np.inf
    for c in range(x.shape[1]):
        peak = max(peak, x[r, c])
    return peak if np.isfinite(peak) else 0.0


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _softmax(x, log, out):  # pragma: no cover - compiled by numba (checked through the kit)
    rows, cols = x.shape
    for r in range(rows):
        peak = row_peak(x, r)
        total = 0.0
        for c in range(cols):
            value = np.exp(x[r, c] - peak)
            total += value
            if not log:
                out[r, c] = value
        if log:
            shift = peak + np.log(total)
            for c in range(cols):
                out[r, c] = x[r, c] - shift
        else:
            scale = 1.0 / total
            for c in range(cols):
                out[r, c] = out[r, c] * scale


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc", "contract"})
def _layer_norm(x, scale, shift, eps, out):  # pragma: no cover - compiled by numba
    rows, cols = x.shape
    for r in range(rows):
        total = 0.0
        for c in range(cols):
            total += x[r, c]
        mean = total / cols
        square = 0.0
        for c in range(cols):
            d = x[r, c] - mean
            square += d * d
        inv = 1.0 / np.sqrt(square / cols + eps)
        for c in range(cols):
            out[r, c] = (x[r, c] - mean) * inv * scale[c] + shift[c]


class RowKernel:
    """A row kernel on 2-d views (leading axes as rows): `kernel(*arrays, out)` and `bind`."""

    tolerance = TOLERANCE

    def __init__(self, run: Callable[..., None], rows: int, cols: int, extra: tuple = ()):
        self.run, self.rows, self.cols, self.extra = run, rows, cols, extra

    def _views(self, arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
        x, *params = arrays
        return [x.reshape(self.rows, self.cols), *[p.reshape(self.cols) for p in params]]

    def __call__(self, *arrays: np.ndarray) -> np.ndarray:
        *inputs, out = arrays
        inputs = [np.ascontiguousarray(a) for a in inputs]
        self.run(*self._views(inputs), *self.extra, out.reshape(self.rows, self.cols))
        return out

    def bind(self, *arrays: np.ndarray) -> Callable[[], None] | None:
        """The kernel on views of these arrays, or None when one is not C-contiguous."""
        if not all(a.flags.c_contiguous for a in arrays):
            return None
        *inputs, out = arrays
        views = [*self._views(inputs), *self.extra, out.reshape(self.rows, self.cols)]
        run = self.run
        return lambda: run(*views)


def _floats(*types: TensorType) -> bool:
    dtypes = {np.dtype(t.dtype) for t in types}
    return len(dtypes) == 1 and dtypes <= {np.dtype(np.float32), np.dtype(np.float64)}


def _last_axis(op: Any, x: TensorType) -> bool:
    return len(x.shape) >= 1 and op.axis in (-1, len(x.shape) - 1) and math.prod(x.shape) > 0


def _along_rows(log: bool) -> Callable[..., RowKernel | None]:
    def make(op: Any, inputs: Sequence[TensorType], output: TensorType) -> RowKernel | None:
        x = inputs[0]
        if not (_floats(x, output) and _last_axis(op, x)):
            return None
        cols = x.shape[-1]
        return RowKernel(_softmax, math.prod(x.shape) // cols, cols, (log,))

    return make


make_softmax = _along_rows(False)
make_log_softmax = _along_rows(True)


def make_layer_norm(op: Any, inputs: Sequence[TensorType], output: TensorType) -> RowKernel | None:
    """layer_norm over the trailing axes that its scale covers."""
    x, scale, shift = inputs
    if not _floats(x, scale, shift, output) or math.prod(x.shape) == 0:
        return None
    cols = math.prod(scale.shape)
    return RowKernel(_layer_norm, math.prod(x.shape) // cols, cols, (float(op.eps),))
