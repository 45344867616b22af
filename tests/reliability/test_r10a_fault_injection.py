"""Randomized faults (seeded): an exception or a KeyboardInterrupt raised at a random
Python event inside a solver step, a checkpoint load or a checkpoint save. Whatever the
point, the state afterwards is exactly the one before (the call raised) or exactly the
one after (it finished): parameters, solver state and the file on disk, bit for bit; and
the next clean call gives the right answer."""

import random

import numpy as np
import pytest
from r10a_faults import Injected, caused_by, run_failing, snapshot

import gorgon as G
from gorgon_ops_nn.checkpoint import load, save

SOLVERS = ["SGD", "Momentum", "Adam", "AdamW", "RMSProp", "AdaGrad", "AdaDelta", "BarzilaiBorwein"]
OPTION_SETS = [{}, {"l2": 1e-2}, {"l1": 1e-3, "clip_value": 0.3}, {"clip_norm": 0.5, "l2": 1e-3}]
ERRORS = [Injected, KeyboardInterrupt]


def setup(name: str, options: dict, seed: int, steps: int):
    """A small model, its machine and a solver after `steps` steps, all from `seed`."""
    rng = np.random.default_rng(seed)
    g = G.Graph()
    x = G.matrix(g, G.Float64, (4, 3), name="x", value=rng.standard_normal((4, 3)))
    w = G.matrix(g, G.Float64, (3, 2), name="w", value=rng.standard_normal((3, 2)))
    b = G.vector(g, G.Float64, 2, name="b", value=rng.standard_normal(2))
    loss = G.mean(G.square(G.tanh(x @ w + b)))
    machine = G.TapeMachine(g, outputs=[loss, *G.grad(loss, w, b)])
    solver = getattr(G.solvers, name)(params=[w, b], learning_rate=0.1, **options)
    for _ in range(steps):
        machine.run_all()
        solver.step()
    machine.run_all()
    return machine, [w, b], solver


def events_in(call) -> int:
    return run_failing(call, 0)


@pytest.mark.parametrize("seed", range(6))
def test_a_solver_step_failing_at_a_random_point_is_all_or_nothing(seed):
    chance = random.Random(seed)
    outcomes = set()
    for trial in range(12):
        name, options = chance.choice(SOLVERS), chance.choice(OPTION_SETS)
        steps = chance.randint(0, 3)
        _, reference, reference_solver = setup(name, options, trial, steps)
        before = snapshot(reference, reference_solver)
        total = events_in(reference_solver.step)
        after = snapshot(reference, reference_solver)
        assert after != before
        _, params, solver = setup(name, options, trial, steps)
        assert snapshot(params, solver) == before
        point, error = chance.randint(1, total + 3), chance.choice(ERRORS)
        try:
            run_failing(solver.step, point, error)
        except error:
            outcomes.add("raised")
            assert snapshot(params, solver) == before, (name, options, point)
            solver.step()
        else:
            outcomes.add("finished")
        assert snapshot(params, solver) == after, (name, options, point)
    assert "raised" in outcomes  # at least one fault landed inside a step


@pytest.mark.parametrize("seed", range(4))
def test_a_checkpoint_load_failing_at_a_random_point_is_all_or_nothing(tmp_path, seed):
    chance = random.Random(100 + seed)
    raised = 0
    for trial in range(10):
        name = chance.choice(SOLVERS)
        path = tmp_path / f"model{trial}.npz"
        _, saved, saved_solver = setup(name, {}, trial, steps=3)
        save(path, saved, saved_solver)
        stored = snapshot(saved, saved_solver)

        def target():
            _, params, solver = setup(name, {}, 50 + trial, steps=1)
            unbound = G.vector(params[0].graph, G.Float64, 2, name="b")
            return {"w": params[0], "b": unbound}, solver

        nodes, solver = target()
        total = events_in(lambda: load(path, nodes, solver))
        assert snapshot(list(nodes.values()), solver) == stored
        nodes, solver = target()
        before = snapshot(list(nodes.values()), solver)
        point, error = chance.randint(1, total + 3), chance.choice(ERRORS)
        try:
            run_failing(lambda: load(path, nodes, solver), point, error)
        except error:
            raised += 1
            assert snapshot(list(nodes.values()), solver) == before, (name, point)
            assert nodes["b"].value is None
            load(path, nodes, solver)
        assert snapshot(list(nodes.values()), solver) == stored, (name, point)
    assert raised > 0


@pytest.mark.parametrize("seed", range(4))
def test_a_checkpoint_save_failing_at_a_random_point_leaves_the_old_or_the_new_file(tmp_path, seed):
    chance = random.Random(200 + seed)
    faults = 0
    for trial in range(10):
        folder = tmp_path / f"trial{trial}"
        folder.mkdir()
        path = folder / "model.npz"
        _, old, old_solver = setup("Adam", {}, trial, steps=1)
        save(path, old, old_solver)
        _, new, new_solver = setup("Adam", {}, trial, steps=2)
        total = events_in(lambda: save(folder / "count.npz", new, new_solver))
        (folder / "count.npz").unlink()
        point, error = chance.randint(1, total + 3), chance.choice(ERRORS)
        raised = None
        try:
            run_failing(lambda: save(path, new, new_solver), point, error)
        except BaseException as exc:
            assert caused_by(exc, error), exc
            raised = f"{exc} (context: {exc.__context__})"
            faults += 1
        _, into, into_solver = setup("Adam", {}, 99, steps=1)
        load(path, into, into_solver)
        found = snapshot(into, into_solver)
        if raised is None:
            assert found == snapshot(new, new_solver)
        else:
            assert found in (snapshot(old, old_solver), snapshot(new, new_solver)), raised
        leftovers = sorted(p.name for p in folder.iterdir() if p.name != "model.npz")
        assert leftovers == [] or (raised is not None and "tempfile.py" in raised), (leftovers, raised)
    assert faults > 0
