"""Softmax cross-entropy from logits in one pass over each row (its maximum, then its
exponentials' sum and the label's term): cross_entropy on its plain path (integer labels
or probability targets, reduction "mean" or "sum", no class weights, ignored labels or
smoothing; others are declined) and cross_entropy_grad (any targets and reduction).
numpy's kernels make a pass per step and index the labels separately. A label outside
[0, classes) raises IndexError, as the numpy kernel does. Sums run in float64."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numba
import numpy as np

from gorgon import TensorType
from gorgon_numba.contiguous import ContiguousKernel
from gorgon_numba.rows import row_peak

TOLERANCE = {"float32": (2e-5, 1e-6), "float64": (1e-12, 1e-14)}


@numba.njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _row_shift(x, r):  # pragma: no cover - compiled by numba
    """The row's maximum (0 when it is not finite) and the log of its shifted exponentials' sum."""
    peak = row_peak(x, r)
    total = 0.0
    for c in range(x.shape[1]):
        total += np.exp(x[r, c] - peak)
    return peak, np.log(total)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _loss_labels(x, labels, scale, out):  # pragma: no cover - compiled by numba
    rows, cols = x.shape
    for r in range(rows):
        if labels[r] < 0 or labels[r] >= cols:
            raise IndexError("cross_entropy: a class label lies outside [0, classes)")
    total = 0.0
    for r in range(rows):
        peak, log_sum = _row_shift(x, r)
        total += peak + log_sum - x[r, labels[r]]
    out[0] = total * scale


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _loss_targets(x, target, scale, out):  # pragma: no cover - compiled by numba
    rows, cols = x.shape
    total = 0.0
    for r in range(rows):
        peak, log_sum = _row_shift(x, r)
        shift = peak + log_sum
        for c in range(cols):
            total -= target[r, c] * (x[r, c] - shift)
    out[0] = total * scale


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _grad_labels(x, labels, gy, scale, out):  # pragma: no cover - compiled by numba
    rows, cols = x.shape
    for r in range(rows):
        if labels[r] < 0 or labels[r] >= cols:
            raise IndexError("cross_entropy_grad: a class label lies outside [0, classes)")
    factor = gy[0] * scale
    for r in range(rows):
        peak, log_sum = _row_shift(x, r)
        shift = peak + log_sum
        for c in range(cols):
            out[r, c] = np.exp(x[r, c] - shift) * factor
        out[r, labels[r]] -= factor


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _grad_targets(x, target, gy, scale, out):  # pragma: no cover - compiled by numba
    rows, cols = x.shape
    factor = gy[0] * scale
    for r in range(rows):
        peak, log_sum = _row_shift(x, r)
        shift = peak + log_sum
        mass = 0.0
        for c in range(cols):
            mass += target[r, c]
        for c in range(cols):
            out[r, c] = (np.exp(x[r, c] - shift) * mass - target[r, c]) * factor


class LossKernel(ContiguousKernel):
    """`kernel(logits, target, [gy,] out)` on (rows, classes) views, and `bind`."""

    tolerance = TOLERANCE

    def __init__(self, run: Callable[..., None], rows: int, classes: int, scale: float, grad: bool):
        self.run, self.rows, self.classes, self.scale, self.grad = run, rows, classes, scale, grad

    def _views(self, logits: np.ndarray, target: np.ndarray, *rest: np.ndarray) -> list[Any]:
        *gy, out = rest
        shape = (self.rows, self.classes)
        labels = target.reshape(self.rows) if target.dtype.kind in "iu" else target.reshape(shape)
        result = out.reshape(shape) if self.grad else out.reshape(1)
        return [logits.reshape(shape), labels, *[g.reshape(1) for g in gy], self.scale, result]

    def bind(self, *arrays: np.ndarray) -> Callable[[], None] | None:
        """The kernel on views of these arrays, or None when one is not C-contiguous."""
        if not all(a.flags.c_contiguous for a in arrays):
            return None
        views, run = self._views(*arrays), self.run
        return lambda: run(*views)


def _shapes(logits: TensorType, target: TensorType, output: TensorType, *others: TensorType) -> bool:
    floats = {np.dtype(t.dtype) for t in (logits, output, *others)}
    if target.dtype.kind == "f":
        floats.add(np.dtype(target.dtype))
    elif target.dtype.kind not in "iu":
        return False
    return (len(floats) == 1 and floats <= {np.dtype(np.float32), np.dtype(np.float64)}
            and len(logits.shape) >= 1 and 0 not in logits.shape)


def _scale(op: Any, logits: TensorType) -> float:
    rows = int(np.prod(logits.shape[:-1]))
    return 1.0 / rows if op.reduction == "mean" else 1.0


def make_cross_entropy(op: Any, inputs: Sequence[TensorType], output: TensorType) -> LossKernel | None:
    """cross_entropy on its plain path."""
    if len(inputs) != 2 or not op.plain or not _shapes(*inputs, output):
        return None
    logits, target = inputs
    run = _loss_labels if target.dtype.kind in "iu" else _loss_targets
    return LossKernel(run, int(np.prod(logits.shape[:-1])), logits.shape[-1], _scale(op, logits), False)


def make_cross_entropy_grad(op: Any, inputs: Sequence[TensorType], output: TensorType) -> LossKernel | None:
    """cross_entropy_grad on integer labels or probability targets."""
    logits, target, gy = inputs
    if not _shapes(logits, target, output, gy):
        return None
    run = _grad_labels if target.dtype.kind in "iu" else _grad_targets
    return LossKernel(run, int(np.prod(logits.shape[:-1])), logits.shape[-1], _scale(op, logits), True)
