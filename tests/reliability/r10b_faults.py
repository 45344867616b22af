"""Test-only ops for the H10b reliability tests: an identity op whose kernel raises on
chosen calls (or blocks until released), counting its calls; and helpers that build a
model with every kind of state a run changes (batch norm's running statistics, dropout
and random nodes' generators) and snapshot that state."""

from __future__ import annotations

import itertools
import threading

import numpy as np

import gorgon as G
from gorgon import Op, TensorType

_tags = itertools.count()


class Fault(Op):
    """`fault(x)`: x itself; its kernel raises `error` on the calls listed in `fail_on`
    (0-based; with `error` None it writes NaN instead), and waits on `release` after
    setting `entered` when `block` is set. Its gradient is the incoming one, passed
    through a Fault of its own (`backward`) when one is given."""

    name = "r10b_fault"

    def __init__(self, backward: "Fault | None" = None, **params):
        super().__init__(tag=next(_tags), **params)
        self.calls = 0
        self.fail_on: set[int] = set()
        self.error: BaseException | None = RuntimeError("injected fault")
        self.block = False
        self.entered = threading.Event()
        self.release = threading.Event()
        self.backward = backward

    def infer(self, x):
        return TensorType(x.shape, x.dtype)

    def forward(self, x, out=None):
        call = self.calls
        self.calls += 1
        if self.block:
            self.entered.set()
            self.release.wait(10)
        if out is None:
            out = np.empty_like(x)
        np.copyto(out, x)
        if call in self.fail_on:
            if self.error is None:
                out.fill(np.nan)
            else:
                raise self.error
        return out

    def vjp(self, inputs, output, gy):
        if self.backward is None:
            return [gy]
        return [lambda: G.apply(self.backward, gy)]


def fault(x: G.Node, backward: Fault | None = None) -> tuple[G.Node, Fault]:
    """A fault node over x, and its op (to arm it)."""
    op = Fault(backward)
    return G.apply(op, x), op


def model(seed: int = 0, batch: int = 6):
    """x -> batch_norm -> dropout -> + uniform noise -> fault -> tanh -> sum; returns the
    graph, the cost, the fault op and the nodes whose state a run changes."""
    rng = np.random.default_rng(seed)
    g = G.Graph()
    x = G.matrix(g, G.Float64, (batch, 3), name="x", value=rng.normal(size=(batch, 3)))
    scale = G.vector(g, G.Float64, 3, name="scale", value=rng.uniform(0.5, 1.5, 3))
    shift = G.vector(g, G.Float64, 3, name="shift", value=rng.normal(size=3))
    mean = G.vector(g, G.Float64, 3, name="running_mean", value=np.zeros(3))
    var = G.vector(g, G.Float64, 3, name="running_var", value=np.ones(3))
    h = G.batch_norm(x, scale, shift, mean, var)
    h = G.dropout(h, p=0.3, seed=seed + 1)
    h = h + G.uniform(g, (batch, 3), seed=seed + 2, low=-0.1, high=0.1)
    h, op = fault(h)
    cost = G.sum(G.tanh(h) * scale)
    return g, cost, op, (x, scale, shift, mean, var)


def snapshot(g: G.Graph) -> dict:
    """Every input array and every op's own state (generators), as copies."""
    inputs = {n.name: np.array(n.value, copy=True) for n in g.inputs()}
    states = {n.name: n.op.generator.bit_generator.state for n in g.nodes
              if n.op is not None and hasattr(n.op, "generator")}
    return {"inputs": inputs, "states": states}


def assert_same(before: dict, after: dict) -> None:
    assert before["inputs"].keys() == after["inputs"].keys()
    for name, value in before["inputs"].items():
        np.testing.assert_array_equal(after["inputs"][name], value, err_msg=name)
    assert before["states"] == after["states"]
