"""The profiler of both machines: per instruction (TapeMachine) or per node and gradient
rule (LispMachine), how often it ran and for how long, what it wrote and, where its op
declares a count (`Op.flops`), how many floating-point operations; as rows, a table
sorted by time, totals per op type, and a Chrome trace (Perfetto, chrome://tracing).

A machine built with `profile=True` runs a separate loop that reads the clock around
each kernel; without it the machine's fast loop is untouched. A run that fails adds
nothing to the profile."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace
from time import perf_counter_ns
from typing import Any

import numpy as np

from gorgon.errors import GorgonError
from gorgon.op import Op
from gorgon.types import TensorType

TRACE_RUNS = 32


@dataclass(frozen=True)
class ProfileRow:
    """One profiled instruction (or op type, in `Profile.by_op`): `calls`, `total` and
    `mean` seconds, `share` of the profiled time, `bytes` written per call, `flops` per
    call (None when the op declares no count) and `gflops`, the rate over its time."""

    node: str
    op: str
    kind: str
    calls: int
    total: float
    mean: float
    share: float
    bytes: int
    flops: int | None
    gflops: float | None


@dataclass
class Entry:
    """What the profiler knows of one instruction before and after it ran."""

    node: str
    op: str
    kind: str
    op_type: str
    bytes: int
    flops: int | None
    calls: int = 0
    total_ns: int = 0


def op_flops(op: Op, inputs: Sequence[Any], output: Any) -> int | None:
    """The op's declared FLOPs for inputs and output with `shape` and `dtype`."""
    types = [TensorType(i.shape, i.dtype) for i in inputs]
    count = op.flops(types, TensorType(output.shape, output.dtype))
    return None if count is None else int(count)


def entry(name: str, op: Op, inputs: Sequence[Any], output: Any, kind: str = "forward") -> Entry:
    """An empty entry for `op` computing `output` (shape, dtype) from `inputs`; for its
    gradient rule (`kind="gradient"`), which writes one gradient per input and declares
    no FLOPs."""
    if kind == "forward":
        return Entry(name, str(op), kind, op.name, _bytes(output), op_flops(op, inputs, output))
    return Entry(name, str(op), kind, op.name, sum(_bytes(i) for i in inputs), None)


def _bytes(typed: Any) -> int:
    return int(np.prod(typed.shape, dtype=np.int64)) * np.dtype(typed.dtype).itemsize


class Profiler:
    """Collects the timings of a machine's runs. `add(key, entry)` registers what may
    run, `start_run()`, `record(key, start, end)` and `finish_run()` wrap one run (only
    finished runs count); `profile()` is the result so far."""

    def __init__(self, unit: str = "instructions") -> None:
        self.unit = unit
        self.entries: dict[Hashable, Entry] = {}
        self.events: list[list[tuple[Hashable, int, int]]] = []
        self.runs = 0
        self._pending: list[tuple[Hashable, int, int]] = []

    def reset(self) -> None:
        """Forget every timing (the registered entries stay)."""
        for item in self.entries.values():
            item.calls = item.total_ns = 0
        self.events = []
        self.runs = 0

    def add(self, key: Hashable, item: Entry) -> None:
        if key not in self.entries:
            self.entries[key] = item

    def start_run(self) -> None:
        self._pending = []

    def record(self, key: Hashable, start: int, end: int) -> None:
        self._pending.append((key, start, end))

    def finish_run(self) -> None:
        """Count the run just recorded (a run that failed never gets here)."""
        for key, start, end in self._pending:
            item = self.entries[key]
            item.calls += 1
            item.total_ns += end - start
        self.events.append(self._pending)
        del self.events[:-TRACE_RUNS]
        self._pending = []
        self.runs += 1

    def profile(self) -> Profile:
        return Profile(self.entries, self.events, self.runs, self.unit)


def clock() -> int:
    """The profiler's clock, in nanoseconds."""
    return perf_counter_ns()


