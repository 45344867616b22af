"""Numerically stabilising rewrites the TapeMachine's compiler applies (pass `rewrite`):

    log(1 + x)          -> log1p(x)
    exp(x) - 1          -> expm1(x)
    log1p(exp(x))       -> softplus(x)        (so log(1 + exp(x)) too)
    log(sigmoid(x))     -> -softplus(-x)
    log(1 - sigmoid(x)) -> -softplus(x)
    -(-x)               -> x

and two that save work rather than precision:

    x + getitem_grad(g, x.shape, index) -> getitem_add(x, g, index)
    getitem_add(...getitem_add(getitem_grad(g1, shape, s1), g2, s2)..., gk, sk)
                        -> concat([g's in the order of their slices], axis)

the second when the slices s1..sk are basic slices of one axis (step 1, every other
axis whole) that tile it without gaps or overlaps: the gradients of an LSTM's gates,
sliced from one pre-activation, become one copy instead of a fill and k additions.
"""


def _plus_one(term, ctx):
    """x when `term` is 1 + x or x + 1 with x of the result's shape, else None."""
    if not ctx.is_op(term, "add"):
        return None
    a, b = term.inputs
    for one, x in ((a, b), (b, a)):
        if ctx.is_constant(one, 1.0) and x.shape == term.shape:
            return x
    return None


def log_one_plus(term, ctx):
    if ctx.is_op(term, "log"):
        x = _plus_one(term.inputs[0], ctx)
        if x is not None:
            return ctx.make("log1p", x)
    return None


def exp_minus_one(term, ctx):
    if ctx.is_op(term, "sub"):
        a, b = term.inputs
        if ctx.is_op(a, "exp") and ctx.is_constant(b, 1.0) and a.shape == term.shape:
            return ctx.make("expm1", a.inputs[0])
    return None


def log_one_plus_exp(term, ctx):
    if ctx.is_op(term, "log1p") and ctx.is_op(term.inputs[0], "exp"):
        return ctx.make("softplus", term.inputs[0].inputs[0])
    return None


def log_sigmoid(term, ctx):
    if ctx.is_op(term, "log") and ctx.is_op(term.inputs[0], "sigmoid"):
        x = term.inputs[0].inputs[0]
        return ctx.make("neg", ctx.make("softplus", ctx.make("neg", x)))
    return None


def log_one_minus_sigmoid(term, ctx):
    if ctx.is_op(term, "log") and ctx.is_op(term.inputs[0], "sub"):
        one, s = term.inputs[0].inputs
        if ctx.is_constant(one, 1.0) and ctx.is_op(s, "sigmoid") and s.shape == term.shape:
            return ctx.make("neg", ctx.make("softplus", s.inputs[0]))
    return None


def double_negation(term, ctx):
    if ctx.is_op(term, "neg") and ctx.is_op(term.inputs[0], "neg"):
        return term.inputs[0].inputs[0]
    return None


def add_of_scatter(term, ctx):
    if ctx.is_op(term, "add"):
        for x, scatter in (term.inputs, term.inputs[::-1]):
            if ctx.is_op(scatter, "getitem_grad") and x.shape == term.shape == scatter.shape:
                return ctx.make("getitem_add", x, *scatter.inputs, index=scatter.op.index)
    return None


def _one_axis_slice(index, shape):
    """(axis, start, stop) when the encoded `index` is a step-1 slice of one axis of
    `shape`, every other axis whole; else None."""
    if len(index) > len(shape) or not all(isinstance(item, tuple) and item[0] == "slice" for item in index):
        return None
    cut = None
    for axis, (item, size) in enumerate(zip(index, shape)):
        start, stop, step = slice(*item[1:]).indices(size)
        if (start, stop, step) == (0, size, 1):
            continue
        if cut is not None or step != 1 or start >= stop:
            return None
        cut = (axis, start, stop)
    return cut


def scatters_to_concat(term, ctx):
    if not ctx.is_op(term, "getitem_add") or len(term.inputs) != 2:
        return None
    pieces, x = [], term
    while ctx.is_op(x, "getitem_add") and len(x.inputs) == 2:
        pieces.append((x.op.index, x.inputs[1]))
        x = x.inputs[0]
    if not ctx.is_op(x, "getitem_grad") or len(x.inputs) != 1:
        return None
    pieces.append((x.op.index, x.inputs[0]))
    cuts = []
    for index, g in pieces:
        cut = _one_axis_slice(index, term.shape)
        if cut is None or g.dtype != term.dtype:
            return None
        cuts.append((cut, g))
    cuts.sort(key=lambda piece: piece[0][1])
    axis, covered = cuts[0][0][0], 0
    for (piece_axis, start, stop), _ in cuts:
        if piece_axis != axis or start != covered:
            return None
        covered = stop
    if covered != term.shape[axis]:
        return None
    return ctx.make("concat", *[g for _, g in cuts], axis=axis)


RULES = {
    "log1p": log_one_plus,
    "expm1": exp_minus_one,
    "softplus": log_one_plus_exp,
    "log_sigmoid": log_sigmoid,
    "log_one_minus_sigmoid": log_one_minus_sigmoid,
    "double_negation": double_negation,
    "add_of_scatter": add_of_scatter,
    "scatters_to_concat": scatters_to_concat,
}
