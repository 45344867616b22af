"""The pieces that compare ranks and stand in for a machine, checked on given inputs:
model signatures and their differences, and the averaged-gradient value source."""

from __future__ import annotations

import numpy as np
from dist_model import Model, global_batch
from gorgon_dist.averaged import AveragedGradients
from gorgon_dist.signature import differences, graph_differences, graph_signature, signature

import gorgon as G


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


def test_the_whole_graph_counts_constants_ops_and_structure():
    first, scaled = Model(8, "adam"), Model(8, "adam", loss_scale=2.0)
    problem, = differences(signature(named(first), first.solver), signature(named(scaled), scaled.solver))
    assert problem == ("the graph differs at node 12: constant 2.0 -> () float64 instead of "
                       "constant 1.0 -> () float64")
    other = Model(8, "adam")
    other.loss = G.sum(other.loss)
    problem, = differences(signature(named(first), first.solver), signature(named(other), other.solver))
    assert problem.startswith("the graph has ") and problem.endswith(f" nodes instead of {len(first.loss.graph.nodes)}")


def test_a_different_op_and_the_bucket_size_are_reported():
    first, second = Model(8, "sgd"), Model(8, "sgd")
    graph = graph_signature(first.loss.graph)
    changed = list(graph)
    role, op, shape, dtype, inputs, is_grad, detail = changed[5]
    changed[5] = (role, "sigmoid", shape, dtype, inputs, is_grad, detail)
    assert graph_differences([graph], [changed]) == [
        f"the graph differs at node 5: sigmoid of nodes {list(inputs)} -> {shape} {dtype} instead of "
        f"{op} of nodes {list(inputs)} -> {shape} {dtype}"]
    assert graph_differences([graph], [graph, graph]) == ["the parameters live in 2 graphs instead of 1"]
    problem, = differences(signature(named(first), first.solver, 1024), signature(named(second), second.solver, 64))
    assert problem == "bucket_bytes 64 instead of 1024"
