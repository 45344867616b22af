"""The inputs the conformance kit checks each op on (float64; it derives float32)."""

from __future__ import annotations

import numpy as np

from gorgon import DtypeError, ShapeError
from gorgon.testing import ErrorSample, Sample

AnySample = Sample | ErrorSample


def swish_samples() -> list[AnySample]:
    rng = np.random.default_rng(0)
    return [
        Sample(rng.standard_normal((3, 4)), label="matrix"),
        Sample(rng.standard_normal(5), beta=2.5, label="vector, beta=2.5"),
        Sample(np.array(-0.7), label="scalar"),
        ErrorSample(np.arange(3), error=DtypeError, match="needs float inputs"),
    ]


def bent_identity_samples() -> list[AnySample]:
    rng = np.random.default_rng(1)
    return [
        Sample(rng.standard_normal((3, 4)), label="matrix"),
        Sample(np.array([-30.0, -1.5, 0.5, 30.0]), label="far from zero"),
        ErrorSample(np.arange(3), error=DtypeError, match="needs float inputs"),
    ]


def polynomial_samples() -> list[AnySample]:
    rng = np.random.default_rng(2)
    x = rng.uniform(-2.0, 2.0, (3, 4))
    return [
        Sample(x, coefficients=(1.0, -2.0, 0.5), label="quadratic"),
        Sample(x[0], coefficients=(0.0, 1.0, 0.0, -0.25), label="cubic"),
        Sample(x, coefficients=(3.0,), label="constant"),
        ErrorSample(x, coefficients=(), error=ValueError, match="at least one coefficient"),
        ErrorSample(np.arange(3), coefficients=(1.0,), error=DtypeError, match="needs float"),
    ]


SAMPLES = {
    "swish": swish_samples,
    "bent_identity": bent_identity_samples,
    "polynomial": polynomial_samples,
}


def weighted_mean_samples() -> list[AnySample]:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 4))
    return [
        Sample(x, rng.uniform(0.5, 2.0, 4), axis=1, label="a weight per column, axis=1"),
        Sample(x, rng.uniform(0.5, 2.0, (3, 1)), axis=0, keepdims=True, label="per row, keepdims"),
        Sample(x[0], rng.uniform(0.5, 2.0, 4), label="every axis: a 0-d result"),
        Sample(x, rng.uniform(0.5, 2.0, (3, 4)), axis=(0, 1), wrt=(0,),
               label="weights as data: the gradient of x only"),
        ErrorSample(x, np.ones(3), error=ShapeError, match="cannot be broadcast"),
        ErrorSample(x, np.ones((2, 3, 4)), error=ShapeError,
                    match="must broadcast to the shape of x"),
        ErrorSample(x, np.ones(4), axis=2, error=ShapeError, match="out of range"),
        ErrorSample(np.arange(4), np.arange(4), error=DtypeError, match="needs float inputs"),
    ]


SAMPLES["weighted_mean"] = weighted_mean_samples
