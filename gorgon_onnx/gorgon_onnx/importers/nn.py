"""Importers of ONNX's convolution, pooling, normalisation and resize operators (NCHW;
1-D convolutions and pools run as 2-D ones over a height of 1)."""

from __future__ import annotations

import math

import numpy as np

import gorgon as G


def _pairs(ctx, x_shape, kernel, strides, dilations):
    """ONNX pads [top, left, bottom, right] (or from auto_pad) as ((top, bottom), (left, right))."""
    auto = ctx.attr("auto_pad", "NOTSET")
    spatial = len(kernel)
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        pads_begin, pads_end = [], []
        for size, k, s, d in zip(x_shape[2:], kernel, strides, dilations):
            total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
            small, large = total // 2, total - total // 2
            pads_begin.append(small if auto == "SAME_UPPER" else large)
            pads_end.append(large if auto == "SAME_UPPER" else small)
        pads = pads_begin + pads_end
    elif auto == "VALID":
        pads = [0] * (2 * spatial)
    else:
        pads = list(ctx.attr("pads", [0] * (2 * spatial)))
    return tuple((pads[i], pads[i + spatial]) for i in range(spatial))


def _as_2d(node):
    """A 1-D (N, C, L) tensor as (N, C, 1, L)."""
    return G.expand_dims(node, 2) if node.ndim == 3 else node


def _geometry(ctx, x, kernel):
    spatial = len(kernel)
    strides = list(ctx.attr("strides", [1] * spatial))
    dilations = list(ctx.attr("dilations", [1] * spatial))
    pads = _pairs(ctx, x.shape, kernel, strides, dilations)
    if spatial == 1:
        return (1, strides[0]), ((0, 0), pads[0]), (1, dilations[0])
    if spatial != 2:
        ctx.fail(f"{spatial}-D windows are not supported (1-D and 2-D are)")
    return tuple(strides), pads, tuple(dilations)


def _bias(y, bias):
    return y + G.reshape(bias, (1, bias.shape[0]) + (1,) * (y.ndim - 2))


def conv(ctx, x, w, b=None):
    x, w = ctx.tensor(x), ctx.tensor(w)
    stride, padding, dilation = _geometry(ctx, x, w.shape[2:])
    y = G.conv2d(_as_2d(x), _as_2d(w), stride=stride, padding=padding, dilation=dilation,
                 groups=int(ctx.attr("group", 1)))
    y = G.squeeze(y, axis=(2,)) if x.ndim == 3 else y
    return y if b is None else _bias(y, ctx.tensor(b))


def conv_transpose(ctx, x, w, b=None):
    x, w = ctx.tensor(x), ctx.tensor(w)
    if x.ndim != 4:
        ctx.fail("only 2-D transposed convolutions are supported")
    if ctx.attr("output_shape") is not None or ctx.attr("auto_pad", "NOTSET") != "NOTSET":
        ctx.fail("output_shape and auto_pad are not supported; give pads")
    stride, padding, dilation = _geometry(ctx, x, w.shape[2:])
    output_padding = tuple(ctx.attr("output_padding", [0, 0]))
    y = G.conv_transpose2d(x, w, stride=stride, padding=padding, output_padding=output_padding,
                           dilation=dilation, groups=int(ctx.attr("group", 1)))
    return y if b is None else _bias(y, ctx.tensor(b))


def _pool(ctx, x):
    node = ctx.tensor(x)
    if ctx.attr("ceil_mode", 0):
        ctx.fail("ceil_mode=1 is not supported")
    if len(ctx.onnx_node.output) > 1 and ctx.onnx_node.output[1]:
        ctx.fail("the Indices output is not supported")
    kernel = list(ctx.attr("kernel_shape"))
    stride, padding, dilation = _geometry(ctx, node, kernel)
    kernel = (1, kernel[0]) if len(kernel) == 1 else tuple(kernel)
    return node, dict(kernel_size=kernel, stride=stride, padding=padding, dilation=dilation)


def _back(x, y):
    return G.squeeze(y, axis=(2,)) if x.ndim == 3 else y


def max_pool(ctx, x):
    node, window = _pool(ctx, x)
    return _back(node, G.max_pool2d(_as_2d(node), **window))


def average_pool(ctx, x):
    node, window = _pool(ctx, x)
    return _back(node, G.avg_pool2d(_as_2d(node), count_include_pad=bool(ctx.attr("count_include_pad", 0)),
                                    **window))


