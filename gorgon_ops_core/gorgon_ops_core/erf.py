"""`erf(x)`, the error function (what ONNX's Erf computes), with its samples."""

import math

import numpy as np
from scipy import special

import gorgon as G
from gorgon import DtypeError
from gorgon.testing import ErrorSample, Sample
from gorgon_ops_core.unary import Unary

TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


class Erf(Unary):
    """`erf(x) = 2/sqrt(pi) * integral of exp(-t^2) from 0 to x`; its gradient is
    2/sqrt(pi) * exp(-x^2)."""

    name = "erf"
    ufunc = special.erf

    def vjp(self, inputs, output, gy):
        x = inputs[0]
        return (gy * (G.exp(-(x * x)) * TWO_OVER_SQRT_PI),)


OPS = [Erf]


def erf_samples():
    rng = np.random.default_rng(7)
    return [
        Sample(rng.standard_normal((3, 4)), label="matrix"),
        Sample(rng.uniform(-3.0, 3.0, 6), label="wide vector"),
        Sample(np.float64(0.3), label="scalar"),
        ErrorSample(np.arange(3), error=DtypeError, match="erf"),
    ]


SAMPLES = {"erf": erf_samples}
