"""The scan op and its light companions.

The op protocol is single-output, so a scan node's value is one packed 1-D array of the
body's float dtype holding every result of the loop, each in its own aligned region:
the stacked per-step outputs (the step's, then the residuals), then the final carried
state. `scan_part` nodes read one region (a view: the TapeMachine binds it once, no
copy); the gradient of a region is a `scan_cotangent` node (the region's gradient in
an otherwise zero packed array). The scan's gradient rule reads the cotangents' own
inputs when it can (no packed gradient is then computed) and builds a reverse scan.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gorgon.errors import GorgonError, ShapeError
from gorgon.node import Node
from gorgon.op import Op, apply
from gorgon.scan.body import Body
from gorgon.types import TensorType, describe

ALIGN = 64


class Region:
    """Where one result lives in a packed array: byte offset, shape, dtype."""

    __slots__ = ("offset", "shape", "dtype")

    def __init__(self, offset: int, shape: tuple[int, ...], dtype: np.dtype):
        self.offset, self.shape, self.dtype = offset, shape, np.dtype(dtype)

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize

    def of(self, packed: np.ndarray) -> np.ndarray:
        """This region of `packed`, as a view."""
        raw = packed.view(np.uint8)[self.offset:self.offset + self.nbytes]
        return raw.view(self.dtype).reshape(self.shape)


def layout(body: Body, steps: int, store: bool) -> tuple[list[Region], int]:
    """The regions of a scan of `steps` steps (per-step outputs, the residuals too when
    it `store`s them, then finals) and the packed array's length in elements of the
    body's dtype."""
    regions, offset = [], 0
    stacked = body.outputs if store else body.outputs[:body.n_user]
    shapes = [((steps, *n.shape), n.dtype) for n in stacked]
    shapes += [(n.shape, n.dtype) for n in body.carries]
    for shape, dtype in shapes:
        region = Region(offset, shape, dtype)
        regions.append(region)
        offset += -(-region.nbytes // ALIGN) * ALIGN
    return regions, -(-offset // body.dtype.itemsize)


class Scan(Op):
    """`scan{body, reverse}(*init, *sequences, *non_sequences[, length])`: the loop, run by
    its own compiled body; built by `G.scan`. With `store` (G.scan's scans) it keeps the
    body's residuals per step for its gradient; a reverse scan does not (its own
    gradient, a second order, runs it once more with `store`). With `dynamic`, its last
    input is an integer scalar: the number of steps each run takes, at most the
    sequences' axis 0 (the stacked rows after them are zeros)."""

    name = "scan"
    nested = True

    def __init__(self, body: Body, reverse: bool, length: int | None, store: bool = True,
                 dynamic: bool = False):
        super().__init__(body=body, reverse=reverse, length=length, store=store, dynamic=dynamic)
        self.pure = not body.impure
        self.mode_dependent = body.mode_dependent

    def split(self, inputs: Sequence) -> tuple[list, list, list]:
        nc, ns = len(self.body.carries), len(self.body.slices)
        end = len(inputs) - 1 if self.dynamic else len(inputs)
        return list(inputs[:nc]), list(inputs[nc:nc + ns]), list(inputs[nc + ns:end])

    @property
    def stacked(self) -> int:
        """How many stacked per-step results the packed value holds (finals follow)."""
        return len(self.body.outputs) if self.store else self.body.n_user

    def steps(self, sequences: Sequence) -> int:
        """The number of rows of the stacked results (with `dynamic`, the most steps a run
        may take)."""
        return self.length if not sequences else int(sequences[0].shape[0])

    def trip(self, value: np.ndarray, capacity: int) -> int:
        """The steps a dynamic scan takes for its length input's value."""
        steps = int(value)
        if not 0 <= steps <= capacity:
            raise GorgonError(f"scan {self.body.name!r}: its length input is {steps}, outside 0..{capacity} "
                              f"(the sequences' axis 0, the most steps this scan can take)")
        return steps

    def infer(self, *inputs: Node) -> TensorType:
        init, sequences, params = self.split(inputs)
        body = self.body
        for node, place, what in ([(n, p, "init") for n, p in zip(init, body.carries)]
                                  + [(n, p, "non-sequence") for n, p in zip(params, body.params)]):
            if node.shape != place.shape or node.dtype != place.dtype:
                raise ShapeError(f"scan {body.name!r}: {what} {describe(node)} does not match the "
                                 f"body's {place.shape} {place.dtype}")
        for node, place in zip(sequences, body.slices):
            if node.shape[1:] != place.shape or node.dtype != place.dtype:
                raise ShapeError(f"scan {body.name!r}: sequence {describe(node)} does not match the "
                                 f"body's slices {place.shape} {place.dtype}")
        if self.dynamic:
            check_length_node(body.name, inputs[-1])
        return TensorType((layout(body, self.steps(sequences), self.store)[1],), body.dtype)

    def forward(self, *arrays: np.ndarray, out: np.ndarray | None = None,
                training: bool = True, backends: Sequence[str] | None = None) -> np.ndarray:
        init, sequences, params = self.split(arrays)
        rows = self.steps(sequences)
        steps = self.trip(arrays[-1], rows) if self.dynamic else rows
        regions, size = layout(self.body, rows, self.store)
        keep = out is not None
        if out is None:
            out = np.empty(size, self.body.dtype)
        _zero_gaps(out, regions)
        parts = [r.of(out) for r in regions]
        count = self.stacked
        for stack in parts[:count]:
            stack[steps:] = 0
        self.body.run(init, sequences, params, steps, self.reverse, parts[:count], parts[count:], training,
                      keep, backends)
        return out

    def get_state(self) -> list:
        return [op.get_state() for op in self.body.impure]

    def set_state(self, state: list) -> None:
        for op, each in zip(self.body.impure, state):
            op.set_state(each)

    def vjp(self, inputs: Sequence[Node], output: Node, grad_output: Node) -> list:
        from gorgon.scan.reverse import scan_vjp

        return scan_vjp(self, inputs, output, grad_output)


def check_length_node(name: str, node: Node) -> None:
    """A dynamic scan's length must be an integer scalar node."""
    if node.ndim != 0 or node.dtype.kind not in "iu":
        raise ShapeError(f"scan {name!r}: its length must be an integer scalar node (the steps a run "
                         f"takes), got {describe(node)}")


def _zero_gaps(packed: np.ndarray, regions: Sequence[Region]) -> None:
    """Zero the alignment padding between regions, so that the packed value holds no
    stale bytes (which a NaN watch would read)."""
    raw = packed.view(np.uint8)
    ends = [r.offset + r.nbytes for r in regions]
    starts = [r.offset for r in regions[1:]] + [raw.size]
    for end, start in zip(ends, starts):
        raw[end:start] = 0


class ScanPart(Op):
    """`scan_part{scan, index}(packed)`: one result of a scan, a view of its region
    (`whole` is the result's own shape; `region.shape` may be a reshaping of it, as the
    stacked (T * N, K) a hoisted gradient GEMM reads)."""

    name = "scan_part"
    is_view = True
    view_layout = "keeps"

    def __init__(self, scan: str, index: int, region: Region, size: int, dtype: np.dtype,
                 whole: tuple[int, ...] | None = None):
        super().__init__(scan=scan, index=index, offset=region.offset, shape=region.shape,
                         dtype=region.dtype, size=size, packed=np.dtype(dtype),
                         whole=region.shape if whole is None else whole)
        self.region = region

    def __str__(self) -> str:
        return f"scan_part{{{self.scan},{self.index}}}"

    def infer(self, packed: Node) -> TensorType:
        if packed.shape != (self.size,) or packed.dtype != self.packed:
            raise GorgonError(f"scan_part of scan {self.scan!r}: expected a packed ({self.size},) "
                              f"{self.packed} array, got {describe(packed)}")
        return TensorType(self.shape, self.dtype)

    def view(self, packed: np.ndarray) -> np.ndarray:
        return self.region.of(packed)

    def forward(self, packed: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        if out is None:
            return self.region.of(packed)
        np.copyto(out, self.region.of(packed))
        return out

    def flat(self) -> ScanPart:
        """The same region read as 2-D: its leading axes merged."""
        shape = (int(np.prod(self.shape[:-1], dtype=np.int64)), self.shape[-1])
        return ScanPart(self.scan, self.index, Region(self.offset, shape, self.dtype), self.size,
                        self.packed, self.whole)

    def vjp(self, inputs: Sequence[Node], output: Node, grad_output: Node) -> list:
        cotangent = ScanCotangent(self.scan, self.index, self.region, self.size, self.packed, self.whole)
        return [apply(cotangent, grad_output)]


class ScanCotangent(Op):
    """`scan_cotangent{scan, index}(g)`: a packed array, zero but for `g` in one region."""

    name = "scan_cotangent"

    def __init__(self, scan: str, index: int, region: Region, size: int, dtype: np.dtype,
                 whole: tuple[int, ...] | None = None):
        super().__init__(scan=scan, index=index, offset=region.offset, shape=region.shape,
                         dtype=region.dtype, size=size, packed=np.dtype(dtype),
                         whole=region.shape if whole is None else whole)
        self.region = region

    def __str__(self) -> str:
        return f"scan_cotangent{{{self.scan},{self.index}}}"

    def infer(self, gradient: Node) -> TensorType:
        if gradient.shape != self.shape or gradient.dtype != self.dtype:
            raise GorgonError(f"scan_cotangent of scan {self.scan!r}: expected {self.shape} "
                              f"{self.dtype}, got {describe(gradient)}")
        return TensorType((self.size,), self.packed)

    def forward(self, gradient: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        if out is None:
            out = np.empty(self.size, self.packed)
        out.fill(0)
        np.copyto(self.region.of(out), gradient)
        return out

    def vjp(self, inputs: Sequence[Node], output: Node, grad_output: Node) -> list:
        return [apply(ScanPart(self.scan, self.index, self.region, self.size, self.packed, self.whole),
                      grad_output)]


def part_op(op: Scan, steps: int, index: int) -> ScanPart:
    """The op reading the `index`-th result (per-step outputs, then finals) of a scan
    node of `op` over `steps` steps."""
    regions, size = layout(op.body, steps, op.store)
    return ScanPart(op.body.name, index, regions[index], size, op.body.dtype)


def part(node: Node, index: int) -> Node:
    """The `index`-th result of scan node `node`."""
    op = node.op
    return apply(part_op(op, op.steps(op.split(node.inputs)[1]), index), node)
