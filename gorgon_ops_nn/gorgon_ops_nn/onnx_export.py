"""The ONNX mapping of the nn ops, for gorgon_onnx's export (hook `register_onnx`).

Each entry is `emit(b, node, inputs) -> name` (see gorgon.hookspecs.register_onnx). An
exported model runs in evaluation mode: dropout is the identity, batch norm uses the
running statistics. Nothing here imports onnx.
"""

import math

def leaky_relu(b, node, inputs):
    return b.add("LeakyRelu", [inputs[0]], alpha=float(node.op.alpha))


def elu(b, node, inputs):
    return b.add("Elu", [inputs[0]], alpha=float(node.op.alpha))


def gelu(b, node, inputs):
    """Gelu from opset 20; before, its formula (exact: with Erf; "tanh": the tanh form)."""
    x, approximate = inputs[0], node.op.approximate
    if b.opset >= 20:
        return b.add("Gelu", [x], approximate=approximate)
    half = b.add("Mul", [x, b.scalar_like(0.5, node)])
    if approximate == "tanh":
        cube = b.add("Mul", [b.add("Mul", [x, x]), x])
        inner = b.add("Add", [x, b.add("Mul", [cube, b.scalar_like(0.044715, node)])])
        phi = b.add("Tanh", [b.add("Mul", [inner, b.scalar_like(math.sqrt(2 / math.pi), node)])])
    else:
        phi = b.add("Erf", [b.add("Mul", [x, b.scalar_like(1 / math.sqrt(2), node)])])
    return b.add("Mul", [half, b.add("Add", [phi, b.scalar_like(1, node)])])


def silu(b, node, inputs):
    return b.add("Mul", [inputs[0], b.add("Sigmoid", [inputs[0]])])


def mish(b, node, inputs):
    return b.add("Mul", [inputs[0], b.add("Tanh", [b.add("Softplus", [inputs[0]])])])


def axis_op(op_type):
    def emit(b, node, inputs):
        return b.add(op_type, [inputs[0]], axis=node.op.axis % node.ndim)
    return emit


def logsumexp(b, node, inputs):
    """ReduceLogSumExp; with weights b, log(sum(b * exp(x - m))) + m, m the maximum."""
    axes, keep = node.op.axis, node.op.keepdims
    if len(node.inputs) == 1:
        return b.reduce("ReduceLogSumExp", inputs[0], axes, keep)
    top = b.reduce("ReduceMax", inputs[0], axes, True)
    weighted = b.add("Mul", [inputs[1], b.add("Exp", [b.add("Sub", [inputs[0], top])])])
    result = b.add("Add", [b.add("Log", [b.reduce("ReduceSum", weighted, axes, True)]), top])
    return result if keep or not axes else b.add("Squeeze", [result, b.ints(axes)])


def batch_norm(b, node, inputs):
    x, scale, shift, mean, var = inputs[:]
    return b.add("BatchNormalization", [x, scale, shift, mean, var], epsilon=float(node.op.eps))


def layer_norm(b, node, inputs):
    """LayerNormalization from opset 17; before, its formula over the last axes."""
    x, scale, shift = inputs[:]
    axes = list(range(node.ndim - node.inputs[1].ndim, node.ndim))
    if b.opset >= 17:
        return b.add("LayerNormalization", [x, scale, shift], axis=axes[0], epsilon=float(node.op.eps))
    centred = b.add("Sub", [x, b.reduce("ReduceMean", x, axes, True)])
    var = b.reduce("ReduceMean", b.add("Mul", [centred, centred]), axes, True)
    std = b.add("Sqrt", [b.add("Add", [var, b.scalar_like(node.op.eps, node)])])
    return b.add("Add", [b.add("Mul", [b.add("Div", [centred, std]), scale]), shift])


def dropout(b, node, inputs):
    return b.add("Identity", [inputs[0]])


def mode_switch(b, node, inputs):
    return b.add("Identity", [inputs[1]])


