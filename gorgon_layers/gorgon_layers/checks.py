"""Argument checks shared by the layers' constructors: clear errors naming the layer."""

from __future__ import annotations

from typing import Any

import numpy as np

import gorgon as G

LIMIT = 2 ** 31  # no size argument may reach this (a hostile architecture is refused)


def size(owner: str, name: str, value: Any, minimum: int = 1) -> int:
    """`value` as an int in [minimum, 2**31), else an argument error naming `owner`."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise G.ArgumentTypeError(f"{owner}: {name} must be an int, got {value!r}")
    if not minimum <= value < LIMIT:
        raise G.ArgumentValueError(f"{owner}: {name} must lie in [{minimum}, 2**31), got {value}")
    return int(value)


def sizes(owner: str, name: str, value: Any, count: int = 2, minimum: int = 1) -> tuple[int, ...]:
    """An int or a sequence of `count` ints, each checked by `size`, as a tuple."""
    values = [value] * count if not isinstance(value, (list, tuple)) else list(value)
    if len(values) != count:
        raise G.ArgumentValueError(f"{owner}: {name} must be an int or {count} ints, got {value!r}")
    return tuple(size(owner, name, v, minimum) for v in values)


def rate(owner: str, name: str, value: Any, low: float = 0.0, high: float = 1.0) -> float:
    """A float in [low, high)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not low <= value < high:
        raise G.ArgumentValueError(f"{owner}: {name} must lie in [{low}, {high}), got {value!r}")
    return float(value)


def float_dtype(owner: str, dtype: Any) -> np.dtype:
    try:
        result = np.dtype(dtype)
    except TypeError:
        result = None
    if result is None or result.kind != "f":
        raise G.ArgumentTypeError(f"{owner}: dtype must be a float dtype, got {dtype!r}")
    return result
