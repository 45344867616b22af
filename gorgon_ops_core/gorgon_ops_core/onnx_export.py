"""The ONNX mapping of the core ops, for gorgon_onnx's export (hook `register_onnx`).

Each entry is `emit(b, node, inputs) -> name`: `b` is gorgon_onnx's builder, `inputs`
the ONNX names of the node's inputs. Nothing here imports onnx.
"""

import numpy as np

SAME = {"add": "Add", "sub": "Sub", "mul": "Mul", "div": "Div", "pow": "Pow", "maximum": "Max",
        "minimum": "Min", "abs": "Abs", "neg": "Neg", "exp": "Exp", "log": "Log", "sqrt": "Sqrt",
        "reciprocal": "Reciprocal", "sign": "Sign", "sin": "Sin", "cos": "Cos", "tanh": "Tanh",
        "sigmoid": "Sigmoid", "relu": "Relu", "softplus": "Softplus", "erf": "Erf", "eq": "Equal",
        "lt": "Less", "le": "LessOrEqual", "gt": "Greater", "ge": "GreaterOrEqual", "where": "Where",
        "floor": "Floor", "ceil": "Ceil"}
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


def log_base(base):
    def emit(b, node, inputs):
        return b.add("Div", [b.add("Log", [inputs[0]]), b.scalar_like(np.log(base), node)])
    return emit


def exp2(b, node, inputs):
    return b.add("Pow", [b.scalar_like(2.0, node), inputs[0]])


def round_(b, node, inputs):
    """Round (halves to even, as numpy); with decimals, scaled by 10**decimals first."""
    if node.op.decimals == 0:
        return b.add("Round", [inputs[0]])
    scale = b.scalar_like(10.0 ** node.op.decimals, node)
    return b.add("Div", [b.add("Round", [b.add("Mul", [inputs[0], scale])]), scale])


def einsum(b, node, inputs):
    """Einsum; ONNX does not broadcast named axes, so size-1 ones are expanded first."""
    subscripts = node.op.subscripts.replace(" ", "")
    if "." in subscripts:
        b.unsupported("einsum with an ellipsis")
    terms = subscripts.split("->")[0].split(",")
    sizes = {}
    for term, operand in zip(terms, node.inputs):
        for letter, size in zip(term, operand.shape):
            sizes[letter] = max(sizes.get(letter, 1), size)
    names = []
    for term, operand, name in zip(terms, node.inputs, inputs[:]):
        full = [sizes[letter] for letter in term]
        names.append(name if list(operand.shape) == full else b.add("Expand", [name, b.ints(full)]))
    return b.add("Einsum", names, equation=subscripts)


def tensordot(b, node, inputs):
    """As an Einsum equation: contracted axes share letters."""
    a, c = node.inputs
    left, right = node.op.axes
    letters = iter("abcdefghijklmnopqrstuvwxyz")
    ta = [next(letters) for _ in range(a.ndim)]
    tc = [next(letters) for _ in range(c.ndim)]
    for i, j in zip(left, right):
        tc[j] = ta[i]
    out = [ta[i] for i in range(a.ndim) if i not in left] + [tc[j] for j in range(c.ndim) if j not in right]
    return b.add("Einsum", inputs[:], equation=f"{''.join(ta)},{''.join(tc)}->{''.join(out)}")


def split(b, node, inputs):
    start, stop = node.op.bounds[node.op.part]
    axis = node.op.axis % node.ndim
    return b.add("Slice", [inputs[0], b.ints([start]), b.ints([stop]), b.ints([axis])])


PAD_MODES = {"constant": "constant", "reflect": "reflect", "edge": "edge"}


def pad(b, node, inputs):
    mode = PAD_MODES.get(node.op.mode)
    if mode is None:
        b.unsupported(f"pad mode {node.op.mode!r} (ONNX pads constant, reflect and edge)")
    widths = node.op.widths
    if mode == "reflect" and any(max(w) > d - 1 for w, d in zip(widths, node.inputs[0].shape)):
        b.unsupported("reflect padding wider than the axis less one (ONNX reflects once)")
    pads = b.ints([w[0] for w in widths] + [w[1] for w in widths])
    if mode != "constant":
        return b.add("Pad", [inputs[0], pads], mode=mode)
    return b.add("Pad", [inputs[0], pads, b.scalar_like(node.op.value, node)], mode=mode)


