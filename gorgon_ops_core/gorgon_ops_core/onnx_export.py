"""The ONNX mapping of the core ops, for gorgon_onnx's export (hook `register_onnx`).

Each entry is `emit(b, node, inputs) -> name`: `b` is gorgon_onnx's builder, `inputs`
the ONNX names of the node's inputs. Nothing here imports onnx.
"""

import numpy as np

SAME = {"add": "Add", "sub": "Sub", "mul": "Mul", "div": "Div", "pow": "Pow", "maximum": "Max",
        "minimum": "Min", "abs": "Abs", "neg": "Neg", "exp": "Exp", "log": "Log", "sqrt": "Sqrt",
        "reciprocal": "Reciprocal", "sign": "Sign", "sin": "Sin", "cos": "Cos", "tanh": "Tanh",
        "sigmoid": "Sigmoid", "relu": "Relu", "softplus": "Softplus", "erf": "Erf", "eq": "Equal",
        "lt": "Less", "le": "LessOrEqual", "gt": "Greater", "ge": "GreaterOrEqual", "where": "Where"}
REDUCE = {"sum": "ReduceSum", "mean": "ReduceMean", "max": "ReduceMax", "min": "ReduceMin",
          "prod": "ReduceProd"}


def same(op_type):
    def emit(b, node, inputs):
        return b.add(op_type, inputs[:])
    return emit


def square(b, node, inputs):
    return b.add("Mul", [inputs[0], inputs[0]])


def log1p(b, node, inputs):
    return b.add("Log", [b.add("Add", [inputs[0], b.scalar_like(1, node)])])


def expm1(b, node, inputs):
    return b.add("Sub", [b.add("Exp", [inputs[0]]), b.scalar_like(1, node)])


def ne(b, node, inputs):
    return b.add("Not", [b.add("Equal", inputs[:])])


def clip(b, node, inputs):
    x = node.inputs[0]
    return b.add("Clip", [inputs[0], b.scalar_like(node.op.low, x), b.scalar_like(node.op.high, x)])


def cast(b, node, inputs):
    return b.add("Cast", [inputs[0]], to=b.dtype(node.dtype))


def _swap_last(b, name, ndim):
    return b.add("Transpose", [name], perm=[*range(ndim - 2), ndim - 1, ndim - 2])


def matmul(b, node, inputs):
    a, c = inputs[0], inputs[1]
    if node.op.params.get("transpose_a"):
        a = _swap_last(b, a, node.inputs[0].ndim)
    if node.op.params.get("transpose_b"):
        c = _swap_last(b, c, node.inputs[1].ndim)
    return b.add("MatMul", [a, c])


def outer(b, node, inputs):
    return b.add("MatMul", [b.add("Unsqueeze", [inputs[0], b.ints([1])]),
                            b.add("Unsqueeze", [inputs[1], b.ints([0])])])


def reduction(op_type):
    def emit(b, node, inputs):
        axes = node.op.axis
        if not axes:
            return b.add("Identity", [inputs[0]])
        return b.reduce(op_type, inputs[0], axes, node.op.keepdims)
    return emit


def arg_reduction(op_type):
    def emit(b, node, inputs):
        x, axis = inputs[0], node.op.axis
        if axis is None:
            flat = b.add("Reshape", [x, b.ints([-1])])
            return b.add(op_type, [flat], axis=0, keepdims=0)
        return b.add(op_type, [x], axis=int(axis), keepdims=int(node.op.keepdims))
    return emit


def reshape(b, node, inputs):
    return b.add("Reshape", [inputs[0], b.shape(node)])


def flatten(b, node, inputs):
    return b.add("Reshape", [inputs[0], b.ints([0] * node.op.start_axis + [-1])])


def transpose(b, node, inputs):
    ndim = node.inputs[0].ndim
    axes = node.op.axes
    perm = list(range(ndim))[::-1] if axes is None else [a % ndim for a in axes]
    return b.add("Transpose", [inputs[0]], perm=perm)


def squeeze(b, node, inputs):
    x = node.inputs[0]
    axes = node.op.axis if node.op.axis is not None else [i for i, d in enumerate(x.shape) if d == 1]
    return b.add("Squeeze", [inputs[0], b.ints(axes)]) if axes else b.add("Identity", [inputs[0]])


def expand_dims(b, node, inputs):
    return b.add("Unsqueeze", [inputs[0], b.ints([node.op.axis % node.ndim])])


def broadcast_to(b, node, inputs):
    return b.add("Expand", [inputs[0], b.shape(node, dynamic=1)])


def concat(b, node, inputs):
    return b.add("Concat", inputs[:], axis=node.op.axis % node.ndim)


def stack(b, node, inputs):
    axis = node.op.axis % node.ndim
    return b.add("Concat", [b.add("Unsqueeze", [name, b.ints([axis])]) for name in inputs[:]], axis=axis)


def take(b, node, inputs):
    return b.add("Gather", [inputs[0], inputs[1]], axis=node.op.axis % node.inputs[0].ndim)


def getitem(b, node, inputs):
    """Basic indexing: one Slice for the slices, a Squeeze for the ints, an Unsqueeze
    for the new axes."""
    shape = node.inputs[0].shape
    dynamic = b.dynamic_axes(node.inputs[0])
    index = list(node.op.index)
    if any(isinstance(item, tuple) and item[0] == "array" for item in index):
        b.unsupported("advanced (array) indexing")
    if Ellipsis in index:
        at = index.index(Ellipsis)
        used = sum(1 for item in index if item is not None and item is not Ellipsis)
        index[at:at + 1] = [("slice", None, None, None)] * (len(shape) - used)
    index += [("slice", None, None, None)] * (len(shape) - sum(1 for i in index if i is not None))
    starts, ends, axes, steps, drop, new = [], [], [], [], [], []
    axis = position = 0
    for item in index:
        if item is None:
            new.append(position)
            position += 1
            continue
        position += not isinstance(item, int)
        if isinstance(item, int):
            start = item % shape[axis]
            starts.append(start), ends.append(start + 1), axes.append(axis), steps.append(1)
            drop.append(axis)
        elif item[1:] != (None, None, None):
            if axis in dynamic:
                b.unsupported(f"slicing the batch-sized axis {axis}")
            start, stop, step = slice(*item[1:]).indices(shape[axis])
            if step < 0 and stop < 0:
                stop = -np.iinfo(np.int64).max
            starts.append(start), ends.append(stop), axes.append(axis), steps.append(step)
        axis += 1
    out = inputs[0]
    if axes:
        out = b.add("Slice", [out, b.ints(starts), b.ints(ends), b.ints(axes), b.ints(steps)])
    if drop:
        out = b.add("Squeeze", [out, b.ints(drop)])
    if new:
        out = b.add("Unsqueeze", [out, b.ints(new)])
    return out if out != inputs[0] else b.add("Identity", [out])


MAPPINGS = {name: same(op_type) for name, op_type in SAME.items()}
MAPPINGS.update({name: reduction(op_type) for name, op_type in REDUCE.items()})
MAPPINGS.update(square=square, log1p=log1p, expm1=expm1, ne=ne, clip=clip, cast=cast, matmul=matmul,
                outer=outer, argmax=arg_reduction("ArgMax"), argmin=arg_reduction("ArgMin"),
                reshape=reshape, flatten=flatten, transpose=transpose, squeeze=squeeze,
                expand_dims=expand_dims, broadcast_to=broadcast_to, concat=concat, stack=stack,
                take=take, getitem=getitem)
