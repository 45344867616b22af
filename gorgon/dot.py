"""Graphviz DOT text for a graph."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gorgon.node import CONSTANT, INPUT

if TYPE_CHECKING:
    from gorgon.graph import Graph

_STYLE = {INPUT: "shape=box,style=filled,fillcolor=lightblue",
          CONSTANT: "shape=box,style=filled,fillcolor=lightgrey"}


def _quote(text: str) -> str:
    return '"' + text.replace('"', '\\"') + '"'


def graph_to_dot(graph: Graph) -> str:
    lines = ["digraph gorgon {", "  rankdir=BT;", "  node [fontname=monospace];"]
    for node in graph.nodes:
        head = str(node.op) if node.op is not None else node.role
        label = f"{node.name}\\n{head}\\n{node.shape} {node.dtype}"
        style = _STYLE.get(node.role, "shape=ellipse")
        if node.is_grad:
            style += ",color=red"
        lines.append(f"  n{node.id} [label={_quote(label)},{style}];")
        for position, parent in enumerate(node.inputs):
            lines.append(f"  n{parent.id} -> n{node.id} [label={position}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
