"""ctc_loss against torch.nn.functional.ctc_loss: every reduction, padded and
concatenated targets, uneven input and target lengths, another blank, zero_infinity;
values, and gradients for the logits under a log_softmax (torch's own gradient for
log_probs assumes that log_softmax, so the two agree there), on both machines."""

import numpy as np
import pytest

import gorgon as G
from nn_ops_harness import MACHINES, compare

torch = pytest.importorskip("torch")
F = torch.nn.functional

rng = np.random.default_rng(21)
FRAMES, BATCH, CLASSES = 12, 4, 6
INPUT_LENGTHS = np.array([12, 9, 7, 12])
TARGET_LENGTHS = np.array([4, 3, 0, 5])


def targets(blank=0):
    labels = rng.integers(0, CLASSES - 1, (BATCH, 5))
    return labels + (labels >= blank)


def concatenated(padded):
    return np.concatenate([row[:n] for row, n in zip(padded, TARGET_LENGTHS)])


def ours(reduction, blank=0, zero_infinity=False):
    def build(logits, labels, input_lengths, target_lengths):
        return G.ctc_loss(G.log_softmax(logits), labels, input_lengths, target_lengths, blank=blank,
                          reduction=reduction, zero_infinity=zero_infinity)
    return build


def theirs(reduction, blank=0, zero_infinity=False):
    def function(logits, labels, input_lengths, target_lengths):
        return F.ctc_loss(F.log_softmax(logits, dim=-1), labels, input_lengths, target_lengths, blank=blank,
                          reduction=reduction, zero_infinity=zero_infinity)
    return function


@pytest.mark.parametrize("machine", MACHINES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("layout", ["padded", "concatenated"])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_ctc_loss_matches_torch(reduction, layout, dtype, machine):
    logits = (rng.standard_normal((FRAMES, BATCH, CLASSES)) * 2).astype(dtype)
    labels = targets()
    labels = labels if layout == "padded" else concatenated(labels)
    compare(torch, ours(reduction), theirs(reduction), [logits, labels, INPUT_LENGTHS, TARGET_LENGTHS],
            machine=machine, tolerance=1e-10 if dtype == np.float64 else 1e-4)


@pytest.mark.parametrize("blank", [2, CLASSES - 1])
def test_ctc_loss_with_another_blank_matches_torch(blank):
    logits = rng.standard_normal((FRAMES, BATCH, CLASSES))
    compare(torch, ours("mean", blank), theirs("mean", blank),
            [logits, targets(blank), INPUT_LENGTHS, TARGET_LENGTHS])


def test_ctc_loss_with_repeated_labels_matches_torch():
    logits = rng.standard_normal((FRAMES, BATCH, CLASSES))
    labels = np.array([[1, 1, 2, 2, 2], [3, 3, 3, 1, 1], [1, 2, 1, 2, 1], [4, 4, 4, 4, 4]])
    compare(torch, ours("sum"), theirs("sum"), [logits, labels, INPUT_LENGTHS, np.array([4, 5, 5, 5])])


@pytest.mark.parametrize("reduction", ["none", "sum"])
def test_zero_infinity_matches_torch(reduction):
    """Targets longer than the input can align to (with repeats) have infinite loss;
    zero_infinity makes it and its gradient zero."""
    logits = rng.standard_normal((4, 2, CLASSES))
    labels = np.array([[1, 1, 1], [1, 2, 0]])
    arrays = [logits, labels, np.array([4, 4]), np.array([3, 2])]
    compare(torch, ours(reduction, zero_infinity=True), theirs(reduction, zero_infinity=True), arrays)
    g = G.Graph()
    x = G.tensor(g, G.Float64, logits.shape, value=logits, name="x")
    loss = ours("none")(x, *arrays[1:])
    G.TapeMachine(g, outputs=[loss]).run_all()
    assert loss.value[0] == np.inf and np.isfinite(loss.value[1])


def test_ctc_loss_rejects_impossible_lengths_when_run():
    logits = rng.standard_normal((5, 2, 3))
    g = G.Graph()
    x = G.tensor(g, G.Float64, logits.shape, value=logits, name="x")
    loss = G.ctc_loss(x, np.array([[1, 2], [1, 1]]), np.array([6, 5]), np.array([2, 2]))
    with pytest.raises(G.GorgonError, match=r"input lengths must lie in \[1, 5\]"):
        G.TapeMachine(g, outputs=[loss]).run_all()


def test_ctc_loss_second_derivative_is_refused_clearly():
    g = G.Graph()
    x = G.tensor(g, G.Float64, (5, 1, 3), value=rng.standard_normal((5, 1, 3)), name="x")
    (dx,) = G.grad(G.ctc_loss(G.log_softmax(x), np.array([[1, 2]]), np.array([5]), np.array([2])), x)
    with pytest.raises(G.NonDifferentiable, match="second derivative of ctc_loss"):
        G.grad(G.sum(dx * dx), x)
