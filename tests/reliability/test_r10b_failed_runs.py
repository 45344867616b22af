"""Issue 10 item 3: a failed run (kernel error, NaN/Inf watch, KeyboardInterrupt) on
either machine changes nothing, runs no step twice, names the failing node, and the
next run gives the right answer."""

import numpy as np
import pytest

import gorgon as G
from r10b_faults import Fault, assert_same, fault, model, snapshot

MACHINES = {
    "tape": lambda g, **kw: G.TapeMachine(g, **kw),
    "tape-watched": lambda g, **kw: G.TapeMachine(g, watch_inf=True, **kw),
    "lisp": lambda g, **kw: G.LispMachine(g, **kw),
}


def reference(seed: int, runs: int) -> tuple[float, dict]:
    """The cost of the `runs`-th successful run of a fresh model, and the state after it."""
    g, cost, _, _ = model(seed)
    machine = G.TapeMachine(g)
    for _ in range(runs):
        machine.run_all()
    return float(cost.value), snapshot(g)


@pytest.mark.parametrize("kind", MACHINES)
@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()],
                         ids=["kernel-error", "keyboard-interrupt"])
def test_a_failed_run_restores_running_statistics_and_generators(kind, error):
    g, cost, op, _ = model(seed=3)
    machine = MACHINES[kind](g)
    machine.run_all()
    first = float(cost.value)
    before = snapshot(g)
    op.fail_on = {op.calls}
    op.error = error
    calls = op.calls
    expected = G.ExecutionError if isinstance(error, Exception) else KeyboardInterrupt
    with pytest.raises(expected) as caught:
        machine.run_all()
    assert op.calls == calls + 1, "a step was run twice"
    if expected is G.ExecutionError:
        assert "r10b_fault" in str(caught.value) and "boom" in str(caught.value)
    assert_same(before, snapshot(g))
    machine.run_all()
    value, state = reference(seed=3, runs=2)
    assert float(cost.value) == pytest.approx(value, rel=1e-12)
    assert float(cost.value) != first
    assert_same(state, snapshot(g))


@pytest.mark.parametrize("kind", ["tape", "lisp"])
def test_a_nan_watch_leaves_the_running_mean_as_it_was(kind):
    batch = np.arange(8.0).reshape(4, 2)
    g = G.Graph()
    x = G.matrix(g, G.Float64, (4, 2), name="x", value=batch)
    ones, zeros = np.ones(2), np.zeros(2)
    scale = G.vector(g, G.Float64, 2, name="scale", value=ones.copy())
    shift = G.vector(g, G.Float64, 2, name="shift", value=zeros.copy())
    mean = G.vector(g, G.Float64, 2, name="mean", value=zeros.copy())
    var = G.vector(g, G.Float64, 2, name="var", value=ones.copy())
    offset = G.scalar(g, G.Float64, name="offset", value=-100.0)
    y = G.batch_norm(x, scale, shift, mean, var)
    cost = G.sum(G.sqrt(y + offset))
    machine = (G.TapeMachine if kind == "tape" else G.LispMachine)(g, watch_nan=True)
    with pytest.raises(G.NaNError, match="sqrt"), np.errstate(invalid="ignore"):
        machine.run_all()
    np.testing.assert_array_equal(mean.value, zeros)
    np.testing.assert_array_equal(var.value, ones)
    G.let(offset, 100.0)
    machine.run_all()
    np.testing.assert_allclose(mean.value, 0.1 * batch.mean(axis=0))
    np.testing.assert_allclose(var.value, 0.9 + 0.1 * batch.var(axis=0, ddof=1))
    assert np.isfinite(cost.value)


@pytest.mark.parametrize("kind", ["tape", "lisp"])
def test_a_failed_lisp_backward_also_restores_the_forward_state(kind):
    """A NaN found in a gradient (after the whole forward ran) still restores."""
    g = G.Graph()
    x = G.vector(g, G.Float64, 3, name="x", value=np.array([0.0, 1.0, 4.0]))
    noise = G.gaussian(g, (3,), seed=5)
    cost = G.sum(G.sqrt(x) + noise)
    if kind == "tape":
        G.grad(cost, x)
    machine = (G.TapeMachine if kind == "tape" else G.LispMachine)(g, watch_inf=True)
    before = snapshot(g)
    with pytest.raises(G.InfError), np.errstate(divide="ignore"):
        machine.run_all()
    assert_same(before, snapshot(g))
    assert cost.value is None


