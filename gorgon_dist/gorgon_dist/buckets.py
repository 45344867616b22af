"""Gradient buckets: many small arrays fused into a few contiguous buffers, so that one
collective call moves all of them.

Parameters are grouped by dtype (one MPI message has one datatype) and, in the order given,
packed into buffers of at most `limit_bytes` (a parameter larger than that gets a buffer
of its own). Every bucket is allocated once; each parameter sees its slice of it as a view
of the parameter's shape.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from gorgon import ArgumentValueError, Node


class Bucket:
    """One contiguous buffer `flat` holding one array per node, each readable as
    `views[i]` (shaped like `nodes[i]`)."""

    def __init__(self, nodes: Sequence[Node]):
        self.nodes = list(nodes)
        self.flat = np.empty(sum(node.size for node in self.nodes), self.nodes[0].dtype)
        self.views: list[np.ndarray] = []
        offset = 0
        for node in self.nodes:
            self.views.append(self.flat[offset:offset + node.size].reshape(node.shape))
            offset += node.size

    @property
    def nbytes(self) -> int:
        return self.flat.nbytes

    def pack(self, arrays: Iterable[np.ndarray]) -> None:
        """Copy one array per node into the bucket."""
        for view, array in zip(self.views, arrays, strict=True):
            np.copyto(view, array)

    def unpack(self, arrays: Iterable[np.ndarray]) -> None:
        """Copy the bucket out into one array per node, in place."""
        for view, array in zip(self.views, arrays, strict=True):
            np.copyto(array, view)


def make_buckets(nodes: Sequence[Node], limit_bytes: int) -> list[Bucket]:
    """Buckets for `nodes`: grouped by dtype, each at most `limit_bytes` unless a single
    node is larger."""
    if limit_bytes <= 0:
        raise ArgumentValueError(f"the bucket limit must be positive, got {limit_bytes} bytes")
    groups: dict[np.dtype, list[list[Node]]] = {}
    for node in nodes:
        buckets = groups.setdefault(node.dtype, [[]])
        current = buckets[-1]
        if current and (sum(n.size for n in current) + node.size) * node.dtype.itemsize > limit_bytes:
            current = []
            buckets.append(current)
        current.append(node)
    return [Bucket(members) for buckets in groups.values() for members in buckets]
