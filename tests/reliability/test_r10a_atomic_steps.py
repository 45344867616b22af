"""Solver steps and checkpoint loads check everything before writing anything: a step or
a load that fails (a read-only array, a missing gradient, a fault part way through the
writes) leaves every parameter and the solver's state bit-identical."""

import numpy as np
import pytest
from r10a_faults import Injected, snapshot

import gorgon as G
from gorgon_ops_nn.checkpoint import load, save

SOLVERS = ["SGD", "Momentum", "Adam", "AdamW", "RMSProp", "AdaGrad", "AdaDelta", "BarzilaiBorwein"]
OPTIONS = {"l1": 1e-3, "l2": 1e-2, "clip_value": 0.5, "clip_norm": 1.0}


def trained(name: str, options: dict, steps: int = 2):
    rng = np.random.default_rng(4)
    g = G.Graph()
    x = G.matrix(g, G.Float64, (5, 3), name="x", value=rng.standard_normal((5, 3)))
    w = G.matrix(g, G.Float64, (3, 2), name="w", value=rng.standard_normal((3, 2)))
    b = G.vector(g, G.Float64, 2, name="b", value=rng.standard_normal(2))
    c = G.scalar(g, G.Float64, name="c", value=np.array(0.5))
    loss = G.mean(G.square(x @ w + b)) * c
    machine = G.TapeMachine(g, outputs=[loss, *G.grad(loss, w, b, c)])
    solver = getattr(G.solvers, name)(params=[w, b, c], learning_rate=0.05, **options)
    for _ in range(steps):
        machine.run_all()
        solver.step()
    machine.run_all()
    return machine, [w, b, c], solver


@pytest.mark.parametrize("name", SOLVERS)
@pytest.mark.parametrize("options", [{}, OPTIONS], ids=["plain", "clipped"])
def test_a_read_only_parameter_makes_the_step_fail_before_any_write(name, options):
    _, params, solver = trained(name, options)
    params[1].value.flags.writeable = False
    before = snapshot(params, solver)
    with pytest.raises(G.GorgonError, match=r"'b' \(shape \(2,\), float64\) is bound to a read-only array"):
        solver.step()
    assert snapshot(params, solver) == before


@pytest.mark.parametrize("name", SOLVERS)
def test_a_fault_in_the_last_parameters_update_undoes_the_first_ones(name, monkeypatch):
    _, params, solver = trained(name, OPTIONS)
    before = snapshot(params, solver)
    real = solver.descend
    calls = []

    def descend_then_fail(index, value, direction, rate):
        real(index, value, direction, rate)
        calls.append(index)
        if len(calls) == len(params):
            raise Injected("after the last parameter's update")

    monkeypatch.setattr(solver, "descend", descend_then_fail)
    with pytest.raises(Injected):
        solver.step()
    assert calls == [0, 1, 2]
    assert snapshot(params, solver) == before
    monkeypatch.undo()
    solver.step()
    assert snapshot(params, solver) != before


def test_a_missing_gradient_of_the_last_parameter_changes_nothing():
    _, params, solver = trained("Adam", {})
    g = params[0].graph
    lonely = G.vector(g, G.Float64, 2, name="lonely", value=np.zeros(2))
    solver = G.solvers.Adam(params=[*params, lonely])
    before = snapshot([*params, lonely], solver)
    with pytest.raises(G.GorgonError, match="'lonely'.*has no gradient.*nothing was updated"):
        solver.step()
    assert snapshot([*params, lonely], solver) == before


def test_a_parameter_rebound_to_another_shape_or_dtype_is_refused_before_writing():
    _, params, solver = trained("Momentum", {})
    before = snapshot(params, solver)
    params[0]._value = np.zeros((3, 2), np.float32)
    with pytest.raises(G.GorgonError, match=r"'w'.*bound to a \(3, 2\) float32 array"):
        solver.step()
    params[0]._value = None
    with pytest.raises(G.GorgonError, match="'w'.*has no value bound"):
        solver.step()
    assert snapshot(params[1:], solver) == (before[0][1:], before[1])


def test_load_state_dict_that_fails_part_way_restores_the_old_state():
    _, params, solver = trained("Adam", {})
    state = solver.state_dict()
    state["v/2"] = np.array(np.nan)
    state = {key: value * 2 for key, value in state.items()}

    class Exploding(dict):
        def __getitem__(self, key):
            if key == "v/2":
                raise Injected("while copying the last slot")
            return super().__getitem__(key)

    before = snapshot(params, solver)
    with pytest.raises(Injected):
        solver.load_state_dict(Exploding(state))
    assert snapshot(params, solver) == before


def test_a_load_with_a_read_only_parameter_loads_nothing(tmp_path):
    path = tmp_path / "model.npz"
    _, params, solver = trained("Adam", {}, steps=3)
    save(path, params, solver)
    _, fresh, fresh_solver = trained("Adam", {}, steps=1)
    fresh[1].value.flags.writeable = False
    before = snapshot(fresh, fresh_solver)
    with pytest.raises(G.GorgonError, match=r"'b' .* is bound to a read-only array"):
        load(path, fresh, fresh_solver)
    assert snapshot(fresh, fresh_solver) == before


def test_a_load_failing_after_some_parameters_were_written_puts_them_back(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    _, params, solver = trained("RMSProp", {}, steps=3)
    save(path, params, solver)
    _, fresh, fresh_solver = trained("RMSProp", {}, steps=1)
    g = fresh[0].graph
    unbound = G.vector(g, G.Float64, 2, name="b")
    nodes = {"w": fresh[0], "b": unbound, "c": fresh[2]}
    before = snapshot(list(nodes.values()), fresh_solver)
    real = np.copyto
    writes = []

    def copy_then_fail(dst, src, **kwargs):
        real(dst, src, **kwargs)
        writes.append(dst.shape)
        if len(writes) == 2:
            raise Injected("after two parameters")

    monkeypatch.setattr(np, "copyto", copy_then_fail)
    with pytest.raises(Injected):
        load(path, nodes, fresh_solver)
    monkeypatch.undo()
    assert unbound.value is None
    assert snapshot(list(nodes.values()), fresh_solver) == before
    load(path, nodes, fresh_solver)
    assert snapshot(list(nodes.values()), fresh_solver) == snapshot(params, solver)
