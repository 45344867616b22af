"""Conformance samples for every op of this plugin (float64; the kit derives float32).
Mode-dependent ops give samples that hold in both modes: dropout with p=0, batch_norm
whose gradient is checked for x, scale and shift (the running statistics are state)."""

import numpy as np

from gorgon import ArgumentTypeError, ArgumentValueError, DtypeError, GorgonError, Graph, ShapeError, constant
from gorgon.testing import ErrorSample, Sample

rng = np.random.default_rng(0)


def randn(*shape):
    return rng.standard_normal(shape)


def away_from_zero(*shape):
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.3, 2.0, shape)


def positive(*shape):
    return rng.uniform(0.5, 2.0, shape)


def probabilities(*shape):
    """Rows (last axis) of positive numbers summing to 1."""
    raw = rng.uniform(0.1, 1.0, shape)
    return raw / raw.sum(axis=-1, keepdims=True)


def softmax_of(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def labels(*shape, classes=3):
    return rng.integers(0, classes, shape)


def activation_samples(**params):
    def factory():
        return [
            Sample(away_from_zero(3, 4), **params, label="matrix"),
            Sample(away_from_zero(5), **params, label="vector"),
            Sample(away_from_zero(), **params, label="scalar"),
            ErrorSample(np.arange(3), **params, error=DtypeError, match="needs float inputs"),
        ]

    return factory


def gelu_samples():
    return activation_samples()() + [
        Sample(randn(3, 4), approximate="tanh", label="tanh"),
        ErrorSample(randn(3), approximate="erf", error=ArgumentValueError, match="approximate must be"),
    ]


def gelu_grad_samples():
    return [
        Sample(randn(3, 4), randn(3, 4)),
        Sample(randn(3, 4), randn(4), label="broadcast gy"),
        ErrorSample(randn(3, 4), randn(5), error=ShapeError, match="cannot be broadcast"),
    ]


def softmax_samples():
    return [
        Sample(randn(3, 4), label="last axis"),
        Sample(randn(2, 3, 4), axis=1, label="middle axis"),
        Sample(randn(5), label="vector"),
        ErrorSample(randn(3, 4), axis=2, error=ShapeError, match="out of range"),
        ErrorSample(randn(), error=ShapeError, match="needs at least one dimension"),
        ErrorSample(np.arange(3), error=DtypeError, match="needs float inputs"),
        ErrorSample(randn(3, 4), axis=1.0, error=ArgumentTypeError, match="axis must be an integer"),
    ]


def softmax_grad_samples(make_y):
    def factory():
        return [
            Sample(make_y(randn(3, 4)), randn(3, 4), label="last axis"),
            Sample(make_y(randn(3, 4), axis=0), randn(3, 4), axis=0, label="axis 0"),
            ErrorSample(make_y(randn(3, 4)), randn(3, 5), error=ShapeError, match="same shape"),
        ]

    return factory


def log_softmax_of(x, axis=-1):
    return np.log(softmax_of(x, axis))


def logsumexp_samples():
    return [
        Sample(randn(3, 4), label="all axes"),
        Sample(randn(3, 4), axis=1, label="axis 1"),
        Sample(randn(2, 3, 4), axis=(0, 2), keepdims=True, label="two axes keepdims"),
        Sample(randn(), label="scalar"),
        Sample(randn(3, 4), 1, False, positive(3, 4), label="weights b (an input)"),
        Sample(randn(2, 3), axis=0, keepdims=True, b=positive(3), label="broadcast weights b"),
        ErrorSample(randn(3, 4), axis=2, error=ShapeError, match="out of range"),
        ErrorSample(randn(3, 4), b=positive(2, 3, 4), error=ShapeError, match="broadcast to the shape"),
        ErrorSample(randn(3, 4), axis=(1, -1), error=ShapeError, match="repeated axis"),
        ErrorSample(randn(), axis=0, error=ShapeError, match="out of range for 0 dimensions"),
        ErrorSample(randn(3, 4), axis=0.5, error=ArgumentTypeError, match="axis must be an integer"),
    ]


def cross_entropy_samples():
    return [
        Sample(randn(4, 3), labels(4), label="labels"),
        Sample(randn(4, 3), probabilities(4, 3), label="probabilities"),
        Sample(randn(2, 3, 5), labels(2, 3, classes=5), reduction="sum", label="3-d labels, sum"),
        Sample(randn(5), np.array(2), label="one example"),
        Sample(randn(4, 3), labels(4), "mean", positive(3), wrt=(0,), label="class weights"),
        Sample(randn(5, 3), np.array([0, 2, -1, 1, -1]), "sum", positive(3), -1, 0.1, wrt=(0,),
               label="weights, ignore_index, smoothing, sum"),
        Sample(randn(4, 3), probabilities(4, 3), "mean", positive(3), None, 0.2, wrt=(0, 1),
               label="probabilities, weights, smoothing"),
        Sample(randn(2, 3, 4), labels(2, 3, classes=4), label_smoothing=0.3, label="3-d, smoothing"),
        Sample(randn(4, 3), labels(4), "none", label="per example"),
        Sample(randn(2, 3), probabilities(2, 3), "none", positive(3), None, 0.1, wrt=(0, 1),
               label="probabilities, weights, smoothing, per example"),
        ErrorSample(randn(4, 3), labels(3), error=ShapeError, match="integer labels must have shape"),
        ErrorSample(randn(4, 3), probabilities(4, 2), error=ShapeError, match="logits' shape"),
        ErrorSample(randn(4, 3), labels(4) > 0, error=DtypeError, match="integer labels or float"),
        ErrorSample(randn(4, 3), labels(4), reduction="avg", error=ValueError, match="reduction must be"),
        ErrorSample(randn(4, 3), labels(4), "mean", positive(2), error=ShapeError, match="class weights"),
        ErrorSample(randn(4, 3), probabilities(4, 3), ignore_index=0, error=ValueError,
                    match="integer labels only"),
    ]


def cross_entropy_grad_samples():
    return [
        Sample(randn(4, 3), labels(4), randn(), label="labels"),
        Sample(randn(4, 3), probabilities(4, 3), randn(), reduction="sum", label="probabilities"),
        ErrorSample(randn(4, 3), labels(4), randn(4), error=ShapeError, match="gy must be a scalar"),
    ]


def pair_loss_samples(make_prediction, make_target):
    def factory():
        return [
            Sample(make_prediction(3, 4), make_target(3, 4), label="mean"),
            Sample(make_prediction(5), make_target(5), reduction="sum", label="sum"),
            ErrorSample(make_prediction(3, 4), make_target(4), error=ShapeError, match="same shape"),
            ErrorSample(make_prediction(3), make_target(3).astype(np.float32), error=DtypeError,
                        match="share one dtype"),
        ]

    return factory


def inside_unit(*shape):
    return rng.uniform(0.1, 0.9, shape)


def dropout_samples():
    return [
        Sample(randn(3, 4), p=0.0, label="p=0"),
        Sample(randn(5), p=0.0, seed=3, label="p=0 seeded"),
        ErrorSample(randn(3), p=1.0, error=ArgumentValueError, match="must lie in"),
        ErrorSample(randn(3), p=-0.1, error=ArgumentValueError, match="must lie in"),
        ErrorSample(randn(3), p=1.5, error=ArgumentValueError, match="must lie in"),
        ErrorSample(randn(3), p="0.5", error=ArgumentTypeError, match="p must be a real number"),
        ErrorSample(randn(3), seed=-1, error=ArgumentValueError, match="seed must not be negative"),
    ]


def dropout_mask_samples():
    return [
        Sample(Graph(), (3, 4), p=0.0, label="p=0"),
        Sample(Graph(), 5, p=0.5, seed=1, label="seeded"),
        ErrorSample(Graph(), (3,), np.int64, error=DtypeError, match="draws floats"),
        ErrorSample(Graph(), (-1,), error=ShapeError, match="negative dimension"),
        ErrorSample(Graph(), (3,), p=1.0, error=ArgumentValueError, match="must lie in"),
        ErrorSample(Graph(), (3,), seed=1.5, error=ArgumentTypeError, match="seed must be an integer"),
    ]


def channel_inputs(*shape):
    channels = shape[1]
    return randn(*shape), positive(channels), randn(channels), randn(channels), positive(channels)


def batch_norm_samples():
    x, scale, shift, mean, var = channel_inputs(4, 3)
    image = channel_inputs(2, 3, 2, 2)
    return [
        Sample(x, scale, shift, mean, var, wrt=(0, 1, 2), label="(N, C)"),
        Sample(*image, momentum=0.2, wrt=(0, 1, 2), label="NCHW"),
        ErrorSample(randn(3), scale, shift, mean, var, error=ShapeError, match=r"\(N, C\)"),
        ErrorSample(x, randn(4), shift, mean, var, error=ShapeError, match=r"shape \(3,\)"),
        ErrorSample(x, scale, shift, mean, var.astype(np.float32), error=DtypeError, match="share one dtype"),
        ErrorSample(x, scale, shift, mean, constant(np.ones(3)), error=GorgonError,
                    match="must be an input node"),
        ErrorSample(x, scale, shift, mean, var, momentum=1.5, error=ArgumentValueError, match="momentum"),
        ErrorSample(x, scale, shift, mean, var, eps="small", error=ArgumentTypeError, match="eps must be a real"),
    ]


def batch_norm_grad_samples():
    x, scale, _, mean, var = channel_inputs(4, 3)
    image, image_scale, _, image_mean, image_var = channel_inputs(2, 3, 2, 2)
    return [
        Sample(x, scale, randn(4, 3), mean, var, wrt=(0, 1, 2), label="(N, C)"),
        Sample(image, image_scale, randn(2, 3, 2, 2), image_mean, image_var, wrt=(0, 1, 2), label="NCHW"),
        ErrorSample(x, scale, randn(3, 4), mean, var, error=ShapeError, match="shape of x"),
    ]


def batch_norm_scale_grad_samples():
    x, _, _, mean, var = channel_inputs(4, 3)
    return [
        Sample(x, randn(4, 3), mean, var, wrt=(0, 1)),
        ErrorSample(x, randn(3, 4), mean, var, error=ShapeError, match="shape of x"),
        ErrorSample(x, randn(4, 3), mean, randn(2), error=ShapeError, match=r"shape \(3,\)"),
    ]


def layer_norm_samples():
    return [
        Sample(randn(3, 4), positive(4), randn(4), label="last axis"),
        Sample(randn(2, 3, 4), positive(3, 4), randn(3, 4), label="two trailing axes"),
        Sample(randn(4), positive(4), randn(4), label="one example"),
        ErrorSample(randn(3, 4), positive(3), randn(3), error=ShapeError, match="trailing axes"),
        ErrorSample(randn(3, 4), positive(4), randn(2, 4), error=ShapeError, match="same shape"),
        ErrorSample(randn(3, 4), positive(4), randn(4), eps=0.0, error=ArgumentValueError, match="eps must be positive"),
    ]


def layer_norm_grad_samples():
    return [
        Sample(randn(3, 4), positive(4), randn(3, 4)),
        Sample(randn(2, 3, 4), positive(3, 4), randn(2, 3, 4), label="two trailing axes"),
        ErrorSample(randn(3, 4), positive(4), randn(4), error=ShapeError, match="shape of x"),
    ]


def layer_norm_scale_grad_samples():
    return [
        Sample(randn(3, 4), randn(3, 4), 1),
        Sample(randn(2, 3, 4), randn(2, 3, 4), 2, label="two trailing axes"),
        ErrorSample(randn(3, 4), randn(3, 4), 3, error=ShapeError, match="scale_ndim"),
    ]


def embedding_samples():
    return [
        Sample(np.array([0, 2, 2, 1]), randn(4, 3), label="repeated indices"),
        Sample(np.array([[0, 1], [3, 3]]), randn(5, 2), label="2-d indices"),
        ErrorSample(randn(3), randn(4, 3), error=DtypeError, match="integer input"),
        ErrorSample(np.array([0, 1]), randn(4), error=ShapeError, match="matrix"),
    ]


def mode_switch_samples():
    return [
        Sample(randn(3, 4), randn(3, 4)),
        Sample(randn(), randn(), label="scalars"),
        ErrorSample(randn(3, 4), randn(4), error=ShapeError, match="same shape"),
        ErrorSample(randn(3), randn(3).astype(np.float32), error=DtypeError, match="share one dtype"),
    ]


SAMPLES = {
    "leaky_relu": activation_samples(alpha=0.2),
    "elu": activation_samples(alpha=0.7),
    "gelu": gelu_samples,
    "gelu_grad": gelu_grad_samples,
    "softmax": softmax_samples,
    "softmax_grad": softmax_grad_samples(softmax_of),
    "log_softmax": softmax_samples,
    "log_softmax_grad": softmax_grad_samples(log_softmax_of),
    "logsumexp": logsumexp_samples,
    "cross_entropy": cross_entropy_samples,
    "cross_entropy_grad": cross_entropy_grad_samples,
    "mse_loss": pair_loss_samples(randn, randn),
    "binary_cross_entropy": pair_loss_samples(inside_unit, inside_unit),
    "binary_cross_entropy_with_logits": pair_loss_samples(randn, inside_unit),
    "dropout": dropout_samples,
    "dropout_mask": dropout_mask_samples,
    "batch_norm": batch_norm_samples,
    "batch_norm_grad": batch_norm_grad_samples,
    "batch_norm_scale_grad": batch_norm_scale_grad_samples,
    "layer_norm": layer_norm_samples,
    "layer_norm_grad": layer_norm_grad_samples,
    "layer_norm_scale_grad": layer_norm_scale_grad_samples,
    "embedding": embedding_samples,
    "mode_switch": mode_switch_samples,
}
