"""Softmax and log-softmax along the last axis, and the flat positions of class labels,
into caller-supplied scratch arrays (an op's `workspace`), computing exactly what
softmax_into / log_softmax_into / take_along_axis do, so a kernel run by the TapeMachine
allocates no temporary array (numpy's own iteration buffers aside)."""

from __future__ import annotations

import numpy as np

from gorgon import TensorType


def column_types(x: TensorType) -> tuple[tuple[tuple[int, ...], np.dtype], ...]:
    """The scratch of the shift: one value per row (x's dtype) and a flag per row."""
    column = tuple(x.shape[:-1]) + (1,)
    return ((column, np.dtype(x.dtype)), (column, np.dtype(bool)))


def shift_into(x: np.ndarray, out: np.ndarray, column: np.ndarray, flag: np.ndarray) -> None:
    """out = x - max(x) along the last axis, infinite maxima taken as 0 (shifted_max's rule)."""
    np.max(x, axis=-1, keepdims=True, initial=-np.inf, out=column)
    np.isfinite(column, out=flag)
    np.logical_not(flag, out=flag)
    np.copyto(column, 0, where=flag)
    np.subtract(x, column, out=out)


def softmax_work(x: np.ndarray, out: np.ndarray, column: np.ndarray, flag: np.ndarray) -> np.ndarray:
    """softmax(x) along the last axis into `out`, `column` and `flag` as scratch."""
    shift_into(x, out, column, flag)
    np.exp(out, out=out)
    np.sum(out, axis=-1, keepdims=True, out=column)
    out /= column
    return out


def log_softmax_work(x: np.ndarray, out: np.ndarray, exps: np.ndarray, column: np.ndarray,
                     flag: np.ndarray) -> np.ndarray:
    """log_softmax(x) along the last axis into `out`; `exps` (x's shape), `column` and
    `flag` are scratch."""
    shift_into(x, out, column, flag)
    np.exp(out, out=exps)
    np.sum(exps, axis=-1, keepdims=True, out=column)
    with np.errstate(divide="ignore"):  # log(0) only for an empty axis, whose result is empty
        np.log(column, out=column)
    out -= column
    return out


def label_types(logits: TensorType) -> tuple[tuple[tuple[int, ...], np.dtype], ...]:
    """The scratch of label lookups: a flat position per example and the value read there."""
    rows = (int(np.prod(logits.shape[:-1], dtype=np.int64)),)
    return ((rows, np.dtype(np.int64)), (rows, np.dtype(logits.dtype)))


def label_positions(labels: np.ndarray, classes: int, positions: np.ndarray) -> np.ndarray:
    """Into `positions`: the flat index of each example's label in a C-ordered (..., classes)
    array, row * classes + label."""
    positions.fill(classes)
    np.cumsum(positions, out=positions)
    np.subtract(positions, classes, out=positions)
    np.add(positions, labels.reshape(-1), out=positions)
    return positions
