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


def cross_entropy(b, node, inputs):
    """-sum(target * log_softmax(logits)) over the last axis, the target one-hot (integer
    labels, picked with GatherElements) or probabilities; then the reduction."""
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


MAPPINGS = {"leaky_relu": leaky_relu, "elu": elu, "gelu": gelu, "silu": silu, "mish": mish,
            "softmax": axis_op("Softmax"), "log_softmax": axis_op("LogSoftmax"),
            "logsumexp": logsumexp, "batch_norm": batch_norm, "layer_norm": layer_norm,
            "dropout": dropout, "mode_switch": mode_switch, "embedding": embedding,
            "mse_loss": mse_loss, "cross_entropy": cross_entropy}
