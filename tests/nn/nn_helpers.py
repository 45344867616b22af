"""Helpers of the nn suite: run a graph on either machine with gradients, and central
finite differences to check gradients against."""

from collections.abc import Callable, Sequence

import numpy as np

import gorgon as G

MACHINES = ("tape", "lisp")


def run(machine: str, graph: G.Graph, cost: G.Node, wrt: Sequence[G.Node]) -> list[np.ndarray]:
    """Run `graph` on the named machine; return d cost / d w for each w in `wrt`."""
    if machine == "tape":
        grads = G.grad(cost, *wrt)
        G.TapeMachine(graph, outputs=[cost, *grads]).run_all()
        return [g.value.copy() for g in grads]
    G.LispMachine(graph, cost=cost, wrt=list(wrt)).run_all()
    return [w.grad.copy() for w in wrt]


def weighted_sum(node: G.Node, seed: int = 7) -> G.Node:
    """sum(node * R) for a fixed random R: a scalar whose gradient probes every element."""
    weights = np.random.default_rng(seed).standard_normal(node.shape).astype(node.dtype)
    return G.sum(node * weights)


def numeric_grad(value: Callable[[], float], array: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of `value()` with respect to `array`, perturbed in place."""
    grad = np.zeros(array.shape)
    for index in np.ndindex(array.shape):
        original = array[index]
        array[index] = original + eps
        plus = value()
        array[index] = original - eps
        minus = value()
        array[index] = original
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def forward_value(graph: G.Graph, node: G.Node) -> Callable[[], float]:
    """A function that runs `graph` forward on a TapeMachine and returns `node`'s value."""
    machine = G.TapeMachine(graph, outputs=[node])

    def value() -> float:
        machine.run_all()
        return float(node.value)

    return value
