"""Gradient buckets: grouped by dtype, split at the byte limit, each parameter a view of
one contiguous buffer."""

from __future__ import annotations

import numpy as np
import pytest
from gorgon_dist.buckets import make_buckets

import gorgon as G


def nodes():
    g = G.Graph()
    return [G.tensor(g, G.Float64, (3, 4), name="a"), G.tensor(g, G.Float32, (5,), name="b"),
            G.tensor(g, G.Float64, (2,), name="c"), G.tensor(g, G.Float64, (6,), name="d")]


def test_parameters_of_one_dtype_share_one_buffer():
    a, b, c, d = nodes()
    buckets = make_buckets([a, b, c, d], limit_bytes=1 << 20)
    assert [[n.name for n in bucket.nodes] for bucket in buckets] == [["a", "c", "d"], ["b"]]
    wide, narrow = buckets
    assert wide.flat.dtype == np.float64 and wide.flat.size == 20 and narrow.flat.dtype == np.float32
    assert [view.shape for view in wide.views] == [(3, 4), (2,), (6,)]
    assert all(np.shares_memory(view, wide.flat) for view in wide.views)


def test_pack_and_unpack_go_through_the_flat_buffer():
    a, _, c, _ = nodes()
    (bucket,) = make_buckets([a, c], limit_bytes=1 << 20)
    bucket.pack([np.arange(12.0).reshape(3, 4), np.array([20.0, 21.0])])
    np.testing.assert_array_equal(bucket.flat, np.r_[np.arange(12.0), 20.0, 21.0])
    bucket.flat *= 2
    out = [np.empty((3, 4)), np.empty(2)]
    bucket.unpack(out)
    np.testing.assert_array_equal(out[1], [40.0, 42.0])


def test_the_byte_limit_starts_new_buckets_and_big_parameters_get_their_own():
    a, _, c, d = nodes()
    buckets = make_buckets([c, d, a], limit_bytes=8 * 8)
    assert [[n.name for n in bucket.nodes] for bucket in buckets] == [["c", "d"], ["a"]]
    assert buckets[1].nbytes == 96


def test_the_limit_must_be_positive():
    with pytest.raises(ValueError, match="bucket limit must be positive"):
        make_buckets(nodes(), 0)