def gather(b, node, inputs):
    return b.add("GatherElements", [inputs[0], inputs[1]], axis=node.op.axis % node.ndim)


def scatter_add(b, node, inputs):
    if b.opset < 16:
        b.unsupported("ScatterElements adds from opset 16")
    return b.add("ScatterElements", [inputs[0], inputs[1], inputs[2]], axis=node.op.axis % node.ndim,
                 reduction="add")


def tile(b, node, inputs):
    """numpy's tile: reps and the input's rank padded with leading ones to agree."""
    x = node.inputs[0]
    reps = list(node.op.reps)
    rank = max(len(reps), x.ndim)
    reps = [1] * (rank - len(reps)) + reps
    source = inputs[0]
    if x.ndim < rank:
        source = b.add("Reshape", [source, b.ints([1] * (rank - x.ndim) + list(x.shape))])
    return b.add("Tile", [source, b.ints(reps)])


def repeat(b, node, inputs):
    """Each index along the axis repeated: a Gather of the repeated indices."""
    repeats = node.op.repeats
    x = node.inputs[0]
    index = np.repeat(np.arange(len(repeats)), repeats).astype(np.int64)
    source = inputs[0]
    if node.op.axis is None:
        source = b.add("Reshape", [source, b.ints([-1])])
    axis = 0 if node.op.axis is None else node.op.axis % x.ndim
    return b.add("Gather", [source, b.constant(index)], axis=axis)


def cumsum(b, node, inputs):
    source, axis = inputs[0], node.op.axis
    if axis is None:
        source, axis = b.add("Reshape", [source, b.ints([-1])]), 0
    return b.add("CumSum", [source, b.constant(np.int64(axis % max(node.ndim, 1)))],
                 reverse=int(node.op.reverse))


def top_k(output):
    """TopK's values (output 0) or indices (output 1); sort and argsort take the whole
    axis, ascending takes the smallest first."""
    def emit(b, node, inputs):
        axis = node.op.axis % node.ndim
        k = node.op.k if node.op.k is not None else node.inputs[0].shape[axis]
        outputs = b.add("TopK", [inputs[0], b.ints([k])], outputs=2, axis=axis,
                        largest=int(node.op.descending), sorted=1)
        return outputs[output]
    return emit


def norm(b, node, inputs):
    """Vector norms (ord None, 1, 2, inf, -inf, p) and the Frobenius norm."""
    ord_, axes, keep = node.op.ord, node.op.axis, node.op.keepdims
    x = inputs[0]
    if ord_ in (None, "fro", 2.0) and (len(axes) == 1 or ord_ != 2.0):
        return b.reduce("ReduceL2", x, axes, keep)
    if len(axes) != 1:
        b.unsupported(f"matrix norm ord={ord_!r}")
    magnitude = b.add("Abs", [x])
    if ord_ == 1.0:
        return b.reduce("ReduceL1", x, axes, keep)
    if ord_ in (np.inf, -np.inf):
        return b.reduce("ReduceMax" if ord_ > 0 else "ReduceMin", magnitude, axes, keep)
    power = b.scalar_like(ord_, node)
    total = b.reduce("ReduceSum", b.add("Pow", [magnitude, power]), axes, keep)
    return b.add("Pow", [total, b.scalar_like(1.0 / ord_, node)])


MAPPINGS = {name: same(op_type) for name, op_type in SAME.items()}
MAPPINGS.update({name: reduction(op_type) for name, op_type in REDUCE.items()})
MAPPINGS.update(square=square, log1p=log1p, expm1=expm1, ne=ne, clip=clip, cast=cast, matmul=matmul,
                outer=outer, argmax=arg_reduction("ArgMax"), argmin=arg_reduction("ArgMin"),
                reshape=reshape, flatten=flatten, transpose=transpose, squeeze=squeeze,
                expand_dims=expand_dims, broadcast_to=broadcast_to, concat=concat, stack=stack,
                take=take, getitem=getitem, log2=log_base(2.0), log10=log_base(10.0), exp2=exp2,
                round=round_, einsum=einsum, tensordot=tensordot, split=split, pad=pad, gather=gather,
                scatter_add=scatter_add, tile=tile, repeat=repeat, cumsum=cumsum, topk=top_k(0), sort=top_k(0),
                argsort=top_k(1), topk_indices=top_k(1),
                norm=norm)
