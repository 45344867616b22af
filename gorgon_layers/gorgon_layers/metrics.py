"""Metrics accumulated over batches from the model's output and the target (numpy side):
accuracy, top-k accuracy, mean absolute error, mean squared error."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

import gorgon as G


class Metric:
    """`update(output, target)` per batch, `result()` the mean over every example seen."""

    name = "metric"

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.total = 0.0
        self.count = 0

    def update(self, output: np.ndarray, target: np.ndarray) -> None:
        values = self.values(output, target)
        self.total += float(np.sum(values))
        self.count += int(np.size(values))

    def values(self, output: np.ndarray, target: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def result(self) -> float:
        return self.total / self.count if self.count else float("nan")

    def fresh(self) -> Metric:
        """A copy of this metric with nothing accumulated."""
        new = copy.copy(self)
        new.reset()
        return new


def labels_of(target: np.ndarray) -> np.ndarray:
    """Integer labels, from labels or from one-hot/probability rows."""
    return target if target.dtype.kind in "iu" else np.argmax(target, axis=-1)


class Accuracy(Metric):
    """The share of examples whose highest output is the target class (a single output
    column is read as a binary probability or logit, thresholded at 0.5 or 0)."""

    name = "accuracy"

    def values(self, output: np.ndarray, target: np.ndarray) -> np.ndarray:
        if output.ndim >= 2 and output.shape[-1] > 1:
            return np.argmax(output, axis=-1) == labels_of(target)
        threshold = 0.5 if output.min() >= 0 and output.max() <= 1 else 0.0
        return (output.reshape(target.shape) > threshold) == (target > 0.5)


class TopKAccuracy(Metric):
    """The share of examples whose target class is among the k highest outputs."""

    def __init__(self, k: int = 5):
        if not isinstance(k, int) or k < 1:
            raise G.ArgumentValueError(f"TopKAccuracy: k must be a positive int, got {k!r}")
        self.k = k
        self.name = f"top{k}_accuracy"
        super().__init__()

    def values(self, output: np.ndarray, target: np.ndarray) -> np.ndarray:
        best = np.argpartition(-output, min(self.k, output.shape[-1]) - 1, axis=-1)[..., :self.k]
        return np.any(best == labels_of(target)[..., None], axis=-1)


class MeanAbsoluteError(Metric):
    name = "mae"

    def values(self, output: np.ndarray, target: np.ndarray) -> np.ndarray:
        return np.abs(output - target.reshape(output.shape))


class MeanSquaredError(Metric):
    name = "mse"

    def values(self, output: np.ndarray, target: np.ndarray) -> np.ndarray:
        return np.square(output - target.reshape(output.shape))


NAMES = {"accuracy": Accuracy, "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
         "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError}


def metric(spec: Any) -> Metric:
    """A Metric from itself, a name ("accuracy", "top5_accuracy", "mae", "mse"), or a class."""
    if isinstance(spec, Metric):
        return spec
    if isinstance(spec, type) and issubclass(spec, Metric):
        return spec()
    if isinstance(spec, str):
        if spec in NAMES:
            return NAMES[spec]()
        if spec.startswith("top") and spec.endswith("_accuracy") and spec[3:-9].isdigit():
            return TopKAccuracy(int(spec[3:-9]))
    raise G.ArgumentValueError(f"unknown metric {spec!r}: use a Metric or one of {sorted(NAMES)} "
                               "or 'top<k>_accuracy'")
