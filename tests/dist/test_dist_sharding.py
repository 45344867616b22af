"""shard and local_batch_size: equal contiguous slices, views not copies, uneven splits
refused with a message saying what would work."""

from __future__ import annotations

import numpy as np
import pytest

from gorgon_dist import local_batch_size, shard


def test_shards_cover_the_batch_in_order_without_copying():
    batch = np.arange(24.0).reshape(12, 2)
    pieces = [shard(batch, rank, 3) for rank in range(3)]
    assert all(piece.shape == (4, 2) and np.shares_memory(piece, batch) for piece in pieces)
    np.testing.assert_array_equal(np.concatenate(pieces), batch)


def test_the_mean_of_shard_means_is_the_global_mean():
    values = np.random.default_rng(0).standard_normal(64)
    means = [shard(values, rank, 4).mean() for rank in range(4)]
    assert np.isclose(np.mean(means), values.mean(), rtol=0, atol=1e-15)


def test_an_uneven_split_is_refused_with_the_nearest_even_sizes():
    with pytest.raises(ValueError, match=r"130 examples does not split evenly over 4 ranks; use a "
                                         r"multiple of 4 \(such as 128 or 132\)"):
        local_batch_size(130, 4)
    with pytest.raises(ValueError, match=r"such as 3 or 6"):
        shard(np.zeros(2), 0, 3)


@pytest.mark.parametrize("batch, size", [(0, 2), (8, 0)])
def test_empty_batches_and_no_ranks_are_refused(batch, size):
    with pytest.raises(ValueError, match="positive batch and rank count"):
        local_batch_size(batch, size)


def test_a_rank_outside_the_job_is_refused():
    with pytest.raises(ValueError, match="rank 2 is not one of 2 ranks"):
        shard(np.zeros(4), 2, 2)
