"""A small MLP and its data, shared by the ranks the distributed tests launch
(dist_ranks.py) and by the single-process reference the tests compute in-process."""

from __future__ import annotations

from itertools import pairwise

import numpy as np

import gorgon as G

SIZES = (6, 10, 3)
GLOBAL_BATCH = 8


def global_batch(step: int) -> tuple[np.ndarray, np.ndarray]:
    """The global batch of training step `step` (the same on every rank)."""
    rng = np.random.default_rng(1000 + step)
    return rng.standard_normal((GLOBAL_BATCH, SIZES[0])), rng.integers(0, SIZES[-1], GLOBAL_BATCH)


class Model:
    """The MLP for `batch` examples per run, with weights drawn from `seed`, trained by
    the solver named `solver` ("sgd" or "adam")."""

    def __init__(self, batch: int, solver: str, seed: int = 0, hidden: int = SIZES[1],
                 loss_scale: float = 1.0):
        sizes = (SIZES[0], hidden, SIZES[2])
        rng = np.random.default_rng(seed)
        g = G.Graph()
        self.x = G.matrix(g, G.Float64, (batch, sizes[0]), name="x", value=np.zeros((batch, sizes[0])))
        self.labels = G.vector(g, G.Int64, batch, name="labels", value=np.zeros(batch, np.int64))
        self.params = []
        h = self.x
        for layer, (a, b) in enumerate(pairwise(sizes)):
            w = G.matrix(g, G.Float64, (a, b), name=f"w{layer}", value=rng.standard_normal((a, b)) / np.sqrt(a))
            bias = G.vector(g, G.Float64, b, name=f"b{layer}", value=rng.standard_normal(b) * 0.1)
            self.params += [w, bias]
            h = h @ w + bias
            if layer == 0:
                h = G.tanh(h)
        self.loss = G.cross_entropy(h, self.labels) * np.float64(loss_scale)
        G.grad(self.loss, *self.params)
        self.machine = G.TapeMachine(g)
        if solver == "sgd":
            self.solver = G.solvers.SGD(params=self.params, learning_rate=0.5)
        else:
            self.solver = G.solvers.Adam(params=self.params, learning_rate=0.05)

    def run(self, x: np.ndarray, labels: np.ndarray) -> None:
        """Forward and backward on this batch."""
        np.copyto(self.x.value, x)
        np.copyto(self.labels.value, labels)
        self.machine.run_all()

    def values(self) -> dict[str, np.ndarray]:
        return {p.name: p.value.copy() for p in self.params}


def reference(solver: str, steps: int) -> dict[str, np.ndarray]:
    """One process, the whole global batch, `steps` steps: what the ranks must match."""
    model = Model(GLOBAL_BATCH, solver)
    for step in range(steps):
        model.run(*global_batch(step))
        model.solver.step()
    return model.values()
