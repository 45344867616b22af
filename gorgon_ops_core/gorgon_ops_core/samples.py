"""Conformance samples for every op of this plugin (float64; the kit derives float32)."""

import numpy as np

from gorgon import DtypeError, ShapeError
from gorgon.testing import ErrorSample, Sample

rng = np.random.default_rng(0)


def randn(*shape):
    return rng.standard_normal(shape)


def positive(*shape):
    return rng.uniform(0.5, 2.0, shape)


def binary_samples():
    return [
        Sample(randn(3, 4), randn(3, 4), label="same shape"),
        Sample(randn(3, 4), randn(4), label="broadcast row"),
        Sample(randn(2, 1, 3), randn(4, 1), label="broadcast both"),
        Sample(randn(3), 0.5, label="weak scalar"),
        Sample(randn(), randn(2, 2), label="scalar node"),
        ErrorSample(randn(3, 4), randn(5), error=ShapeError, match="cannot be broadcast"),
        ErrorSample(randn(3), randn(3).astype(np.float32), error=DtypeError, match="share one dtype"),
    ]


def positive_binary_samples():
    return [
        Sample(positive(3, 4), positive(3, 4), label="same shape"),
        Sample(positive(3, 4), positive(4), label="broadcast row"),
        Sample(positive(3), 2.0, label="weak scalar"),
        ErrorSample(positive(3, 4), positive(5), error=ShapeError, match="cannot be broadcast"),
        ErrorSample(positive(3), np.ones(3, np.int64), error=DtypeError, match="share one dtype"),
    ]


def separated_binary_samples():
    a = randn(3, 4)
    return [
        Sample(a, a + rng.choice([-1.0, 1.0], a.shape) * rng.uniform(0.1, 1, a.shape), label="no ties"),
        Sample(a, randn(4) + 5.0, label="broadcast"),
        ErrorSample(a, randn(5), error=ShapeError, match="cannot be broadcast"),
    ]


def unary_samples(make=randn):
    def factory():
        return [
            Sample(make(3, 4), label="matrix"),
            Sample(make(5), label="vector"),
            Sample(make(), label="scalar"),
        ]

    return factory


def away_from_zero(*shape):
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.3, 2.0, shape)


def comparison_samples():
    a = randn(3, 4)
    return [
        Sample(a, randn(3, 4)),
        Sample(a, randn(4), label="broadcast"),
        Sample(np.arange(6).reshape(2, 3), np.int64(2), label="integers"),
        ErrorSample(a, randn(5), error=ShapeError, match="cannot be broadcast"),
        ErrorSample(a, a.astype(np.float32), error=DtypeError, match="share one dtype"),
    ]


def where_samples():
    return [
        Sample(randn(3, 4) > 0, randn(3, 4), randn(3, 4), wrt=(1, 2)),
        Sample(randn(3, 1) > 0, randn(4), randn(3, 4), wrt=(1, 2), label="broadcast"),
        ErrorSample(randn(3), randn(3), randn(3), error=DtypeError, match="condition must be boolean"),
        ErrorSample(randn(3) > 0, randn(3), randn(4), error=ShapeError, match="cannot be broadcast"),
    ]


def cast_samples():
    return [
        Sample(randn(3, 4), np.float64, label="same dtype"),
        Sample(np.arange(6).reshape(2, 3), np.float64, label="int to float"),
        Sample(randn(5) > 0, np.float64, label="bool to float"),
    ]


def clip_samples():
    return [
        Sample(randn(3, 4) * 2, -1.0, 1.0),
        Sample(randn(5), 0.0, 0.5),
        ErrorSample(randn(3), np.ones(3, np.int64), error=TypeError, match=""),
    ]


SAMPLES = {
    "add": binary_samples,
    "sub": binary_samples,
    "mul": binary_samples,
    "div": positive_binary_samples,
    "pow": positive_binary_samples,
    "maximum": separated_binary_samples,
    "minimum": separated_binary_samples,
    "eq": comparison_samples, "ne": comparison_samples, "lt": comparison_samples,
    "le": comparison_samples, "gt": comparison_samples, "ge": comparison_samples,
    "where": where_samples,
    "cast": cast_samples,
    "neg": unary_samples(), "abs": unary_samples(away_from_zero), "sign": unary_samples(away_from_zero),
    "exp": unary_samples(), "log": unary_samples(positive), "log1p": unary_samples(positive),
    "expm1": unary_samples(), "sqrt": unary_samples(positive), "square": unary_samples(),
    "reciprocal": unary_samples(positive), "sin": unary_samples(), "cos": unary_samples(),
    "tanh": unary_samples(), "sigmoid": unary_samples(), "softplus": unary_samples(),
    "relu": unary_samples(away_from_zero), "clip": clip_samples,
}
