"""Checks of the arguments both machines take: every mistake is an ArgumentTypeError or
ArgumentValueError (GorgonErrors that `except TypeError` / `except ValueError` still catch)
raised when the machine is made."""

from __future__ import annotations

import os
from collections.abc import Iterable

from gorgon.errors import ArgumentTypeError, ArgumentValueError
from gorgon.graph import Graph
from gorgon.node import Node


def check_graph(machine: str, graph: object) -> Graph:
    if not isinstance(graph, Graph):
        raise ArgumentTypeError(f"{machine} needs a G.Graph, got {type(graph).__name__}")
    return graph


def check_training(machine: str, training: object) -> bool | None:
    if training is not None and not isinstance(training, bool):
        raise ArgumentTypeError(f"{machine}: training must be True, False or None, got {training!r}")
    return training


def node_list(machine: str, what: str, nodes: object, graph: Graph) -> list[Node] | None:
    """`nodes` as a list of nodes of `graph` (None stays None)."""
    if nodes is None:
        return None
    if isinstance(nodes, (Node, str)) or not isinstance(nodes, Iterable):
        raise ArgumentTypeError(f"{machine}: {what} must be a list of nodes, got {nodes!r}")
    nodes = list(nodes)
    for node in nodes:
        if not isinstance(node, Node):
            raise ArgumentTypeError(f"{machine}: {what} must be nodes, got {type(node).__name__} {node!r}")
        if node.graph is not graph:
            raise ArgumentValueError(f"{machine}: {what} node {node.name!r} belongs to another graph")
    return nodes


def positive_count(name: str, value: object, env: str) -> int | None:
    """`value`, else the environment variable `env`, as a positive int (an argument named
    `name`); None when neither is set."""
    source = name
    if value is None:
        text = os.environ.get(env, "").strip()
        if not text:
            return None
        source = env
        try:
            value = int(text)
        except ValueError:
            raise ArgumentValueError(f"{env} must be a positive integer, got {text!r}") from None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ArgumentValueError(f"{source} must be a positive integer, got {value!r}")
    return value
