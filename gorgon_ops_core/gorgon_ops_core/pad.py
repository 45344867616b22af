"""Padding: `pad(x, pad_width, mode="constant", value=0.0)` with numpy's pad widths and
the modes constant, reflect, symmetric, edge and wrap; `pad_grad`, its gradient for the
modes that copy x's own elements, adds each padded element's gradient back onto the
element it copies.

Every non-constant mode copies, along each axis, the elements at an index map:
`np.pad(np.arange(n), (before, after), mode)`. The gradient scatters through the same
maps, and the gradient of that scatter is the pad again.
"""

import numpy as np

import gorgon as G
from gorgon import ArgumentTypeError, ArgumentValueError, Op, TensorType
from gorgon.infer import require_numeric, shape_error

MODES = ("constant", "reflect", "symmetric", "edge", "wrap")


def widths(op_name, ndim, pad_width):
    """numpy's pad_width forms (int, (n,), (before, after), one pair per axis) as one
    (before, after) pair per axis."""
    try:
        pairs = np.broadcast_to(np.asarray(pad_width), (ndim, 2))
    except ValueError:
        raise ArgumentValueError(f"{op_name}: pad_width {pad_width!r} does not fit {ndim} axes") from None
    if pairs.dtype.kind not in "iu" or (pairs < 0).any():
        raise ArgumentValueError(f"{op_name}: pad_width must be non-negative ints, got {pad_width!r}")
    return tuple((int(b), int(a)) for b, a in pairs)


def source_map(size, before, after, mode):
    """For each padded position along one axis, the index of x it copies."""
    return np.pad(np.arange(size), (before, after), mode=mode)


class Pad(Op):
    """`pad(x, pad_width, mode="constant", value=0.0)`."""

    name = "pad"

    @classmethod
    def call(cls, x, pad_width, mode="constant", value=0.0):
        if not isinstance(x, G.Node):
            raise ArgumentTypeError(f"{cls.name}: expected a node, got {type(x).__name__}")
        if mode not in MODES:
            raise ArgumentValueError(f"{cls.name}: mode {mode!r} is not one of {MODES}")
        if mode != "constant" and value != 0.0:
            raise ArgumentValueError(f"{cls.name}: value= is only used by mode 'constant'")
        return G.apply(cls(widths=widths(cls.name, x.ndim, pad_width), mode=mode, value=float(value)), x)

    def infer(self, x):
        dtype = require_numeric(self, x)
        if self.mode != "constant":
            for axis, (size, (before, after)) in enumerate(zip(x.shape, self.widths)):
                if size == 0 and before + after:
                    raise shape_error(self, f"mode {self.mode!r} cannot pad the empty axis {axis}", x)
                if self.mode == "reflect" and size == 1 and before + after:
                    raise shape_error(self, f"mode 'reflect' needs at least 2 elements on axis {axis}", x)
        return TensorType(tuple(d + b + a for d, (b, a) in zip(x.shape, self.widths)), dtype)

    def forward(self, x, out=None):
        extra = {"constant_values": self.value} if self.mode == "constant" else {}
        result = np.pad(x, self.widths, mode=self.mode, **extra)
        if out is None:
            return result
        np.copyto(out, result)
        return out

    def vjp(self, inputs, output, gy):
        x = inputs[0]
        if self.mode == "constant":
            return (gy[tuple(slice(b, b + d) for d, (b, _) in zip(x.shape, self.widths))],)
        return (G.pad_grad(gy, x.shape, self.widths, self.mode),)


class PadGrad(Op):
    """`pad_grad(g, shape, pad_width, mode)`: the gradient of a non-constant pad of an
    input of `shape`: each element of g added onto the element of x it copies."""

    name = "pad_grad"

    @classmethod
    def call(cls, g, shape, pad_width, mode):
        if mode not in MODES[1:]:
            raise ArgumentValueError(f"{cls.name}: mode {mode!r} is not one of {MODES[1:]}")
        shape = tuple(int(d) for d in shape)
        return G.apply(cls(shape=shape, widths=widths(cls.name, len(shape), pad_width), mode=mode), g)

    def infer(self, g):
        expected = tuple(d + b + a for d, (b, a) in zip(self.shape, self.widths))
        if g.shape != expected:
            raise shape_error(self, f"expects a gradient of shape {expected}", g)
        return TensorType(self.shape, require_numeric(self, g))

    def forward(self, g, out=None):
        for axis, (size, (before, after)) in enumerate(zip(self.shape, self.widths)):
            folded = np.zeros(g.shape[:axis] + (size,) + g.shape[axis + 1:], g.dtype)
            np.add.at(np.moveaxis(folded, axis, 0), source_map(size, before, after, self.mode),
                      np.moveaxis(g, axis, 0))
            g = folded
        if out is None:
            return g
        np.copyto(out, g)
        return out

    def vjp(self, inputs, output, gy):
        return (G.pad(gy, self.widths, mode=self.mode),)


OPS = [Pad, PadGrad]
