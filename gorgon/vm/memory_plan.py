"""The buffer plan of a compiled program, as `TapeMachine.memory()` reports it: each
buffer the machine allocates, its bytes, the nodes that share it in turn, the span of
instructions over which it lives (first write to last read, to the end for a buffer
whose value stays readable), and the peak of bytes live at once; drawn with matplotlib
when it is installed."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gorgon.compile import ALLOC, EXEC, VIEW, Program
from gorgon.errors import GorgonError
from gorgon.node import Node


@dataclass(frozen=True)
class Buffer:
    """One allocated buffer: its `register`, `shape`, `dtype` and `bytes`; the names of
    the `nodes` written into it in program order; the instruction indices `first` and
    `last` of its lifetime; `kept` when its final value stays readable after a run."""

    register: int
    shape: tuple[int, ...]
    dtype: np.dtype
    bytes: int
    nodes: tuple[str, ...]
    first: int
    last: int
    kept: bool


class MemoryPlan:
    """`buffers`, `total` (bytes allocated), `peak` (most bytes live at one instruction)
    and `peak_at` (that instruction's index in the program listing); `live()` the live
    bytes at each instruction; `str(plan)` a table; `draw()` a picture."""

    def __init__(self, buffers: Sequence[Buffer], length: int):
        self.buffers = list(buffers)
        self.length = length
        self.total = sum(b.bytes for b in self.buffers)
        live = self.live()
        self.peak = max(live, default=0)
        self.peak_at = int(np.argmax(live)) if live else 0

    def live(self) -> list[int]:
        """The bytes of the buffers alive at each instruction index."""
        live = [0] * self.length
        for b in self.buffers:
            for index in range(b.first, b.last + 1):
                live[index] += b.bytes
        return live

    def __str__(self) -> str:
        lines = [f"memory: {len(self.buffers)} buffers, {self.total} bytes allocated, peak "
                 f"{self.peak} bytes live at instruction {self.peak_at}",
                 f"{'reg':>5} {'bytes':>10} {'lives':>11}  {'shape / dtype':<24} nodes"]
        for b in sorted(self.buffers, key=lambda b: -b.bytes):
            span = f"{b.first}-{b.last}{'*' if b.kept else ''}"
            names = ", ".join(b.nodes)
            lines.append(f"r{b.register:<4} {b.bytes:>10} {span:>11}  {str(b.shape) + ' ' + str(b.dtype):<24} "
                         f"{names if len(names) <= 60 else names[:57] + '...'}")
        lines.append("(* kept readable after a run)")
        return "\n".join(lines)

    def draw(self, path: str | os.PathLike | None = None, ax: Any = None) -> Any:
        """Each buffer as a bar over its lifetime (instruction index across, buffers
        down, thickness by bytes), and the live bytes beneath; saved to `path` when
        given. Returns the matplotlib figure. Needs matplotlib."""
        try:
            import matplotlib

            if ax is None and path is not None:
                matplotlib.use("Agg", force=False)
            import matplotlib.pyplot as plt
        except ImportError:
            raise GorgonError("MemoryPlan.draw needs matplotlib (pip install matplotlib)") from None
        if ax is None:
            figure, (ax, below) = plt.subplots(2, 1, sharex=True, figsize=(10, 6),
                                               gridspec_kw={"height_ratios": [3, 1]})
        else:
            figure, below = ax.figure, None
        biggest = max((b.bytes for b in self.buffers), default=1) or 1
        for row, b in enumerate(self.buffers):
            ax.barh(row, b.last - b.first + 1, left=b.first, height=0.2 + 0.7 * b.bytes / biggest,
                    color="tab:orange" if b.kept else "tab:blue")
        ax.set_yticks(range(len(self.buffers)), [f"r{b.register}" for b in self.buffers])
        ax.invert_yaxis()
        ax.set_title(f"{len(self.buffers)} buffers, {self.total} bytes, peak {self.peak} bytes")
        if below is not None:
            below.step(range(self.length), self.live(), where="mid")
            below.set_xlabel("instruction")
            below.set_ylabel("live bytes")
        if path is not None:
            figure.savefig(os.fspath(path))
        return figure


def memory_plan(program: Program, locmap: dict[Node, int]) -> MemoryPlan:
    """The buffer plan of `program`; `locmap` says which registers stay readable."""
    instructions = program.instructions
    owner: dict[int, int] = {}
    spans: dict[int, list[int]] = {}
    names: dict[int, list[str]] = {}
    allocs = {}
    for index, ins in enumerate(instructions):
        if ins.kind == ALLOC:
            allocs[ins.out] = ins
            owner[ins.out] = ins.out
            names[ins.out] = []
            continue
        for register in ins.args:
            base = owner.get(register)
            if base is not None and base in spans:
                spans[base][1] = index
        if ins.kind == VIEW and ins.args and ins.args[0] in owner:
            owner[ins.out] = owner[ins.args[0]]
        elif ins.kind == EXEC and ins.out in allocs:
            spans.setdefault(ins.out, [index, index])[1] = index
            names[ins.out].append(ins.term.name)
    kept = {owner[r] for r in locmap.values() if r in owner}
    end = len(instructions) - 1
    buffers = []
    for register, ins in allocs.items():
        first, last = spans.get(register, [0, 0])
        term = ins.term
        buffers.append(Buffer(register, tuple(term.shape), np.dtype(term.dtype),
                              int(np.prod(term.shape, dtype=np.int64)) * np.dtype(term.dtype).itemsize,
                              tuple(names[register]), first, end if register in kept else last,
                              register in kept))
    return MemoryPlan(buffers, len(instructions))
