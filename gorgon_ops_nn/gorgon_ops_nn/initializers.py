"""Initialisers: each factory (`G.init.he_normal(seed=0)`) returns a function
`(shape, dtype) -> array`, usable as `init=` of an input node; `init="he_normal"` uses
the factory's defaults. A seeded initialiser draws a reproducible sequence: calling it
twice gives two different arrays, the same two for the same seed.

Fans, for the scaled initialisers (glorot_*, he_*), follow the layouts gorgon's ops use:
a dense weight is (in, out), as in `x @ w`, so fan_in = shape[0] and fan_out = shape[1];
a convolution kernel is (out, in, kh, kw, ...) (NCHW), so fan_in = in * kh * kw and
fan_out = out * kh * kw; a vector (n,) has fan_in = fan_out = n; a scalar has 1 and 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from gorgon.errors import ArgumentValueError, DtypeError

Initializer = Callable[[tuple[int, ...], Any], np.ndarray]
Draw = Callable[[np.random.Generator, tuple[int, ...], np.dtype], np.ndarray]


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of `shape` (see the module's convention)."""
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def drawing(name: str, seed: int | None, draw: Draw) -> Initializer:
    """An initialiser that draws floats with `draw` from a generator seeded by `seed`."""
    generator = np.random.default_rng(seed)

    def initialize(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        shape = tuple(int(d) for d in shape)
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise DtypeError(f"initialiser {name}: draws floats, got dtype {dtype}")
        return draw(generator, shape, dtype)

    initialize.__name__ = initialize.__qualname__ = name
    return initialize


def uniform_draw(low: Callable[[tuple[int, ...]], float], high: Callable[[tuple[int, ...]], float]) -> Draw:
    def draw(generator: np.random.Generator, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        return generator.uniform(low(shape), high(shape), shape).astype(dtype, copy=False)

    return draw


def normal_draw(mean: float, std: Callable[[tuple[int, ...]], float]) -> Draw:
    def draw(generator: np.random.Generator, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        values = generator.standard_normal(shape, dtype=dtype)
        values *= std(shape)
        values += mean
        return values

    return draw


def glorot_scale(gain: float, numerator: float) -> Callable[[tuple[int, ...]], float]:
    return lambda shape: gain * math.sqrt(numerator / max(sum(fans(shape)), 1))


def he_scale(gain: float, numerator: float) -> Callable[[tuple[int, ...]], float]:
    return lambda shape: gain * math.sqrt(numerator / max(fans(shape)[0], 1))


def glorot_uniform(gain: float = 1.0, seed: int | None = None) -> Initializer:
    """Glorot/Xavier uniform: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out))."""
    limit = glorot_scale(gain, 6.0)
    return drawing("glorot_uniform", seed, uniform_draw(lambda s: -limit(s), limit))


def glorot_normal(gain: float = 1.0, seed: int | None = None) -> Initializer:
    """Glorot/Xavier normal: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    return drawing("glorot_normal", seed, normal_draw(0.0, glorot_scale(gain, 2.0)))


def he_uniform(gain: float = 1.0, seed: int | None = None) -> Initializer:
    """He/Kaiming uniform: U(-a, a) with a = gain * sqrt(6 / fan_in)."""
    limit = he_scale(gain, 6.0)
    return drawing("he_uniform", seed, uniform_draw(lambda s: -limit(s), limit))


def he_normal(gain: float = 1.0, seed: int | None = None) -> Initializer:
    """He/Kaiming normal: N(0, std^2) with std = gain * sqrt(2 / fan_in)."""
    return drawing("he_normal", seed, normal_draw(0.0, he_scale(gain, 2.0)))


def gaussian(mean: float = 0.0, std: float = 1.0, seed: int | None = None) -> Initializer:
    """N(mean, std^2)."""
    if std < 0:
        raise ArgumentValueError(f"gaussian: std {std} must not be negative")
    return drawing("gaussian", seed, normal_draw(float(mean), lambda shape: float(std)))


def uniform(low: float = 0.0, high: float = 1.0, seed: int | None = None) -> Initializer:
    """U(low, high)."""
    if not low < high:
        raise ArgumentValueError(f"uniform: low {low} must be below high {high}")
    return drawing("uniform", seed, uniform_draw(lambda shape: float(low), lambda shape: float(high)))


def zeros() -> Initializer:
    """All zeros (any dtype)."""
    return lambda shape, dtype: np.zeros(shape, dtype)


def ones() -> Initializer:
    """All ones (any dtype)."""
    return lambda shape, dtype: np.ones(shape, dtype)


INITIALIZERS = {
    "glorot_uniform": glorot_uniform, "glorot_normal": glorot_normal,
    "he_uniform": he_uniform, "he_normal": he_normal,
    "gaussian": gaussian, "uniform": uniform, "zeros": zeros, "ones": ones,
}
