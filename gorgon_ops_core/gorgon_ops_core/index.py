"""Indexing through `node[...]`: basic indexing (ints, slices, None, ...) as `getitem`,
integer-array indexing along one axis as `take`, and the scatters that are their
gradients."""

import numpy as np

import gorgon as G
from gorgon import Op, TensorType
from gorgon.infer import require_integer, same_dtype, shape_error

SLICE = "slice"


def encode(index):
    """A basic index as a hashable tuple (slices are not hashable before Python 3.12)."""
    items = index if isinstance(index, tuple) else (index,)
    encoded = []
    for item in items:
        if isinstance(item, slice):
            encoded.append((SLICE, item.start, item.stop, item.step))
        elif item is None or item is Ellipsis:
            encoded.append(item)
        elif isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            encoded.append(int(item))
        else:
            raise TypeError(f"getitem: unsupported index {item!r}; basic indexing takes ints, "
                            "slices, None and ...; for an integer array use G.take")
    return tuple(encoded)


def decode(encoded):
    return tuple(slice(*item[1:]) if isinstance(item, tuple) else item for item in encoded)


def probe(shape):
    """A zero-memory array of `shape`, to let numpy work out an index's result shape."""
    return np.lib.stride_tricks.as_strided(np.zeros(1, np.int8), shape, (0,) * len(shape))


class Getitem(Op):
    """`x[index]` for basic indexing; `x[indices]` with an integer node or array is `take`."""

    name = "getitem"

    @classmethod
    def call(cls, x, index):
        if isinstance(index, (G.Node, np.ndarray, list)):
            return G.take(x, index, axis=0)
        return G.apply(cls(index=encode(index)), x)

    def infer(self, x):
        try:
            shape = probe(x.shape)[decode(self.index)].shape
        except IndexError as exc:
            raise shape_error(self, str(exc), x) from None
        return TensorType(shape, x.dtype)

    def forward(self, x, out=None):
        result = x[decode(self.index)]
        if out is None:
            return np.array(result) if np.ndim(result) == 0 else result
        np.copyto(out, result)
        return out

    def vjp(self, inputs, output, gy):
        return (G.getitem_grad(gy, inputs[0].shape, decode(self.index)),)


class GetitemGrad(Op):
    """`getitem_grad(g, shape, index)`: zeros of `shape` with `g` written at `index`
    (the gradient of getitem)."""

    name = "getitem_grad"

    @classmethod
    def call(cls, g, shape, index):
        return G.apply(cls(shape=tuple(int(d) for d in shape), index=encode(index)), g)

    def infer(self, g):
        try:
            expected = probe(self.shape)[decode(self.index)].shape
        except IndexError as exc:
            raise shape_error(self, str(exc), g) from None
        if g.shape != expected:
            raise shape_error(self, f"expects a gradient of shape {expected}", g)
        return TensorType(self.shape, g.dtype)

    def forward(self, g, out=None):
        if out is None:
            out = np.empty(self.shape, g.dtype)
        out.fill(0)
        out[decode(self.index)] = g
        return out

    def vjp(self, inputs, output, gy):
        return (gy[decode(self.index)],)


class GetitemAdd(Op):
    """`getitem_add(x, g, index)`: x with `g` added at the basic `index` (g of the shape
    x[index] has). The compiler turns `x + getitem_grad(g, x.shape, index)` into this,
    so summing the gradients of several slices of one node (an LSTM's gates) adds each
    slice in place instead of filling and adding whole arrays."""

    name = "getitem_add"
    inplace = 0

    @classmethod
    def call(cls, x, g, index):
        return G.apply(cls(index=encode(index)), x, g)

    def infer(self, x, g):
        same_dtype(self, x, g)
        try:
            expected = probe(x.shape)[decode(self.index)].shape
        except IndexError as exc:
            raise shape_error(self, str(exc), x, g) from None
        if g.shape != expected:
            raise shape_error(self, f"expects g of shape {expected}", x, g)
        return TensorType(x.shape, x.dtype)

    def forward(self, x, g, out=None):
        out = np.array(x) if out is None else out
        if out is not x:
            np.copyto(out, x)
        out[decode(self.index)] += g
        return out

    def vjp(self, inputs, output, gy):
        return gy, lambda: gy[decode(self.index)]


class Take(Op):
    """`take(x, indices, axis=0)`: the slices of x at integer `indices` along `axis`."""

    name = "take"

    @classmethod
    def call(cls, x, indices, axis=0):
        if not isinstance(indices, G.Node):
            indices = np.asarray(indices)
        return G.apply(cls(axis=int(axis)), x, indices)

    def infer(self, x, indices):
        require_integer(self, indices)
        if not -x.ndim <= self.axis < x.ndim:
            raise shape_error(self, f"axis {self.axis} is out of range", x, indices)
        axis = self.axis % x.ndim
        return TensorType(x.shape[:axis] + indices.shape + x.shape[axis + 1:], x.dtype)

    def forward(self, x, indices, out=None):
        return np.take(x, indices, axis=self.axis, out=out)

    def vjp(self, inputs, output, gy):
        x, indices = inputs
        return G.take_grad(gy, indices, x.shape, axis=self.axis), None


class TakeGrad(Op):
    """`take_grad(g, indices, shape, axis=0)`: zeros of `shape` with `g` added at
    `indices` along `axis`, repeated indices accumulating (the gradient of take)."""

    name = "take_grad"

    @classmethod
    def call(cls, g, indices, shape, axis=0):
        return G.apply(cls(shape=tuple(int(d) for d in shape), axis=int(axis)), g, indices)

    def infer(self, g, indices):
        require_integer(self, indices)
        axis = self.axis % len(self.shape)
        expected = self.shape[:axis] + indices.shape + self.shape[axis + 1:]
        if g.shape != expected:
            raise shape_error(self, f"expects a gradient of shape {expected}", g, indices)
        return TensorType(self.shape, g.dtype)

    def forward(self, g, indices, out=None):
        if out is None:
            out = np.empty(self.shape, g.dtype)
        out.fill(0)
        axis = self.axis % out.ndim
        moved = np.moveaxis(g, tuple(range(axis, axis + indices.ndim)), tuple(range(indices.ndim)))
        np.add.at(np.moveaxis(out, axis, 0), indices, moved)
        return out

    def vjp(self, inputs, output, gy):
        return G.take(gy, inputs[1], axis=self.axis), None


OPS = [Getitem, GetitemGrad, GetitemAdd, Take, TakeGrad]
