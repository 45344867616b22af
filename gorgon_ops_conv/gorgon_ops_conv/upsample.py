"""upsample2d: nearest-neighbour upsampling by an integer factor per axis."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

import gorgon as G
from gorgon import Node, Op, TensorType
from gorgon.infer import shape_error
from gorgon_ops_conv.geometry import compact, pair
from gorgon_ops_conv.nchw import images
from gorgon_ops_conv.windows import deliver, target


class Upsample2d(Op):
    """`upsample2d(x, scale)`: each pixel of an NCHW batch repeated scale times along
    height and width (nearest neighbour); scale is a positive int or a pair."""

    name = "upsample2d"

    @classmethod
    def call(cls, x: Any, scale: Any) -> Node:
        return G.apply(cls(scale=compact(scale, "scale")), x)

    def infer(self, x: Node) -> TensorType:
        dtype = images(self, x)
        sh, sw = pair(self.scale, "scale")
        if min(sh, sw) < 1:
            raise shape_error(self, f"scale must be positive, got {(sh, sw)}", x)
        n, c, h, w = x.shape
        return TensorType((n, c, h * sh, w * sw), dtype)

    def forward(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        (n, c, h, w), (sh, sw) = x.shape, pair(self.scale, "scale")
        y = target(out, (n, c, h * sh, w * sw), x.dtype)
        y.reshape(n, c, h, sh, w, sw)[...] = x[:, :, :, None, :, None]
        return deliver(y, out)

    def vjp(self, inputs: Sequence[Node], output: Node, gy: Node) -> Sequence[Node]:
        (n, c, h, w), (sh, sw) = inputs[0].shape, pair(self.scale, "scale")
        return (G.sum(G.reshape(gy, (n, c, h, sh, w, sw)), axis=(3, 5)),)


OPS = [Upsample2d]
