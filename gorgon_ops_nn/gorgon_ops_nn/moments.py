"""Mean and variance over axes, as batch_norm and layer_norm compute them."""

from __future__ import annotations

import numpy as np


def center(x: np.ndarray, axes: tuple[int, ...],
           out: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`(x - mean, mean, var)` over `axes` (mean and var keep the reduced axes as size 1;
    var is the biased, population variance); `x - mean` is written into `out` when given."""
    mean = np.mean(x, axis=axes, keepdims=True)
    centered = np.subtract(x, mean, out=out)
    var = np.mean(np.square(centered), axis=axes, keepdims=True)
    return centered, mean, var


def inverse_std(var: np.ndarray, eps: float) -> np.ndarray:
    """1 / sqrt(var + eps)."""
    result = var + eps
    np.sqrt(result, out=result)
    np.reciprocal(result, out=result)
    return result
