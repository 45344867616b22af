"""A solver step allocates no array: clipping, regularisation and every rule write
into buffers the solver made once."""

import tracemalloc

import numpy as np
import pytest

import gorgon as G

OPTIONS = {"l1": 1e-4, "l2": 1e-3, "clip_value": 0.5, "clip_norm": 1.0}


@pytest.mark.parametrize("name", ["SGD", "Momentum", "Adam", "AdamW", "RMSProp", "AdaGrad",
                                  "AdaDelta", "BarzilaiBorwein"])
@pytest.mark.parametrize("options", [{}, OPTIONS], ids=["plain", "clipped and regularised"])
def test_a_steady_state_step_allocates_nothing(name, options):
    rng = np.random.default_rng(0)
    g = G.Graph()
    w = G.matrix(g, G.Float32, (200, 100), name="w", value=rng.standard_normal((200, 100)).astype(np.float32))
    x = G.matrix(g, G.Float32, (8, 200), name="x", value=rng.standard_normal((8, 200)).astype(np.float32))
    cost = G.mean(G.square(x @ w))
    G.grad(cost, w)
    machine = G.TapeMachine(g)
    solver = getattr(G.solvers, name)(params=[w], learning_rate=1e-3, **options)
    for _ in range(3):
        machine.run_all()
        solver.step()
    before = w.value.copy()
    tracemalloc.start()
    try:
        solver.step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert not np.array_equal(before, w.value)
    assert peak < w.value.nbytes // 8, f"{name} step allocated {peak} bytes"
