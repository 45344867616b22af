"""Copies in new layouts: split (Gorgonia's Unconcat) repeat tile."""

import numpy as np

import gorgon as G
from gorgon import ArgumentTypeError, ArgumentValueError, Op, TensorType
from gorgon.infer import normalize_axes, shape_error


def one_axis(op, x, axis):
    (axis,) = normalize_axes(op, x, axis)
    return axis


def split_bounds(op_name, size, sections):
    """The (start, stop) of each piece: `sections` is a count of equal pieces or the
    sorted split points, as numpy's array_split points."""
    if isinstance(sections, (int, np.integer)) and not isinstance(sections, bool):
        if sections <= 0 or size % sections:
            raise ArgumentValueError(f"{op_name}: cannot split an axis of size {size} into {sections} "
                                     "equal pieces")
        points = [size // sections * i for i in range(1, sections)]  # all 0 on an empty axis
    else:
        try:
            points = [int(p) for p in sections]
        except (TypeError, ValueError):
            raise ArgumentTypeError(f"{op_name}: sections must be an int or a list of split points, "
                                    f"got {sections!r}") from None
        if any(p < 0 or p > size for p in points) or points != sorted(points):
            raise ArgumentValueError(f"{op_name}: split points {points} must be sorted within 0..{size}")
    edges = [0] + points + [size]
    return tuple(zip(edges[:-1], edges[1:]))


class Split(Op):
    """`split(x, sections, axis=0)` -> a list of nodes, one `split{part=i}` per piece
    (Gorgonia's Unconcat); `sections` is a number of equal pieces or the split points.
    `part=i` builds only the i-th piece. The gradient of a piece is its output gradient
    put back in place."""

    name = "split"
    is_view = True

    @classmethod
    def call(cls, x, sections, axis=0, part=None):
        if not isinstance(x, G.Node):
            raise ArgumentTypeError(f"{cls.name}: expected a node, got {type(x).__name__}")
        axis = one_axis(cls(axis=0, bounds=(), part=0), x, axis)
        bounds = split_bounds(cls.name, x.shape[axis], sections)
        if part is not None:
            if not 0 <= part < len(bounds):
                raise ArgumentValueError(f"{cls.name}: part {part} of {len(bounds)} pieces")
            return G.apply(cls(axis=axis, bounds=bounds, part=int(part)), x)
        return [G.apply(cls(axis=axis, bounds=bounds, part=i), x) for i in range(len(bounds))]

    def index(self):
        start, stop = self.bounds[self.part]
        return (slice(None),) * self.axis + (slice(start, stop),)

    def infer(self, x):
        start, stop = self.bounds[self.part]
        return TensorType(x.shape[:self.axis] + (stop - start,) + x.shape[self.axis + 1:], x.dtype)

    def forward(self, x, out=None):
        piece = self.view(x)
        if out is None:
            return piece
        np.copyto(out, piece)
        return out

    def view(self, x):
        return x[self.index()]

    def vjp(self, inputs, output, gy):
        return (G.getitem_grad(gy, inputs[0].shape, self.index()),)


class Repeat(Op):
    """`repeat(x, repeats, axis=None)`: numpy's repeat (each element `repeats` times, or
    element i `repeats[i]` times; axis=None repeats the flattened input). The gradient
    adds up the copies (take_grad)."""

    name = "repeat"

    @classmethod
    def call(cls, x, repeats, axis=None):
        if not isinstance(x, G.Node):
            raise ArgumentTypeError(f"{cls.name}: expected a node, got {type(x).__name__}")
        if axis is None:
            x, axis = G.reshape(x, (-1,)), 0
        axis = one_axis(cls(axis=0, repeats=()), x, axis)
        counts = np.broadcast_to(np.asarray(repeats), (x.shape[axis],)) if np.ndim(repeats) == 0 \
            else np.asarray(repeats)
        if counts.dtype.kind not in "iu" or counts.ndim != 1 or (counts < 0).any():
            raise ArgumentValueError(f"{cls.name}: repeats must be non-negative ints, got {repeats!r}")
        return G.apply(cls(axis=axis, repeats=tuple(int(c) for c in counts)), x)

    def infer(self, x):
        if len(self.repeats) != x.shape[self.axis]:
            raise shape_error(self, f"{len(self.repeats)} repeats for an axis of size "
                              f"{x.shape[self.axis]}", x)
        shape = list(x.shape)
        shape[self.axis] = sum(self.repeats)
        return TensorType(tuple(shape), x.dtype)

    def forward(self, x, out=None):
        result = np.repeat(x, self.repeats, axis=self.axis)
        if out is None:
            return result
        np.copyto(out, result)
        return out

    def vjp(self, inputs, output, gy):
        source = np.repeat(np.arange(len(self.repeats)), self.repeats)
        return (G.take_grad(gy, source, inputs[0].shape, axis=self.axis),)


class Tile(Op):
    """`tile(x, reps)`: numpy's tile (x repeated `reps[i]` times along axis i; x gains
    leading axes when reps is longer). The gradient sums the tiles."""

    name = "tile"

    @classmethod
    def call(cls, x, reps):
        reps = (reps,) if isinstance(reps, (int, np.integer)) else tuple(reps)
        if any(not isinstance(r, (int, np.integer)) or r < 0 for r in reps):
            raise ArgumentValueError(f"{cls.name}: reps must be non-negative ints, got {reps!r}")
        return G.apply(cls(reps=tuple(int(r) for r in reps)), x)

    def full(self, x):
        """(reps, x's shape) padded with leading ones to one length."""
        ndim = max(len(self.reps), x.ndim)
        return (1,) * (ndim - len(self.reps)) + self.reps, (1,) * (ndim - x.ndim) + x.shape

    def infer(self, x):
        reps, shape = self.full(x)
        return TensorType(tuple(r * d for r, d in zip(reps, shape)), x.dtype)

    def forward(self, x, out=None):
        result = np.tile(x, self.reps)
        if out is None:
            return result
        np.copyto(out, result)
        return out

    def vjp(self, inputs, output, gy):
        x = inputs[0]
        reps, shape = self.full(x)
        tiles = G.reshape(gy, tuple(d for pair in zip(reps, shape) for d in pair))
        return (G.reshape(G.sum(tiles, axis=tuple(range(0, 2 * len(reps), 2))), x.shape),)


OPS = [Split, Repeat, Tile]
