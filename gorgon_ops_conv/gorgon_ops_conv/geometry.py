"""Window geometry shared by every op of this plugin.

Sizes (kernel, stride, dilation, scale) are an int or a (height, width) pair; padding
is an int, a (height, width) pair, a pair of (before, after) pairs, or four sides
(top, bottom, left, right) as Gorgonia gives them. Ops keep them
in a compact canonical form (an int when both axes agree) so that equal geometries
make equal ops and print short: `conv2d{dilation=1,groups=1,padding=1,stride=1}`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gorgon import ArgumentTypeError, Node, Op
from gorgon.infer import shape_error

Pair = tuple[int, int]
Pads = tuple[Pair, Pair]


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def integer(value: Any, what: str) -> int:
    """`value` as an int, or an ArgumentTypeError naming `what`."""
    if not _is_int(value):
        raise ArgumentTypeError(f"{what} must be an int, got {value!r}")
    return int(value)


def pair(value: Any, what: str) -> Pair:
    """`value` (an int or a pair of ints) as a (height, width) pair."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(values) != 2 or not all(_is_int(v) for v in values):
        raise ArgumentTypeError(f"{what} must be an int or a pair of ints, got {value!r}")
    return int(values[0]), int(values[1])


def compact(value: Any, what: str) -> int | Pair:
    """The canonical form of a size: an int when both axes agree, else a pair."""
    height, width = pair(value, what)
    return height if height == width else (height, width)


def pads(value: Any) -> Pads:
    """Padding (an int, a pair, a pair of (before, after) pairs, or Gorgonia's four sides
    (top, bottom, left, right)) as ((top, bottom), (left, right))."""
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(
            isinstance(v, (tuple, list)) for v in value):
        return pair(value[0], "padding"), pair(value[1], "padding")
    if isinstance(value, (tuple, list)) and len(value) == 4:
        return pair(value[:2], "padding"), pair(value[2:], "padding")
    height, width = pair(value, "padding")
    return (height, height), (width, width)


def compact_pads(value: Any) -> int | Pair | Pads:
    """The canonical form of a padding: an int, a pair when each axis is symmetric,
    else ((top, bottom), (left, right))."""
    (top, bottom), (left, right) = pads(value)
    if top == bottom and left == right:
        return top if top == left else (top, left)
    return (top, bottom), (left, right)


def canonical(**sizes: Any) -> dict[str, Any]:
    """Op params in canonical form: `padding` as by compact_pads, every other size as by
    compact."""
    return {name: compact_pads(value) if name == "padding" else compact(value, name)
            for name, value in sizes.items()}


@dataclass(frozen=True)
class Window:
    """Where a sliding window reads: output pixel (oh, ow) and kernel offset (i, j) read
    padded-input pixel (oh * stride + i * dilation, ow * stride + j * dilation)."""

    kernel: Pair
    stride: Pair
    pads: Pads
    dilation: Pair

    @classmethod
    def of(cls, op: Op, kernel: Any = None) -> Window:
        """The window of an op whose params hold stride, padding and dilation (and
        kernel_size, unless `kernel` is given)."""
        kernel = op.kernel_size if kernel is None else tuple(kernel)
        return cls(pair(kernel, "kernel_size"), pair(op.stride, "stride"), pads(op.padding),
                   pair(op.dilation, "dilation"))

    @property
    def span(self) -> Pair:
        """The extent of the dilated kernel."""
        return tuple(d * (k - 1) + 1 for k, d in zip(self.kernel, self.dilation))

    @property
    def has_padding(self) -> bool:
        """Whether any side is padded."""
        return any(any(side) for side in self.pads)

    @property
    def offsets(self) -> list[Pair]:
        """Every kernel offset (i, j), in row-major order."""
        return [(i, j) for i in range(self.kernel[0]) for j in range(self.kernel[1])]

    def tiles(self, size: Pair) -> bool:
        """Whether the windows cover an input of `size` exactly once each element: no
        padding, stride equal to the (dilated) kernel's extent, nothing left over."""
        return (not self.has_padding and self.stride == self.span
                and all(n % s == 0 for n, s in zip(size, self.stride)))

    def padded(self, size: Pair) -> Pair:
        """The size of an input of `size` once padded."""
        return tuple(s + before + after for s, (before, after) in zip(size, self.pads))

    def grid(self, size: Pair) -> Pair:
        """The output size over an input of `size`."""
        return tuple((p - e) // s + 1 for p, e, s in zip(self.padded(size), self.span, self.stride))

    def leftover(self, size: Pair) -> Pair:
        """The padded-input rows and columns past the last window (what a transposed
        convolution needs as output_padding to give back `size`)."""
        return tuple((p - e) % s for p, e, s in zip(self.padded(size), self.span, self.stride))

    def coverage(self, size: Pair) -> tuple[np.ndarray, np.ndarray]:
        """For each output row and column, how many kernel rows/columns fall on the
        input rather than on padding."""
        counts = []
        for n, k, s, d, (before, _), o in zip(size, self.kernel, self.stride, self.dilation,
                                              self.pads, self.grid(size)):
            where = np.arange(o)[:, None] * s + np.arange(k)[None, :] * d - before
            counts.append(((where >= 0) & (where < n)).sum(axis=1))
        return counts[0], counts[1]

    def validate(self, op: Op, *nodes: Node) -> None:
        """A ShapeError naming op and nodes unless every size is positive and the padding
        not negative."""
        for what, value in (("kernel_size", self.kernel), ("stride", self.stride),
                            ("dilation", self.dilation)):
            if min(value) < 1:
                raise shape_error(op, f"{what} must be positive, got {value}", *nodes)
        if min(min(p) for p in self.pads) < 0:
            raise shape_error(op, f"padding must not be negative, got {self.pads}", *nodes)

    def check(self, op: Op, size: Pair, *nodes: Node) -> Pair:
        """The output grid over an input of `size`, or a ShapeError naming op, nodes and numbers."""
        self.validate(op, *nodes)
        if min(size) < 1:
            raise shape_error(op, f"spatial size must be positive, got {size}", *nodes)
        padded = self.padded(size)
        if any(e > p for e, p in zip(self.span, padded)):
            dilated = "" if self.span == self.kernel else f" (dilated to {self.span[0]}x{self.span[1]})"
            raise shape_error(op, f"kernel {self.kernel[0]}x{self.kernel[1]}{dilated} is larger than "
                              f"the padded input {padded[0]}x{padded[1]}", *nodes)
        return self.grid(size)

    def check_reaches_input(self, op: Op, size: Pair, *nodes: Node) -> None:
        """A ShapeError when some window lies wholly on padding."""
        rows, cols = self.coverage(size)
        if rows.min() == 0 or cols.min() == 0:
            raise shape_error(op, f"padding {self.pads} leaves windows that hold no input pixel "
                              f"(input {size[0]}x{size[1]}, kernel {self.kernel[0]}x{self.kernel[1]})",
                              *nodes)
