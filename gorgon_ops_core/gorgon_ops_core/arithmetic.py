"""Binary arithmetic with numpy broadcasting: add sub mul div pow maximum minimum."""

import numpy as np

import gorgon as G
from gorgon import Op, TensorType
from gorgon.infer import elementwise


class Add(Op):
    """Elementwise `a + b` (also `a + b` on nodes), numpy broadcasting."""

    name = "add"
    inplace = 0

    def infer(self, a, b):
        return elementwise(self, a, b)

    def forward(self, a, b, out=None):
        return np.add(a, b, out=out)

    def vjp(self, inputs, output, gy):
        return gy, gy


class Sub(Op):
    """Elementwise `a - b`."""

    name = "sub"
    inplace = 0

    def infer(self, a, b):
        return elementwise(self, a, b)

    def forward(self, a, b, out=None):
        return np.subtract(a, b, out=out)

    def vjp(self, inputs, output, gy):
        return gy, lambda: -gy


class Mul(Op):
    """Elementwise (Hadamard) `a * b`; for the matrix product see `matmul`."""

    name = "mul"
    inplace = 0

    def infer(self, a, b):
        return elementwise(self, a, b)

    def forward(self, a, b, out=None):
        return np.multiply(a, b, out=out)

    def vjp(self, inputs, output, gy):
        a, b = inputs
        return lambda: gy * b, lambda: gy * a


class Div(Op):
    """Elementwise true division `a / b` (floats only)."""

    name = "div"
    inplace = 0

    def infer(self, a, b):
        return elementwise(self, a, b, floats_only=True)

    def forward(self, a, b, out=None):
        return np.divide(a, b, out=out)

    def vjp(self, inputs, output, gy):
        a, b = inputs
        return lambda: gy / b, lambda: -gy * output / b


class Pow(Op):
    """Elementwise `a ** b` (floats only); the gradient for `b` needs `a > 0`."""

    name = "pow"
    inplace = 0

    def infer(self, a, b):
        return elementwise(self, a, b, floats_only=True)

    def forward(self, a, b, out=None):
        return np.power(a, b, out=out)

    def vjp(self, inputs, output, gy):
        a, b = inputs
        return lambda: gy * b * a ** (b - 1), lambda: gy * output * G.log(a)


class Maximum(Op):
    """Elementwise larger of `a` and `b`; at ties the gradient goes to `a`."""

    name = "maximum"
    inplace = 0

    def infer(self, a, b):
        return elementwise(self, a, b)

    def forward(self, a, b, out=None):
        return np.maximum(a, b, out=out)

    def vjp(self, inputs, output, gy):
        a, b = inputs
        return lambda: G.where(G.ge(a, b), gy, 0.0), lambda: G.where(G.lt(a, b), gy, 0.0)


class Minimum(Op):
    """Elementwise smaller of `a` and `b`; at ties the gradient goes to `a`."""

    name = "minimum"
    inplace = 0

    def infer(self, a, b):
        return elementwise(self, a, b)

    def forward(self, a, b, out=None):
        return np.minimum(a, b, out=out)

    def vjp(self, inputs, output, gy):
        a, b = inputs
        return lambda: G.where(G.le(a, b), gy, 0.0), lambda: G.where(G.gt(a, b), gy, 0.0)


OPS = [Add, Sub, Mul, Div, Pow, Maximum, Minimum]
