"""Reference numerics of the kit: a plain evaluation of a graph with the ops' allocating
kernels, central finite differences on it, and comparisons that say what differs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gorgon.grad import ancestors
from gorgon.node import Node
from gorgon.op import kernel
from gorgon.testing.report import Mismatch

EPS = 1e-6
MAX_FD_ELEMENTS = 64
SEED = 1234


def evaluate(nodes: Sequence[Node]) -> dict[Node, np.ndarray]:
    """The value of every node of `nodes` (in build order), computed by calling each op's
    kernel without `out`, independently of both machines."""
    values: dict[Node, np.ndarray] = {}
    for node in nodes:
        if node.op is None:
            values[node] = node.value
        else:
            forward = kernel(node.op, node.graph.training)
            values[node] = np.asarray(forward(*(values[p] for p in node.inputs)))
    return values


def weights(shape: tuple[int, ...], dtype: np.dtype, salt: int = 0) -> np.ndarray:
    """A fixed random array of `shape`, weighting an output into a scalar cost."""
    return np.random.default_rng(SEED + salt).standard_normal(shape).astype(dtype)


def fd_indices(shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    """The elements finite differences probe: all of them, or a fixed random subset of
    MAX_FD_ELEMENTS for big inputs."""
    every = list(np.ndindex(shape))
    if len(every) <= MAX_FD_ELEMENTS:
        return every
    picks = np.random.default_rng(SEED).choice(len(every), MAX_FD_ELEMENTS, replace=False)
    return [every[i] for i in sorted(picks)]


def numeric_gradients(cost: Node, wrt: Sequence[Node]) -> list[tuple[list[tuple[int, ...]], np.ndarray]]:
    """Central differences of the scalar `cost` wrt each input node in `wrt`, perturbing
    the arrays bound to them in place: per input, the indices probed and the estimates."""
    order = ancestors([cost])

    def value() -> float:
        return float(evaluate(order)[cost])

    results = []
    for node in wrt:
        array = node.value
        indices = fd_indices(array.shape)
        estimates = np.empty(len(indices))
        for k, index in enumerate(indices):
            original = array[index]
            array[index] = original + EPS
            plus = value()
            array[index] = original - EPS
            minus = value()
            array[index] = original
            estimates[k] = (plus - minus) / (2 * EPS)
        results.append((indices, estimates))
    return results


def pick(array: np.ndarray, indices: list[tuple[int, ...]]) -> np.ndarray:
    """The elements of `array` at `indices`, as a flat array."""
    return np.array([array[i] for i in indices], dtype=array.dtype)


def same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal shapes and values (NaNs equal to NaNs)."""
    return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))


def assert_close(what: str, actual: np.ndarray, expected: np.ndarray, rtol: float, atol: float,
                 where: list[tuple[int, ...]] | None = None) -> None:
    """Raise Mismatch naming `what` and its worst element unless `actual` is close to
    `expected` (exactly equal for non-floats). `where` gives the original index of
    each element of flat arrays."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    if actual.shape != expected.shape:
        raise Mismatch(f"{what}: shape {actual.shape}, expected {expected.shape}")
    if expected.dtype.kind not in "fc":
        bad = actual != expected
    else:
        with np.errstate(invalid="ignore"):
            bad = ~np.isclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True)
    if not bad.any():
        return
    error = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
    flat = int(np.argmax(np.where(bad, np.nan_to_num(error, nan=np.inf), -1)))
    worst = tuple(int(i) for i in np.unravel_index(flat, bad.shape))
    index = where[worst[0]] if where is not None else worst
    raise Mismatch(f"{what}: {int(bad.sum())} of {bad.size} elements differ (rtol={rtol:g}, "
                   f"atol={atol:g}); worst at index {index}: got {actual[worst].item()!r}, "
                   f"expected {expected[worst].item()!r}")