def embedding(b, node, inputs):
    return b.add("Gather", [inputs[1], inputs[0]], axis=0)


def _reduce_loss(b, node, loss):
    reduction = node.op.reduction
    if reduction == "none":
        return loss
    return b.reduce("ReduceMean" if reduction == "mean" else "ReduceSum", loss,
                    range(len(node.inputs[0].shape)), False)


def mse_loss(b, node, inputs):
    diff = b.add("Sub", inputs[:])
    return _reduce_loss(b, node, b.add("Mul", [diff, diff]))


def binary_cross_entropy(b, node, inputs):
    """-(t log p + (1 - t) log(1 - p)), each log floored at -100 as the kernel does."""
    p, t = inputs[:]
    floor = b.scalar_like(-100.0, node)
    log_p = b.add("Max", [b.add("Log", [p]), floor])
    log_q = b.add("Max", [b.add("Log", [b.add("Sub", [b.scalar_like(1, node), p])]), floor])
    terms = b.add("Add", [b.add("Mul", [t, b.add("Sub", [log_p, log_q])]), log_q])
    return _pointwise(b, node, b.add("Neg", [terms]))


def binary_cross_entropy_with_logits(b, node, inputs):
    """max(x, 0) - x t + log(1 + exp(-|x|)), stable for any x."""
    x, t = inputs[:]
    soft = b.add("Log", [b.add("Add", [b.scalar_like(1, node), b.add("Exp", [b.add("Neg", [b.add("Abs", [x])])])])])
    terms = b.add("Add", [b.add("Sub", [b.add("Relu", [x]), b.add("Mul", [x, t])]), soft])
    return _pointwise(b, node, terms)


def cross_entropy(b, node, inputs):
    """-sum(target * log_softmax(logits)) over the last axis, the target one-hot (integer
    labels, picked with GatherElements) or probabilities; then the reduction."""
    if len(node.inputs) > 2 or set(node.op.params) - {"reduction"}:
        b.unsupported("class weights, ignore_index and label smoothing are not mapped")
    logits, target = node.inputs
    last = logits.ndim - 1
    log_p = b.add("LogSoftmax", [inputs[0]], axis=last)
    if target.dtype.kind in "iu":
        labels = b.add("Unsqueeze", [b.add("Cast", [inputs[1]], to=b.dtype("int64")), b.ints([last])])
        picked = b.add("GatherElements", [log_p, labels], axis=last)
        per_example = b.add("Neg", [b.add("Squeeze", [picked, b.ints([last])])])
    else:
        per_example = b.add("Neg", [b.reduce("ReduceSum", b.add("Mul", [inputs[1], log_p]), [last], False)])
    if node.op.reduction == "none":
        return per_example
    return b.reduce("ReduceMean" if node.op.reduction == "mean" else "ReduceSum", per_example,
                    range(last), False)


def same(op_type):
    def emit(b, node, inputs):
        return b.add(op_type, [inputs[0]])
    return emit


def hardswish(b, node, inputs):
    """HardSwish from opset 14; before, x * clip(x + 3, 0, 6) / 6."""
    if b.opset >= 14:
        return b.add("HardSwish", [inputs[0]])
    gate = b.add("Clip", [b.add("Add", [inputs[0], b.scalar_like(3, node)]), b.scalar_like(0, node),
                          b.scalar_like(6, node)])
    return b.add("Div", [b.add("Mul", [inputs[0], gate]), b.scalar_like(6, node)])


def instance_norm(b, node, inputs):
    return b.add("InstanceNormalization", inputs[:], epsilon=float(node.op.eps))


