"""Rounding to integers, elementwise: ceil floor round. Their gradient is zero almost
everywhere and undefined at the steps, so they are declared non-differentiable:
differentiating through them is a clear error (detach the path, or use a smooth
surrogate)."""

import numpy as np

import gorgon as G
from gorgon_ops_core.unary import Unary


class Rounding(Unary):
    """An elementwise rounding op on floats; no gradient."""

    differentiable = False


class Ceil(Rounding):
    """The smallest integer not below x (as a float)."""

    name = "ceil"
    ufunc = np.ceil


class Floor(Rounding):
    """The largest integer not above x (as a float)."""

    name = "floor"
    ufunc = np.floor


class Round(Rounding):
    """`round(x, decimals=0)`: numpy's rounding, halves to even."""

    name = "round"

    @classmethod
    def call(cls, x, decimals=0):
        if not isinstance(decimals, (int, np.integer)) or isinstance(decimals, bool):
            raise G.ArgumentTypeError(f"round: decimals must be an int, got {decimals!r}")
        return G.apply(cls(decimals=int(decimals)), x)

    def forward(self, x, out=None):
        return np.round(x, self.decimals, out=out)


OPS = [Ceil, Floor, Round]
