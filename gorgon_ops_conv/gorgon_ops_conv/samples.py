"""Conformance samples for every op of this plugin (float64; the kit derives float32).
Shapes stay tiny: the kit checks gradients by central differences."""

import numpy as np

from gorgon import DtypeError, ShapeError
from gorgon.testing import ErrorSample, Sample

rng = np.random.default_rng(0)


def randn(*shape):
    return rng.standard_normal(shape)


def distinct(*shape):
    """Values with no ties and far apart, so each window's maximum is unique and stays so
    under finite-difference steps."""
    count = int(np.prod(shape))
    return rng.permutation(count).reshape(shape) * 0.25 + randn(*shape) * 0.01


def integers(*shape):
    return np.ones(shape, np.int64)


def im2col_samples():
    return [
        Sample(randn(2, 2, 4, 5), 3, label="3x3"),
        Sample(randn(1, 2, 5, 4), (2, 3), stride=(2, 1), padding=1, dilation=(1, 2),
               label="stride, padding, dilation"),
        Sample(randn(1, 2, 3, 3), 1, label="1x1"),
        Sample(randn(1, 1, 4, 4), 2, padding=((1, 0), (0, 2)), label="asymmetric padding"),
        ErrorSample(randn(1, 1, 3, 3), 4, error=ShapeError, match="larger than the padded input 3x3"),
        ErrorSample(randn(1, 1, 3, 3), 2, stride=0, error=ShapeError, match="stride must be positive"),
        ErrorSample(randn(2, 3, 3), 2, error=ShapeError, match="NCHW"),
        ErrorSample(integers(1, 1, 3, 3), 2, error=DtypeError, match="float32 or float64"),
    ]


def col2im_samples():
    return [
        Sample(randn(2, 18, 6), (4, 5), 3, label="3x3"),
        Sample(randn(1, 12, 6), (5, 4), (2, 3), stride=(2, 1), padding=1, dilation=(1, 2),
               label="stride, padding, dilation"),
        ErrorSample(randn(1, 9, 5), (4, 5), 3, error=ShapeError, match="5 columns.*2x3 = 6"),
        ErrorSample(randn(1, 10, 6), (4, 5), 3, error=ShapeError, match="10 rows"),
        ErrorSample(randn(9, 6), (4, 5), 3, error=ShapeError, match="3 dimensions"),
    ]


def conv2d_samples():
    return [
        Sample(randn(1, 2, 5, 4), randn(3, 2, 3, 3), label="plain"),
        Sample(randn(2, 2, 5, 6), randn(2, 2, 2, 3), stride=(2, 1), padding=(1, 2),
               dilation=(2, 1), label="stride, padding, dilation"),
        Sample(randn(1, 4, 4, 4), randn(4, 2, 3, 3), padding=1, groups=2, label="groups"),
        Sample(randn(1, 2, 4, 5), randn(2, 2, 2, 2), padding="same", label="same, even kernel"),
        Sample(randn(2, 3, 3, 3), randn(2, 3, 1, 1), label="1x1"),
        Sample(randn(1, 1, 7, 7), randn(1, 1, 2, 2), stride=3, label="stride above kernel"),
        ErrorSample(randn(1, 3, 5, 5), randn(2, 2, 3, 3), error=ShapeError,
                    match="2 input channels per group, but x has 3"),
        ErrorSample(randn(1, 3, 5, 5), randn(2, 1, 3, 3), groups=2, error=ShapeError,
                    match=r"input channels \(3\) are not divisible by groups \(2\)"),
        ErrorSample(randn(1, 1, 3, 3), randn(1, 1, 5, 5), padding=0, error=ShapeError,
                    match="kernel 5x5 is larger than the padded input 3x3"),
        ErrorSample(randn(1, 1, 5, 5), randn(1, 1, 3, 3), stride=2, padding="same",
                    error=ShapeError, match="needs stride 1"),
        ErrorSample(randn(1, 1, 5, 5), randn(1, 1, 3, 3), padding="full", error=ValueError,
                    match="'same' or 'valid'"),
        ErrorSample(randn(1, 1, 5, 5), randn(1, 1, 3, 3).astype(np.float32), error=DtypeError,
                    match="share one dtype"),
        ErrorSample(randn(1, 1, 5, 5), randn(1, 1, 3, 3), dilation=0, error=ShapeError,
                    match="dilation must be positive"),
    ]


def conv2d_grad_weight_samples():
    return [
        Sample(randn(1, 2, 4, 5), randn(1, 3, 2, 3), 3, label="3x3"),
        Sample(randn(2, 4, 5, 4), randn(2, 2, 3, 1), (2, 3), stride=2, padding=1, dilation=(1, 2),
               groups=2, label="stride, padding, dilation, groups"),
        ErrorSample(randn(1, 2, 4, 5), randn(1, 3, 3, 3), 3, error=ShapeError,
                    match="gradient is 3x3, but the window over 4x5 makes 2x3"),
        ErrorSample(randn(2, 2, 4, 5), randn(1, 3, 2, 3), 3, error=ShapeError,
                    match=r"batch sizes differ \(2 vs 1\)"),
    ]


def conv_transpose2d_samples():
    return [
        Sample(randn(1, 2, 3, 3), randn(2, 3, 3, 3), label="plain"),
        Sample(randn(1, 2, 3, 2), randn(2, 1, 3, 2), stride=2, padding=1, output_padding=1,
               label="stride, padding, output_padding"),
        Sample(randn(2, 4, 2, 3), randn(4, 1, 2, 2), stride=(1, 2), dilation=(2, 1), groups=2,
               label="dilation, groups"),
        ErrorSample(randn(1, 2, 3, 3), randn(3, 3, 3, 3), error=ShapeError,
                    match="weights are for 3 input channels, x has 2"),
        ErrorSample(randn(1, 2, 3, 3), randn(2, 3, 3, 3), stride=2, output_padding=2,
                    error=ShapeError, match="below the stride"),
        ErrorSample(randn(1, 2, 1, 1), randn(2, 3, 1, 1), padding=1, error=ShapeError,
                    match="output would be -1x-1"),
    ]


