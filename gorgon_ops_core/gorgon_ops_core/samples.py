"""Conformance samples for every op of this plugin (float64; the kit derives float32)."""

import numpy as np

from gorgon import ArgumentTypeError, ArgumentValueError, DtypeError, ShapeError
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
        ErrorSample(np.arange(3), -1.0, 1.0, error=DtypeError, match="needs float inputs"),
        ErrorSample(randn(3), 1.0, -1.0, error=ArgumentValueError, match="low 1.0 is above high -1.0"),
        ErrorSample(randn(3), None, 1.0, error=ArgumentTypeError, match="low must be a real number"),
    ]


def reduction_samples(make=randn):
    def factory():
        return [
            Sample(make(3, 4), label="all axes"),
            Sample(make(3, 4), axis=0, label="axis 0"),
            Sample(make(2, 3, 4), axis=(0, 2), keepdims=True, label="two axes keepdims"),
            Sample(make(2, 3), axis=-1, label="negative axis"),
            Sample(make(), label="scalar"),
            ErrorSample(make(3, 4), axis=2, error=ShapeError, match="out of range"),
            ErrorSample(make(3, 4), axis=(0, 0), error=ShapeError, match="repeated axis"),
            ErrorSample(make(), axis=0, error=ShapeError, match="axis 0 is out of range for 0 dimensions"),
            ErrorSample(make(3, 4), axis=1.5, error=ArgumentTypeError, match="axis must be an integer"),
        ]

    return factory


def distinct(*shape):
    """Values with no ties, so max/min have a unique winner."""
    return rng.permutation(int(np.prod(shape, dtype=np.int64))).reshape(shape) * 0.25 + randn(*shape) * 0.01


def arg_samples():
    return [
        Sample(distinct(3, 4), label="flat"),
        Sample(distinct(3, 4), axis=1),
        Sample(distinct(2, 3, 4), axis=0, keepdims=True),
        ErrorSample(distinct(3, 4), axis=3, error=ShapeError, match="out of range"),
        ErrorSample(distinct(3, 4), axis=1.0, error=ArgumentTypeError, match="axis must be an integer"),
        ErrorSample(np.zeros((0, 2)), error=ShapeError, match="empty"),
    ]


def matmul_samples():
    return [
        Sample(randn(3, 4), randn(4, 5), label="mat@mat"),
        Sample(randn(3, 4), randn(4), label="mat@vec"),
        Sample(randn(4), randn(4, 5), label="vec@mat"),
        Sample(randn(4), randn(4), label="vec@vec"),
        Sample(randn(2, 3, 4), randn(4, 5), label="batched@mat"),
        Sample(randn(2, 1, 3, 4), randn(3, 4, 2), label="broadcast batch"),
        Sample(randn(4), randn(2, 4, 3), label="vec@batched"),
        Sample(randn(2, 3, 4), randn(4), label="batched@vec"),
        Sample(randn(4, 3), randn(4, 5), transpose_a=True, label="a transposed"),
        Sample(randn(3, 4), randn(5, 4), transpose_b=True, label="b transposed"),
        Sample(randn(4, 3), randn(5, 4), transpose_a=True, transpose_b=True, label="both transposed"),
        Sample(randn(2, 4, 3), randn(5, 4), transpose_a=True, transpose_b=True, label="batched, both transposed"),
        ErrorSample(randn(4), randn(4, 5), transpose_a=True, error=ShapeError, match="can be transposed"),
        ErrorSample(randn(3, 4), randn(5, 2), error=ShapeError, match="inner dimensions differ"),
        ErrorSample(randn(3, 4), randn(4, 2).astype(np.float32), error=DtypeError, match="share one dtype"),
        ErrorSample(randn(3), np.float64(2.0), error=ShapeError, match="at least one dimension"),
        ErrorSample(randn(2, 3, 4), randn(3, 4, 2), error=ShapeError, match="batch dimensions"),
    ]


def outer_samples():
    return [
        Sample(randn(3), randn(4)),
        ErrorSample(randn(3, 1), randn(4), error=ShapeError, match="two vectors"),
    ]


def reshape_samples():
    return [
        Sample(randn(3, 4), (2, 6)),
        Sample(randn(3, 4), (-1,), label="-1"),
        Sample(randn(2, 3, 4), (4, -1, 2), label="-1 middle"),
        Sample(randn(6), 6, label="int shape"),
        ErrorSample(randn(3, 4), (5, 2), error=ShapeError, match="cannot reshape"),
        ErrorSample(randn(3, 4), (-1, -1), error=ShapeError, match="invalid target shape"),
        ErrorSample(randn(3, 4), (-1, 5), error=ShapeError, match="cannot infer"),
        ErrorSample(randn(3, 4), (3, 4.0), error=ArgumentTypeError, match="shape must be an integer"),
    ]


