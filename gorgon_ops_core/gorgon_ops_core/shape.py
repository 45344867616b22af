"""Shape ops: reshape flatten transpose squeeze expand_dims broadcast_to concat stack.
With `out` given, kernels copy into it; without, they may return views. Every one but
concat and stack declares `is_view`: on the TapeMachine they read their input's buffer
through that view instead of copying it (reshape and flatten when that buffer is
C-contiguous, as the program's own buffers are)."""

import math

import numpy as np

import gorgon as G
from gorgon import Op, TensorType
from gorgon.infer import (check_size, integer, integers, nodes_in, normalize_axes, normalize_axis,
                          normalize_permutation, same_dtype, shape_error)
from gorgon_ops_core.index import Getitem


def copy_into(result, out):
    if out is None:
        return result
    np.copyto(out, result)
    return out


def contiguous_view(op, x, shape):
    """x reshaped to `shape` as a view, which a C-contiguous x always allows (the view
    pass guarantees one); a layout that would need a copy is an error, never a stale copy."""
    if not x.flags.c_contiguous:
        raise G.GorgonError(f"{op}: view of a {x.shape} {x.dtype} array that is not C-contiguous "
                            f"(strides {x.strides}); the view pass makes reshapes views of buffers only")
    return x.reshape(shape)


