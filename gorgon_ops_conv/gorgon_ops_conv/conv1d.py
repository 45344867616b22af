"""conv1d: conv2d's machinery (im2col and GEMMs) on sequences seen as images one pixel
high; its gradients are conv2d's gradient ops on those images."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

import gorgon as G
from gorgon import Node, Op, TensorType
from gorgon.infer import shape_error
from gorgon_ops_conv.gemm import convolve
from gorgon_ops_conv.geometry import integer
from gorgon_ops_conv.line import (Pads1d, as_image, image_node, image_params, length_pads, line_node,
                                  line_window)
from gorgon_ops_conv.nchw import floats, grouped, nonempty, rank


def same_padding(name: str, padding: Any, weights: Any, stride: Any, dilation: Any) -> Any:
    """`padding` as numbers: "valid" is 0; "same" keeps the length (stride 1 only), the
    odd element, if any, on the right as torch does."""
    if not isinstance(padding, str):
        return padding
    if padding == "valid":
        return 0
    if padding != "same":
        raise G.ArgumentValueError(f"{name}: padding must be an int, a (left, right) pair, 'same' or "
                                   f"'valid', got {padding!r}")
    if stride != 1:
        raise G.ShapeError(f"{name}: padding='same' needs stride 1, got stride {stride!r}; "
                           "give the padding as numbers")
    shape = getattr(weights, "shape", ())
    if len(shape) != 3:
        raise G.ShapeError(f"{name}: weights must be (F, C/groups, k), got shape {shape}")
    total = integer(dilation, "dilation") * (shape[2] - 1)
    return total // 2, total - total // 2


class Conv1d(Op):
    """`conv1d(x, w, stride=1, padding=0, dilation=1, groups=1)`: 1-D cross-correlation of
    x (N, C, L) with weights w (F, C/groups, k), giving (N, F, OL). stride and dilation
    are ints; padding an int, a (left, right) pair, 'same' or 'valid'."""

    name = "conv1d"

    @classmethod
    def call(cls, x: Any, w: Any, stride: int = 1, padding: Pads1d | str = 0, dilation: int = 1,
             groups: int = 1) -> Node:
        padding = same_padding(cls.name, padding, w, stride, dilation)
        return G.apply(cls(stride=integer(stride, "stride"), padding=length_pads(padding),
                           dilation=integer(dilation, "dilation"), groups=integer(groups, "groups")), x, w)

    def geometry(self) -> dict[str, Any]:
        """conv2d's params that do the same on (N, C, 1, L) images."""
        return dict(groups=self.groups,
                    **image_params(stride=self.stride, padding=self.padding, dilation=self.dilation))

    def infer(self, x: Node, w: Node) -> TensorType:
        rank(self, x, 3, "a batch of sequences (N, C, L)", x, w)
        rank(self, w, 3, "weights (F, C/groups, k)", x, w)
        nonempty(self, x, x, w, batch=True)
        nonempty(self, w, x, w)
        dtype = floats(self, x, w)
        (n, c, length), (f, per_group, k) = x.shape, w.shape
        expected = grouped(self, "input channels", c, self.groups, x, w)
        grouped(self, "filters", f, self.groups, x, w)
        if per_group != expected:
            raise shape_error(self, f"weights take {per_group} input channels per group, but x has "
                              f"{c} channels in {self.groups} group(s), {expected} per group", x, w)
        window = line_window(k, self.stride, self.padding, self.dilation)
        return TensorType((n, f, window.check(self, (1, length), x, w)[1]), dtype)

    def forward(self, x: np.ndarray, w: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        window = line_window(w.shape[2], self.stride, self.padding, self.dilation)
        y = convolve(as_image(x), as_image(w), window, self.groups, as_image(out))
        return y[:, :, 0, :] if out is None else out

    def vjp(self, inputs: Sequence[Node], output: Node, gy: Node) -> Sequence[Any]:
        x, w = inputs
        image = self.geometry()
        window = line_window(w.shape[2], self.stride, self.padding, self.dilation)
        leftover = window.leftover((1, x.shape[2]))
        return (lambda: line_node(G.conv_transpose2d(image_node(gy), image_node(w), output_padding=leftover,
                                                     **image)),
                lambda: line_node(G.conv2d_grad_weight(image_node(x), image_node(gy), (1, w.shape[2]),
                                                       **image)))


OPS = [Conv1d]
