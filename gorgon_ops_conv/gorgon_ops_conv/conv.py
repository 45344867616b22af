"""conv2d and its weight gradient, conv2d_grad_weight: im2col, then GEMMs on BLAS
(see `gemm`). conv2d's input gradient is conv_transpose2d."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

import gorgon as G
from gorgon import Node, Op, ShapeError, TensorType
from gorgon.infer import shape_error
from gorgon_ops_conv.geometry import Window, canonical, integer, pair
from gorgon_ops_conv.gemm import convolve, weight_gradient
from gorgon_ops_conv.nchw import floats, grouped, images, nonempty, rank


def padding_for(name: str, padding: Any, weights: Any, stride: Any, dilation: Any) -> Any:
    """`padding` as numbers: "valid" is 0; "same" pads so that the output keeps the input's
    size (stride 1 only), the odd pixel, if any, at the bottom/right as torch does."""
    if not isinstance(padding, str):
        return padding
    if padding == "valid":
        return 0
    if padding != "same":
        raise G.ArgumentValueError(f"{name}: padding must be an int, a pair, 'same' or 'valid', got {padding!r}")
    if pair(stride, "stride") != (1, 1):
        raise ShapeError(f"{name}: padding='same' needs stride 1, got stride {stride!r}; "
                         "give the padding as numbers")
    shape = getattr(weights, "shape", ())
    if len(shape) != 4:
        raise ShapeError(f"{name}: weights must be (F, C/groups, kh, kw), got shape {shape}")
    totals = [d * (k - 1) for k, d in zip(shape[2:], pair(dilation, "dilation"))]
    return tuple((total // 2, total - total // 2) for total in totals)


class Conv2d(Op):
    """`conv2d(x, w, stride=1, padding=0, dilation=1, groups=1)`: 2-D cross-correlation
    of an NCHW batch x (N, C, H, W) with weights w (F, C/groups, kh, kw), giving
    (N, F, OH, OW). Sizes are an int or a pair; padding also 'same' or 'valid', or
    ((top, bottom), (left, right)). Add a bias with an ordinary broadcast add."""

    name = "conv2d"

    @classmethod
    def call(cls, x: Any, w: Any, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
             groups: int = 1) -> Node:
        padding = padding_for(cls.name, padding, w, stride, dilation)
        geometry = canonical(stride=stride, padding=padding, dilation=dilation)
        return G.apply(cls(groups=integer(groups, "groups"), **geometry), x, w)

    def infer(self, x: Node, w: Node) -> TensorType:
        rank(self, x, 4, "an NCHW batch", x, w)
        rank(self, w, 4, "weights (F, C/groups, kh, kw)", x, w)
        nonempty(self, x, x, w, batch=True)
        nonempty(self, w, x, w)
        dtype = floats(self, x, w)
        (n, c, h, width), (f, per_group, kh, kw) = x.shape, w.shape
        expected = grouped(self, "input channels", c, self.groups, x, w)
        grouped(self, "filters", f, self.groups, x, w)
        if per_group != expected:
            raise shape_error(self, f"weights take {per_group} input channels per group, but x has "
                              f"{c} channels in {self.groups} group(s), {expected} per group", x, w)
        oh, ow = Window.of(self, (kh, kw)).check(self, (h, width), x, w)
        return TensorType((n, f, oh, ow), dtype)

    def forward(self, x: np.ndarray, w: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return convolve(x, w, Window.of(self, w.shape[2:]), self.groups, out)

    def flops(self, inputs: Sequence[TensorType], output: TensorType) -> int:
        """A multiply-add per output element and weight of its group."""
        return 2 * math.prod(output.shape) * math.prod(inputs[1].shape[1:])

    def vjp(self, inputs: Sequence[Node], output: Node, gy: Node) -> Sequence[Any]:
        x, w = inputs
        leftover = Window.of(self, w.shape[2:]).leftover(x.shape[2:])
        return (lambda: G.conv_transpose2d(gy, w, output_padding=leftover, **self.params),
                lambda: G.conv2d_grad_weight(x, gy, w.shape[2:], **self.params))


class Conv2dGradWeight(Op):
    """`conv2d_grad_weight(x, gy, kernel_size, stride=1, padding=0, dilation=1, groups=1)`:
    the gradient of conv2d with respect to its weights, given its input x (N, C, H, W) and
    the gradient gy (N, F, OH, OW) of its output; shape (F, C/groups, kh, kw)."""

    name = "conv2d_grad_weight"

    @classmethod
    def call(cls, x: Any, gy: Any, kernel_size: Any, stride: Any = 1, padding: Any = 0,
             dilation: Any = 1, groups: int = 1) -> Node:
        geometry = canonical(kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation)
        return G.apply(cls(groups=integer(groups, "groups"), **geometry), x, gy)

    def infer(self, x: Node, gy: Node) -> TensorType:
        dtype = images(self, x, gy)
        (n, c, h, width), f = x.shape, gy.shape[1]
        if gy.shape[0] != n:
            raise shape_error(self, f"batch sizes differ ({n} vs {gy.shape[0]})", x, gy)
        per_group = grouped(self, "input channels", c, self.groups, x, gy)
        grouped(self, "gradient channels", f, self.groups, x, gy)
        window = Window.of(self)
        grid = window.check(self, (h, width), x, gy)
        if gy.shape[2:] != grid:
            raise shape_error(self, f"the gradient is {gy.shape[2]}x{gy.shape[3]}, but the window "
                              f"over {h}x{width} makes {grid[0]}x{grid[1]}", x, gy)
        return TensorType((f, per_group) + window.kernel, dtype)

    def forward(self, x: np.ndarray, gy: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return weight_gradient(x, gy, Window.of(self), self.groups, out)

    def flops(self, inputs: Sequence[TensorType], output: TensorType) -> int:
        """conv2d's count: a multiply-add per element of gy and weight of its group."""
        return 2 * math.prod(inputs[1].shape) * math.prod(output.shape[1:])

    def vjp(self, inputs: Sequence[Node], output: Node, ggw: Node) -> Sequence[Any]:
        x, gy = inputs
        conv = {k: v for k, v in self.params.items() if k != "kernel_size"}
        leftover = Window.of(self).leftover(x.shape[2:])
        return (lambda: G.conv_transpose2d(gy, ggw, output_padding=leftover, **conv),
                lambda: G.conv2d(x, ggw, **conv))


OPS = [Conv2d, Conv2dGradWeight]