def resolve_shape(op, x, shape):
    unknown = [i for i, d in enumerate(shape) if d == -1]
    if len(unknown) > 1 or any(d < -1 for d in shape):
        raise shape_error(op, f"invalid target shape {shape}", x)
    if unknown:
        known = math.prod(d for d in shape if d != -1)
        if known == 0 or x.size % known:
            raise shape_error(op, f"cannot infer -1 in {shape} for {x.size} elements", x)
        shape = tuple(x.size // known if d == -1 else d for d in shape)
    if math.prod(shape) != x.size:
        raise shape_error(op, f"cannot reshape {x.size} elements into {shape}", x)
    return shape


class Reshape(Op):
    """`reshape(x, shape)`; one dimension may be -1."""

    name = "reshape"
    is_view = True
    view_layout = "contiguous"

    @classmethod
    def call(cls, x, shape):
        return G.apply(cls(shape=integers(cls.name, "shape", shape, *nodes_in(x))), x)

    def infer(self, x):
        return TensorType(resolve_shape(self, x, self.shape), x.dtype)

    def forward(self, x, out=None):
        return copy_into(x.reshape(self.shape), out)

    def view(self, x):
        return contiguous_view(self, x, self.shape)

    def vjp(self, inputs, output, gy):
        return (G.reshape(gy, inputs[0].shape),)


class Flatten(Op):
    """`flatten(x, start_axis=0)`: merge the axes from `start_axis` on into one."""

    name = "flatten"
    is_view = True
    view_layout = "contiguous"

    @classmethod
    def call(cls, x, start_axis=0):
        return G.apply(cls(start_axis=integer(cls.name, "start_axis", start_axis)), x)

    def infer(self, x):
        if not 0 <= self.start_axis <= max(x.ndim - 1, 0):
            raise shape_error(self, f"start_axis {self.start_axis} is out of range", x)
        rest = int(np.prod(x.shape[self.start_axis:], dtype=np.int64))
        return TensorType(x.shape[:self.start_axis] + (rest,), x.dtype)

    def forward(self, x, out=None):
        return copy_into(x.reshape(self.flat_shape(x.shape)), out)

    def flat_shape(self, shape):
        return shape[:self.start_axis] + (math.prod(shape[self.start_axis:]),)

    def view(self, x):
        return contiguous_view(self, x, self.flat_shape(x.shape))

    def vjp(self, inputs, output, gy):
        return (G.reshape(gy, inputs[0].shape),)


class Transpose(Op):
    """`transpose(x, axes=None)`: permute axes (reverse them by default)."""

    name = "transpose"
    is_view = True

    @classmethod
    def call(cls, x, axes=None):
        return G.apply(cls(axes=None if axes is None else integers(cls.name, "axes", axes, *nodes_in(x))), x)

    def permutation(self, ndim):
        return tuple(reversed(range(ndim))) if self.axes is None else self.axes

    def infer(self, x):
        axes = normalize_permutation(self, x, self.permutation(x.ndim))
        return TensorType(tuple(x.shape[a] for a in axes), x.dtype)

    def forward(self, x, out=None):
        return copy_into(self.view(x), out)

    def view(self, x):
        return np.transpose(x, self.permutation(x.ndim))

    def vjp(self, inputs, output, gy):
        axes = [a % max(gy.ndim, 1) for a in self.permutation(gy.ndim)]
        return (G.transpose(gy, tuple(np.argsort(axes))),)


class Squeeze(Op):
    """`squeeze(x, axis=None)`: drop size-1 axes (all of them by default)."""

    name = "squeeze"
    is_view = True
    view_layout = "keeps"

    @classmethod
    def call(cls, x, axis=None):
        axes = tuple(i for i, d in enumerate(x.shape) if d == 1) if axis is None \
            else normalize_axes(cls.name, x, axis)
        return G.apply(cls(axis=axes), x)

    def infer(self, x):
        for a in self.axis:
            if x.shape[a] != 1:
                raise shape_error(self, f"axis {a} has size {x.shape[a]}, not 1", x)
        return TensorType(tuple(d for i, d in enumerate(x.shape) if i not in self.axis), x.dtype)

    def forward(self, x, out=None):
        return copy_into(self.view(x), out)

    def view(self, x):
        return np.squeeze(x, self.axis)

    def vjp(self, inputs, output, gy):
        return (G.reshape(gy, inputs[0].shape),)


class ExpandDims(Op):
    """`expand_dims(x, axis)`: insert a size-1 axis at `axis`."""

    name = "expand_dims"
    is_view = True
    view_layout = "keeps"

    @classmethod
    def call(cls, x, axis):
        return G.apply(cls(axis=integer(cls.name, "axis", axis)), x)

    def infer(self, x):
        position = normalize_axis(self, x, self.axis, new=True)
        return TensorType(x.shape[:position] + (1,) + x.shape[position:], x.dtype)

    def forward(self, x, out=None):
        return copy_into(self.view(x), out)

    def view(self, x):
        return np.expand_dims(x, self.axis)

    def vjp(self, inputs, output, gy):
        return (G.reshape(gy, inputs[0].shape),)


class BroadcastTo(Op):
    """`broadcast_to(x, shape)`: numpy broadcasting to an explicit shape."""

    name = "broadcast_to"
    is_view = True

    @classmethod
    def call(cls, x, shape):
        return G.apply(cls(shape=integers(cls.name, "shape", shape, *nodes_in(x))), x)

    def infer(self, x):
        check_size(self, self.shape, x.dtype, x)
        try:
            target = np.broadcast_shapes(x.shape, self.shape)
        except ValueError:
            target = None
        if target != self.shape:
            raise shape_error(self, f"cannot broadcast to {self.shape}", x)
        return TensorType(self.shape, x.dtype)

    def forward(self, x, out=None):
        return copy_into(self.view(x), out)

    def view(self, x):
        return np.broadcast_to(x, self.shape)

    def vjp(self, inputs, output, gy):
        return (gy,)


def check_parts(op, parts, same_shape):
    if not parts:
        raise shape_error(op, "needs at least one input")
    same_dtype(op, *parts)
    first = parts[0]
    for part in parts[1:]:
        if part.ndim != first.ndim:
            raise shape_error(op, "inputs must have the same number of dimensions", *parts)
        if same_shape and part.shape != first.shape:
            raise shape_error(op, "inputs must have the same shape", *parts)


def listed(name, nodes):
    if isinstance(nodes, G.Node) or not isinstance(nodes, (list, tuple)):
        raise G.ArgumentTypeError(f"{name}: expected a list of nodes, got {type(nodes).__name__}")
    return list(nodes)


class Concat(Op):
    """`concat([a, b, ...], axis=0)`: join along an existing axis."""

    name = "concat"

    @classmethod
    def call(cls, nodes, axis=0):
        return G.apply(cls(axis=integer(cls.name, "axis", axis)), *listed(cls.name, nodes))

    def infer(self, *parts):
        check_parts(self, parts, same_shape=False)
        first = parts[0]
        axis = normalize_axis(self, first, self.axis, *parts[1:])
        for part in parts:
            if part.shape[:axis] + part.shape[axis + 1:] != first.shape[:axis] + first.shape[axis + 1:]:
                raise shape_error(self, f"shapes differ off axis {axis}", *parts)
        size = sum(p.shape[axis] for p in parts)
        return TensorType(first.shape[:axis] + (size,) + first.shape[axis + 1:], first.dtype)

    def forward(self, *parts, out=None):
        return np.concatenate(parts, axis=self.axis, out=out)

    def blocks(self, *parts):
        axis, start, views = self.axis % len(parts[0].shape), 0, []
        for part in parts:
            stop = start + part.shape[axis]
            views.append(Getitem(index=(("slice", None, None, None),) * axis + (("slice", start, stop, None),)))
            start = stop
        return views

    def vjp(self, inputs, output, gy):
        axis = self.axis % gy.ndim
        grads, start = [], 0
        for part in inputs:
            stop = start + part.shape[axis]
            grads.append(gy[(slice(None),) * axis + (slice(start, stop),)])
            start = stop
        return grads


class Stack(Op):
    """`stack([a, b, ...], axis=0)`: join same-shaped inputs along a new axis."""

    name = "stack"

    @classmethod
    def call(cls, nodes, axis=0):
        return G.apply(cls(axis=integer(cls.name, "axis", axis)), *listed(cls.name, nodes))

    def infer(self, *parts):
        check_parts(self, parts, same_shape=True)
        first = parts[0]
        axis = normalize_axis(self, first, self.axis, *parts[1:], new=True)
        return TensorType(first.shape[:axis] + (len(parts),) + first.shape[axis:], first.dtype)

    def forward(self, *parts, out=None):
        return np.stack(parts, axis=self.axis, out=out)

    def vjp(self, inputs, output, gy):
        axis = self.axis % gy.ndim
        return [gy[(slice(None),) * axis + (i,)] for i in range(len(inputs))]


OPS = [Reshape, Flatten, Transpose, Squeeze, ExpandDims, BroadcastTo, Concat, Stack]
