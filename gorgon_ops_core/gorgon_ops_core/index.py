"""Indexing through `node[...]`, as numpy indexes: basic indexing (ints, slices, None,
...) and advanced indexing (integer lists, arrays and integer nodes on any axes,
constant boolean masks) are one op, `getitem`; its gradient `getitem_grad` scatters,
adding up repeated indices, and `getitem_add` scatters into an existing array in place.
`take` along one axis and its scatter `take_grad` are the Gorgonia-style forms.

An index is kept as a hashable tuple in the op's parameters: ints, None, Ellipsis,
`("slice", start, stop, step)`, and `("array", k)` for the k-th index node, an input
of the op after x (lists and numpy arrays become constant nodes, a boolean mask the
integer arrays of its `nonzero()`).
"""

import numpy as np

import gorgon as G
from gorgon import ArgumentTypeError, ArgumentValueError, Op, TensorType
from gorgon.infer import describe_all, require_integer, same_dtype, shape_error

SLICE = "slice"
ARRAY = "array"
MASK_HINT = "use a constant numpy mask, or G.where(mask, x, 0) to keep the shape"


def probe(shape):
    """A zero-memory array of `shape`, to let numpy work out an index's result shape."""
    return np.lib.stride_tricks.as_strided(np.zeros(1, np.int8), shape, (0,) * len(shape))


def _bound(op_name, name, value):
    if value is None or (isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))):
        return None if value is None else int(value)
    raise ArgumentTypeError(f"{op_name}: a slice's {name} must be an int or None, got {value!r}")


def _slice(op_name, item):
    if item.step is not None and _bound(op_name, "step", item.step) == 0:
        raise ArgumentValueError(f"{op_name}: slice step cannot be zero (in {item})")
    return (SLICE, _bound(op_name, "start", item.start), _bound(op_name, "stop", item.stop),
            _bound(op_name, "step", item.step))


def _array(op_name, item):
    """An integer or boolean numpy array from a list, tuple or array index."""
    array = np.asarray(item)
    if array.size == 0 and array.dtype.kind == "f":
        return array.astype(np.intp)
    if array.dtype.kind not in "iub":
        raise ArgumentTypeError(f"{op_name}: index arrays must hold integers or booleans, got "
                                f"{array.dtype} {item!r}")
    if array.dtype.kind == "b" and array.ndim == 0:
        raise ArgumentTypeError(f"{op_name}: a scalar boolean index is not supported; use None "
                                "to insert an axis")
    return array


def parse(op_name, x_shape, index, nodes=()):
    """`index` (numpy's forms, integer nodes allowed) as (encoded tuple, index arrays and
    nodes), checked against `x_shape`: a wrong index fails here, as numpy would fail."""
    items = index if isinstance(index, tuple) else (index,)
    encoded, arrays, check = [], [], []

    def advanced(array):
        encoded.append((ARRAY, len(arrays)))
        arrays.append(array)

    for item in items:
        if isinstance(item, slice):
            encoded.append(_slice(op_name, item))
            check.append(item)
        elif item is None or item is Ellipsis:
            encoded.append(item)
            check.append(item)
        elif isinstance(item, (bool, np.bool_)):
            raise ArgumentTypeError(f"{op_name}: a scalar boolean index is not supported; use None "
                                    "to insert an axis")
        elif isinstance(item, (int, np.integer)):
            encoded.append(int(item))
            check.append(int(item))
        elif isinstance(item, G.Node):
            if item.dtype.kind == "b":
                raise ArgumentTypeError(
                    f"{op_name}: boolean node {item.name!r} {item.shape} as a mask: the result's "
                    f"shape would depend on its values; {MASK_HINT}")
            if item.dtype.kind not in "iu":
                raise ArgumentTypeError(f"{op_name}: index node {item.name!r} is {item.dtype}; "
                                        "index nodes must hold integers")
            advanced(item)
            check.append(np.zeros(item.shape, np.intp))
        elif isinstance(item, (list, tuple, np.ndarray)):
            array = _array(op_name, item)
            check.append(array)
            if array.dtype.kind == "b":
                for part in np.nonzero(array):
                    advanced(part)
            else:
                advanced(array.astype(np.int64))
        else:
            raise ArgumentTypeError(f"{op_name}: unsupported index {item!r} ({type(item).__name__}); "
                                    "numpy indexing takes ints, slices, None, ..., integer arrays, "
                                    "lists, integer nodes and boolean numpy masks")
    if sum(item is Ellipsis for item in items) > 1:
        raise ArgumentValueError(f"{op_name}: an index can only have a single ellipsis (...)")
    try:
        probe(x_shape)[tuple(check)]
    except IndexError as exc:
        raise G.ShapeError(f"{op_name}[{index_text(tuple(encoded))}]: {exc}; "
                           f"indexed shape {x_shape}; inputs: {describe_all(nodes)}"
                           ) from None
    return tuple(encoded), arrays


def decode(encoded, arrays=()):
    """The numpy index of an encoded one, with the index arrays in their places."""
    items = []
    for item in encoded:
        if isinstance(item, tuple) and item[0] == SLICE:
            items.append(slice(*item[1:]))
        elif isinstance(item, tuple):
            items.append(arrays[item[1]])
        else:
            items.append(item)
    return tuple(items)


