"""Node: one vertex of an expression graph, with Python operators that build more nodes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from gorgon.dtypes import SUPPORTED, is_supported
from gorgon.errors import ArgumentTypeError, DtypeError
from gorgon.origin import user_origin
from gorgon.types import Shaped

if TYPE_CHECKING:
    from gorgon.graph import Graph
    from gorgon.op import Op

INPUT = "input"
CONSTANT = "constant"
OPERATION = "op"


class Node(Shaped):
    """A value in a graph: an input (bound with G.let), a constant, or an op applied to nodes.

    `value` and `grad` read what the machine that last ran the graph computed; an input's
    value is the very array bound to it, so updating it in place is seen by the next run.
    """

    __slots__ = ("graph", "op", "inputs", "shape", "dtype", "name", "named", "id", "role",
                 "is_grad", "origin", "_value", "__weakref__")

    # numpy defers to the node's reflected operators: `array + node` builds a node
    # instead of an object array of nodes.
    __array_ufunc__ = None

    def __init__(self, graph: Graph, role: str, shape: tuple[int, ...], dtype: np.dtype,
                 name: str | None = None, op: Op | None = None, inputs: tuple[Node, ...] = ()):
        self.graph = graph
        self.role = role
        self.op = op
        self.inputs = inputs
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        if not is_supported(self.dtype):
            raise unsupported(self.dtype, role, op, inputs)
        self.is_grad = graph.building_grad
        self.origin = user_origin(op)
        self._value: np.ndarray | None = None
        self.id = graph.add(self)
        self.named = name is not None
        self.name = name if name is not None else f"{op.name if op else role}{self.id}"

    @property
    def is_leaf(self) -> bool:
        return self.op is None

    @property
    def value(self) -> np.ndarray | None:
        """The node's value: the bound array for an input, else what the last run computed."""
        if self.op is None:
            return self._value
        return self.graph.value_of(self)

    @property
    def grad(self) -> np.ndarray | None:
        """d(cost)/d(node) from the last run, for nodes G.grad was asked about (or the
        LispMachine differentiated); None when no run has computed it."""
        return self.graph.grad_of(self)

    @property
    def T(self) -> Node:  # noqa: N802 - numpy's name
        return _call("transpose", self)

    def __repr__(self) -> str:
        what = str(self.op) if self.op is not None else self.role
        return f"<Node {self.name}: {what} {self.shape} {self.dtype}>"

    def _repr_svg_(self) -> str | None:
        """Jupyter's picture of the node and what it depends on (None without Graphviz:
        the text repr shows)."""
        from gorgon.dot import node_to_dot, svg

        return svg(node_to_dot(self))

    def __add__(self, other: Any) -> Node:
        return _call("add", self, other)

    def __radd__(self, other: Any) -> Node:
        return _call("add", other, self)

    def __sub__(self, other: Any) -> Node:
        return _call("sub", self, other)

    def __rsub__(self, other: Any) -> Node:
        return _call("sub", other, self)

    def __mul__(self, other: Any) -> Node:
        return _call("mul", self, other)

    def __rmul__(self, other: Any) -> Node:
        return _call("mul", other, self)

    def __truediv__(self, other: Any) -> Node:
        return _call("div", self, other)

    def __rtruediv__(self, other: Any) -> Node:
        return _call("div", other, self)

    def __pow__(self, other: Any) -> Node:
        return _call("pow", self, other)

    def __rpow__(self, other: Any) -> Node:
        return _call("pow", other, self)

    def __matmul__(self, other: Any) -> Node:
        return _call("matmul", self, other)

    def __rmatmul__(self, other: Any) -> Node:
        return _call("matmul", other, self)

    def __neg__(self) -> Node:
        return _call("neg", self)

    def __abs__(self) -> Node:
        return _call("abs", self)

    def __getitem__(self, index: Any) -> Node:
        return _call("getitem", self, index)

    def __iter__(self):
        raise ArgumentTypeError(f"node {self.name!r} is not iterable; index it with node[i]")

    def __bool__(self) -> bool:
        raise ArgumentTypeError(f"the truth value of node {self.name!r} is only known when the graph "
                                "runs; use G.where / G.gt and friends to build conditions")


def unsupported(dtype: np.dtype, role: str, op: Op | None, inputs: tuple[Node, ...]) -> DtypeError:
    """The error for a node that would have a dtype gorgon does not support (float16)."""
    what = f"op {op}" if op is not None else f"a {role} node"
    given = ", ".join(f"{p.name!r} {p.shape} {p.dtype}" for p in inputs)
    given = f" (inputs: {given})" if given else ""
    return DtypeError(f"{what}{given} would make a {dtype} node: gorgon supports {SUPPORTED} "
                      f"(cast to float32 or float64 first)")


def _call(op_name: str, *args: Any) -> Node:
    from gorgon.registry import registry

    return registry.function(op_name)(*args)