def group_norm(b, node, inputs):
    """Normalised per group of channels (a reshape to (N, groups, -1)), then scaled and
    shifted per channel."""
    x, scale, shift = inputs[:]
    shape = node.inputs[0].shape
    grouped = b.add("Reshape", [x, b.ints([0, node.op.num_groups, -1])])
    centred = b.add("Sub", [grouped, b.reduce("ReduceMean", grouped, [2], True)])
    var = b.reduce("ReduceMean", b.add("Mul", [centred, centred]), [2], True)
    normalised = b.add("Div", [centred, b.add("Sqrt", [b.add("Add", [var, b.scalar_like(node.op.eps, node)])])])
    per_channel = b.ints([shape[1]] + [1] * (len(shape) - 2))
    y = b.add("Reshape", [normalised, b.shape(node)])
    return b.add("Add", [b.add("Mul", [y, b.add("Reshape", [scale, per_channel])]),
                         b.add("Reshape", [shift, per_channel])])


def one_hot(b, node, inputs):
    """Labels compared with every class index (ONNX's OneHot lacks kernels for some dtypes)."""
    labels = b.add("Unsqueeze", [inputs[0], b.ints([-1])])
    classes = b.constant(range(node.op.num_classes), dtype=node.inputs[0].dtype)
    return b.add("Cast", [b.add("Equal", [labels, classes])], to=b.dtype(node.dtype))


def _pointwise(b, node, terms):
    reduction = node.op.reduction
    if reduction == "none":
        return terms
    axes = range(node.inputs[0].ndim)
    if reduction == "batchmean":
        total = b.reduce("ReduceSum", terms, axes, False)
        return b.add("Div", [total, b.scalar_like(node.inputs[0].shape[0], node)])
    return b.reduce("ReduceMean" if reduction == "mean" else "ReduceSum", terms, axes, False)


def huber_loss(b, node, inputs, limit=None, divide=False):
    """0.5 d^2 inside the limit, limit * (|d| - limit / 2) outside (smooth L1: divided by beta)."""
    limit = node.op.delta if limit is None else limit
    d = b.add("Abs", [b.add("Sub", inputs[:])])
    inside = b.add("Mul", [b.add("Mul", [d, d]), b.scalar_like(0.5 / limit if divide else 0.5, node)])
    slope = 1.0 if divide else limit
    outside = b.add("Mul", [b.add("Sub", [d, b.scalar_like(0.5 * limit, node)]), b.scalar_like(slope, node)])
    terms = b.add("Where", [b.add("Less", [d, b.scalar_like(limit, node)]), inside, outside])
    return _pointwise(b, node, terms)


def smooth_l1_loss(b, node, inputs):
    if node.op.beta == 0:
        return _pointwise(b, node, b.add("Abs", [b.add("Sub", inputs[:])]))
    return huber_loss(b, node, inputs, limit=node.op.beta, divide=True)


def kl_div(b, node, inputs):
    x, target = inputs[:]
    if node.op.log_target:
        terms = b.add("Mul", [b.add("Exp", [target]), b.add("Sub", [target, x])])
    else:
        positive = b.add("Greater", [target, b.scalar_like(0, node)])
        safe = b.add("Where", [positive, target, b.scalar_like(1, node)])
        terms = b.add("Mul", [target, b.add("Sub", [b.add("Log", [safe]), x])])
    return _pointwise(b, node, terms)


MAPPINGS = {"leaky_relu": leaky_relu, "elu": elu, "gelu": gelu, "silu": silu, "mish": mish,
            "softmax": axis_op("Softmax"), "log_softmax": axis_op("LogSoftmax"),
            "logsumexp": logsumexp, "batch_norm": batch_norm, "layer_norm": layer_norm,
            "dropout": dropout, "mode_switch": mode_switch, "embedding": embedding,
            "mse_loss": mse_loss, "cross_entropy": cross_entropy, "selu": same("Selu"),
            "softsign": same("Softsign"), "hardswish": hardswish, "instance_norm": instance_norm,
            "group_norm": group_norm, "one_hot": one_hot, "huber_loss": huber_loss,
            "smooth_l1_loss": smooth_l1_loss, "kl_div": kl_div, "binary_cross_entropy": binary_cross_entropy,
            "binary_cross_entropy_with_logits": binary_cross_entropy_with_logits}
