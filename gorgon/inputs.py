"""Input and constant node constructors, and G.let, which binds a value to an input."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gorgon.binding import as_value
from gorgon.dtypes import as_dtype
from gorgon.errors import ArgumentTypeError, BindError, ShapeError
from gorgon.graph import Graph
from gorgon.infer import check_size
from gorgon.node import INPUT, Node
from gorgon.op import constant as graph_constant

Init = Callable[[tuple[int, ...], np.dtype], np.ndarray] | str


def _check_shape(shape: Any, what: str) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError:
        raise ArgumentTypeError(f"{what}: shape must be a tuple of ints, got {shape!r}") from None
    for dim in dims:
        if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
            raise ArgumentTypeError(f"{what}: shape must be a tuple of ints, got {shape!r}")
        if dim < 0:
            raise ShapeError(f"{what}: shape {shape!r} has a negative dimension")
    return tuple(int(d) for d in dims)


def tensor(graph: Graph, dtype: Any, shape: Any = (), name: str | None = None,
           value: Any = None, init: Init | None = None) -> Node:
    """An input node of any rank; bind its value now (`value=`, or `init=`: a function
    `(shape, dtype) -> array` or the name of a registered initialiser) or later (G.let).
    A wrong value raises before the node joins the graph."""
    if not isinstance(graph, Graph):
        raise ArgumentTypeError(f"expected a G.Graph as first argument, got {type(graph).__name__}")
    if name is not None and not isinstance(name, str):
        raise ArgumentTypeError(f"input: name must be a string, got {type(name).__name__} {name!r}")
    label = "input" if name is None else f"input {name!r}"
    if init is not None and not (callable(init) or isinstance(init, str)):
        raise ArgumentTypeError(f"{label}: init must be an initialiser's name or a function "
                                f"(shape, dtype) -> array, got {init!r}")
    dims = _check_shape(shape, label)
    dtype = as_dtype(dtype)
    check_size(label, dims, dtype)
    if value is not None and init is not None:
        raise BindError(f"{label}: give value= or init=, not both")
    if isinstance(init, str):
        from gorgon.registry import registry

        init = registry.initializer(init)()
    if init is not None:
        value = init(dims, dtype)
        if value is None:
            raise BindError(f"{label}: the initialiser {getattr(init, '__name__', init)!r} returned "
                            f"None, not a {dtype} array of shape {dims}")
    array = None if value is None else as_value(label, dims, dtype, value)
    node = Node(graph, INPUT, dims, dtype, name=name)
    if array is not None:
        node._value = array
        graph.bindings += 1
    return node


def scalar(graph: Graph, dtype: Any, name: str | None = None, value: Any = None,
           init: Init | None = None) -> Node:
    """A rank-0 input node."""
    return tensor(graph, dtype, (), name=name, value=value, init=init)


def vector(graph: Graph, dtype: Any, shape: Any, name: str | None = None,
           value: Any = None, init: Init | None = None) -> Node:
    """A rank-1 input node."""
    dims = _check_shape(shape, f"vector {name!r}")
    if len(dims) != 1:
        raise ShapeError(f"vector {name!r}: shape must have one dimension, got {dims}")
    return tensor(graph, dtype, dims, name=name, value=value, init=init)


def matrix(graph: Graph, dtype: Any, shape: Any, name: str | None = None,
           value: Any = None, init: Init | None = None) -> Node:
    """A rank-2 input node."""
    dims = _check_shape(shape, f"matrix {name!r}")
    if len(dims) != 2:
        raise ShapeError(f"matrix {name!r}: shape must have two dimensions, got {dims}")
    return tensor(graph, dtype, dims, name=name, value=value, init=init)


class Constant:
    """A constant not yet in a graph: it becomes a constant node where it is first used."""

    def __init__(self, value: Any, dtype: Any = None, name: str | None = None):
        self.value = np.array(value, dtype=None if dtype is None else as_dtype(dtype))
        self.name = name

    def node_in(self, graph: Graph) -> Node:
        return graph_constant(self.value, graph, name=self.name)

    def __repr__(self) -> str:
        return f"<Constant {self.name or ''} {self.value.shape} {self.value.dtype}>"


def constant(value: Any, graph: Graph | None = None, dtype: Any = None,
             name: str | None = None) -> Node | Constant:
    """A constant: a node of `graph`, or (without a graph) a value that joins the graph
    of the first op it is given to."""
    if graph is None:
        return Constant(value, dtype, name)
    return graph_constant(value, graph, None if dtype is None else as_dtype(dtype), name)


def let(node: Node, value: Any) -> None:
    """Bind `value` to input `node`. A numpy array is bound as is (no copy), so updating
    it in place is seen by the next run; a wrong shape or dtype keeps the old binding."""
    if not isinstance(node, Node):
        raise ArgumentTypeError(f"G.let: expected a node, got {type(node).__name__}")
    if node.role != INPUT:
        raise BindError(f"G.let: {node.name!r} is a {node.role} node; only inputs can be bound")
    array = as_value(repr(node.name), node.shape, node.dtype, value)
    node._value = array
    node.graph.bindings += 1


def unbind(node: Node) -> None:
    """Forget the value bound to input `node` (what a failed checkpoint load does to undo
    its G.let on a node that had no value)."""
    if not isinstance(node, Node) or node.role != INPUT:
        raise BindError(f"unbind: expected an input node, got {node!r}")
    node._value = None
    node.graph.bindings += 1
