"""The scan-loop protocol (gorgon.scan.plan.LOOP): a backend that registers a loop maker
gets a kept plan's steps to run as one call; a loop it declines, one whose making raises
and one that raises at run time (after writing over the results) all leave the scan's
values right, the failures said once as BackendWarnings; the LispMachine's plans, made
at every run, are never handed over. A toy backend, no Numba needed."""

import warnings

import numpy as np
import pytest

import gorgon as G
from gorgon import backends
from gorgon.backends import BackendWarning
from gorgon.registry import registry

BEHAVIOUR: dict = {}
MADE = []


def run_steps(ops, plan):
    """A loop of Python calls over the plan's steps, as a backend's compiled loop would
    run them; in mode "raise" it scribbles over every result and raises instead."""
    MADE.append((ops, plan))
    if BEHAVIOUR["mode"] == "decline":
        return None
    if BEHAVIOUR["mode"] == "fail to make":
        raise RuntimeError("cannot make this loop")

    def loop():
        if BEHAVIOUR["mode"] == "raise":
            for p in range(len(plan.steps)):
                for _, out in plan.arguments(p):
                    out[...] = np.nan
            raise RuntimeError("loop broke")
        for row, copies in zip(plan.steps, plan.copies):
            for kernel in row:
                kernel()
            for target, value in copies:
                np.copyto(target, value)
        BEHAVIOUR["runs"] = BEHAVIOUR.get("runs", 0) + 1

    return loop


class Looping:
    @G.hookimpl
    def register_kernels(register):
        register("scan_loop", "looping", run_steps)


@pytest.fixture
def looping():
    registry.add_plugin(Looping, "looping")
    backends.forget()
    MADE.clear()
    BEHAVIOUR.clear()
    BEHAVIOUR["mode"] = "run"
    yield
    registry.reload()
    backends.forget()


def loop_graph(name):
    def step(h, x, w):
        h = G.tanh(h @ w + x)
        return h, h * 2.0

    rng = np.random.default_rng(0)
    g = G.Graph()
    xs = G.tensor(g, G.Float64, (5, 2, 3), name="xs", value=0.3 * rng.standard_normal((5, 2, 3)))
    h0 = G.matrix(g, G.Float64, (2, 3), name="h0", value=rng.standard_normal((2, 3)))
    w = G.matrix(g, G.Float64, (3, 3), name="w", value=0.5 * rng.standard_normal((3, 3)))
    h, outs = G.scan(step, sequences=xs, init=h0, non_sequences=w, name=name)
    (dw,) = G.grad(G.sum(outs) + G.sum(h * h), w)
    return g, xs, h0, w, h, outs, dw


def expected(xs, h0, w):
    h, outs = h0, []
    for x in xs:
        h = np.tanh(h @ w + x)
        outs.append(2.0 * h)
    return h, np.stack(outs)


def check(h, outs, xs, h0, w):
    want_h, want_outs = expected(xs.value, h0.value, w.value)
    np.testing.assert_allclose(h.value, want_h, rtol=1e-12)
    np.testing.assert_allclose(outs.value, want_outs, rtol=1e-12)


def reference_dw(name):
    g, xs, h0, w, h, outs, dw = loop_graph(name)
    G.TapeMachine(g).run_all()
    return dw.value.copy()


def test_a_loop_backend_runs_the_kept_plans_of_both_scans(looping):
    want_dw = reference_dw("plain")
    g, xs, h0, w, h, outs, dw = loop_graph("looped")
    machine = G.TapeMachine(g, backends=("looping", "numpy"))
    for _ in range(2):
        machine.run_all()
        check(h, outs, xs, h0, w)
        np.testing.assert_allclose(dw.value, want_dw, rtol=1e-12)
    assert len(MADE) == 2  # the forward and the backward scan, made once
    assert BEHAVIOUR["runs"] == 4
    ops, made = MADE[0]
    assert [op.name for op in ops] == [ins.term.op.name for ins in made.instructions]
    assert len(made.steps) == 5
    arrays, out = made.arguments(0)[0]
    assert out is made.arrays[0][made.instructions[0].out] and len(arrays) == len(made.instructions[0].args)


@pytest.mark.parametrize("mode, said", [("raise", "raised at run time"), ("fail to make", "failed to compile")])
def test_a_loop_that_fails_is_said_once_and_the_steps_run_from_python(looping, mode, said):
    BEHAVIOUR["mode"] = mode
    want_dw = reference_dw("plain")
    g, xs, h0, w, h, outs, dw = loop_graph(f"failing_{mode.replace(' ', '_')}")
    machine = G.TapeMachine(g, backends=("looping", "numpy"))
    with pytest.warns(BackendWarning, match=rf"scan body failing_.*: the looping loop {said}"):
        machine.run_all()
    check(h, outs, xs, h0, w)
    np.testing.assert_allclose(dw.value, want_dw, rtol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        machine.run_all()
    check(h, outs, xs, h0, w)


def test_a_declined_loop_and_the_lisp_machine_run_the_steps_from_python(looping):
    BEHAVIOUR["mode"] = "decline"
    g, xs, h0, w, h, outs, dw = loop_graph("declined")
    G.TapeMachine(g, backends=("looping", "numpy")).run_all()
    check(h, outs, xs, h0, w)
    assert len(MADE) == 2
    MADE.clear()
    BEHAVIOUR["mode"] = "run"
    g, xs, h0, w, h, outs, dw = loop_graph("lisp")
    G.LispMachine(g, backends=("looping", "numpy")).run_all()
    check(h, outs, xs, h0, w)
    assert MADE == []


def test_without_a_loop_backend_numpy_first_asks_none(looping):
    g, xs, h0, w, h, outs, dw = loop_graph("numpy_first")
    G.TapeMachine(g, backends=("numpy", "looping")).run_all()
    check(h, outs, xs, h0, w)
    assert MADE == []
