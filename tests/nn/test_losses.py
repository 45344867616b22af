"""mse_loss, binary_cross_entropy and binary_cross_entropy_with_logits against numpy
references, at the edges of their domains, with gradients on both machines."""

import numpy as np
import pytest
from scipy import special

import gorgon as G
from nn_helpers import MACHINES, forward_value, numeric_grad, run

rng = np.random.default_rng(11)
PREDICTION = rng.standard_normal((3, 4))
TARGET = rng.uniform(0, 1, (3, 4))
PROBABILITY = rng.uniform(0.05, 0.95, (3, 4))


def loss_graph(name, prediction, target, dtype=G.Float64, **params):
    g = G.Graph()
    p = G.tensor(g, dtype, prediction.shape, name="prediction", value=prediction.astype(dtype))
    t = G.tensor(g, dtype, target.shape, name="target", value=target.astype(dtype))
    return g, p, t, getattr(G, name)(p, t, **params)


def value(name, prediction, target, dtype=G.Float64, **params):
    g, _, _, loss = loss_graph(name, prediction, target, dtype, **params)
    G.TapeMachine(g, outputs=[loss]).run_all()
    assert loss.value.dtype == dtype
    return float(loss.value)


def bce(p, t):
    return -np.mean(t * np.log(p) + (1 - t) * np.log1p(-p))


@pytest.mark.parametrize("dtype", [G.Float64, G.Float32])
def test_losses_match_references(dtype):
    rel = 1e-5 if dtype == G.Float32 else 1e-12
    expected = {
        "mse_loss": (PREDICTION, np.mean((PREDICTION - TARGET) ** 2)),
        "binary_cross_entropy": (PROBABILITY, bce(PROBABILITY, TARGET)),
        "binary_cross_entropy_with_logits": (PREDICTION, bce(special.expit(PREDICTION), TARGET)),
    }
    for name, (prediction, loss) in expected.items():
        assert value(name, prediction, TARGET, dtype) == pytest.approx(loss, rel=rel)


def test_sum_reduction_adds_every_element():
    assert value("mse_loss", PREDICTION, TARGET, reduction="sum") == pytest.approx(
        np.sum((PREDICTION - TARGET) ** 2), rel=1e-12)


def test_binary_cross_entropy_stays_finite_at_certain_predictions():
    p = np.array([0.0, 1.0, 1.0, 0.0])
    t = np.array([0.0, 1.0, 0.0, 1.0])
    assert value("binary_cross_entropy", p, t) == pytest.approx(100.0 / 2)


def test_binary_cross_entropy_with_logits_is_stable_for_large_logits():
    x = np.array([1000.0, -1000.0, 1000.0, -1000.0])
    t = np.array([1.0, 0.0, 0.0, 1.0])
    assert value("binary_cross_entropy_with_logits", x, t) == pytest.approx(1000.0 / 2)


@pytest.mark.parametrize("machine", MACHINES)
@pytest.mark.parametrize("name, prediction", [("mse_loss", PREDICTION), ("binary_cross_entropy", PROBABILITY),
                                              ("binary_cross_entropy_with_logits", PREDICTION)])
def test_gradients_for_prediction_and_target(name, prediction, machine):
    g, p, t, loss = loss_graph(name, prediction, TARGET, reduction="sum")
    dp, dt = run(machine, g, loss, [p, t])
    value_of = forward_value(g, loss)
    np.testing.assert_allclose(dp, numeric_grad(value_of, p.value), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dt, numeric_grad(value_of, t.value), rtol=1e-6, atol=1e-8)


def test_mismatched_shapes_fail_when_the_node_is_built():
    g = G.Graph()
    p = G.matrix(g, G.Float64, (3, 4), name="p")
    t = G.vector(g, G.Float64, 4, name="t")
    with pytest.raises(G.ShapeError, match=r"mse_loss.*same shape.*'p' \(shape \(3, 4\).*'t' \(shape \(4,\)"):
        G.mse_loss(p, t)
