"""Reverse-mode differentiation, shared by symbolic G.grad and the LispMachine.

`backprop` walks the nodes between the cost and the targets in reverse build order and
accumulates fan-out; `rule_gradients` calls an op's gradient rule, sums broadcast
gradients back to each input's shape and checks the rule's result. Under G.grad the
rules build nodes in the graph; the LispMachine runs them on values, through programs
compiled once per op and input types (`gorgon.vm.vjp`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from gorgon.collector import gc_paused
from gorgon.errors import ArgumentTypeError, GradError, NonDifferentiable
from gorgon.node import Node
from gorgon.op import Op, constant
from gorgon.registry import registry
from gorgon.types import describe


def ancestors(outputs: Iterable[Node]) -> list[Node]:
    """Every node the outputs depend on (themselves included), in build order."""
    seen: dict[int, Node] = {}
    stack = list(outputs)
    while stack:
        node = stack.pop()
        if node.id not in seen:
            seen[node.id] = node
            stack.extend(node.inputs)
    return [seen[i] for i in sorted(seen)]


def sum_to(gradient: Node, shape: tuple[int, ...]) -> Node:
    """Sum a broadcast gradient back to `shape`."""
    lead = gradient.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, dim in enumerate(shape) if dim == 1 and gradient.shape[lead + i] != 1)
    if axes:
        gradient = registry.function("sum")(gradient, axis=axes)
    if gradient.shape != shape:
        gradient = registry.function("reshape")(gradient, shape)
    return gradient


def _fit(op: Op, name: str, parent: Node, position: int, gradient: object) -> Node:
    blame = f"gradient rule of op {op} (node {name!r}, input {position} {describe(parent)})"
    if not isinstance(gradient, Node):
        raise GradError(f"{blame} returned {type(gradient).__name__}, not a node")
    if gradient.dtype != parent.dtype:
        raise GradError(f"{blame} returned dtype {gradient.dtype}, expected {parent.dtype}")
    if gradient.shape != parent.shape:
        try:
            target = np.broadcast_shapes(parent.shape, gradient.shape)
        except ValueError:
            target = None
        if target != gradient.shape:
            raise GradError(f"{blame} returned shape {gradient.shape}, which does not reduce to {parent.shape}")
        gradient = sum_to(gradient, parent.shape)
    return gradient


def rule_gradients(op: Op, name: str, inputs: Sequence[Node], output: Node, gradient: Node,
                   needed: Sequence[bool]) -> list[Node | None]:
    """The op's gradient rule applied to nodes: one gradient node (summed back to its
    input's shape, checked) per needed input, None elsewhere."""
    rules = op.vjp(inputs, output, gradient)
    if len(rules) != len(inputs):
        raise GradError(f"gradient rule of op {op} returned {len(rules)} gradients "
                        f"for {len(inputs)} inputs")
    results: list[Node | None] = []
    for position, (parent, rule, need) in enumerate(zip(inputs, rules, needed)):
        if rule is None or not need:
            results.append(None)
            continue
        if callable(rule) and not isinstance(rule, Node):
            rule = rule()
        results.append(_fit(op, name, parent, position, rule))
    return results


Contributions = Callable[[Node, Any, tuple[bool, ...]], Sequence[Any]]


def backward_plan(cost: Node, targets: Iterable[Node]) -> list[tuple[Node, tuple[bool, ...]]]:
    """The op nodes backprop visits from `cost` towards `targets`, in reverse build order,
    each with which of its inputs need a gradient. Raises NonDifferentiable for an op on
    the way that has no gradient."""
    order = ancestors([cost])
    relevant = set(targets)
    for node in order:
        if node.op is not None and node.dtype.kind == "f" and any(p in relevant for p in node.inputs):
            relevant.add(node)
    if cost not in relevant:
        return []
    plan = []
    for node in reversed(order):
        if node.op is None or node not in relevant:
            continue
        needed = tuple(p in relevant for p in node.inputs)
        if not node.op.differentiable:
            raise NonDifferentiable(
                f"cannot differentiate through node {node.name!r}: op {node.op} has no gradient "
                f"(built at {node.origin})")
        plan.append((node, needed))
    return plan


