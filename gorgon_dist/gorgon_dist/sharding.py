"""Splitting a global batch over the ranks.

Each rank takes an equal, contiguous slice of the global batch along its first axis. With
equal slices, the mean of a per-example loss over the global batch equals the average over
ranks of each rank's mean over its slice, so averaging the ranks' gradients gives exactly
the single-process gradient of the global batch (up to rounding). An uneven split would
weight examples differently, so it is an error rather than silently wrong.
"""

from __future__ import annotations

import numpy as np

from gorgon import ArgumentValueError


def local_batch_size(global_batch: int, size: int) -> int:
    """The examples each of `size` ranks gets from a global batch of `global_batch`;
    a ValueError unless the split is even."""
    if size < 1 or global_batch < 1:
        raise ArgumentValueError(f"need a positive batch and rank count, got batch {global_batch} "
                                 f"over {size} ranks")
    if global_batch % size:
        lower = global_batch - global_batch % size or size
        raise ArgumentValueError(f"a global batch of {global_batch} examples does not split evenly over "
                                 f"{size} ranks; use a multiple of {size} (such as {lower} or "
                                 f"{lower + size}) so every example weighs the same")
    return global_batch // size


def shard(global_batch: np.ndarray, rank: int, size: int) -> np.ndarray:
    """Rank `rank`'s slice (a view, not a copy) of `global_batch`, split evenly along
    its first axis over `size` ranks."""
    if not 0 <= rank < size:
        raise ArgumentValueError(f"rank {rank} is not one of {size} ranks")
    count = local_batch_size(len(global_batch), size)
    return global_batch[rank * count:(rank + 1) * count]
