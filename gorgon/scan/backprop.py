"""Reverse-mode differentiation of a scan body with several seeded results at once (the
new carried state and each per-step output), reading forward values through a map: the
backward body reads a step's residuals from placeholders, not from the forward nodes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from gorgon.errors import NonDifferentiable
from gorgon.grad import ancestors, rule_gradients
from gorgon.node import Node
from gorgon.registry import registry


def multi_backprop(seeds: Mapping[Node, Node], targets: Sequence[Node],
                   read: Mapping[Node, Node]) -> dict[Node, Node]:
    """Adjoints of the forward nodes on the way from `targets` to the seeded nodes, each
    seed the adjoint of its key. Gradient rules see each forward node as `read[node]`
    (the node itself when absent), so the nodes they build live where `read` points."""
    order = ancestors(seeds)
    relevant = set(targets)
    for node in order:
        if node.op is not None and node.dtype.kind == "f" and any(p in relevant for p in node.inputs):
            relevant.add(node)
    add = registry.function("add")
    adjoints: dict[Node, Node] = {}
    for node, seed in seeds.items():
        if node in relevant:
            adjoints[node] = seed
    for node in reversed(order):
        gradient = adjoints.get(node)
        if node.op is None or gradient is None:
            continue
        needed = tuple(p in relevant for p in node.inputs)
        if not node.op.differentiable:
            raise NonDifferentiable(f"cannot differentiate through node {node.name!r}: op {node.op} "
                                    f"has no gradient (built at {node.origin})")
        inputs = [read.get(p, p) for p in node.inputs]
        for parent, contribution in zip(node.inputs, rule_gradients(
                node.op, node.name, inputs, read.get(node, node), gradient, needed)):
            if contribution is not None:
                previous = adjoints.get(parent)
                adjoints[parent] = contribution if previous is None else add(previous, contribution)
    return adjoints