def global_average_pool(ctx, x):
    node = ctx.tensor(x)
    if node.ndim == 4:
        return G.global_avg_pool2d(node)
    return G.mean(node, axis=tuple(range(2, node.ndim)), keepdims=True)


def batch_normalization(ctx, x, scale, bias, mean, var):
    if ctx.attr("training_mode", 0):
        ctx.fail("training_mode=1 is not supported: the graph's own mode decides (graph.train())")
    if any(name for name in ctx.onnx_node.output[1:]):
        ctx.fail("the running statistics outputs are not supported")
    momentum = 1.0 - float(ctx.attr("momentum", 0.9))
    names = ctx.onnx_node.input
    return G.batch_norm(ctx.tensor(x), ctx.tensor(scale), ctx.tensor(bias), ctx.buffer(mean, names[3]),
                        ctx.buffer(var, names[4]), momentum=momentum, eps=float(ctx.attr("epsilon", 1e-5)))


def layer_normalization(ctx, x, scale, bias=None):
    if any(name for name in ctx.onnx_node.output[1:]):
        ctx.fail("the Mean and InvStdDev outputs are not supported")
    node = ctx.tensor(x)
    axis = int(ctx.attr("axis", -1)) % node.ndim
    normalized = node.shape[axis:]
    scale = ctx.tensor(scale)
    shift = ctx.tensor(bias) if bias is not None else G.constant(np.zeros(normalized, node.dtype), ctx.graph)
    if scale.shape != normalized:
        scale = G.broadcast_to(scale, normalized)
    if shift.shape != normalized:
        shift = G.broadcast_to(shift, normalized)
    return G.layer_norm(node, scale, shift, eps=float(ctx.attr("epsilon", 1e-5)))


def instance_normalization(ctx, x, scale, bias):
    return G.instance_norm(ctx.tensor(x), ctx.tensor(scale), ctx.tensor(bias),
                           eps=float(ctx.attr("epsilon", 1e-5)))


def group_normalization(ctx, x, scale, bias):
    """Opset 21 scales per channel; opsets 18 to 20 per group (spread here over the
    group's channels)."""
    node = ctx.tensor(x)
    groups, channels = int(ctx.attr("num_groups")), node.shape[1]
    scale, bias = ctx.tensor(scale), ctx.tensor(bias)
    if scale.shape[0] != channels:
        per_group = (groups, channels // groups)
        scale = G.reshape(G.broadcast_to(G.reshape(scale, (groups, 1)), per_group), (channels,))
        bias = G.reshape(G.broadcast_to(G.reshape(bias, (groups, 1)), per_group), (channels,))
    return G.group_norm(node, groups, scale, bias, eps=float(ctx.attr("epsilon", 1e-5)))


def resize(ctx, x, roi=None, scales=None, sizes=None):
    """Nearest-neighbour resizing by whole factors: each pixel repeated (upsample2d)."""
    node = ctx.tensor(x)
    if ctx.attr("mode", "nearest") != "nearest":
        ctx.fail(f"mode {ctx.attr('mode')!r} is not supported (nearest is)")
    if scales is not None and np.size(ctx.static(scales, "scales")):
        factors = [float(s) for s in ctx.static(scales, "scales")]
    elif sizes is not None:
        factors = [int(s) / d for s, d in zip(ctx.static(sizes, "sizes"), node.shape)]
    else:
        ctx.fail("neither scales nor sizes is given")
    transform = ctx.attr("coordinate_transformation_mode", "half_pixel")
    rounding = ctx.attr("nearest_mode", "round_prefer_floor")
    if node.ndim != 4 or factors[:2] != [1.0, 1.0] or any(f != int(f) or f < 1 for f in factors[2:]):
        ctx.fail(f"only whole spatial factors on NCHW are supported, got scales {factors}")
    if not (transform in ("half_pixel", "pytorch_half_pixel") or (transform == "asymmetric" and rounding == "floor")):
        ctx.fail(f"coordinate_transformation_mode {transform!r} with nearest_mode {rounding!r} is not "
                 "supported")
    return G.upsample2d(node, (int(factors[2]), int(factors[3])))


TABLE = {
    "Conv": conv, "ConvTranspose": conv_transpose, "MaxPool": max_pool, "AveragePool": average_pool,
    "GlobalAveragePool": global_average_pool, "BatchNormalization": batch_normalization,
    "LayerNormalization": layer_normalization, "InstanceNormalization": instance_normalization,
    "GroupNormalization": group_normalization, "Resize": resize,
}
