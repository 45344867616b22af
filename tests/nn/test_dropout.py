"""dropout: a fresh mask on every training run, the identity in evaluation mode (by the
graph or by the machine), reproducible with a seed, and a gradient through the very
mask the forward pass used."""

import numpy as np
import pytest

import gorgon as G
from nn_helpers import MACHINES

SHAPE = (40, 50)


def dropout_graph(p=0.25, seed=None, dtype=G.Float64):
    g = G.Graph()
    x = G.matrix(g, dtype, SHAPE, name="x", value=np.ones(SHAPE, dtype))
    return g, x, G.dropout(x, p=p, seed=seed)


def machine_of(kind, g, y):
    return G.TapeMachine(g, outputs=[y]) if kind == "tape" else G.LispMachine(g, forward_only=True)


def outputs(machine, y, runs=2):
    values = []
    for _ in range(runs):
        machine.run_all()
        values.append(y.value.copy())
    return values


@pytest.mark.parametrize("kind", MACHINES)
def test_training_draws_a_new_mask_on_every_run(kind):
    g, x, y = dropout_graph(p=0.25)
    first, second = outputs(machine_of(kind, g, y), y)
    assert not np.array_equal(first, second)
    for value in (first, second):
        assert set(np.unique(value)) == {0.0, 1 / 0.75}
        assert 0.2 < np.mean(value == 0) < 0.3


@pytest.mark.parametrize("kind", MACHINES)
def test_evaluation_mode_of_the_graph_is_the_identity(kind):
    g, x, y = dropout_graph(p=0.5)
    g.eval()
    for value in outputs(machine_of(kind, g, y), y):
        np.testing.assert_array_equal(value, x.value)


@pytest.mark.parametrize("kind", MACHINES)
def test_a_machine_switches_mode_by_itself(kind):
    g, x, y = dropout_graph(p=0.5)
    machine = machine_of(kind, g, y).eval()
    (evaluated,) = outputs(machine, y, runs=1)
    np.testing.assert_array_equal(evaluated, x.value)
    (trained,) = outputs(machine.train(), y, runs=1)
    assert (trained == 0).any()


def test_the_same_seed_gives_the_same_masks_in_float32_too():
    masks = []
    for _ in range(2):
        g, x, y = dropout_graph(seed=42, dtype=G.Float32)
        masks.append(outputs(G.TapeMachine(g, outputs=[y]), y, runs=3))
    for a, b in zip(*masks):
        assert a.dtype == np.float32
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(masks[0][0], masks[0][1])


def test_p_zero_keeps_everything_in_training():
    g, x, y = dropout_graph(p=0.0)
    (value,) = outputs(G.TapeMachine(g, outputs=[y]), y, runs=1)
    np.testing.assert_array_equal(value, x.value)


@pytest.mark.parametrize("kind", MACHINES)
def test_the_gradient_flows_through_the_mask_of_the_same_run(kind):
    g, x, y = dropout_graph(p=0.5, seed=1)
    weights = np.random.default_rng(0).standard_normal(SHAPE)
    cost = G.sum(y * weights)
    if kind == "tape":
        (dx,) = G.grad(cost, x)
        machine = G.TapeMachine(g, outputs=[y, dx])
    else:
        machine = G.LispMachine(g, cost=cost, wrt=[x])
    for _ in range(2):
        machine.run_all()
        gradient = dx.value if kind == "tape" else x.grad
        np.testing.assert_allclose(gradient, weights * y.value)


def test_p_must_lie_in_zero_one():
    g = G.Graph()
    x = G.vector(g, G.Float64, 3, name="x")
    with pytest.raises(ValueError, match=r"dropout: the drop probability p must lie in \[0, 1\), got 1.0"):
        G.dropout(x, p=1.0)
