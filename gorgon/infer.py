"""Helpers for op inference: each raises ShapeError/DtypeError naming the op and the nodes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from gorgon.errors import DtypeError, ShapeError
from gorgon.types import TensorType, describe

if TYPE_CHECKING:
    from gorgon.node import Node
    from gorgon.op import Op


def describe_all(nodes: Iterable[Node]) -> str:
    return ", ".join(describe(n) for n in nodes)


def shape_error(op: Op, message: str, *nodes: Node) -> ShapeError:
    suffix = f"; inputs: {describe_all(nodes)}" if nodes else ""
    return ShapeError(f"{op}: {message}{suffix}")


def dtype_error(op: Op, message: str, *nodes: Node) -> DtypeError:
    suffix = f"; inputs: {describe_all(nodes)}" if nodes else ""
    return DtypeError(f"{op}: {message}{suffix}")


def broadcast_shape(op: Op, *nodes: Node) -> tuple[int, ...]:
    """numpy's broadcast of the nodes' shapes."""
    try:
        return tuple(np.broadcast_shapes(*(n.shape for n in nodes)))
    except ValueError:
        raise shape_error(op, "shapes cannot be broadcast together", *nodes) from None


def same_dtype(op: Op, *nodes: Node) -> np.dtype:
    """The one dtype all nodes share; mixed dtypes are an error, never an upcast."""
    dtypes = {n.dtype for n in nodes}
    if len(dtypes) != 1:
        raise dtype_error(op, "inputs must share one dtype (cast explicitly with G.cast)", *nodes)
    return nodes[0].dtype


def require_float(op: Op, *nodes: Node) -> np.dtype:
    """The one float dtype all nodes share."""
    dtype = same_dtype(op, *nodes)
    if dtype.kind != "f":
        raise dtype_error(op, f"needs float inputs, got {dtype}", *nodes)
    return dtype


def require_numeric(op: Op, *nodes: Node) -> np.dtype:
    dtype = same_dtype(op, *nodes)
    if dtype.kind not in "fiu":
        raise dtype_error(op, f"needs numeric inputs, got {dtype}", *nodes)
    return dtype


def require_integer(op: Op, node: Node) -> np.dtype:
    if node.dtype.kind not in "iu":
        raise dtype_error(op, f"needs an integer input, got {node.dtype}", node)
    return node.dtype


def elementwise(op: Op, *nodes: Node, floats_only: bool = False) -> TensorType:
    """Inference of an elementwise op: broadcast shape, shared dtype."""
    dtype = require_float(op, *nodes) if floats_only else require_numeric(op, *nodes)
    return TensorType(broadcast_shape(op, *nodes), dtype)


def normalize_axes(op: Op, node: Node, axis: int | Iterable[int] | None) -> tuple[int, ...]:
    """Axes as a sorted tuple of non-negative ints; None means all axes."""
    if axis is None:
        return tuple(range(node.ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    result = []
    for a in axes:
        if not -node.ndim <= a < max(node.ndim, 1) or (node.ndim == 0 and a not in (0, -1)):
            raise shape_error(op, f"axis {a} is out of range for {node.ndim} dimensions", node)
        result.append(int(a) % max(node.ndim, 1))
    if len(set(result)) != len(result):
        raise shape_error(op, f"repeated axis in {axes}", node)
    return tuple(sorted(result))


def random_spec(op_name: str, graph: object, shape: object, dtype: object) -> tuple[tuple[int, ...], np.dtype]:
    """The checked (shape, float dtype) of a random node built in `graph` (random ops
    have no inputs: the graph and the shape are given)."""
    from gorgon.dtypes import as_dtype
    from gorgon.graph import Graph

    if not isinstance(graph, Graph):
        raise TypeError(f"{op_name}: first argument must be a G.Graph, got {type(graph).__name__}")
    dims = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if any(int(d) < 0 for d in dims):
        raise ShapeError(f"{op_name}: shape {dims} has a negative dimension")
    checked = as_dtype(dtype)
    if checked.kind != "f":
        raise DtypeError(f"{op_name}: draws floats, got dtype {checked}")
    return tuple(int(d) for d in dims), checked
