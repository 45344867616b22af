"""Importers of ONNX's shape, indexing, constant and pass-through operators.

Shapes are static in gorgon, so Shape and Size are folded into arrays; the shape-like
inputs of Reshape, Slice, Split, Squeeze, Unsqueeze, Expand and Pad must be known when
the model is loaded."""

from __future__ import annotations

import math

import numpy as np
from onnx import numpy_helper

import gorgon as G


def _shape_of(x):
    if isinstance(x, G.Node):
        return x.shape
    return tuple(np.shape(x.array if hasattr(x, "array") else x))


def shape(ctx, x):
    dims = _shape_of(x)
    start, end = ctx.attr("start", 0), ctx.attr("end", None)
    return np.array(dims[start:end], dtype=np.int64)


def size(ctx, x):
    return np.array(math.prod(_shape_of(x)), dtype=np.int64)


def constant(ctx):
    for name in ("value", "value_float", "value_floats", "value_int", "value_ints"):
        value = ctx.attr(name)
        if value is not None:
            if name == "value":
                return numpy_helper.to_array(value)
            return np.array(value, dtype=np.float32 if "float" in name else np.int64)
    ctx.fail("only tensor, float(s) and int(s) constants are supported")


def identity(ctx, x):
    return x


def dropout(ctx, x, ratio=None, training_mode=None):
    if len(ctx.onnx_node.output) > 1 and ctx.onnx_node.output[1]:
        ctx.fail("its mask output is not supported")
    if training_mode is not None and bool(ctx.static(training_mode, "training_mode")):
        ctx.fail("training_mode=True is not supported: the graph's own mode decides")
    p = 0.5 if ratio is None else float(ctx.static(ratio, "ratio"))
    node = ctx.tensor(x)
    return node if p == 0.0 else G.dropout(node, p=p)


def flatten(ctx, x):
    node = ctx.tensor(x)
    axis = ctx.attr("axis", 1) % (node.ndim + 1) if node.ndim else 0
    return G.reshape(node, (math.prod(node.shape[:axis]), math.prod(node.shape[axis:])))


def reshape(ctx, x, target):
    node = ctx.tensor(x)
    dims = [int(d) for d in ctx.static(target, "shape")]
    if not ctx.attr("allowzero", 0):
        dims = [node.shape[i] if d == 0 else d for i, d in enumerate(dims)]
    return G.reshape(node, tuple(dims))


def transpose(ctx, x):
    node = ctx.tensor(x)
    perm = ctx.attr("perm")
    return G.transpose(node, axes=tuple(perm) if perm is not None else None)


def concat(ctx, *parts):
    nodes = [ctx.tensor(p) for p in parts]
    return nodes[0] if len(nodes) == 1 else G.concat(nodes, axis=int(ctx.attr("axis")))


def _slice_along(node, axis, start, stop, step=1):
    index = [slice(None)] * node.ndim
    index[axis] = slice(start, stop, step)
    return node[tuple(index)]


