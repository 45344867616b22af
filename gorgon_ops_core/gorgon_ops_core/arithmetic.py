"""Binary arithmetic with numpy broadcasting: add sub mul div pow maximum minimum."""

import numpy as np

import gorgon as G
from gorgon import UfuncOp
from gorgon.infer import elementwise


class Add(UfuncOp):
    """Elementwise `a + b` (also `a + b` on nodes), numpy broadcasting."""

    name = "add"
    ufunc = np.add
    inplace = 0

    def infer(self, a, b):
        return elementwise(self, a, b)

    def vjp(self, inputs, output, gy):
        return gy, gy


class Sub(UfuncOp):
    """Elementwise `a - b`."""

    name = "sub"
    ufunc = np.subtract
    inplace = 0

    def infer(self, a, b):
        return elementwise(self, a, b)

    def vjp(self, inputs, output, gy):
        return gy, lambda: -gy


class Mul(UfuncOp):
    """Elementwise (Hadamard) `a * b`; for the matrix product see `matmul`."""

    name = "mul"
    ufunc = np.multiply
    inplace = 0

    def infer(self, a, b):
        return elementwise(self, a, b)

    def vjp(self, inputs, output, gy):
        a, b = inputs
        return lambda: gy * b, lambda: gy * a


class Div(UfuncOp):
    """Elementwise true division `a / b` (floats only)."""

    name = "div"
    ufunc = np.divide
    inplace = 0

    def infer(self, a, b):
        return elementwise(self, a, b, floats_only=True)

    def vjp(self, inputs, output, gy):
        a, b = inputs
        return lambda: gy / b, lambda: -gy * output / b


class Pow(UfuncOp):
    """Elementwise `a ** b` (floats only). As in PyTorch, the gradient for `a` is 0 where
    b == 0, and the gradient for `b` is 0 where a == 0 and b >= 0 (else it needs a > 0)."""

    name = "pow"
    ufunc = np.power
    inplace = 0

    def infer(self, a, b):
        return elementwise(self, a, b, floats_only=True)

    def vjp(self, inputs, output, gy):
        a, b = inputs

        def grad_a():
            return G.where(G.eq(b, 0.0), 0.0, gy * b * a ** (b - 1.0))

        def grad_b():
            full = gy * output * G.log(a)
            return G.where(G.eq(a, 0.0), G.where(G.ge(b, 0.0), 0.0, full), full)

        return grad_a, grad_b


class Extremum(UfuncOp):
    """Elementwise larger (maximum) or smaller (minimum) of `a` and `b`; the gradient
    goes to the chosen side, to `a` at ties (where the comparison `picks_a` holds)."""

    positional_out = False
    inplace = 0
    picks_a = ""

    def infer(self, a, b):
        return elementwise(self, a, b)

    def vjp(self, inputs, output, gy):
        a, b = inputs
        picks_a = getattr(G, self.picks_a)
        return lambda: G.where(picks_a(a, b), gy, 0.0), lambda: G.where(picks_a(a, b), 0.0, gy)


class Maximum(Extremum):
    """Elementwise larger of `a` and `b`; at ties the gradient goes to `a`."""

    name = "maximum"
    ufunc = np.maximum
    picks_a = "ge"


class Minimum(Extremum):
    """Elementwise smaller of `a` and `b`; at ties the gradient goes to `a`."""

    name = "minimum"
    ufunc = np.minimum
    picks_a = "le"


OPS = [Add, Sub, Mul, Div, Pow, Maximum, Minimum]
