"""Conformance samples for the nn ops added after the first release (float64; the kit
derives float32): more activations, robust losses, one_hot, sparsemax, group and
instance norm, nll_loss, the class coefficients of the weighted losses and ctc_loss."""

import numpy as np

from gorgon import DtypeError, ShapeError
from gorgon.testing import ErrorSample, Sample

rng = np.random.default_rng(11)


def randn(*shape):
    return rng.standard_normal(shape)


def away_from(points, *shape, gap=0.2):
    """Normal values, each at least `gap` from every one of `points` (kinks of the op)."""
    values = np.array(randn(*shape) * 2.0)
    for point in points:
        close = np.abs(values - point) < gap
        values[close] = point + np.where(values[close] >= point, gap, -gap) * 2
    return values


def activation_samples(kinks=(0.0,)):
    def factory():
        return [
            Sample(away_from(kinks, 3, 4), label="matrix"),
            Sample(away_from(kinks, 7), label="vector"),
            Sample(away_from(kinks), label="scalar"),
            ErrorSample(np.arange(3), error=DtypeError, match="needs float inputs"),
        ]

    return factory


def offset_pair(kinks, *shape):
    """(x, target) whose differences x - target keep away from the kinks."""
    target = randn(*shape)
    return target + away_from(kinks, *shape), target


def robust_loss_samples(size_name):
    def factory():
        return [
            Sample(*offset_pair((-1.0, 1.0), 3, 4), label="mean"),
            Sample(*offset_pair((-0.5, 0.5), 5), reduction="sum", **{size_name: 0.5}, label="sum"),
            Sample(*offset_pair((-2.0, 2.0), 2, 3), reduction="none", **{size_name: 2.0}, label="none"),
            ErrorSample(randn(3, 4), randn(4), error=ShapeError, match="same shape"),
            ErrorSample(randn(3), randn(3), reduction="avg", error=ValueError, match="reduction must be"),
            ErrorSample(randn(3), randn(3), **{size_name: -1.0}, error=ValueError, match=size_name),
        ]

    return factory


def log_probabilities(*shape):
    raw = rng.uniform(0.1, 1.0, shape)
    return np.log(raw / raw.sum(axis=-1, keepdims=True))


def kl_div_samples():
    return [
        Sample(log_probabilities(3, 4), np.exp(log_probabilities(3, 4)), label="mean"),
        Sample(log_probabilities(3, 4), np.exp(log_probabilities(3, 4)), reduction="batchmean",
               label="batchmean"),
        Sample(log_probabilities(2, 5), log_probabilities(2, 5), reduction="sum", log_target=True,
               label="log target, sum"),
        Sample(log_probabilities(4), log_probabilities(4), reduction="none", log_target=True,
               label="none"),
        ErrorSample(randn(3, 4), randn(3, 5), error=ShapeError, match="same shape"),
        ErrorSample(randn(), randn(), reduction="batchmean", error=ShapeError, match="batch axis"),
        ErrorSample(randn(3), randn(3).astype(np.float32), error=DtypeError, match="share one dtype"),
    ]


def one_hot_samples():
    return [
        Sample(np.array([0, 2, 1, 2]), 3, label="vector"),
        Sample(np.array([[0, 3], [1, 1]]), 4, dtype=np.float32, label="matrix, float32"),
        Sample(np.array(1), 2, dtype=np.int64, label="one label, int64"),
        ErrorSample(randn(3), 3, error=DtypeError, match="integer input"),
        ErrorSample(np.array([0, 1]), 0, error=ValueError, match="num_classes must be positive"),
        ErrorSample(np.array([0, 1]), 2.0, error=TypeError, match="num_classes must be an int"),
    ]


def spread(*shape):
    """Values at least 0.3 apart in each slice, so a finite-difference step never moves
    an element into or out of sparsemax's support."""
    count = int(np.prod(shape))
    return rng.permutation(count).reshape(shape) * 0.3 - count * 0.15


def sparsemax_samples():
    return [
        Sample(spread(3, 4) * 0.5, label="last axis"),
        Sample(spread(2, 3, 4) * 0.2, axis=1, label="middle axis"),
        Sample(spread(5) * 0.1, label="vector, all in the support"),
        ErrorSample(randn(3, 4), axis=2, error=ShapeError, match="out of range"),
        ErrorSample(np.arange(3), error=DtypeError, match="needs float inputs"),
    ]


def positive(*shape):
    return rng.uniform(0.5, 2.0, shape)


def group_norm_samples():
    return [
        Sample(randn(2, 4, 3), 2, positive(4), randn(4), label="(N, C, L), 2 groups"),
        Sample(randn(2, 6, 2, 2), 3, positive(6), randn(6), label="NCHW, 3 groups"),
        Sample(randn(3, 4), 1, positive(4), randn(4), eps=1e-3, label="(N, C), one group"),
        ErrorSample(randn(2, 5, 3), 2, positive(5), randn(5), error=ShapeError,
                    match=r"channels \(5\) are not divisible by num_groups \(2\)"),
        ErrorSample(randn(2, 4, 3), 2, positive(3), randn(3), error=ShapeError, match=r"shape \(4,\)"),
        ErrorSample(randn(4), 2, positive(4), randn(4), error=ShapeError, match="at least 2 dimensions"),
        ErrorSample(randn(2, 4, 3), 0, positive(4), randn(4), error=ValueError, match="num_groups"),
    ]


def instance_norm_samples():
    return [
        Sample(randn(2, 3, 4), positive(3), randn(3), label="(N, C, L)"),
        Sample(randn(2, 2, 3, 2), positive(2), randn(2), eps=1e-3, label="NCHW"),
        ErrorSample(randn(2, 3), positive(3), randn(3), error=ShapeError, match="at least 3 dimensions"),
        ErrorSample(randn(2, 3, 4), positive(3), randn(3).astype(np.float32), error=DtypeError,
                    match="share one dtype"),
    ]