def max_pool2d_samples():
    return [
        Sample(distinct(1, 2, 4, 4), 2, label="2x2"),
        Sample(distinct(1, 2, 5, 5), 3, stride=2, padding=1, label="overlapping, padded"),
        Sample(distinct(2, 1, 5, 6), (2, 3), stride=(1, 2), dilation=(2, 1), label="dilated"),
        Sample(distinct(1, 2, 5, 4), 2, padding=(1, 0, 0, 1), label="four-sided padding"),
        Sample(distinct(1, 1, 4, 5), 3, stride=1, padding=(0, 2, 1, 0), label="four sides, overlapping"),
        ErrorSample(randn(1, 1, 3, 3), 4, error=ShapeError, match="larger than the padded input"),
        ErrorSample(randn(1, 1, 3, 3), 2, padding=2, error=ShapeError, match="hold no input pixel"),
        ErrorSample(randn(1, 1, 3, 3), 0, error=ShapeError, match="kernel_size must be positive"),
    ]


def max_pool2d_grad_samples():
    return [
        Sample(distinct(1, 2, 4, 4), randn(1, 2, 2, 2), 2, wrt=(1,), label="2x2"),
        Sample(np.maximum(randn(2, 2, 4, 6), 0.0), randn(2, 2, 2, 3), 2, wrt=(1,),
               label="2x2 tiling, ties at zero"),
        Sample(distinct(1, 2, 5, 5), randn(1, 2, 2, 2), 2, wrt=(1,), label="2x2, odd size"),
        Sample(distinct(1, 1, 5, 5), randn(1, 1, 3, 3), 3, stride=2, padding=1, wrt=(1,),
               label="overlapping, padded"),
        ErrorSample(randn(1, 2, 4, 4), randn(1, 2, 3, 3), 2, error=ShapeError,
                    match=r"must have shape \(1, 2, 2, 2\)"),
    ]


def max_pool2d_select_samples():
    return [
        Sample(distinct(1, 2, 4, 4), randn(1, 2, 4, 4), 2, wrt=(1,), label="2x2"),
        Sample(distinct(1, 1, 5, 5), randn(1, 1, 5, 5), 3, stride=2, padding=1, wrt=(1,),
               label="overlapping, padded"),
        ErrorSample(randn(1, 2, 4, 4), randn(1, 2, 2, 2), 2, error=ShapeError,
                    match=r"must have shape \(1, 2, 4, 4\)"),
    ]


def avg_pool2d_samples():
    return [
        Sample(randn(1, 2, 4, 4), 2, label="2x2"),
        Sample(randn(1, 2, 5, 5), 3, stride=2, padding=1, label="padding counted"),
        Sample(randn(1, 1, 5, 4), (3, 2), stride=(2, 1), padding=1, count_include_pad=False,
               label="padding not counted"),
        Sample(randn(1, 1, 5, 5), 2, stride=1, dilation=2, label="dilated"),
        Sample(randn(1, 2, 5, 4), 2, padding=(1, 0, 0, 1), label="four-sided padding"),
        Sample(randn(1, 1, 4, 5), 3, stride=1, padding=(0, 2, 1, 0), count_include_pad=False,
               label="four sides, not counted"),
        ErrorSample(randn(1, 1, 3, 3), 4, error=ShapeError, match="larger than the padded input"),
        ErrorSample(randn(1, 1, 3, 3), 2, padding=-1, error=ShapeError, match="must not be negative"),
    ]


def avg_pool2d_grad_samples():
    return [
        Sample(randn(1, 2, 2, 2), (4, 4), 2, label="2x2"),
        Sample(randn(1, 1, 3, 5), (5, 4), (3, 2), stride=(2, 1), padding=1, count_include_pad=False,
               label="padding not counted"),
        ErrorSample(randn(1, 2, 3, 3), (4, 4), 2, error=ShapeError,
                    match=r"must have shape \(1, 2, 2, 2\)"),
    ]


def global_avg_pool2d_samples():
    return [
        Sample(randn(2, 3, 4, 5)),
        Sample(randn(1, 1, 1, 1), label="one pixel"),
        ErrorSample(randn(3, 4, 5), error=ShapeError, match="NCHW"),
    ]


def upsample2d_samples():
    return [
        Sample(randn(1, 2, 2, 3), 2, label="2x"),
        Sample(randn(2, 1, 3, 2), (1, 3), label="width only"),
        ErrorSample(randn(1, 1, 2, 2), 0, error=ShapeError, match="scale must be positive"),
        ErrorSample(randn(1, 2, 2), 2, error=ShapeError, match="NCHW"),
    ]


SAMPLES = {
    "im2col": im2col_samples,
    "col2im": col2im_samples,
    "conv2d": conv2d_samples,
    "conv2d_grad_weight": conv2d_grad_weight_samples,
    "conv_transpose2d": conv_transpose2d_samples,
    "max_pool2d": max_pool2d_samples,
    "max_pool2d_grad": max_pool2d_grad_samples,
    "max_pool2d_select": max_pool2d_select_samples,
    "avg_pool2d": avg_pool2d_samples,
    "avg_pool2d_grad": avg_pool2d_grad_samples,
    "global_avg_pool2d": global_avg_pool2d_samples,
    "upsample2d": upsample2d_samples,
}
