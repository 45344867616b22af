"""Graph: the nodes of one expression, in the order they were built (a topological order)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np

if TYPE_CHECKING:
    from gorgon.node import Node


Result = TypeVar("Result")


class ValueSource(Protocol):
    """What a machine offers the graph after a run: computed values and gradients."""

    def value_of(self, node: Node) -> np.ndarray | None: ...

    def grad_of(self, node: Node) -> np.ndarray | None: ...


class Graph:
    """An expression graph. Nodes are appended as they are built, so `nodes` is in
    topological order; `version` counts additions and `bindings` counts G.let calls, so
    a compiled machine can tell when to recompile or re-read its inputs.

    `training` is the mode that ops like dropout and batch_norm follow (True by
    default); `g.train()` and `g.eval()` switch it for every machine running `g` that
    has no mode of its own.
    """

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.version = 0
        self.bindings = 0
        self.building_grad = False
        self.grad_map: dict[Node, Node] = {}
        self.grad_results: dict[Node, tuple[Node, Node]] = {}  # every G.grad result: (cost, wrt)
        self.adjoints: dict[Node, Node] = {}
        self.grad_cost: Node | None = None
        self.grad_seed: Node | None = None
        self.source: ValueSource | None = None
        self.training = True
        # Nodes read only by an op that a rewrite rule built in a stable form instead
        # (the sigmoid of log(sigmoid(x))): they count as used, not as the graph's sinks.
        self.bypassed: set[Node] = set()

    def train(self) -> Graph:
        """Put the graph in training mode (dropout drops, batch_norm uses batch statistics)."""
        self.training = True
        return self

    def eval(self) -> Graph:
        """Put the graph in evaluation mode (dropout is the identity, batch_norm uses
        running statistics)."""
        self.training = False
        return self

    def add(self, node: Node) -> int:
        self.nodes.append(node)
        self.version += 1
        return len(self.nodes) - 1

    def mark(self) -> tuple[int, int]:
        """Where building stands now: what `rollback` returns to."""
        return len(self.nodes), self.version

    def rollback(self, mark: tuple[int, int]) -> None:
        """Drop every node built since `mark` (building that failed part way), so the graph
        is exactly as it was then: nodes, version and the sets that name built nodes."""
        count, version = mark
        if len(self.nodes) > count:
            dropped = set(self.nodes[count:])
            del self.nodes[count:]
            self.bypassed -= dropped
        self.version = version

    def atomic(self, build: Callable[[], Result]) -> Result:
        """`build()`, and if it raises (anything, KeyboardInterrupt included), the graph
        as it was before: no half-built node stays behind."""
        mark = self.mark()
        try:
            return build()
        except BaseException:
            self.rollback(mark)
            raise

    def __len__(self) -> int:
        return len(self.nodes)

    def __iter__(self):
        return iter(self.nodes)

    def __repr__(self) -> str:
        return f"<Graph {len(self.nodes)} nodes>"

    def value_of(self, node: Node) -> np.ndarray | None:
        return None if self.source is None else self.source.value_of(node)

    def grad_of(self, node: Node) -> np.ndarray | None:
        return None if self.source is None else self.source.grad_of(node)

    def inputs(self) -> list[Node]:
        """The input nodes (bound with G.let), in build order."""
        from gorgon.node import INPUT

        return [n for n in self.nodes if n.role == INPUT]

    def by_name(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(f"no node named {name!r} in this graph")

    def to_dot(self) -> str:
        """Graphviz DOT text: one box per node with its op, shape and dtype."""
        from gorgon.dot import graph_to_dot

        return graph_to_dot(self)

    def _repr_svg_(self) -> str | None:
        """Jupyter's picture of the graph (None without Graphviz: the text repr shows)."""
        from gorgon.dot import svg

        return svg(self.to_dot())


def graph_in(args: Sequence[Any], params: dict[str, Any]) -> Graph | None:
    """The graph of the first node (or the first graph) among an op call's arguments,
    looking one level into lists and tuples: the graph a failed call must roll back."""
    from gorgon.node import Node

    for arg in (*args, *params.values()):
        for item in arg if isinstance(arg, (list, tuple)) else (arg,):
            if isinstance(item, Node):
                return item.graph
            if isinstance(item, Graph):
                return item
    return None