def ctc_inputs(frames, batch, classes, longest):
    logits = randn(frames, batch, classes)
    log_probs = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    targets = rng.integers(1, classes, (batch, longest))
    return log_probs, targets


def ctc_loss_samples():
    log_probs, targets = ctc_inputs(6, 3, 4, 3)
    concatenated = np.array([1, 2, 2, 3, 1])
    return [
        Sample(log_probs, targets, np.array([6, 5, 4]), np.array([3, 2, 1]), second_order=False,
               label="padded, mean"),
        Sample(log_probs, concatenated, np.array([6, 6, 3]), np.array([2, 2, 1]), reduction="sum",
               second_order=False, label="concatenated, sum"),
        Sample(log_probs, targets, np.array([6, 4, 2]), np.array([3, 0, 1]), reduction="none", blank=0,
               second_order=False, label="empty target, none"),
        Sample(log_probs[:, :, ::-1].copy(), targets - 1, np.array([6, 6, 6]), np.array([2, 3, 1]),
               blank=3, second_order=False, label="last class blank"),
        ErrorSample(log_probs[0], targets, np.array([6, 5, 4]), np.array([3, 2, 1]), error=ShapeError,
                    match=r"\(T, N, C\)"),
        ErrorSample(log_probs, targets, np.array([6, 5]), np.array([3, 2, 1]), error=ShapeError,
                    match=r"lengths must have shape \(3,\)"),
        ErrorSample(log_probs, targets * 1.0, np.array([6, 5, 4]), np.array([3, 2, 1]), error=DtypeError,
                    match="must be integers"),
        ErrorSample(log_probs, targets, np.array([6, 5, 4]), np.array([3, 2, 1]), blank=4, error=ShapeError,
                    match="blank 4"),
        ErrorSample(log_probs, targets, np.array([6, 5, 4]), np.array([3, 2, 1]), reduction="batchmean",
                    error=ValueError, match="reduction must be"),
    ]


def ctc_loss_grad_samples():
    log_probs, targets = ctc_inputs(5, 2, 3, 2)
    lengths = np.array([5, 4]), np.array([2, 1])
    return [
        Sample(log_probs, targets, *lengths, randn(), wrt=(4,), second_order=False, label="mean"),
        Sample(log_probs, targets, *lengths, randn(2), reduction="none", wrt=(4,), second_order=False,
               label="none"),
        ErrorSample(log_probs, targets, *lengths, randn(2), error=ShapeError, match="gy must have"),
    ]


def labels(*shape, classes=3):
    return rng.integers(0, classes, shape)


def nll_loss_samples():
    log_probs = log_probabilities(5, 3)
    ignored = np.array([0, 2, -100, 1, 2])
    return [
        Sample(log_probs, labels(5), label="mean"),
        Sample(log_probs, labels(5), "sum", positive(3), wrt=(0,), label="weights, sum"),
        Sample(log_probs, ignored, "mean", positive(3), -100, wrt=(0,), label="weights, ignore_index"),
        Sample(log_probs, ignored, "none", positive(3), -100, wrt=(0,), label="per example"),
        Sample(log_probabilities(2, 3, 4), labels(2, 3, classes=4), ignore_index=1,
               label="3-d, ignore_index"),
        ErrorSample(log_probs, labels(4), error=ShapeError, match="integer labels must have shape"),
        ErrorSample(log_probs, np.exp(log_probs), error=DtypeError, match="integer class labels"),
        ErrorSample(log_probs, labels(5), "mean", positive(4), error=ShapeError, match=r"shape \(3,\)"),
        ErrorSample(log_probs, labels(5), ignore_index=1.5, error=TypeError, match="ignore_index"),
    ]


def class_coefficients_samples():
    probabilities = np.exp(log_probabilities(4, 3))
    return [
        Sample(labels(4), classes=3, dtype=np.float64, label="labels"),
        Sample(labels(4), positive(3), classes=3, dtype=np.float64, label_smoothing=0.2, ignore_index=1,
               wrt=(), label="labels, weights, smoothing, ignore_index"),
        Sample(probabilities, classes=3, dtype=np.float64, label_smoothing=0.1, label="probabilities"),
        Sample(probabilities, positive(3), classes=3, dtype=np.float64, reduction="sum", wrt=(0,),
               label="probabilities, weights, sum"),
        ErrorSample(probabilities, classes=4, dtype=np.float64, error=ShapeError, match=r"\(\.\.\., 4\)"),
        ErrorSample(probabilities, classes=3, dtype=np.float64, ignore_index=0, error=ValueError,
                    match="integer labels only"),
        ErrorSample(labels(4), classes=3, dtype=np.float64, label_smoothing=1.5, error=ValueError,
                    match="label_smoothing"),
    ]


MORE_SAMPLES = {
    "nll_loss": nll_loss_samples,
    "class_coefficients": class_coefficients_samples,
    "ctc_loss": ctc_loss_samples,
    "ctc_loss_grad": ctc_loss_grad_samples,
    "group_norm": group_norm_samples,
    "instance_norm": instance_norm_samples,
    "one_hot": one_hot_samples,
    "sparsemax": sparsemax_samples,
    "huber_loss": robust_loss_samples("delta"),
    "smooth_l1_loss": robust_loss_samples("beta"),
    "kl_div": kl_div_samples,
    "silu": activation_samples(),
    "mish": activation_samples(),
    "hardswish": activation_samples((-3.0, 3.0)),
    "selu": activation_samples(),
    "softsign": activation_samples(),
}