def flatten_samples():
    return [
        Sample(randn(2, 3, 4), label="all"),
        Sample(randn(2, 3, 4), 1, label="from axis 1"),
        ErrorSample(randn(2, 3), 3, error=ShapeError, match="out of range"),
        ErrorSample(randn(2, 3), 1.5, error=ArgumentTypeError, match="start_axis must be an integer"),
    ]


def transpose_samples():
    return [
        Sample(randn(3, 4), label="reverse"),
        Sample(randn(2, 3, 4), (1, 2, 0), label="permutation"),
        Sample(randn(2, 3, 4), (-1, 0, 1), label="negative axes"),
        ErrorSample(randn(2, 3), (0, 0), error=ShapeError, match="not a permutation"),
        ErrorSample(randn(2, 3), (2, 1), error=ShapeError, match=r"axes=\(2, 1\) are not a permutation"),
    ]


def squeeze_samples():
    return [
        Sample(randn(1, 3, 1), label="all"),
        Sample(randn(1, 3, 1), axis=2),
        ErrorSample(randn(2, 3), axis=0, error=ShapeError, match="not 1"),
        ErrorSample(randn(), axis=0, error=ShapeError, match="axis 0 is out of range for 0 dimensions"),
    ]


def expand_dims_samples():
    return [
        Sample(randn(3, 4), 0),
        Sample(randn(3, 4), -1, label="last"),
        Sample(randn(3), 1),
        ErrorSample(randn(3), 3, error=ShapeError, match="out of range"),
        ErrorSample(randn(3), 0.5, error=ArgumentTypeError, match="axis must be an integer"),
    ]


def broadcast_to_samples():
    return [
        Sample(randn(4), (3, 4)),
        Sample(randn(3, 1), (2, 3, 5), label="expand"),
        ErrorSample(randn(3), (4,), error=ShapeError, match="cannot broadcast"),
        ErrorSample(randn(1, 1), (2 ** 32, 2 ** 32), error=ShapeError, match="more than a 64-bit size"),
    ]


def concat_samples():
    return [
        Sample([randn(2, 3), randn(4, 3)], label="axis 0"),
        Sample([randn(2, 3), randn(2, 1), randn(2, 2)], axis=1, label="three on axis 1"),
        Sample([randn(2, 3), randn(2, 3)], axis=-1, label="negative axis"),
        ErrorSample([randn(2, 3), randn(2, 4)], error=ShapeError, match="shapes differ"),
        ErrorSample([randn(2, 3), randn(3)], error=ShapeError, match="same number of dimensions"),
        ErrorSample([randn(2, 3), randn(2, 3)], axis=2, error=ShapeError, match="out of range"),
        ErrorSample([randn(), randn()], error=ShapeError, match="out of range for 0 dimensions"),
    ]


def stack_samples():
    return [
        Sample([randn(2, 3), randn(2, 3)], label="axis 0"),
        Sample([randn(2, 3), randn(2, 3), randn(2, 3)], axis=2, label="last axis"),
        ErrorSample([randn(2, 3), randn(3, 2)], error=ShapeError, match="same shape"),
        ErrorSample([randn(2, 3), randn(2, 3).astype(np.float32)], error=DtypeError, match="share one dtype"),
        ErrorSample([randn(2), randn(2)], axis=-3, error=ShapeError, match="out of range"),
    ]


def getitem_samples():
    return [
        Sample(randn(4, 5), (1, slice(1, 4)), label="int and slice"),
        Sample(randn(4, 5), (slice(None, None, 2), None, -1), label="step, newaxis, negative"),
        Sample(randn(2, 3, 4), (Ellipsis, 0), label="ellipsis"),
        Sample(randn(5), 3, label="scalar result"),
        Sample(randn(4, 5, 6), ([0, 3, 3], slice(None), [1, 1, 5]), label="arrays around a slice"),
        Sample(randn(4, 5, 6), (2, slice(1, None), [0, 4, 4]), label="int, slice, repeated array"),
        Sample(randn(3, 4), (rng.standard_normal((3, 4)) > 0,), label="constant mask"),
        Sample(randn(3, 4), (slice(None, None, -1), np.array([[0], [3]])), label="reversed, 2-d array"),
        ErrorSample(randn(4, 5), (9,), error=ShapeError, match="out of bounds"),
        ErrorSample(randn(4, 5), (0, [5]), error=ShapeError, match="out of bounds"),
        ErrorSample(randn(4, 5), (0, 0, 0), error=ShapeError, match="too many indices"),
        ErrorSample(randn(4, 5), (slice(None, None, 0),), error=ArgumentValueError, match="step cannot be zero"),
        ErrorSample(randn(4, 5), (1.0,), error=ArgumentTypeError, match="unsupported index"),
    ]


