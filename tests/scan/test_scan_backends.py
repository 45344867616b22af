"""A scan's body runs on the backends of the machine that runs the scan (the op protocol's
`nested` ops), not on GORGON_BACKENDS: a toy backend's tanh counts its calls."""

import numpy as np
import pytest

import gorgon as G

CALLS = {"tanh": 0}
STEPS, B, H = 6, 3, 4


def make_tanh(op, inputs, output):
    def kernel(x, out):
        CALLS["tanh"] += 1
        return np.tanh(x, out=out)

    return kernel


@pytest.fixture
def toy(backend_plugin):
    backend_plugin("toyscan", {"tanh": make_tanh})
    CALLS.update(tanh=0)


def rnn_step(h, x, u):
    h = G.tanh(x + h @ u)
    return h, h


def build():
    rng = np.random.default_rng(3)
    g = G.Graph()
    xs = G.tensor(g, G.Float64, (STEPS, B, H), name="xs", value=rng.standard_normal((STEPS, B, H)))
    h0 = G.matrix(g, G.Float64, (B, H), name="h0", value=rng.standard_normal((B, H)))
    u = G.matrix(g, G.Float64, (H, H), name="u", value=0.5 * rng.standard_normal((H, H)))
    h, outs = G.scan(rnn_step, sequences=xs, init=h0, non_sequences=u, name="toy_rnn")
    loss = G.sum(outs) + G.sum(h * h)
    grads = G.grad(loss, u, h0)
    return g, outs, grads


@pytest.mark.parametrize("machine", [G.TapeMachine, G.LispMachine])
def test_the_body_runs_on_the_machines_backends(toy, machine):
    g, outs, grads = build()
    machine(g).run_all()
    expected = [outs.value.copy()] + [d.value.copy() for d in grads]
    assert CALLS["tanh"] == 0
    g, outs, grads = build()
    machine(g, backends=("toyscan", "numpy")).run_all()
    assert CALLS["tanh"] == STEPS
    for mine, numpy_value in zip([outs.value] + [d.value for d in grads], expected):
        np.testing.assert_array_equal(mine, numpy_value)


def test_one_body_keeps_a_compiled_program_per_backend_preference(toy):
    g, outs, _ = build()
    body = outs.inputs[0].op.body
    G.TapeMachine(g, backends=("toyscan", "numpy")).run_all()
    G.TapeMachine(g).run_all()
    G.TapeMachine(g, backends=("toyscan", "numpy")).run_all()
    assert sorted(key[1] for key in body._machines if key[0]) == [("numpy",), ("toyscan", "numpy")]
    assert CALLS["tanh"] == 2 * STEPS
