"""conv_transpose2d: a GEMM to columns, then col2im (see `gemm`); the adjoint of conv2d
with respect to its input (and its gradients are conv2d and conv2d_grad_weight)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

import gorgon as G
from gorgon import Node, Op, TensorType
from gorgon.infer import shape_error
from gorgon_ops_conv.geometry import Pair, Window, canonical, compact, integer, pair
from gorgon_ops_conv.nchw import floats, grouped, nonempty, rank
from gorgon_ops_conv.gemm import transpose_convolve


def transposed_size(window: Window, size: Pair, extra: Pair) -> Pair:
    """The output size of a transposed convolution over an input of `size`."""
    return tuple((n - 1) * s - before - after + e + x for n, s, (before, after), e, x in
                 zip(size, window.stride, window.pads, window.span, extra))


class ConvTranspose2d(Op):
    """`conv_transpose2d(x, w, stride=1, padding=0, output_padding=0, dilation=1, groups=1)`:
    the transposed convolution (the gradient of conv2d with respect to its input) of x
    (N, C, H, W) with weights w (C, F/groups, kh, kw), giving (N, F, OH, OW) where
    OH = (H - 1) * stride - padding_top - padding_bottom + dilation * (kh - 1) + 1 +
    output_padding. output_padding (below stride) adds rows/columns at the bottom/right."""

    name = "conv_transpose2d"

    @classmethod
    def call(cls, x: Any, w: Any, stride: Any = 1, padding: Any = 0, output_padding: Any = 0,
             dilation: Any = 1, groups: int = 1) -> Node:
        return G.apply(cls(groups=integer(groups, "groups"),
                           output_padding=compact(output_padding, "output_padding"),
                           **canonical(stride=stride, padding=padding, dilation=dilation)), x, w)

    def output_size(self, window: Window, size: Pair) -> Pair:
        return transposed_size(window, size, pair(self.output_padding, "output_padding"))

    def infer(self, x: Node, w: Node) -> TensorType:
        rank(self, x, 4, "an NCHW batch", x, w)
        rank(self, w, 4, "weights (C, F/groups, kh, kw)", x, w)
        nonempty(self, x, x, w, batch=True)
        nonempty(self, w, x, w)
        dtype = floats(self, x, w)
        (n, c, h, width), (rows, per_group, kh, kw) = x.shape, w.shape
        if rows != c:
            raise shape_error(self, f"weights are for {rows} input channels, x has {c}", x, w)
        grouped(self, "input channels", c, self.groups, x, w)
        window = Window.of(self, (kh, kw))
        window.validate(self, x, w)
        extra = pair(self.output_padding, "output_padding")
        if any(not 0 <= e < s for e, s in zip(extra, window.stride)):
            raise shape_error(self, f"output_padding {extra} must be at least 0 and below the "
                              f"stride {window.stride}", x, w)
        size = self.output_size(window, (h, width))
        if min(size) < 1:
            raise shape_error(self, f"the output would be {size[0]}x{size[1]}: padding "
                              f"{window.pads} crops away everything", x, w)
        return TensorType((n, per_group * self.groups) + size, dtype)

    def forward(self, x: np.ndarray, w: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        window = Window.of(self, w.shape[2:])
        return transpose_convolve(x, w, window, self.groups, self.output_size(window, x.shape[2:]), out)

    def flops(self, inputs: Sequence[TensorType], output: TensorType) -> int:
        """A multiply-add per input element and weight of its group (conv2d's count)."""
        return 2 * math.prod(inputs[0].shape) * math.prod(inputs[1].shape[1:])

    def vjp(self, inputs: Sequence[Node], output: Node, gy: Node) -> Sequence[Any]:
        x, w = inputs
        conv = {k: v for k, v in self.params.items() if k != "output_padding"}
        return (lambda: G.conv2d(gy, w, **conv),
                lambda: G.conv2d_grad_weight(gy, x, w.shape[2:], **conv))


OPS = [ConvTranspose2d]
