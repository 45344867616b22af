"""How a scan runs its compiled body (gorgon.scan.plan): prepared once per binding of
its arrays, no per-step copies of the values computed in place, a backend kernel that
raises in the body falls back to numpy, a body kernel failure names the body's node."""

import importlib
import warnings

import numpy as np
import pytest

import gorgon as G
from gorgon import backends
from gorgon.backends import BackendWarning
from gorgon.registry import registry

plan = importlib.import_module("gorgon.scan.plan")


def step(h, x, w):
    h = G.tanh(h @ w + G.exp(x))
    return h, h * 2.0


def graph(steps=6):
    rng = np.random.default_rng(0)
    g = G.Graph()
    xs = G.tensor(g, G.Float64, (steps, 2, 3), name="xs", value=0.1 * rng.standard_normal((steps, 2, 3)))
    h0 = G.matrix(g, G.Float64, (2, 3), name="h0", value=rng.standard_normal((2, 3)))
    w = G.matrix(g, G.Float64, (3, 3), name="w", value=0.5 * rng.standard_normal((3, 3)))
    h, outs = G.scan(step, sequences=xs, init=h0, non_sequences=w, name="loop")
    return g, xs, h0, w, h, outs


def numpy_loop(xs, h0, w):
    h, outs = h0, []
    for x in xs:
        h = np.tanh(h @ w + np.exp(x))
        outs.append(2.0 * h)
    return h, np.stack(outs)


def test_a_plan_is_prepared_once_per_binding(monkeypatch):
    built = []
    original = plan.Plan.__init__

    def counting(self, *args, **kwargs):
        built.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(plan.Plan, "__init__", counting)
    g, xs, h0, w, h, outs = graph()
    machine = G.TapeMachine(g)
    for _ in range(3):
        machine.run_all()
    assert len(built) == 1
    G.let(xs, xs.value * 0.5)  # another array: another binding
    machine.run_all()
    assert len(built) == 2
    expected_h, expected_outs = numpy_loop(xs.value, h0.value, w.value)
    np.testing.assert_allclose(h.value, expected_h, rtol=1e-12)
    np.testing.assert_allclose(outs.value, expected_outs, rtol=1e-12)


def test_plans_are_kept_per_length_for_a_machine_and_not_for_fresh_arrays():
    def counted(h, x, w):  # a step function of its own: a body of its own
        return step(h, x, w)

    g = G.Graph()
    xs = G.tensor(g, G.Float64, (6, 2, 3), name="xs", value=np.full((6, 2, 3), 0.1))
    h0 = G.matrix(g, G.Float64, (2, 3), name="h0", value=np.zeros((2, 3)))
    w = G.matrix(g, G.Float64, (3, 3), name="w", value=np.eye(3))
    n = G.scalar(g, G.Int64, name="n", value=np.array(6))
    h, outs = G.scan(counted, sequences=xs, init=h0, non_sequences=w, length=n, name="loop")
    body = outs.inputs[0].op.body
    lisp = G.LispMachine(g)
    for _ in range(3):
        lisp.run_all()
    assert body._plans == {}  # its arrays are new at every run: nothing kept
    tape = G.TapeMachine(g)
    for steps in (6, 2, 6, 4):
        n.value[...] = steps
        tape.run_all()
    (binding,) = body._plans.values()
    assert sorted(binding) == [2, 4, 6]
    expected_h, expected_outs = numpy_loop(xs.value[:4], h0.value, w.value)
    np.testing.assert_allclose(h.value, expected_h, rtol=1e-12)


def test_values_computed_in_place_are_not_copied():
    g, xs, h0, w, h, outs = graph()
    G.TapeMachine(g).run_all()
    body = outs.inputs[0].op.body
    (made,) = list(body._plans.values())[-1].values()  # the latest binding's one length
    # the new carried state is written where the next step reads it, the output h * 2
    # into its row; only h's stored residual (h is also the new carried state) is copied
    assert [len(copies) for copies in made.copies] == [1] * 6
    assert sum(len(step_kernels) for step_kernels in made.steps) == 6 * len(made.instructions)


