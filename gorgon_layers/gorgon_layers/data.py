"""nn.batches: a batch iterator over arrays."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

import gorgon as G


def batches(X: Any, y: Any = None, batch_size: int = 32, shuffle: bool = False, seed: int | None = None,
            drop_last: bool = False) -> Iterator[Any]:
    """Yield `(X[i:j], y[i:j])` (or `X[i:j]` without y) over the first axis, in order or
    shuffled (a fresh permutation from `seed` on each call); the last, smaller batch is
    kept unless `drop_last`."""
    X = np.asarray(X)
    if y is not None:
        y = np.asarray(y)
        if len(y) != len(X):
            raise G.ArgumentValueError(f"nn.batches: X has {len(X)} examples, y has {len(y)}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise G.ArgumentValueError(f"nn.batches: batch_size must be a positive int, got {batch_size!r}")
    count = len(X)
    order = np.random.default_rng(seed).permutation(count) if shuffle else None
    stop = count - count % batch_size if drop_last else count
    for start in range(0, stop, batch_size):
        chosen = slice(start, min(start + batch_size, count)) if order is None else order[start:start + batch_size]
        yield X[chosen] if y is None else (X[chosen], y[chosen])