def getitem_grad_samples():
    return [
        Sample(randn(3), (4, 5), (1, slice(1, 4))),
        Sample(randn(), (5,), 3, label="scalar"),
        Sample(randn(3, 5), (4, 5), ([0, 2, 0], slice(None)), label="repeated rows add up"),
        ErrorSample(randn(2), (4, 5), (1, slice(1, 4)), error=ShapeError, match="expects a gradient"),
    ]


def getitem_add_samples():
    return [
        Sample(randn(4, 5), randn(3), (1, slice(1, 4)), label="row slice"),
        Sample(randn(4, 5), randn(4, 2), (slice(None), slice(3, None)), label="columns"),
        Sample(randn(5), randn(), 3, label="one element"),
        Sample(randn(4, 5), randn(3, 2), ([1, 1, 3], slice(3, None)), label="repeated rows add up"),
        ErrorSample(randn(4, 5), randn(2), (1, slice(1, 4)), error=ShapeError, match="expects g of shape"),
        ErrorSample(randn(4, 5), randn(3).astype(np.float32), (1, slice(1, 4)), error=DtypeError,
                    match="share one dtype"),
    ]


def take_samples():
    return [
        Sample(randn(5, 3), np.array([0, 4, 4, 1]), label="repeated rows"),
        Sample(randn(2, 5), np.array([[1, 2], [3, 3]]), axis=1, label="2-d indices on axis 1"),
        ErrorSample(randn(5, 3), np.array([0.5]), error=DtypeError, match="integer input"),
        ErrorSample(randn(5, 3), np.array([0]), axis=2, error=ShapeError, match="out of range"),
    ]


def take_grad_samples():
    return [
        Sample(randn(4, 3), np.array([0, 4, 4, 1]), (5, 3), label="repeated rows"),
        Sample(randn(2, 2, 2), np.array([[1, 2], [3, 3]]), (2, 5), axis=1, label="axis 1"),
        ErrorSample(randn(4, 2), np.array([0, 4, 4, 1]), (5, 3), error=ShapeError, match="expects a gradient"),
    ]


def random_samples(bad, match, **params):
    """Samples of a random op with `params`; `bad` are parameters out of range (`match`)."""

    def factory():
        from gorgon import Graph

        return [
            Sample(Graph(), (3, 4), seed=1, **params, label="seeded"),
            Sample(Graph(), 5, **params, label="int shape"),
            ErrorSample(Graph(), (3,), dtype=np.int64, **params, error=DtypeError, match="draws floats"),
            ErrorSample(Graph(), (-1,), **params, error=ShapeError, match="negative dimension"),
            ErrorSample(Graph(), (2 ** 40, 2 ** 40), **params, error=ShapeError, match="more than a 64-bit"),
            ErrorSample(Graph(), (3,), seed="one", **params, error=ArgumentTypeError, match="seed must be an integer"),
            ErrorSample(Graph(), (3,), seed=-2, **params, error=ArgumentValueError, match="seed must not be negative"),
            ErrorSample(Graph(), (3,), **bad, error=ArgumentValueError, match=match),
        ]

    return factory


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
    "sum": reduction_samples(), "mean": reduction_samples(), "prod": reduction_samples(away_from_zero),
    "max": reduction_samples(distinct), "min": reduction_samples(distinct),
    "argmax": arg_samples, "argmin": arg_samples,
    "matmul": matmul_samples, "outer": outer_samples,
    "reshape": reshape_samples, "flatten": flatten_samples, "transpose": transpose_samples,
    "squeeze": squeeze_samples, "expand_dims": expand_dims_samples,
    "broadcast_to": broadcast_to_samples, "concat": concat_samples, "stack": stack_samples,
    "getitem": getitem_samples, "getitem_grad": getitem_grad_samples, "getitem_add": getitem_add_samples,
    "take": take_samples, "take_grad": take_grad_samples,
    "uniform": random_samples({"low": 2.0, "high": 2.0}, "must be below high", low=-1.0, high=2.0),
    "gaussian": random_samples({"std": -1.0}, "must not be negative", mean=1.0, std=2.0),
    "binomial": random_samples({"prob": 1.5}, "needs 0 <= prob <= 1", prob=0.3),
}