def index_text(encoded):
    def one(item):
        if item is Ellipsis:
            return "..."
        if isinstance(item, tuple) and item[0] == SLICE:
            start, stop, step = ("" if v is None else str(v) for v in item[1:])
            return f"{start}:{stop}" + (f":{step}" if step else "")
        if isinstance(item, tuple):
            return f"#{item[1]}"
        return str(item)

    return ", ".join(one(item) for item in encoded)


def indexed_shape(op, shape, indices, *nodes):
    """The shape of `probe(shape)[index]`, index nodes standing in as zeros."""
    for node in indices:
        require_integer(op, node)
    stand_ins = [np.zeros(node.shape, np.intp) for node in indices]
    try:
        return probe(shape)[decode(op.index, stand_ins)].shape
    except IndexError as exc:
        raise shape_error(op, str(exc), *nodes) from None


def scatter_add(out, index, g, advanced):
    """out[index] += g, repeated advanced indices adding up."""
    if advanced:
        np.add.at(out, index, g)
    else:
        out[index] += g


class Getitem(Op):
    """`x[index]`: numpy's basic and advanced indexing (advanced axes placed as numpy
    places them); a boolean mask must be a constant (a node mask has no static shape)."""

    name = "getitem"

    @classmethod
    def call(cls, x, index):
        if not isinstance(x, G.Node):
            raise ArgumentTypeError(f"{cls.name}: expected a node to index, got {type(x).__name__}")
        encoded, arrays = parse(cls.name, x.shape, index, (x,))
        return G.apply(cls(index=encoded), x, *arrays)

    def infer(self, x, *indices):
        return TensorType(indexed_shape(self, x.shape, indices, x, *indices), x.dtype)

    def forward(self, x, *indices, out=None):
        result = x[decode(self.index, indices)]
        if out is None:
            return np.array(result) if np.ndim(result) == 0 else result
        np.copyto(out, result)
        return out

    @property
    def is_view(self):
        """Basic indexing (no index arrays) reads x through a view, as numpy does."""
        return not any(isinstance(item, tuple) and item[0] == ARRAY for item in self.index)

    def view(self, x):
        index = decode(self.index)
        return x[index if Ellipsis in index else index + (Ellipsis,)]

    def vjp(self, inputs, output, gy):
        x, *indices = inputs
        return (G.getitem_grad(gy, x.shape, decode(self.index, indices)), *[None] * len(indices))

    def __str__(self):
        return f"{self.name}[{index_text(self.index)}]"


class GetitemGrad(Op):
    """`getitem_grad(g, shape, index)`: zeros of `shape` with `g` added at `index`, repeated
    indices adding up (the gradient of getitem)."""

    name = "getitem_grad"

    @classmethod
    def call(cls, g, shape, index):
        shape = tuple(int(d) for d in shape)
        encoded, arrays = parse(cls.name, shape, index, (g,))
        return G.apply(cls(shape=shape, index=encoded), g, *arrays)

    def infer(self, g, *indices):
        expected = indexed_shape(self, self.shape, indices, g, *indices)
        if g.shape != expected:
            raise shape_error(self, f"expects a gradient of shape {expected}", g)
        return TensorType(self.shape, g.dtype)

    def forward(self, g, *indices, out=None):
        if out is None:
            out = np.empty(self.shape, g.dtype)
        out.fill(0)
        scatter_add(out, decode(self.index, indices), g, bool(indices))
        return out

    def vjp(self, inputs, output, gy):
        g, *indices = inputs
        return (G.getitem(gy, decode(self.index, indices)), *[None] * len(indices))

    def __str__(self):
        return f"{self.name}[{index_text(self.index)}]{{shape={self.shape}}}"


class GetitemAdd(Op):
    """`getitem_add(x, g, index)`: x with `g` added at `index` (g of the shape x[index]
    has; repeated indices add up). The compiler turns `x + getitem_grad(g, x.shape,
    index)` into this, so summing the gradients of several slices of one node (an LSTM's
    gates) adds each slice in place instead of filling and adding whole arrays."""

    name = "getitem_add"
    inplace = 0

    @classmethod
    def call(cls, x, g, index):
        encoded, arrays = parse(cls.name, x.shape, index, (x, g))
        return G.apply(cls(index=encoded), x, g, *arrays)

    def infer(self, x, g, *indices):
        same_dtype(self, x, g)
        expected = indexed_shape(self, x.shape, indices, x, g, *indices)
        if g.shape != expected:
            raise shape_error(self, f"expects g of shape {expected}", x, g)
        return TensorType(x.shape, x.dtype)

    def forward(self, x, g, *indices, out=None):
        out = np.array(x) if out is None else out
        if out is not x:
            np.copyto(out, x)
        scatter_add(out, decode(self.index, indices), g, bool(indices))
        return out

    def vjp(self, inputs, output, gy):
        x, g, *indices = inputs
        return (gy, lambda: G.getitem(gy, decode(self.index, indices)), *[None] * len(indices))

    def __str__(self):
        return f"{self.name}[{index_text(self.index)}]"


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
