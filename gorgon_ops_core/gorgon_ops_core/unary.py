"""Elementwise math on one input: neg abs sign exp log log1p expm1 sqrt square
reciprocal sin cos tanh sigmoid softplus relu clip."""

import numpy as np
from scipy import special

import gorgon as G
from gorgon import UfuncOp
from gorgon.infer import elementwise, inputs_of, nodes_in, real


FAST_SIGMOID_SIZE = 1024
"""From this many float32 elements sigmoid's four passes beat one expit call."""
ONE32 = np.float32(1.0)


class Unary(UfuncOp):
    """An elementwise op on one input; `floats_only` ops reject integer inputs."""

    inplace = 0
    floats_only = True

    def infer(self, x):
        return elementwise(self, x, floats_only=self.floats_only)


class Neg(Unary):
    """`-x`."""

    name = "neg"
    ufunc = np.negative
    floats_only = False

    def vjp(self, inputs, output, gy):
        return (-gy,)


class Abs(Unary):
    """`|x|`; the gradient at 0 is 0."""

    name = "abs"
    ufunc = np.abs
    floats_only = False

    def vjp(self, inputs, output, gy):
        return (gy * G.sign(inputs[0]),)


class Sign(Unary):
    """-1, 0 or 1 by the sign of x; its gradient is zero."""

    name = "sign"
    ufunc = np.sign
    floats_only = False

    def vjp(self, inputs, output, gy):
        return (gy * 0.0,)


class Exp(Unary):
    """`e ** x`."""

    name = "exp"
    ufunc = np.exp

    def vjp(self, inputs, output, gy):
        return (gy * output,)


class Log(Unary):
    """Natural logarithm."""

    name = "log"
    ufunc = np.log

    def vjp(self, inputs, output, gy):
        return (gy / inputs[0],)


class Log1p(Unary):
    """`log(1 + x)`, accurate for small x."""

    name = "log1p"
    ufunc = np.log1p

    def vjp(self, inputs, output, gy):
        return (gy / (inputs[0] + 1.0),)


class Expm1(Unary):
    """`exp(x) - 1`, accurate for small x."""

    name = "expm1"
    ufunc = np.expm1

    def vjp(self, inputs, output, gy):
        return (gy * (output + 1.0),)


class Sqrt(Unary):
    """Square root."""

    name = "sqrt"
    ufunc = np.sqrt

    def vjp(self, inputs, output, gy):
        return (gy * 0.5 / output,)


class Square(Unary):
    """`x * x`."""

    name = "square"
    ufunc = np.square
    floats_only = False

    def vjp(self, inputs, output, gy):
        return (gy * inputs[0] * 2.0,)


class Reciprocal(Unary):
    """`1 / x`."""

    name = "reciprocal"
    ufunc = np.reciprocal

    def vjp(self, inputs, output, gy):
        return (-gy * G.square(output),)


class Sin(Unary):
    """Sine."""

    name = "sin"
    ufunc = np.sin

    def vjp(self, inputs, output, gy):
        return (gy * G.cos(inputs[0]),)


class Cos(Unary):
    """Cosine."""

    name = "cos"
    ufunc = np.cos

    def vjp(self, inputs, output, gy):
        return (-gy * G.sin(inputs[0]),)


class Tanh(Unary):
    """Hyperbolic tangent."""

    name = "tanh"
    ufunc = np.tanh

    def vjp(self, inputs, output, gy):
        return (gy * (1.0 - G.square(output)),)


class Sigmoid(Unary):
    """Logistic function `1 / (1 + exp(-x))`, without overflow. Large float32 arrays take
    four ufunc passes (numpy's float32 exp is vectorised, scipy's expit ~2.5x slower):
    within 3e-7 relative of expit wherever the result is a normal float; below x = -88.72
    exp(-x) is inf and the result 0 (expit's there are subnormals, at most 3e-39), with
    numpy's overflow and underflow reports off. float64 and small arrays take expit."""

    name = "sigmoid"

    def forward(self, x, out=None):
        if x.dtype != np.float32 or x.size < FAST_SIGMOID_SIZE:
            return special.expit(x, out=out)
        with np.errstate(over="ignore", under="ignore"):
            result = np.exp(np.negative(x, out=out), out=out)
            np.add(result, ONE32, out=result)
            return np.reciprocal(result, out=result)

    def vjp(self, inputs, output, gy):
        return (gy * output * (1.0 - output),)


class Softplus(Unary):
    """`log(1 + exp(x))`, without overflow."""

    name = "softplus"

    def forward(self, x, out=None):
        return np.logaddexp(0.0, x, out=out, dtype=x.dtype)

    def vjp(self, inputs, output, gy):
        return (gy * G.sigmoid(inputs[0]),)


class Relu(Unary):
    """`max(x, 0)`; the gradient at 0 is 0. The gradient multiplies by the mask x > 0 (a
    tenth of the time of a masked copy), so a non-finite incoming gradient stays
    non-finite where x <= 0 instead of becoming 0."""

    name = "relu"
    floats_only = False

    def forward(self, x, out=None):
        return np.maximum(x, 0, out=out, dtype=x.dtype)

    def vjp(self, inputs, output, gy):
        x = inputs[0]
        return (gy * G.cast(G.gt(x, 0.0), x.dtype),)


class Clip(Unary):
    """`clip(x, low, high)`: x limited to [low, high]; the gradient flows where x is inside."""

    name = "clip"

    @classmethod
    def call(cls, x, low, high):
        low, high = real(cls.name, "low", low, *nodes_in(x)), real(cls.name, "high", high, *nodes_in(x))
        if low > high:
            raise G.ArgumentValueError(f"clip: low {low} is above high {high}{inputs_of([x])}")
        return G.apply(cls(low=low, high=high), x)

    def forward(self, x, out=None):
        return np.clip(x, self.low, self.high, out=out)

    def vjp(self, inputs, output, gy):
        return (G.where(G.eq(inputs[0], output), gy, 0.0),)


OPS = [Neg, Abs, Sign, Exp, Log, Log1p, Expm1, Sqrt, Square, Reciprocal, Sin, Cos, Tanh,
       Sigmoid, Softplus, Relu, Clip]
