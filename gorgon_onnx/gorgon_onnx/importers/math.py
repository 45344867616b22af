"""Importers of ONNX's arithmetic, elementwise, matrix, reduction and softmax operators.

Each is `importer(ctx, *args) -> node(s)`; `args` are the node's inputs as nodes,
folded arrays or initializers (see gorgon_onnx.load.Context)."""

from __future__ import annotations

import numpy as np
from onnx import helper

import gorgon as G


def binary(op_name):
    def importer(ctx, a, b):
        return getattr(G, op_name)(ctx.tensor(a), ctx.tensor(b))
    return importer


def unary(op_name):
    def importer(ctx, x):
        return getattr(G, op_name)(ctx.tensor(x))
    return importer


def pow_(ctx, x, y):
    if isinstance(y, G.Node):
        return G.pow(ctx.tensor(x), y)
    exponent = ctx.static(y, "exponent")
    if exponent.size == 1 and float(exponent) == 2.0:
        return G.square(ctx.tensor(x))
    if exponent.size == 1 and float(exponent) == 0.5:
        return G.sqrt(ctx.tensor(x))
    base = ctx.tensor(x)
    return G.pow(base, G.constant(exponent.astype(base.dtype), ctx.graph))


def leaky_relu(ctx, x):
    return G.leaky_relu(ctx.tensor(x), alpha=float(ctx.attr("alpha", 0.01)))


def elu(ctx, x):
    return G.elu(ctx.tensor(x), alpha=float(ctx.attr("alpha", 1.0)))


def gelu(ctx, x):
    return G.gelu(ctx.tensor(x), approximate=ctx.attr("approximate", "none"))


def clip(ctx, x, low=None, high=None):
    node = ctx.tensor(x)
    low = -np.inf if low is None else float(np.ravel(ctx.static(low, "min"))[0])
    high = np.inf if high is None else float(np.ravel(ctx.static(high, "max"))[0])
    return G.clip(node, low, high)


def cast(ctx, x):
    return G.cast(ctx.tensor(x), helper.tensor_dtype_to_np_dtype(ctx.attr("to")))


def where(ctx, condition, a, b):
    return G.where(ctx.tensor(condition), ctx.tensor(a), ctx.tensor(b))


def gemm(ctx, a, b, c=None):
    y = G.matmul(ctx.tensor(a), ctx.tensor(b), transpose_a=bool(ctx.attr("transA", 0)),
                 transpose_b=bool(ctx.attr("transB", 0)))
    alpha, beta = float(ctx.attr("alpha", 1.0)), float(ctx.attr("beta", 1.0))
    if alpha != 1.0:
        y = y * alpha
    if c is not None:
        bias = ctx.tensor(c)
        y = y + (bias if beta == 1.0 else bias * beta)
    return y


def matmul(ctx, a, b):
    return G.matmul(ctx.tensor(a), ctx.tensor(b))


def _axes(ctx, x, axes_input):
    """A Reduce*'s axes: the attribute (before opset 18) or the input; none means all
    axes unless noop_with_empty_axes."""
    axes = ctx.attr("axes")
    if axes_input is not None:
        axes = [int(a) for a in ctx.static(axes_input, "axes")]
    if not axes:
        return () if ctx.attr("noop_with_empty_axes", 0) else tuple(range(x.ndim))
    return tuple(int(a) % x.ndim for a in axes)


def reduction(op_name):
    def importer(ctx, x, axes=None):
        node = ctx.tensor(x)
        chosen = _axes(ctx, node, axes)
        if not chosen:
            return node
        return getattr(G, op_name)(node, axis=chosen, keepdims=bool(ctx.attr("keepdims", 1)))
    return importer


def softmax_like(op_name):
    def importer(ctx, x):
        return getattr(G, op_name)(ctx.tensor(x), axis=int(ctx.attr("axis", -1)))
    return importer


def variadic(op_name):
    def importer(ctx, *args):
        result = ctx.tensor(args[0])
        for arg in args[1:]:
            result = getattr(G, op_name)(result, ctx.tensor(arg))
        return result
    return importer


def arg_reduction(op_name):
    def importer(ctx, x):
        if ctx.attr("select_last_index", 0):
            ctx.fail("select_last_index=1 is not supported")
        return getattr(G, op_name)(ctx.tensor(x), axis=int(ctx.attr("axis", 0)),
                                   keepdims=bool(ctx.attr("keepdims", 1)))
    return importer


def einsum(ctx, *operands):
    return G.einsum(ctx.attr("equation"), *[ctx.tensor(o) for o in operands])


TABLE = {
    "Add": binary("add"), "Sub": binary("sub"), "Mul": binary("mul"), "Div": binary("div"),
    "Pow": pow_, "Equal": binary("eq"), "Less": binary("lt"), "Greater": binary("gt"),
    "LessOrEqual": binary("le"), "GreaterOrEqual": binary("ge"),
    "Max": variadic("maximum"), "Min": variadic("minimum"), "Sum": variadic("add"),
    "Sqrt": unary("sqrt"), "Exp": unary("exp"), "Log": unary("log"), "Erf": unary("erf"),
    "Neg": unary("neg"), "Abs": unary("abs"), "Reciprocal": unary("reciprocal"),
    "Sin": unary("sin"), "Cos": unary("cos"), "Softplus": unary("softplus"),
    "Relu": unary("relu"), "Sigmoid": unary("sigmoid"), "Tanh": unary("tanh"),
    "LeakyRelu": leaky_relu, "Elu": elu, "Gelu": gelu, "Clip": clip, "Cast": cast, "Where": where,
    "Gemm": gemm, "MatMul": matmul, "Einsum": einsum,
    "ReduceMean": reduction("mean"), "ReduceSum": reduction("sum"), "ReduceMax": reduction("max"),
    "ReduceMin": reduction("min"), "ReduceProd": reduction("prod"),
    "ArgMax": arg_reduction("argmax"), "ArgMin": arg_reduction("argmin"),
    "Softmax": softmax_like("softmax"), "LogSoftmax": softmax_like("log_softmax"),
}
