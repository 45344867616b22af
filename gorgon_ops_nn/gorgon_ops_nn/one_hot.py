"""one_hot: integer class labels as rows of zeros with a one at each label (no gradient)."""

from __future__ import annotations

from typing import Any

import numpy as np

import gorgon as G
from gorgon import Node, Op, TensorType
from gorgon.dtypes import as_dtype
from gorgon.infer import require_integer


class OneHot(Op):
    """`one_hot(labels, num_classes, dtype=G.Float64)`: labels (...) of integers in
    [0, num_classes) as (..., num_classes), 1 at each label and 0 elsewhere (Gorgonia's
    OneHotVector). Not differentiable; labels outside the range are an IndexError."""

    name = "one_hot"
    differentiable = False

    @classmethod
    def call(cls, labels: Any, num_classes: int, dtype: Any = G.Float64) -> Node:
        if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
            raise G.ArgumentTypeError(f"{cls.name}: num_classes must be an int, got {num_classes!r}")
        if num_classes < 1:
            raise G.ArgumentValueError(f"{cls.name}: num_classes must be positive, got {num_classes}")
        return G.apply(cls(num_classes=int(num_classes), dtype=as_dtype(dtype)), labels)

    def infer(self, labels: Node) -> TensorType:
        require_integer(self, labels)
        return TensorType(labels.shape + (self.num_classes,), self.dtype)

    def forward(self, labels: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        if labels.size and (labels.min() < 0 or labels.max() >= self.num_classes):
            raise IndexError(f"one_hot: labels must lie in [0, {self.num_classes}), got values from "
                             f"{labels.min()} to {labels.max()}")
        result = np.zeros(labels.shape + (self.num_classes,), self.dtype) if out is None else out
        if out is not None:
            result.fill(0)
        np.put_along_axis(result, labels[..., None].astype(np.intp), 1, -1)
        return result


OPS = [OneHot]
