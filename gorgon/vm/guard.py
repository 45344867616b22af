"""What keeps a machine run all-or-nothing: a failed run (a kernel error, a NaN/Inf
watch, KeyboardInterrupt) restores the state that ops change besides their outputs,
and a machine refuses to be run from two threads at once."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from gorgon.errors import ConcurrentRunError
from gorgon.op import Op


class StateKeeper:
    """The arrays ops update in place (their declared `updates` inputs: batch norm's
    running statistics; None entries are skipped) and the ops' own state (`Op.get_state`: random generators), saved
    when a run starts and put back when it fails. Built only for programs that have such
    ops, so a run of pure ops saves nothing."""

    def __init__(self, arrays: Iterable[np.ndarray | None], ops: Iterable[Op]):
        unique: dict[int, np.ndarray] = {}
        for array in arrays:
            if array is not None:
                unique.setdefault(id(array), array)
        self.arrays = list(unique.values())
        self.ops = list({id(op): op for op in ops}.values())

    def save(self) -> tuple[list[np.ndarray], list[Any]]:
        return [array.copy() for array in self.arrays], [op.get_state() for op in self.ops]

    def restore(self, saved: tuple[list[np.ndarray], list[Any]]) -> None:
        arrays, states = saved
        for array, before in zip(self.arrays, arrays):
            np.copyto(array, before)
        for op, state in zip(self.ops, states):
            op.set_state(state)


def is_stateful(op: Op) -> bool:
    """Whether a run of `op` changes anything besides its output."""
    return bool(op.updates) or not op.pure


def state_keeper(ops_and_inputs: Sequence[tuple[Op, Sequence[np.ndarray | None]]]) -> StateKeeper | None:
    """A StateKeeper for the stateful ops among `(op, input arrays)`, or None when none is."""
    arrays: list[np.ndarray | None] = []
    ops: list[Op] = []
    for op, inputs in ops_and_inputs:
        arrays.extend(inputs[i] for i in op.updates)
        if not op.pure:
            ops.append(op)
    return StateKeeper(arrays, ops) if any(a is not None for a in arrays) or ops else None


def concurrent_run(machine: object, owner: int | None) -> ConcurrentRunError:
    """The error for running `machine` while thread `owner` (an ident) runs it. Each
    machine holds a lock that `run_all` takes without blocking (one C call) and an
    `_owner` ident; this turns a failed take into an error naming both threads."""
    return ConcurrentRunError(
        f"{machine!r} is already running in thread {_thread_name(owner)}; it was run again "
        f"from thread {threading.current_thread().name!r}. A machine runs one graph at a "
        "time: give each thread its own machine (or use G.function, which is safe from any "
        "number of threads)")


def _thread_name(ident: int | None) -> str:
    for thread in threading.enumerate():
        if thread.ident == ident:
            return repr(thread.name)
    return "(another thread)"
