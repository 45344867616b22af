"""The pieces that compare ranks and stand in for a machine, checked on given inputs:
model signatures and their differences, and the averaged-gradient value source."""

from __future__ import annotations

import numpy as np
from dist_model import Model, global_batch
from gorgon_dist.averaged import AveragedGradients
from gorgon_dist.signature import differences, signature


def named(model: Model) -> dict:
    return {p.name: p for p in model.params}


def test_equal_models_have_equal_signatures():
    first, second = Model(8, "adam", seed=0), Model(8, "adam", seed=1)
    assert differences(signature(named(first), first.solver), signature(named(second), second.solver)) == []


def test_a_missing_parameter_and_another_solver_are_both_reported():
    full, other = Model(8, "adam"), Model(8, "sgd")
    reference = signature(named(full), full.solver)
    fewer = signature(dict(list(named(other).items())[:3]), other.solver)
    problems = differences(reference, fewer)
    assert problems[0] == "3 parameters instead of 4"
    assert problems[1].startswith("solver ('SGD', [") and "instead of ('Adam', [" in problems[1]


def test_solver_settings_count_but_its_state_does_not():
    first, second = Model(8, "adam"), Model(8, "adam")
    second.run(*global_batch(0))
    second.solver.step()
    assert signature(named(first), first.solver) == signature(named(second), second.solver)
    second.solver.beta2 = 0.99
    problem, = differences(signature(named(first), first.solver), signature(named(second), second.solver))
    assert "('beta2', 0.99)" in problem


def test_averaged_gradients_answer_for_their_nodes_and_the_machine_for_the_rest():
    model = Model(8, "sgd")
    model.run(*global_batch(0))
    w, b = model.params[:2]
    machine = model.machine
    average = np.full(w.shape, 0.5)
    source = AveragedGradients(AveragedGradients(machine, {}), {w: average})
    assert source.machine is machine
    assert source.grad_of(w) is average
    assert source.grad_of(b) is machine.grad_of(b)
    assert source.value_of(model.loss) is machine.value_of(model.loss)
    detached = AveragedGradients(None, {w: average})
    assert detached.grad_of(b) is None and detached.value_of(model.loss) is None
