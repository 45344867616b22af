"""What the pooling ops share: their params (kernel_size, stride defaulting to
kernel_size, padding, dilation) and the inference of the pooled shape."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from gorgon import Node, Op, TensorType
from gorgon.infer import shape_error
from gorgon_ops_conv.geometry import Window, canonical


def pool_params(kernel_size: Any, stride: Any, padding: Any, dilation: Any) -> dict[str, Any]:
    """Canonical pooling params; stride None means kernel_size."""
    return canonical(kernel_size=kernel_size, stride=kernel_size if stride is None else stride,
                     padding=padding, dilation=dilation)


class Pool(Op):
    """Base of the pooling ops and their gradients."""

    def pooled(self, x: Node, *context: Node) -> tuple[int, ...]:
        """The pooled shape (N, C, OH, OW) of x, or a ShapeError when the window does not
        fit or some window lies wholly on padding."""
        window = Window.of(self)
        size = x.shape[2:]
        grid = window.check(self, size, *context)
        window.check_reaches_input(self, size, *context)
        return x.shape[:2] + grid

    def flops(self, inputs: Sequence[TensorType], output: TensorType) -> int:
        """One operation per window element of each pooled element (the pooled side is
        the smallest of the inputs and the output)."""
        return min(math.prod(t.shape) for t in (*inputs, output)) * math.prod(Window.of(self).kernel)

    def expect(self, node: Node, shape: tuple[int, ...], what: str, *context: Node) -> None:
        """A ShapeError unless `node` has `shape`."""
        if node.shape != shape:
            raise shape_error(self, f"{what} {node.name!r} must have shape {shape}, got {node.shape}",
                              *context)
