"""The ONNX mapping of the conv ops, for gorgon_onnx's export (hook `register_onnx`).

Each entry is `emit(b, node, inputs) -> name` (see gorgon.hookspecs.register_onnx).
ONNX writes pads as [top, left, bottom, right]. Nothing here imports onnx.
"""

from gorgon_ops_conv.geometry import pads, pair


def _pads(padding):
    (top, bottom), (left, right) = pads(padding)
    return [top, left, bottom, right]


def _pads_1d(padding):
    left, right = (padding, padding) if isinstance(padding, int) else padding
    return [left, right]


def conv1d(b, node, inputs):
    op = node.op
    return b.add("Conv", inputs[:], kernel_shape=[node.inputs[1].shape[2]], group=op.groups,
                 strides=[op.stride], pads=_pads_1d(op.padding), dilations=[op.dilation])


def _pool_1d(op):
    stride = op.kernel_size if op.stride is None else op.stride
    return {"kernel_shape": [op.kernel_size], "strides": [stride], "pads": _pads_1d(op.padding)}


def max_pool1d(b, node, inputs):
    return b.add("MaxPool", [inputs[0]], dilations=[node.op.dilation], **_pool_1d(node.op))


def avg_pool1d(b, node, inputs):
    if node.op.dilation != 1 and b.opset < 19:
        b.unsupported("AveragePool takes dilations from opset 19")
    return b.add("AveragePool", [inputs[0]], count_include_pad=int(node.op.count_include_pad),
                 dilations=[node.op.dilation] if b.opset >= 19 else None, **_pool_1d(node.op))


def _window(op):
    return {"strides": list(pair(op.stride, "stride")), "pads": _pads(op.padding),
            "dilations": list(pair(op.dilation, "dilation"))}


def conv2d(b, node, inputs):
    kernel = list(node.inputs[1].shape[2:])
    return b.add("Conv", inputs[:], kernel_shape=kernel, group=node.op.groups, **_window(node.op))


def conv_transpose2d(b, node, inputs):
    kernel = list(node.inputs[1].shape[2:])
    return b.add("ConvTranspose", inputs[:], kernel_shape=kernel, group=node.op.groups,
                 output_padding=list(pair(node.op.output_padding, "output_padding")), **_window(node.op))


def _pool_window(op):
    kernel = pair(op.kernel_size, "kernel_size")
    stride = kernel if op.stride is None else pair(op.stride, "stride")
    return {"kernel_shape": list(kernel), "strides": list(stride), "pads": _pads(op.padding)}


def max_pool2d(b, node, inputs):
    return b.add("MaxPool", [inputs[0]], dilations=list(pair(node.op.dilation, "dilation")),
                 **_pool_window(node.op))


def avg_pool2d(b, node, inputs):
    dilation = list(pair(node.op.dilation, "dilation"))
    if dilation != [1, 1] and b.opset < 19:
        b.unsupported("AveragePool takes dilations from opset 19")
    return b.add("AveragePool", [inputs[0]], count_include_pad=int(node.op.count_include_pad),
                 dilations=dilation if b.opset >= 19 else None, **_pool_window(node.op))


def global_avg_pool2d(b, node, inputs):
    return b.add("GlobalAveragePool", [inputs[0]])


def upsample2d(b, node, inputs):
    sh, sw = pair(node.op.scale, "scale")
    scales = b.constant([1.0, 1.0, float(sh), float(sw)], dtype="float32")
    return b.add("Resize", [inputs[0], "", scales], mode="nearest",
                 coordinate_transformation_mode="asymmetric", nearest_mode="floor")


MAPPINGS = {"conv2d": conv2d, "conv_transpose2d": conv_transpose2d, "max_pool2d": max_pool2d,
            "avg_pool2d": avg_pool2d, "global_avg_pool2d": global_avg_pool2d, "upsample2d": upsample2d,
            "conv1d": conv1d, "max_pool1d": max_pool1d, "avg_pool1d": avg_pool1d}