def backprop(cost: Node, seed: Any, plan: Sequence[tuple[Node, tuple[bool, ...]]],
             contributions: Contributions, accumulate: Callable[[Any, Any], Any]) -> dict[Node, Any]:
    """Adjoints d(cost)/d(node) along a `backward_plan`, fan-out summed with `accumulate`.

    `contributions(node, adjoint, needed)` gives one gradient (or None) per input of
    `node`; symbolic differentiation builds nodes, the LispMachine computes arrays.
    """
    adjoints: dict[Node, Any] = {cost: seed}
    for node, needed in plan:
        gradient = adjoints.get(node)
        if gradient is None:
            continue
        for parent, contribution in zip(node.inputs, contributions(node, gradient, needed)):
            if contribution is not None:
                previous = adjoints.get(parent)
                adjoints[parent] = contribution if previous is None else accumulate(previous, contribution)
    return adjoints


def _symbolic(node: Node, gradient: Node, needed: tuple[bool, ...]) -> list[Node | None]:
    return rule_gradients(node.op, node.name, node.inputs, node, gradient, needed)


def _add(a: Node, b: Node) -> Node:
    return registry.function("add")(a, b)


@gc_paused
def grad(cost: Node, *wrt: Node, grad_output: Node | None = None,
         allow_unused: bool = False) -> list[Node]:
    """Symbolic gradients d(cost)/d(w), one new node per `w`, differentiable again.

    `cost` must be a float scalar unless `grad_output` (a node of cost's shape) seeds it.
    A `w` that cost does not depend on is a GradError, or a zeros constant with
    `allow_unused=True` (PyTorch's choice). A G.grad that raises leaves the graph exactly
    as it was (nodes, version, gradient maps).
    """
    if not isinstance(cost, Node):
        raise ArgumentTypeError(f"G.grad: cost must be a node, got {type(cost).__name__}")
    if not wrt:
        raise GradError("G.grad: give at least one node to differentiate with respect to")
    for w in wrt:
        if not isinstance(w, Node):
            raise ArgumentTypeError(f"G.grad: wrt must be nodes, got {type(w).__name__}")
        if w.graph is not cost.graph:
            raise GradError(f"G.grad: {w.name!r} is in another graph than cost {cost.name!r}")
        if w.dtype.kind != "f":
            raise GradError(f"G.grad: cannot differentiate with respect to {describe(w)}: not a float")
    if cost.dtype.kind != "f":
        raise GradError(f"G.grad: cost {describe(cost)} must be a float")
    graph = cost.graph
    if grad_output is None and cost.shape != ():
        raise GradError(f"G.grad: cost {describe(cost)} must be a scalar (or pass grad_output)")
    if grad_output is not None and not (isinstance(grad_output, Node) and grad_output.graph is graph):
        raise GradError(f"G.grad: grad_output must be a node of cost's graph, got {grad_output!r}")
    if grad_output is not None and (grad_output.shape != cost.shape or grad_output.dtype != cost.dtype):
        raise GradError(f"G.grad: grad_output {describe(grad_output)} must match cost {describe(cost)}")
    mark = graph.mark()
    graph.building_grad = True
    try:
        seed = grad_output if grad_output is not None else constant(
            np.ones(cost.shape, cost.dtype), graph, name=f"d{cost.name}")
        adjoints = backprop(cost, seed, backward_plan(cost, wrt), _symbolic, _add)
        results = []
        for w in wrt:
            result = adjoints.get(w)
            if result is None:
                if not allow_unused:
                    raise GradError(f"G.grad: cost {cost.name!r} does not depend on {w.name!r} "
                                    "(pass allow_unused=True for zeros)")
                result = constant(np.zeros(w.shape, w.dtype), graph, name=f"d{w.name}")
            results.append(result)
    except BaseException:
        graph.rollback(mark)
        raise
    finally:
        graph.building_grad = False
    graph.adjoints.update(adjoints)
    graph.grad_map.update(zip(wrt, results))
    graph.grad_results.update({result: (cost, w) for w, result in zip(wrt, results)})
    graph.grad_cost = cost
    graph.grad_seed = grad_output
    return results