class Broken:
    @G.hookimpl
    def register_kernels(register):
        def make_exp(op, inputs, output):
            def kernel(x, out):
                raise RuntimeError("broken exp")
            return kernel

        register("exp", "broken", make_exp)


@pytest.fixture
def broken(monkeypatch):
    monkeypatch.setenv("GORGON_BACKENDS", "broken,numpy")
    registry.add_plugin(Broken, "broken")
    backends.forget()
    yield
    registry.reload()
    backends.forget()


def test_a_backend_kernel_raising_in_the_body_falls_back_to_numpy(broken):
    def fresh(h, x, w):  # a step function of its own: a body compiled with this backend
        return step(h, x, w)

    g = G.Graph()
    xs = G.tensor(g, G.Float64, (4, 2, 3), name="xs", value=np.full((4, 2, 3), 0.1))
    h0 = G.matrix(g, G.Float64, (2, 3), name="h0", value=np.zeros((2, 3)))
    w = G.matrix(g, G.Float64, (3, 3), name="w", value=np.eye(3))
    h, outs = G.scan(fresh, sequences=xs, init=h0, non_sequences=w, name="loop")
    machine = G.TapeMachine(g)
    with pytest.warns(BackendWarning, match=r"op exp: the broken kernel raised at run time"):
        machine.run_all()
    expected_h, expected_outs = numpy_loop(xs.value, h0.value, w.value)
    np.testing.assert_allclose(outs.value, expected_outs, rtol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        machine.run_all()
    np.testing.assert_allclose(h.value, expected_h, rtol=1e-12)


def test_a_kernel_failing_in_the_body_names_the_body_node_and_the_scan():
    def classify(h, x, target, w):
        logits = h @ w + x
        return G.tanh(logits), G.cross_entropy(logits, target)

    g = G.Graph()
    xs = G.tensor(g, G.Float64, (3, 2, 4), name="xs", value=np.zeros((3, 2, 4)))
    targets = G.tensor(g, G.Int64, (3, 2), name="targets", value=np.array([[0, 1], [2, 9], [1, 1]]))
    h0 = G.matrix(g, G.Float64, (2, 4), name="h0", value=np.zeros((2, 4)))
    w = G.matrix(g, G.Float64, (4, 4), name="w", value=np.eye(4))
    G.scan(classify, sequences=(xs, targets), init=h0, non_sequences=w, name="classify")
    with pytest.raises(G.GorgonError, match=r"node 'scan\d+'.*classify.*cross_entropy"):
        G.TapeMachine(g).run_all()


def test_a_scan_built_in_evaluation_mode_stores_no_residuals_and_still_differentiates():
    found = {}
    for mode in ("train", "eval"):
        g = G.Graph()
        getattr(g, mode)()
        xs = G.tensor(g, G.Float64, (5, 2, 3), name="xs", value=np.linspace(-1, 1, 30).reshape(5, 2, 3))
        h0 = G.matrix(g, G.Float64, (2, 3), name="h0", value=np.full((2, 3), 0.1))
        w = G.matrix(g, G.Float64, (3, 3), name="w", value=0.3 * np.eye(3))
        h, outs = G.scan(step, sequences=xs, init=h0, non_sequences=w, name="loop")
        G.TapeMachine(g, forward_only=True).run_all()
        np.testing.assert_allclose(outs.value, numpy_loop(xs.value, h0.value, w.value)[1], rtol=1e-12)
        found[mode] = outs.inputs[0].op.store, outs.inputs[0].shape[0]
        (dw,) = G.grad(G.sum(outs) + G.sum(h), w)
        G.TapeMachine(g).run_all()
        scans = [n for n in g.nodes if n.op is not None and n.op.name == "scan"]
        found[mode] += len(scans), dw.value.copy()
    assert found["train"][0] and not found["eval"][0]
    assert found["eval"][1] < found["train"][1]  # the packed value holds no residuals
    assert found["train"][2] == 2 and found["eval"][2] == 3  # the gradient re-runs the loop, storing
    np.testing.assert_allclose(found["eval"][3], found["train"][3], rtol=1e-12)
