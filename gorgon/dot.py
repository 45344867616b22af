"""Pictures of graphs: Graphviz DOT text with a legend and the gradients G.grad returned
labelled `d cost / d wrt`, and rendering through Graphviz's `dot` when it is installed
(what `_repr_svg_` shows in Jupyter)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from typing import TYPE_CHECKING

from gorgon.errors import GorgonError
from gorgon.node import CONSTANT, INPUT, Node

if TYPE_CHECKING:
    from gorgon.graph import Graph

_STYLE = {INPUT: "shape=box,style=filled,fillcolor=lightblue",
          CONSTANT: "shape=box,style=filled,fillcolor=lightgrey"}
_GRAD = ",color=red"
_RESULT = ",color=red,penwidth=2.5,fontcolor=red"
_LEGEND = [
    ("input", "input node (bound with G.let)", _STYLE[INPUT]),
    ("constant", "constant", _STYLE[CONSTANT]),
    ("op", "op node: name, op, shape dtype", "shape=ellipse"),
    ("grad", "node G.grad built", "shape=ellipse" + _GRAD),
    ("result", "gradient G.grad returned:\\nd cost / d wrt", "shape=ellipse" + _RESULT),
]


def _quote(text: str) -> str:
    return '"' + text.replace('"', '\\"') + '"'


def gradient_labels(graph: Graph) -> dict[Node, str]:
    """`d cost / d wrt` for each node G.grad returned."""
    return {result: f"d {cost.name} / d {wrt.name}"
            for result, (cost, wrt) in graph.grad_results.items()}


def graph_to_dot(graph: Graph, nodes: Sequence[Node] | None = None, legend: bool = True) -> str:
    """DOT text of `graph` (or of `nodes` only): one box per node with its name, op,
    shape and dtype, edges labelled with the input position, the gradients G.grad
    returned labelled `d cost / d wrt`, and a legend of the styles."""
    nodes = graph.nodes if nodes is None else nodes
    drawn = set(nodes)
    labels = gradient_labels(graph)
    lines = ["digraph gorgon {", "  rankdir=BT;", "  node [fontname=monospace];"]
    for node in nodes:
        head = str(node.op) if node.op is not None else node.role
        label = f"{node.name}\\n{head}\\n{node.shape} {node.dtype}"
        style = _STYLE.get(node.role, "shape=ellipse")
        if node in labels:
            label = f"{labels[node]}\\n{label}"
            style += _RESULT
        elif node.is_grad:
            style += _GRAD
        lines.append(f"  n{node.id} [label={_quote(label)},{style}];")
        for position, parent in enumerate(node.inputs):
            if parent in drawn:
                lines.append(f"  n{parent.id} -> n{node.id} [label={position}];")
    if legend:
        lines += ["  subgraph cluster_legend {",
                  '    label="legend"; style=dashed; fontname=monospace;']
        lines += [f"    legend_{key} [label={_quote(text)},{style}];"
                  for key, text, style in _LEGEND]
        lines += ['    legend_input -> legend_op [label="input position"];', "  }"]
    lines.append("}")
    return "\n".join(lines) + "\n"


def node_to_dot(node: Node) -> str:
    """DOT text of the node and everything it depends on."""
    from gorgon.grad import ancestors

    return graph_to_dot(node.graph, ancestors([node]))


def render(dot: str, fmt: str = "svg") -> bytes | None:
    """`dot` rendered by Graphviz to `fmt` (svg, png, pdf...); None when Graphviz's `dot`
    program is not installed. A failing render raises GorgonError with Graphviz's message."""
    executable = shutil.which("dot")
    if executable is None:
        return None
    done = subprocess.run([executable, f"-T{fmt}"], input=dot.encode(), capture_output=True)
    if done.returncode != 0:
        raise GorgonError(f"Graphviz could not render the graph as {fmt}: "
                          f"{done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def svg(dot: str) -> str | None:
    """SVG text for Jupyter's `_repr_svg_`; None (Jupyter then shows the text repr) when
    Graphviz is missing or fails."""
    try:
        rendered = render(dot, "svg")
    except GorgonError:
        return None
    return None if rendered is None else rendered.decode()
