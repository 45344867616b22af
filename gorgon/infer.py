"""Helpers for op inference: each raises ShapeError/DtypeError naming the op and the nodes."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from gorgon.errors import ArgumentTypeError, ArgumentValueError, DtypeError, ShapeError
from gorgon.types import TensorType, describe

if TYPE_CHECKING:
    from gorgon.node import Node
    from gorgon.op import Op

INT64_MAX = int(np.iinfo(np.int64).max)


def describe_all(nodes: Iterable[Node]) -> str:
    return ", ".join(describe(n) for n in nodes)


def shape_error(op: Op | str, message: str, *nodes: Node) -> ShapeError:
    return ShapeError(f"{op}: {message}{inputs_of(nodes)}")


def dtype_error(op: Op | str, message: str, *nodes: Node) -> DtypeError:
    return DtypeError(f"{op}: {message}{inputs_of(nodes)}")


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


def integer(op: Op | str, what: str, value: Any, *nodes: Node) -> int:
    """`value` as an int: a Python or numpy integer, not a bool or a float (`nodes` are
    named in the error)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ArgumentTypeError(f"{_label(op)}: {what} must be an integer, got "
                                f"{type(value).__name__} {value!r}{inputs_of(nodes)}")
    return int(value)


def real(op: Op | str, what: str, value: Any, *nodes: Node) -> float:
    """`value` as a float: a Python or numpy real number, not a bool, a string or an array."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ArgumentTypeError(f"{_label(op)}: {what} must be a real number, got "
                                f"{type(value).__name__} {value!r}{inputs_of(nodes)}")
    return float(value)


def integers(op: Op | str, what: str, value: Any, *nodes: Node) -> tuple[int, ...]:
    """An integer or a sequence of integers, as a tuple of ints."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return (int(value),)
    if not isinstance(value, (tuple, list, range, np.ndarray)):
        raise ArgumentTypeError(f"{_label(op)}: {what} must be an integer or a sequence of "
                                f"integers, got {type(value).__name__} {value!r}{inputs_of(nodes)}")
    return tuple(integer(op, what, v, *nodes) for v in value)


def check_size(op: Op | str, shape: tuple[int, ...], dtype: Any, *nodes: Node) -> None:
    """A ShapeError when an array of `shape` and `dtype` would have more elements or
    bytes than a 64-bit size can count (numpy could never allocate it)."""
    count = math.prod(shape)
    if count * np.dtype(dtype).itemsize > INT64_MAX:
        raise shape_error(_label(op), f"shape {shape} has {count} elements of {np.dtype(dtype)}, more "
                          f"than a 64-bit size can count", *nodes)


def check_shape(op: Op | str, shape: Any, dtype: Any, *nodes: Node) -> tuple[int, ...]:
    """A shape (an int or a sequence of ints) as a tuple of non-negative ints that
    `check_size` accepts."""
    dims = integers(op, "shape", shape, *nodes)
    if any(d < 0 for d in dims):
        raise shape_error(_label(op), f"shape {dims} has a negative dimension", *nodes)
    check_size(op, dims, dtype, *nodes)
    return dims


def normalize_axis(op: Op | str, node: Node, axis: Any, *nodes: Node, new: bool = False) -> int:
    """One axis of `node` (of the result, one dimension more, when `new`) as a
    non-negative int; `nodes` are named in the error with `node`."""
    value = integer(op, "axis", axis, node, *nodes)
    ndim = node.ndim + int(new)
    if not -ndim <= value < ndim:
        where = f"{ndim} dimensions of the result" if new else _dimensions(ndim)
        raise shape_error(_label(op), f"axis {value} is out of range for {where}", node, *nodes)
    return value % ndim


def normalize_axes(op: Op | str, node: Node, axis: Any) -> tuple[int, ...]:
    """Axes (an int, a sequence of ints, or None for all) as a sorted tuple of distinct
    non-negative ints. Error messages show `op` (an op, or only its name when the op's
    parameters are not known yet) and the axis the user passed."""
    if axis is None:
        return tuple(range(node.ndim))
    axes = integers(op, "axis", axis, node)
    result = [normalize_axis(op, node, a) for a in axes]
    if len(set(result)) != len(result):
        raise shape_error(_label(op), f"repeated axis in axis={axis!r}", node)
    return tuple(sorted(result))


def normalize_permutation(op: Op | str, node: Node, axes: Any) -> tuple[int, ...]:
    """`axes` as a permutation of the node's axes (negative axes counted from the end)."""
    order = integers(op, "axes", axes, node)
    ndim = node.ndim
    result = tuple(a % ndim for a in order if -ndim <= a < ndim)
    if len(order) != ndim or len(result) != ndim or sorted(result) != list(range(ndim)):
        raise shape_error(_label(op), f"axes={axes!r} are not a permutation of {_dimensions(ndim)}",
                          node)
    return result


def nodes_in(*args: Any) -> list[Node]:
    """The nodes among `args` (to name them in an error about the other arguments)."""
    from gorgon.node import Node

    return [a for a in args if isinstance(a, Node)]


def inputs_of(nodes: Iterable[Any]) -> str:
    """`; inputs: 'x' (shape (2, 3), float64), ...` for the nodes among `nodes`, or ''."""
    text = describe_all(nodes_in(*nodes))
    return f"; inputs: {text}" if text else ""


def _label(op: Op | str) -> str:
    return op if isinstance(op, str) else str(op)


def _dimensions(ndim: int) -> str:
    return f"{ndim} dimension{'s' if ndim != 1 else ''}"


def check_seed(op: Op | str, seed: Any) -> int | None:
    """A random node's `seed`: None (fresh entropy) or a non-negative integer."""
    if seed is None:
        return None
    value = integer(op, "seed", seed)
    if value < 0:
        raise ArgumentValueError(f"{_label(op)}: seed must not be negative, got {value}")
    return value


def random_spec(op_name: str, graph: object, shape: object, dtype: object) -> tuple[tuple[int, ...], np.dtype]:
    """The checked (shape, float dtype) of a random node built in `graph` (random ops
    have no inputs: the graph and the shape are given)."""
    from gorgon.dtypes import as_dtype
    from gorgon.graph import Graph

    if not isinstance(graph, Graph):
        raise ArgumentTypeError(f"{op_name}: first argument must be a G.Graph, got {type(graph).__name__}")
    checked = as_dtype(dtype)
    if checked.kind != "f":
        raise DtypeError(f"{op_name}: draws floats, got dtype {checked}")
    return check_shape(op_name, shape, checked), checked
