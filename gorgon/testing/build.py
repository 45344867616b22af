"""Turning a sample into a graph: its numpy values become input nodes, then the op is
called on them. Also the float64 <-> float32 recasting of samples."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gorgon.graph import Graph
from gorgon.inputs import tensor
from gorgon.node import Node
from gorgon.testing.report import Mismatch, Skip
from gorgon.testing.samples import ErrorSample, Sample
from gorgon.testing.target import Target


@dataclass(frozen=True)
class Inputs:
    """A sample's arguments with its numpy values made input nodes of `graph`;
    `nodes[i]` holds the nodes made from argument i (several for a list)."""

    graph: Graph
    args: list[Any]
    nodes: dict[int, list[Node]]


@dataclass(frozen=True)
class Built:
    """A sample built into a graph: the op's node, and the inputs to differentiate."""

    graph: Graph
    output: Node
    wrt: list[Node]


def make_inputs(sample: Sample | ErrorSample) -> Inputs:
    """The sample's arguments for a fresh graph: numpy arrays and scalars become input
    nodes holding copies, a G.Graph argument becomes the fresh graph."""
    graph = Graph()
    nodes: dict[int, list[Node]] = {}

    def node_of(value: Any, position: int, name: str) -> Any:
        if isinstance(value, list):
            return [node_of(v, position, f"{name}_{j}") for j, v in enumerate(value)]
        if isinstance(value, Graph):
            return graph
        if isinstance(value, (np.ndarray, np.generic)):
            node = tensor(graph, value.dtype, np.shape(value), name=name, value=np.array(value))
            nodes.setdefault(position, []).append(node)
            return node
        return value

    args = [node_of(a, i, f"x{i}") for i, a in enumerate(sample.args)]
    return Inputs(graph, args, nodes)


def build(target: Target, sample: Sample) -> Built:
    """Call the op on the sample's input nodes; the wrt nodes are those of `sample.wrt`
    (default: every float input)."""
    inputs = make_inputs(sample)
    output = target.build(*inputs.args, **sample.kwargs)
    if not isinstance(output, Node):
        raise Mismatch(f"{target.name}(...) returned {type(output).__name__}, not a node")
    if output.op is None:
        raise Skip(f"{target.name}(...) returned its {output.role} node {output.name!r} as is")
    if sample.wrt is None:
        wrt = [n for nodes in inputs.nodes.values() for n in nodes if n.dtype.kind == "f"]
    else:
        wrt = [n for p in sample.wrt for n in inputs.nodes.get(p, [None])]
        if not all(n is not None and n.dtype.kind == "f" for n in wrt):
            raise Mismatch(f"the sample's wrt {sample.wrt} names an argument that is not a float "
                           "array (nor a list of them)")
    return Built(inputs.graph, output, wrt)


def recast(sample: Sample, source: type[np.floating], target: type[np.floating]) -> tuple[Sample, bool]:
    """The sample with every `source` float (arrays, numpy scalars, dtype arguments) made
    `target`, and whether anything changed."""
    changed = False

    def leaf(value: Any) -> Any:
        nonlocal changed
        if isinstance(value, list):
            return [leaf(v) for v in value]
        if isinstance(value, (np.ndarray, np.generic)) and value.dtype == source:
            changed = True
            return value.astype(target)
        if isinstance(value, np.dtype) and value == source:
            changed = True
            return np.dtype(target)
        if value is source:
            changed = True
            return target
        return value

    args = [leaf(a) for a in sample.args]
    kwargs = {k: leaf(v) for k, v in sample.kwargs.items()}
    result = Sample(*args, wrt=sample.wrt, label=sample.label, second_order=sample.second_order,
                    **kwargs)
    return result, changed