def split(ctx, x, sizes=None):
    node = ctx.tensor(x)
    axis = int(ctx.attr("axis", 0)) % node.ndim
    count = len(ctx.onnx_node.output)
    if sizes is not None:
        parts = [int(s) for s in ctx.static(sizes, "split")]
    else:
        chunk = -(-node.shape[axis] // count)
        parts = [min(chunk, node.shape[axis] - k * chunk) for k in range(count)]
    edges = np.cumsum([0, *parts])
    return [_slice_along(node, axis, int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


def slice_(ctx, x, starts, ends, axes=None, steps=None):
    node = ctx.tensor(x)
    starts = ctx.static(starts, "starts")
    ends = ctx.static(ends, "ends")
    axes = range(len(starts)) if axes is None else ctx.static(axes, "axes")
    steps = [1] * len(starts) if steps is None else ctx.static(steps, "steps")
    index = [slice(None)] * node.ndim
    for start, end, axis, step in zip(starts, ends, axes, steps):
        index[int(axis) % node.ndim] = slice(int(start), int(end), int(step))
    return node[tuple(index)]


def gather(ctx, x, indices):
    node = ctx.tensor(x)
    axis = int(ctx.attr("axis", 0)) % node.ndim
    if isinstance(indices, G.Node):
        return G.take(node, indices, axis=axis)
    where = np.asarray(ctx.static(indices, "indices")).astype(np.int64)
    where = np.where(where < 0, where + node.shape[axis], where)
    if where.ndim == 0:
        index = [slice(None)] * node.ndim
        index[axis] = int(where)
        return node[tuple(index)]
    return G.take(node, G.constant(where, ctx.graph), axis=axis)


def _axes_of(ctx, axes, what="axes"):
    if axes is not None:
        return [int(a) for a in ctx.static(axes, what)]
    value = ctx.attr("axes")
    return None if value is None else list(value)


def squeeze(ctx, x, axes=None):
    node = ctx.tensor(x)
    chosen = _axes_of(ctx, axes)
    return G.squeeze(node, axis=None if chosen is None else tuple(a % node.ndim for a in chosen))


def unsqueeze(ctx, x, axes=None):
    node = ctx.tensor(x)
    chosen = _axes_of(ctx, axes)
    rank = node.ndim + len(chosen)
    for axis in sorted(a % rank for a in chosen):
        node = G.expand_dims(node, axis)
    return node


def expand(ctx, x, target):
    node = ctx.tensor(x)
    result = np.broadcast_shapes(node.shape, tuple(int(d) for d in ctx.static(target, "shape")))
    return node if result == node.shape else G.broadcast_to(node, result)


def pad(ctx, x, pads, value=None, axes=None):
    """G.pad, after cropping what negative pads remove."""
    node = ctx.tensor(x)
    mode = ctx.attr("mode", "constant")
    if mode not in ("constant", "edge", "reflect"):
        ctx.fail(f"mode {mode!r} is not supported")
    amounts = [int(p) for p in ctx.static(pads, "pads")]
    chosen = list(range(node.ndim)) if axes is None else [int(a) % node.ndim for a in ctx.static(axes, "axes")]
    fill = 0.0 if value is None or np.size(ctx.static(value, "constant_value")) == 0 else float(
        ctx.static(value, "constant_value"))
    half = len(amounts) // 2
    widths = [[0, 0] for _ in range(node.ndim)]
    crop = [slice(None)] * node.ndim
    for k, axis in enumerate(chosen):
        before, after = amounts[k], amounts[half + k]
        crop[axis] = slice(max(-before, 0), node.shape[axis] - max(-after, 0))
        widths[axis] = [max(before, 0), max(after, 0)]
    if any(s != slice(None) for s in crop):
        node = node[tuple(crop)]
    if not any(b or a for b, a in widths):
        return node
    return G.pad(node, tuple(tuple(w) for w in widths), mode=mode, value=fill if mode == "constant" else 0.0)


def cast_like(ctx, x, like):
    return G.cast(ctx.tensor(x), ctx.tensor(like).dtype)


def array_feature_extractor(ctx, x, indices):
    """ai.onnx.ml's ArrayFeatureExtractor: the elements of x at `indices` along its last
    axis (scikit-learn converters use it to turn class indices into labels)."""
    node = ctx.tensor(x)
    return G.take(node, ctx.tensor(indices), axis=node.ndim - 1)


def not_(ctx, x):
    return G.where(ctx.tensor(x), G.constant(np.array(False), ctx.graph), G.constant(np.array(True), ctx.graph))


TABLE = {
    "Shape": shape, "Size": size, "Constant": constant, "Identity": identity, "Dropout": dropout,
    "Flatten": flatten, "Reshape": reshape, "Transpose": transpose, "Concat": concat, "Split": split,
    "Slice": slice_, "Gather": gather, "Squeeze": squeeze, "Unsqueeze": unsqueeze, "Expand": expand,
    "Pad": pad, "CastLike": cast_like, "Not": not_,
    "ai.onnx.ml.ArrayFeatureExtractor": array_feature_extractor,
}