def test_after_a_failed_lisp_run_values_and_gradients_stay_those_of_the_last_good_run():
    g = G.Graph()
    x = G.vector(g, G.Float64, 2, name="x", value=np.array([1.0, 2.0]))
    h, op = fault(x * 3.0)
    cost = G.sum(h * h)
    machine = G.LispMachine(g)
    machine.run_all()
    good_cost, good_grad = float(cost.value), x.grad.copy()
    G.let(x, np.array([5.0, 6.0]))
    op.fail_on = {op.calls}
    with pytest.raises(G.ExecutionError):
        machine.run_all()
    assert float(cost.value) == good_cost
    np.testing.assert_array_equal(x.grad, good_grad)


def test_a_failed_tape_run_reads_as_not_run_and_keeps_another_machines_values():
    g = G.Graph()
    x = G.vector(g, G.Float64, 2, name="x", value=np.array([1.0, 2.0]))
    h, op = fault(x * 3.0)
    cost = G.sum(h)
    G.LispMachine(g).run_all()
    tape = G.TapeMachine(g)
    op.fail_on = {op.calls}
    with pytest.raises(G.ExecutionError):
        tape.run_all()
    assert float(cost.value) == 9.0, "the Lisp run's values were dropped by a failed tape run"
    tape.run_all()
    op.fail_on = {op.calls}
    with pytest.raises(G.ExecutionError):
        tape.run_all()
    assert cost.value is None


def test_a_one_off_failure_is_reported_with_its_node_not_as_did_not_fail_again():
    g = G.Graph()
    x = G.vector(g, G.Float64, 4, name="x", value=np.ones(4))
    h, op = fault(G.exp(x))
    G.sum(h)
    machine = G.TapeMachine(g)
    op.fail_on = {0}
    with pytest.raises(G.ExecutionError, match=r"node 'r10b_fault\d+' .*RuntimeError: injected fault"):
        machine.run_all()
    assert op.calls == 1
    machine.run_all()
    assert op.calls == 2


@pytest.mark.parametrize("kind", ["tape", "lisp"])
def test_solver_state_and_parameters_are_untouched_by_a_failed_run(kind):
    g, cost, op, (x, scale, shift, mean, var) = model(seed=4)
    if kind == "tape":
        G.grad(cost, scale, shift)
    machine = (G.TapeMachine if kind == "tape" else G.LispMachine)(g)
    solver = G.solvers.Adam(params=[scale, shift], learning_rate=0.01)
    machine.run_all()
    solver.step()
    state = {slot: [a.copy() for a in arrays] for slot, arrays in solver.state.items()}
    before = snapshot(g)
    op.fail_on = {op.calls}
    with pytest.raises(G.ExecutionError):
        machine.run_all()
    assert_same(before, snapshot(g))
    for slot, arrays in solver.state.items():
        for array, saved in zip(arrays, state[slot]):
            np.testing.assert_array_equal(array, saved)
    assert solver.steps == 1


def test_a_failing_gradient_rule_on_the_lisp_machine_is_an_execution_error_naming_the_node():
    g = G.Graph()
    x = G.vector(g, G.Float64, 3, name="x", value=np.arange(3.0))
    backward = Fault()
    h, _ = fault(x * 2.0, backward=backward)
    cost = G.sum(h * h)
    backward.fail_on = {0}
    with pytest.raises(G.ExecutionError, match=r"node 'r10b_fault\d+' \(op r10b_fault\{tag=\d+\}\) "
                                               r"gradient rule failed: RuntimeError: injected fault"):
        G.LispMachine(g, cost=cost).run_all()
    G.LispMachine(g, cost=cost).run_all()
    np.testing.assert_allclose(x.grad, 8 * np.arange(3.0))
