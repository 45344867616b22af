"""cross_entropy from logits, with integer labels or probability targets, against a
numpy reference; its fused gradient on both machines."""

import numpy as np
import pytest
from scipy import special

import gorgon as G
from nn_helpers import MACHINES, forward_value, numeric_grad, run

rng = np.random.default_rng(5)
LOGITS = rng.standard_normal((5, 4))
LABELS = np.array([0, 3, 3, 1, 2])
ONE_HOT = np.eye(4)[LABELS]


def loss_graph(logits, target, dtype=G.Float64, **params):
    g = G.Graph()
    x = G.tensor(g, dtype, logits.shape, name="logits", value=logits.astype(dtype))
    if target.dtype.kind == "f":
        t = G.tensor(g, dtype, target.shape, name="target", value=target.astype(dtype))
    else:
        t = G.tensor(g, target.dtype, target.shape, name="labels", value=target)
    return g, x, t, G.cross_entropy(x, t, **params)


def value(logits, target, **params):
    g, _, _, loss = loss_graph(logits, target, **params)
    G.TapeMachine(g, outputs=[loss]).run_all()
    return float(loss.value)


def reference(logits, labels):
    return -np.mean(special.log_softmax(logits, axis=-1)[np.arange(len(labels)), labels])


def test_labels_and_one_hot_targets_give_the_reference_loss():
    expected = reference(LOGITS, LABELS)
    assert value(LOGITS, LABELS) == pytest.approx(expected, rel=1e-12)
    assert value(LOGITS, ONE_HOT) == pytest.approx(expected, rel=1e-12)
    assert value(LOGITS, LABELS, reduction="sum") == pytest.approx(5 * expected, rel=1e-12)


def test_probability_targets_weigh_every_class():
    target = special.softmax(rng.standard_normal((5, 4)), axis=-1)
    expected = -np.sum(target * special.log_softmax(LOGITS, axis=-1)) / 5
    assert value(LOGITS, target) == pytest.approx(expected, rel=1e-12)


def test_class_axis_is_the_last_one_for_any_leading_shape():
    logits = rng.standard_normal((2, 3, 4))
    labels = rng.integers(0, 4, (2, 3))
    expected = reference(logits.reshape(6, 4), labels.ravel())
    assert value(logits, labels) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("dtype", [G.Float64, G.Float32])
def test_logits_of_1000_do_not_overflow(dtype):
    g, _, _, loss = loss_graph(LOGITS * 1000.0, LABELS, dtype)
    G.TapeMachine(g, outputs=[loss]).run_all()
    assert loss.value.dtype == dtype
    assert float(loss.value) == pytest.approx(reference(LOGITS * 1000.0, LABELS), rel=1e-5)


@pytest.mark.parametrize("machine", MACHINES)
@pytest.mark.parametrize("target", [LABELS, ONE_HOT], ids=["labels", "one-hot"])
def test_logits_gradient_is_softmax_minus_target_over_the_batch(target, machine):
    g, x, _, loss = loss_graph(LOGITS, target)
    (dx,) = run(machine, g, loss, [x])
    np.testing.assert_allclose(dx, (special.softmax(LOGITS, axis=-1) - ONE_HOT) / 5, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("machine", MACHINES)
def test_probability_targets_get_a_gradient_too(machine):
    target = special.softmax(rng.standard_normal((5, 4)), axis=-1)
    g, x, t, loss = loss_graph(LOGITS, target, reduction="sum")
    dx, dt = run(machine, g, loss, [x, t])
    value_of = forward_value(g, loss)
    np.testing.assert_allclose(dx, numeric_grad(value_of, x.value), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dt, numeric_grad(value_of, t.value), rtol=1e-6, atol=1e-8)


def test_a_label_out_of_range_fails_at_run_time_naming_the_node():
    g, _, _, loss = loss_graph(LOGITS, np.array([0, 1, 2, 3, 4]))
    with pytest.raises(G.ExecutionError, match=r"cross_entropy.*class labels must lie in \[0, 4\)"):
        G.TapeMachine(g, outputs=[loss]).run_all()


def test_wrong_targets_fail_when_the_node_is_built():
    g, x, _, _ = loss_graph(LOGITS, LABELS)
    short = G.vector(g, G.Int64, 4, name="short")
    with pytest.raises(G.ShapeError, match=r"cross_entropy.*labels must have shape \(5,\).*'short'"):
        G.cross_entropy(x, short)
    with pytest.raises(ValueError, match="reduction must be one of"):
        G.cross_entropy(x, LABELS, reduction="avg")
