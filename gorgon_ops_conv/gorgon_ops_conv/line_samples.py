"""Conformance samples for the 1-D ops, conv1d, max_pool1d and avg_pool1d (float64; the
kit derives float32)."""

import numpy as np

from gorgon import DtypeError, ShapeError
from gorgon.testing import ErrorSample, Sample
from gorgon_ops_conv.samples import distinct, randn


def conv1d_samples():
    return [
        Sample(randn(2, 2, 7), randn(3, 2, 3), label="plain"),
        Sample(randn(1, 2, 9), randn(2, 2, 2), stride=2, padding=(1, 2), dilation=2,
               label="stride, asymmetric padding, dilation"),
        Sample(randn(1, 4, 6), randn(4, 2, 3), padding=1, groups=2, label="groups"),
        Sample(randn(1, 2, 5), randn(2, 2, 4), padding="same", label="same, even kernel"),
        Sample(randn(1, 2, 5), randn(2, 2, 3), padding="valid", label="valid"),
        ErrorSample(randn(1, 3, 5), randn(2, 2, 3), error=ShapeError,
                    match="2 input channels per group, but x has 3"),
        ErrorSample(randn(1, 1, 3), randn(1, 1, 5), error=ShapeError, match="larger than the padded input"),
        ErrorSample(randn(1, 1, 5, 5), randn(1, 1, 3), error=ShapeError, match=r"\(N, C, L\)"),
        ErrorSample(randn(1, 1, 5), randn(1, 1, 3), stride=2, padding="same", error=ShapeError,
                    match="needs stride 1"),
        ErrorSample(randn(1, 1, 5), randn(1, 1, 3), padding="full", error=ValueError,
                    match="'same' or 'valid'"),
        ErrorSample(randn(1, 1, 5), randn(1, 1, 3).astype(np.float32), error=DtypeError,
                    match="share one dtype"),
    ]


def max_pool1d_samples():
    return [
        Sample(distinct(2, 2, 6), 2, label="2"),
        Sample(distinct(1, 2, 7), 3, stride=2, padding=1, label="overlapping, padded"),
        Sample(distinct(1, 1, 8), 2, stride=1, padding=(0, 1), dilation=3, label="dilated, asymmetric"),
        ErrorSample(randn(1, 1, 3), 4, error=ShapeError, match="larger than the padded input"),
        ErrorSample(randn(1, 1, 3), 2, padding=2, error=ShapeError, match="hold no input pixel"),
        ErrorSample(randn(1, 3), 2, error=ShapeError, match=r"\(N, C, L\)"),
    ]


def avg_pool1d_samples():
    return [
        Sample(randn(2, 2, 6), 2, label="2"),
        Sample(randn(1, 2, 7), 3, stride=2, padding=1, label="padding counted"),
        Sample(randn(1, 1, 6), 3, stride=2, padding=(2, 1), count_include_pad=False,
               label="asymmetric padding not counted"),
        ErrorSample(randn(1, 1, 3), 2, padding=-1, error=ShapeError, match="must not be negative"),
        ErrorSample(np.ones((1, 1, 4), np.int64), 2, error=DtypeError, match="float32 or float64"),
    ]


LINE_SAMPLES = {
    "conv1d": conv1d_samples,
    "max_pool1d": max_pool1d_samples,
    "avg_pool1d": avg_pool1d_samples,
}
