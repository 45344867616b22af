"""Inference helpers for NCHW inputs: the rank and dtype checks every op of this
plugin starts with, raising errors that name the op, the nodes and the numbers."""

from __future__ import annotations

import numpy as np

from gorgon import Node, Op
from gorgon.dtypes import FLOATS
from gorgon.infer import dtype_error, same_dtype, shape_error


def floats(op: Op, *nodes: Node) -> np.dtype:
    """The one dtype, float32 or float64, that all nodes share."""
    dtype = same_dtype(op, *nodes)
    if dtype not in FLOATS:
        raise dtype_error(op, f"needs float32 or float64 inputs, got {dtype}", *nodes)
    return dtype


def rank(op: Op, node: Node, ndim: int, layout: str, *context: Node) -> None:
    """A ShapeError unless `node` has `ndim` dimensions (described by `layout`)."""
    if node.ndim != ndim:
        raise shape_error(op, f"expects {node.name!r} as {layout} ({ndim} dimensions), "
                          f"got {node.ndim} dimensions", *(context or (node,)))


def images(op: Op, *nodes: Node) -> np.dtype:
    """Each node is an NCHW batch, possibly of no images (N = 0, as in PyTorch), whose
    channels, height and width are not empty; returns their shared float dtype."""
    for node in nodes:
        rank(op, node, 4, "an NCHW batch", *nodes)
        nonempty(op, node, *nodes, batch=True)
    return floats(op, *nodes)


def nonempty(op: Op, node: Node, *context: Node, batch: bool = False) -> None:
    """A ShapeError when `node` has a dimension of size zero (other than its first, the
    batch, when `batch`: an empty batch gives an empty result)."""
    if min(node.shape[1:] if batch else node.shape, default=1) < 1:
        what = "dimension other than the batch" if batch else "dimension"
        raise shape_error(op, f"{node.name!r} has an empty {what}", *(context or (node,)))


def grouped(op: Op, what: str, channels: int, groups: int, *nodes: Node) -> int:
    """`channels // groups`, or a ShapeError when groups does not divide them."""
    if groups < 1:
        raise shape_error(op, f"groups must be positive, got {groups}", *nodes)
    if channels % groups:
        raise shape_error(op, f"{what} ({channels}) are not divisible by groups ({groups})", *nodes)
    return channels // groups
