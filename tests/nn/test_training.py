"""Small models that really learn: an MLP on three Gaussian blobs with SGD and Adam on
both machines, and one with batch_norm and dropout evaluated in evaluation mode."""

import numpy as np
import pytest

import gorgon as G

CLASSES, FEATURES, HIDDEN = 3, 2, 16


def blobs(n=150, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, CLASSES, n)
    centres = np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
    return centres[labels] + 0.6 * rng.standard_normal((n, FEATURES)), labels


def mlp(features, labels, normalise=False):
    g = G.Graph()
    x = G.matrix(g, G.Float64, features.shape, name="x", value=features)
    y = G.vector(g, G.Int64, labels.shape, name="y", value=labels)
    w1 = G.matrix(g, G.Float64, (FEATURES, HIDDEN), name="w1", init=G.init.he_normal(seed=1))
    b1 = G.vector(g, G.Float64, HIDDEN, name="b1", init="zeros")
    w2 = G.matrix(g, G.Float64, (HIDDEN, CLASSES), name="w2", init=G.init.glorot_uniform(seed=2))
    b2 = G.vector(g, G.Float64, CLASSES, name="b2", init="zeros")
    params = [w1, b1, w2, b2]
    hidden = x @ w1 + b1
    if normalise:
        scale = G.vector(g, G.Float64, HIDDEN, name="scale", init="ones")
        shift = G.vector(g, G.Float64, HIDDEN, name="shift", init="zeros")
        mean = G.vector(g, G.Float64, HIDDEN, name="running_mean", init="zeros")
        var = G.vector(g, G.Float64, HIDDEN, name="running_var", init="ones")
        hidden = G.dropout(G.relu(G.batch_norm(hidden, scale, shift, mean, var)), p=0.1, seed=3)
        params += [scale, shift]
    else:
        hidden = G.leaky_relu(hidden, alpha=0.05)
    logits = hidden @ w2 + b2
    return g, logits, G.cross_entropy(logits, y), params


def fit(kind, solver_name, learning_rate, steps=60, normalise=False):
    features, labels = blobs()
    g, logits, loss, params = mlp(features, labels, normalise)
    if kind == "tape":
        machine = G.TapeMachine(g, outputs=[loss, logits, *G.grad(loss, *params)])
    else:
        machine = G.LispMachine(g, cost=loss, wrt=params)
    solver = getattr(G.solvers, solver_name)(params=params, learning_rate=learning_rate)
    losses = []
    for _ in range(steps):
        machine.run_all()
        losses.append(float(loss.value))
        solver.step()
    return g, machine, logits, losses


@pytest.mark.parametrize("kind", ["tape", "lisp"])
@pytest.mark.parametrize("solver_name, learning_rate", [("SGD", 0.5), ("Adam", 0.05)])
def test_an_mlp_learns(solver_name, learning_rate, kind):
    _, _, logits, losses = fit(kind, solver_name, learning_rate)
    assert losses[-1] < 0.3 * losses[0]
    assert all(b <= a * 1.05 for a, b in zip(losses, losses[1:]))
    accuracy = np.mean(np.argmax(logits.value, axis=1) == blobs()[1])
    assert accuracy > 0.9


def test_a_normalised_mlp_learns_and_predicts_in_evaluation_mode():
    g, machine, logits, losses = fit("tape", "Adam", 0.05, normalise=True)
    assert losses[-1] < 0.3 * losses[0]
    features, labels = blobs(seed=1)
    G.let(g.by_name("x"), features)
    G.let(g.by_name("y"), labels)
    machine.eval().run_all()
    first = logits.value.copy()
    machine.run_all()
    np.testing.assert_array_equal(logits.value, first)
    assert np.mean(np.argmax(first, axis=1) == labels) > 0.9