class Profile:
    """The result of profiling: `rows` (one per instruction that ran, slowest first),
    `by_op()` (the same per op type), `str(profile)` / `table()` (a table), and
    `chrome_trace()` / `save_chrome_trace(path)` (the last runs as trace events)."""

    def __init__(self, keyed: dict[Hashable, Entry], events: Sequence[Sequence[tuple[Hashable, int, int]]],
                 runs: int, unit: str = "instructions"):
        self.runs = runs
        self.unit = unit
        self._keyed = {key: replace(e) for key, e in keyed.items()}
        entries = self._keyed.values()
        self.total = sum(e.total_ns for e in entries) / 1e9
        self.rows = sorted((_row(e.node, e.op, e.kind, e.calls, e.total_ns, e.bytes, e.flops, self.total)
                            for e in entries if e.calls), key=lambda r: -r.total)
        self._events = [list(run) for run in events]

    def by_op(self) -> list[ProfileRow]:
        """One row per op type (gradient rules apart): calls, time, bytes and FLOPs summed
        over its instructions, `node` the count of instructions; slowest first."""
        groups: dict[tuple[str, str], list[Entry]] = {}
        for e in self._keyed.values():
            if e.calls:
                groups.setdefault((e.op_type, e.kind), []).append(e)
        rows = []
        for (op_type, kind), items in groups.items():
            calls = sum(e.calls for e in items)
            total_ns = sum(e.total_ns for e in items)
            flop_total = None if any(e.flops is None for e in items) else sum(e.flops * e.calls for e in items)
            per_call_bytes = sum(e.bytes * e.calls for e in items) // calls
            per_call_flops = None if flop_total is None else flop_total // calls
            rows.append(_row(f"{len(items)} {self.unit}", op_type, kind, calls, total_ns,
                             per_call_bytes, per_call_flops, self.total))
        return sorted(rows, key=lambda r: -r.total)

    def table(self, rows: Sequence[ProfileRow] | None = None, limit: int | None = None) -> str:
        """The rows (all by default) as a text table, slowest first."""
        rows = list(self.rows if rows is None else rows)[:limit]
        head = (f"{'node':<28} {'op':<28} {'calls':>6} {'total ms':>9} {'mean us':>9} "
                f"{'share':>6} {'bytes':>10} {'MFLOP':>9} {'GFLOP/s':>8}")
        lines = [f"profile: {self.runs} run(s), {self.total * 1e3:.3f} ms in kernels", head]
        for r in rows:
            node = r.node if r.kind == "forward" else f"{r.node} ({r.kind})"
            mflop = "" if r.flops is None else f"{r.flops / 1e6:.2f}"
            rate = "" if r.gflops is None else f"{r.gflops:.2f}"
            lines.append(f"{_cut(node, 28):<28} {_cut(r.op, 28):<28} {r.calls:>6} {r.total * 1e3:>9.3f} "
                         f"{r.mean * 1e6:>9.1f} {r.share:>6.1%} {r.bytes:>10} {mflop:>9} {rate:>8}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def chrome_trace(self) -> dict[str, Any]:
        """The last runs (up to 32) as Chrome trace events ("X" events, microseconds,
        one track per machine run), for Perfetto or chrome://tracing."""
        events = []
        starts = [start for run in self._events for _, start, _ in run]
        origin = min(starts) if starts else 0
        for number, run in enumerate(self._events):
            for key, start, end in run:
                e = self._keyed[key]
                args: dict[str, Any] = {"op": e.op, "bytes": e.bytes, "run": number}
                if e.flops is not None:
                    args["flops"] = e.flops
                events.append({"name": e.node if e.kind == "forward" else f"{e.node} ({e.kind})",
                               "cat": e.op_type, "ph": "X", "ts": (start - origin) / 1e3,
                               "dur": (end - start) / 1e3, "pid": 0, "tid": 0, "args": args})
        return {"traceEvents": events, "displayTimeUnit": "ms"}

    def save_chrome_trace(self, path: str | os.PathLike) -> None:
        """Write `chrome_trace()` as JSON to `path`, atomically (a whole file or none)."""
        path = os.fspath(path)
        folder = os.path.dirname(os.path.abspath(path))
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".trace-", suffix=".json")
        try:
            with os.fdopen(handle, "w") as file:
                json.dump(self.chrome_trace(), file)
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise


def _row(node: str, op: str, kind: str, calls: int, total_ns: int, size: int, flops: int | None,
         whole: float) -> ProfileRow:
    total = total_ns / 1e9
    rate = None if flops is None or total <= 0 else flops * calls / total / 1e9
    return ProfileRow(node, op, kind, calls, total, total / calls, total / whole if whole > 0 else 0.0,
                      size, flops, rate)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."


def no_profile(machine: str) -> GorgonError:
    """The error for asking a machine built without profiling for its profile."""
    return GorgonError(f"this {machine} does not profile: build it with {machine}(g, profile=True)")
