"""Logarithms and powers in bases 2 and 10: log2 log10 exp2."""

import math

import numpy as np

from gorgon_ops_core.unary import Unary


class Log2(Unary):
    """Base-2 logarithm."""

    name = "log2"
    ufunc = np.log2

    def vjp(self, inputs, output, gy):
        return (gy / (inputs[0] * math.log(2.0)),)


class Log10(Unary):
    """Base-10 logarithm."""

    name = "log10"
    ufunc = np.log10

    def vjp(self, inputs, output, gy):
        return (gy / (inputs[0] * math.log(10.0)),)


class Exp2(Unary):
    """`2 ** x`."""

    name = "exp2"
    ufunc = np.exp2

    def vjp(self, inputs, output, gy):
        return (gy * output * math.log(2.0),)


OPS = [Log2, Log10, Exp2]
