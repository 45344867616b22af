"""Parameter initialisation as PyTorch's layers do it by default (uniform in
+-1/sqrt(fan_in)), from one generator that `nn.seed(n)` makes reproducible."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

from gorgon_layers.module import Parameter

_generator = [np.random.default_rng()]
_placeholders = threading.local()


@contextlib.contextmanager
def placeholders() -> Iterator[None]:
    """While active, new layers get read-only zero-memory arrays of the right shapes
    instead of drawn values (loading a model checks shapes before allocating anything)."""
    _placeholders.on = True
    try:
        yield
    finally:
        _placeholders.on = False


def array(shape: tuple[int, ...], dtype: np.dtype, make: Any) -> np.ndarray:
    """`make()`, or a placeholder of `shape` while `placeholders()` is active."""
    if getattr(_placeholders, "on", False):
        return np.broadcast_to(np.zeros((), dtype), shape)
    return make()


def seed(value: int) -> None:
    """Seed the generator every new layer draws its initial parameters from."""
    _generator[0] = np.random.default_rng(value)


def uniform(shape: tuple[int, ...], bound: float, dtype: np.dtype) -> Parameter:
    """A parameter drawn uniformly from [-bound, bound]."""
    return Parameter(array(shape, dtype, lambda: _generator[0].uniform(-bound, bound, shape).astype(dtype)))


def fan_in_uniform(shape: tuple[int, ...], fan_in: int, dtype: np.dtype) -> Parameter:
    """A parameter drawn uniformly from +-1/sqrt(fan_in) (PyTorch's default for weights
    and biases of linear, convolutional and recurrent layers)."""
    return uniform(shape, 1.0 / np.sqrt(max(fan_in, 1)), dtype)


def constant(shape: tuple[int, ...], value: float, dtype: np.dtype) -> Parameter:
    return Parameter(full(shape, value, dtype))


def full(shape: tuple[int, ...], value: float, dtype: np.dtype) -> np.ndarray:
    """An array of `value` (for buffers), or a placeholder while loading."""
    return array(shape, dtype, lambda: np.full(shape, value, dtype))


def normal(shape: tuple[int, ...], dtype: np.dtype) -> Parameter:
    """A parameter drawn from the standard normal (PyTorch's default for embeddings)."""
    return Parameter(array(shape, dtype, lambda: _generator[0].standard_normal(shape).astype(dtype)))
