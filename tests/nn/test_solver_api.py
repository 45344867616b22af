"""How solvers are used: built from G.solvers, stepping bound arrays in place, loud about
parameters without gradients, saving and restoring their state."""

import numpy as np
import pytest

import gorgon as G
from gorgon.errors import GorgonError

rng = np.random.default_rng(9)
ALL = ["AdaDelta", "AdaGrad", "Adam", "AdamW", "BarzilaiBorwein", "Momentum", "RMSProp", "SGD"]


def regression(dtype=G.Float64):
    g = G.Graph()
    x = G.matrix(g, dtype, (8, 3), name="x", value=rng.standard_normal((8, 3)).astype(dtype))
    y = G.vector(g, dtype, 8, name="y", value=rng.standard_normal(8).astype(dtype))
    w = G.vector(g, dtype, 3, name="w", value=np.zeros(3, dtype))
    b = G.scalar(g, dtype, name="b", value=np.zeros((), dtype))
    loss = G.mse_loss(x @ w + b, y)
    return g, loss, w, b


def test_every_solver_is_in_the_namespace():
    assert sorted(name for name in dir(G.solvers) if name in ALL) == ALL
    assert G.solvers.Adam.name == "Adam"


@pytest.mark.parametrize("name", ALL)
def test_step_updates_the_bound_arrays_in_place_and_the_next_run_sees_it(name):
    g, loss, w, b = regression()
    arrays = (w.value, b.value)
    machine = G.TapeMachine(g, outputs=[loss, *G.grad(loss, w, b)])
    solver = getattr(G.solvers, name)(params=[w, b])
    machine.run_all()
    first = float(loss.value)
    for _ in range(5):
        solver.step()
        machine.run_all()
    assert w.value is arrays[0] and b.value is arrays[1]
    assert float(loss.value) < first


def test_float32_parameters_stay_float32():
    g, loss, w, b = regression(G.Float32)
    machine = G.TapeMachine(g, outputs=[loss, *G.grad(loss, w, b)])
    solver = G.solvers.Adam(params=[w, b], learning_rate=0.1)
    machine.run_all()
    solver.step()
    assert w.value.dtype == np.float32 and b.value.dtype == np.float32
    assert all(array.dtype == np.float32 for array in solver.state_dict().values() if array.ndim)


@pytest.mark.parametrize("kind", ["tape", "lisp"])
def test_a_parameter_without_gradient_is_a_loud_error_and_nothing_moves(kind):
    g, loss, w, b = regression()
    if kind == "tape":
        machine = G.TapeMachine(g, outputs=[loss, *G.grad(loss, w)])
    else:
        machine = G.LispMachine(g, cost=loss, wrt=[w])
    solver = G.solvers.SGD(params=[w, b], learning_rate=0.1)
    machine.run_all()
    before = w.value.copy()
    with pytest.raises(G.GorgonError, match=r"SGD.step: parameter 'b' \(shape \(\), float64\) has no grad"):
        solver.step()
    np.testing.assert_array_equal(w.value, before)
    assert solver.steps == 0


def test_no_run_yet_means_no_gradient():
    g, loss, w, b = regression()
    G.grad(loss, w, b)
    with pytest.raises(G.GorgonError, match="'w'.*has no gradient"):
        G.solvers.Adam(params=[w, b]).step()


def train(solver, machine, steps):
    for _ in range(steps):
        machine.run_all()
        solver.step()


@pytest.mark.parametrize("name", ALL)
def test_restored_state_continues_exactly_where_it_left_off(name):
    g, loss, w, b = regression()
    machine = G.TapeMachine(g, outputs=[loss, *G.grad(loss, w, b)])
    solver = getattr(G.solvers, name)(params=[w, b], learning_rate=0.05)
    train(solver, machine, 3)
    saved_state, saved = solver.state_dict(), (w.value.copy(), b.value.copy())
    train(solver, machine, 3)
    expected = w.value.copy(), b.value.copy()

    np.copyto(w.value, saved[0])
    np.copyto(b.value, saved[1])
    fresh = getattr(G.solvers, name)(params=[w, b], learning_rate=0.05)
    fresh.load_state_dict(saved_state)
    assert fresh.steps == 3
    train(fresh, machine, 3)
    np.testing.assert_array_equal(w.value, expected[0])
    np.testing.assert_array_equal(b.value, expected[1])


def test_a_state_that_does_not_fit_is_refused_whole():
    g, loss, w, b = regression()
    solver = G.solvers.Adam(params=[w, b])
    state = solver.state_dict()
    state["m/0"] = np.ones(4)
    state["velocity/0"] = np.ones(3)
    del state["v/1"]
    with pytest.raises(G.GorgonError, match=r"missing entries \['v/1'\].*unexpected entries \['velocity/0'\]"
                                            r".*'m/0' has shape \(4,\), expected \(3,\)"):
        solver.load_state_dict(state)
    assert not solver.state["m"][0].any()


@pytest.mark.parametrize("name, options, message", [
    ("SGD", {"learning_rate": -1.0}, "learning_rate must be positive"),
    ("SGD", {"clip_norm": 0.0}, "clip_norm must be positive"),
    ("Adam", {"beta1": 1.0}, r"beta1 and beta2 must lie in \[0, 1\)"),
    ("Momentum", {"momentum": 1.5}, "momentum must lie"),
    ("RMSProp", {"eps": 0.0}, "eps must be positive"),
    ("AdamW", {"weight_decay": -0.1}, "weight_decay must not be negative"),
])
def test_bad_hyper_parameters_fail_at_construction(name, options, message):
    g, loss, w, b = regression()
    with pytest.raises(ValueError, match=message):
        getattr(G.solvers, name)(params=[w, b], **options)


def test_parameters_must_be_distinct_float_inputs():
    g, loss, w, b = regression()
    labels = G.vector(g, G.Int64, 3, name="labels")
    with pytest.raises(G.GorgonError, match="every parameter must be a float input node"):
        G.solvers.SGD(params=[w, labels])
    with pytest.raises(G.GorgonError, match="every parameter must be a float input node"):
        G.solvers.SGD(params=[loss])
    with pytest.raises(G.GorgonError, match="listed twice"):
        G.solvers.SGD(params=[w, w])
    with pytest.raises(TypeError, match="non-empty list of input nodes"):
        G.solvers.SGD(params=w)


def test_rebind_moves_the_solver_to_a_rebuilt_graph_and_keeps_its_state():
    weights = np.array([1.0, -2.0])
    losses = []
    solver = None
    for length in (1, 3, 2, 4):
        g = G.Graph()
        w = G.vector(g, G.Float64, 2, name="w", value=weights)
        cost = G.sum(G.square(w)) * float(length)
        G.LispMachine(g, cost=cost, wrt=[w]).run_all()
        losses.append(float(cost.value) / length)
        if solver is None:
            solver = G.solvers.Momentum(params=[w], learning_rate=0.05)
        else:
            solver.rebind([w])
        solver.step()
    assert losses == sorted(losses, reverse=True) and losses[-1] < losses[0] / 2
    assert solver.steps == 4 and np.abs(solver.state["velocity"][0]).sum() > 0
    g = G.Graph()
    wrong = G.vector(g, G.Float64, 3, name="w", value=np.zeros(3))
    with pytest.raises(GorgonError, match="rebind: expected nodes of shapes"):
        solver.rebind([wrong])
