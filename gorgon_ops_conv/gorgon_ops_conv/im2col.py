"""im2col and col2im, public so users can build their own convolution-like ops; each
is the other's gradient."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

import gorgon as G
from gorgon import Node, Op, TensorType
from gorgon.infer import shape_error
from gorgon_ops_conv.geometry import Window, canonical, pair
from gorgon_ops_conv.nchw import floats, images, rank
from gorgon_ops_conv.columns import Layout, fold_columns
from gorgon_ops_conv.windows import unfold


class Im2col(Op):
    """`im2col(x, kernel_size, stride=1, padding=0, dilation=1)`: every window of an
    NCHW batch as a column, shape (N, C*kh*kw, OH*OW), rows channel-major then kernel
    row and column (the layout of torch's unfold)."""

    name = "im2col"

    @classmethod
    def call(cls, x: Any, kernel_size: Any, stride: Any = 1, padding: Any = 0,
             dilation: Any = 1) -> Node:
        return G.apply(cls(**canonical(kernel_size=kernel_size, stride=stride, padding=padding,
                                       dilation=dilation)), x)

    def infer(self, x: Node) -> TensorType:
        dtype = images(self, x)
        window = Window.of(self)
        oh, ow = window.check(self, x.shape[2:], x)
        kh, kw = window.kernel
        return TensorType((x.shape[0], x.shape[1] * kh * kw, oh * ow), dtype)

    def forward(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return unfold(x, Window.of(self), out)

    def vjp(self, inputs: Sequence[Node], output: Node, gy: Node) -> Sequence[Node]:
        return (G.col2im(gy, inputs[0].shape[2:], **self.params),)


class Col2im(Op):
    """`col2im(cols, output_size, kernel_size, stride=1, padding=0, dilation=1)`: sums
    columns (N, C*kh*kw, L) back into an (N, C, H, W) batch of `output_size`, each value
    where im2col took it from (torch's fold); the adjoint of im2col."""

    name = "col2im"

    @classmethod
    def call(cls, cols: Any, output_size: Any, kernel_size: Any, stride: Any = 1,
             padding: Any = 0, dilation: Any = 1) -> Node:
        return G.apply(cls(output_size=pair(output_size, "output_size"),
                           **canonical(kernel_size=kernel_size, stride=stride, padding=padding,
                                       dilation=dilation)), cols)

    def infer(self, cols: Node) -> TensorType:
        rank(self, cols, 3, "columns (N, C*kh*kw, L)")
        dtype = floats(self, cols)
        window = Window.of(self)
        oh, ow = window.check(self, self.output_size, cols)
        kh, kw = window.kernel
        rows, count = cols.shape[1:]
        if rows < 1 or rows % (kh * kw):
            raise shape_error(self, f"has {rows} rows, not a positive multiple of the {kh}x{kw} "
                              f"kernel's {kh * kw}", cols)
        if count != oh * ow:
            height, width = self.output_size
            raise shape_error(self, f"has {count} columns, but the window over {height}x{width} "
                              f"makes {oh}x{ow} = {oh * ow}", cols)
        return TensorType((cols.shape[0], rows // (kh * kw)) + self.output_size, dtype)

    def forward(self, cols: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        layout = Layout(Window.of(self), self.output_size, batch_first=True)
        return fold_columns(cols, cols.shape[0], layout, out)

    def vjp(self, inputs: Sequence[Node], output: Node, gy: Node) -> Sequence[Node]:
        geometry = {k: v for k, v in self.params.items() if k != "output_size"}
        return (G.im2col(gy, **geometry),)


OPS = [Im2col, Col2im]
