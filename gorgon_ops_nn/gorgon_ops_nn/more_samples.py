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


MORE_SAMPLES = {
    "silu": activation_samples(),
    "hardswish": activation_samples((-3.0, 3.0)),
    "selu": activation_samples(),
    "softsign": activation_samples(),
}
