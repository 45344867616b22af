"""A scan's steps as one compiled loop: the `scan_loop` maker (gorgon.scan.plan).

A scan runs its body's kernels step after step; from Python each call costs a few
microseconds of dispatch (an LSTM step calls six to eight kernels). Here a kept plan's
steps become one Numba function that calls every kernel of every step itself, without
the GIL: Numba kernels directly, numpy ufunc steps as Numba's ufuncs (which may differ
from numpy's in the last place for exp, tanh and the like), matmul through numpy's own
BLAS (its CBLAS sgemm or dgemm, found through threadpoolctl), and an op that joins
blocks (concat) and the copies after a step as loops. Steps holding anything else (another
numpy kernel, arrays of other layouts from step to step) are declined and run from
Python as before.

Each argument of a step is either the same array at every step (a parameter, a buffer)
or one array per step (a slice of a sequence, a stored row): the former is passed once,
the latter as a typed list indexed by the step.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numba
import numpy as np
from numba.core.registry import CPUDispatcher
from numba.typed import List

from gorgon import TensorType
from gorgon_numba.loop_blas import copy_into, gemm_for

Operand = Any  # an array or a number
LOOPS = 64
_loops: dict[tuple, tuple[Any, dict[str, Any]]] = {}
_lock = threading.Lock()


def make_loop(ops: Sequence[Any], lane: Any) -> Callable[[], None] | None:
    """One call running all of `lane`'s steps (its `steps`, `calls` and `copies`, one
    entry per step, one per instruction of `ops`), or None when a step cannot be compiled."""
    if not lane.steps:
        return None
    template, operands = None, []
    for p in range(len(lane.steps)):
        found = _step_lines(ops, lane.steps[p], lane.calls[p], lane.copies[p])
        if found is None or (template is not None and found[0] != template[0]):
            return None
        template = found
        operands.append(found[1])
    lines, callees = template[0], template[2]
    passed = _passed(operands)
    if passed is None:
        return None
    names, values = passed
    source = ["def loop(steps, " + ", ".join(names) + "):", "    for p in range(steps):"]
    source += [f"        {line.format(*(_use(name) for name in names))}" for line in lines]
    compiled = _loop("\n".join(source) + "\n", callees)
    try:
        compiled(0, *values)
    except Exception:  # noqa: BLE001 - a loop Numba cannot type is declined, the steps run from Python
        return None
    return functools.partial(compiled, len(lane.steps), *values)


def _loop(source: str, callees: dict[str, Any]) -> Any:
    """The Numba function of a loop's source calling these callees, made once per source
    and callees (a scan over another length or binding reuses it, and Numba reuses its
    machine code for the same argument types). Kept for the process, LOOPS at most."""
    key = (source, tuple(sorted((name, id(callee)) for name, callee in callees.items())))
    with _lock:
        found = _loops.get(key)
        if found is not None:
            return found[0]
    namespace: dict[str, Any] = dict(callees)
    exec(compile(source, "<gorgon_numba scan loop>", "exec"), namespace)  # noqa: S102 - our own source
    compiled = numba.njit(nogil=True, cache=False)(namespace["loop"])
    with _lock:
        _loops[key] = compiled, callees  # the callees kept alive, so that their ids stay theirs
        while len(_loops) > LOOPS:
            _loops.pop(next(iter(_loops)))
    return compiled


def _use(name: str) -> str:
    return f"{name}[p]" if name.startswith("v") else name


def _step_lines(ops: Sequence[Any], steps: Sequence[Callable], calls: Sequence[tuple], copies: Sequence[tuple]
                ) -> tuple[list[str], list[Operand], dict[str, Any]] | None:
    """One step as source lines over operand slots `{i}`, its operands, and the callees
    the lines name; None when a kernel is none of the kinds compiled here."""
    lines: list[str] = []
    operands: list[Operand] = []
    callees: dict[str, Any] = {}

    def slots(values: Sequence[Operand]) -> str:
        start = len(operands)
        operands.extend(values)
        return ", ".join(f"{{{i}}}" for i in range(start, start + len(values)))

    for k, (op, run_step, (arrays, out)) in enumerate(zip(ops, steps, calls)):
        if isinstance(run_step, functools.partial) and isinstance(run_step.func, CPUDispatcher) \
                and not run_step.keywords:
            callees[f"kernel{k}"] = run_step.func
            lines.append(f"kernel{k}({slots(run_step.args)})")
        elif isinstance(run_step, functools.partial) and isinstance(run_step.func, np.ufunc) \
                and set(run_step.keywords) <= {"out"}:
            callees[f"ufunc{k}"] = run_step.func
            lines.append(f"ufunc{k}({slots([*run_step.args, *run_step.keywords.values()])})")
        elif op.name == "matmul":
            found = gemm_for(op, arrays, out)
            if found is None:
                return None
            callees[f"gemm{k}"], numbers = found
            lines.append(f"gemm{k}({slots([*arrays, out, *numbers])})")
        elif op.blocks(*[TensorType(a.shape, a.dtype) for a in arrays]) is not None:
            views = [view.view(out) for view in op.blocks(*[TensorType(a.shape, a.dtype) for a in arrays])]
            for block, part in zip(views, arrays):
                if not _copyable(block, part):
                    return None
                callees[f"copy{block.ndim}"] = copy_into(block.ndim)
                lines.append(f"copy{block.ndim}({slots([block, part])})")
        else:
            return None
    for target, value in copies:
        if not _copyable(target, value):
            return None
        callees[f"copy{target.ndim}"] = copy_into(target.ndim)
        lines.append(f"copy{target.ndim}({slots([target, value])})")
    return lines, operands, callees


def _copyable(target: np.ndarray, value: np.ndarray) -> bool:
    return target.shape == value.shape and target.dtype == value.dtype and copy_into(target.ndim) is not None


def _passed(operands: list[list[Operand]]) -> tuple[list[str], list[Any]] | None:
    """Each slot's parameter name and value: `c{i}`, the one value every step has, or
    `v{i}`, a typed list of one array per step, read-only when one of them is (None when a
    slot's numbers differ from step to step, or its arrays' Numba types do otherwise)."""
    names, values = [], []
    for i, seen in enumerate(zip(*operands)):
        first = seen[0]
        if all(_same(first, other) for other in seen[1:]):
            names.append(f"c{i}")
            values.append(first)
            continue
        if not isinstance(first, np.ndarray):
            return None
        if any(not isinstance(a, np.ndarray) for a in seen):
            return None
        kinds = {numba.typeof(a) for a in seen}
        kind = next(iter(kinds)).copy(readonly=True) if len(kinds) > 1 else kinds.pop()
        if any(k.copy(readonly=True) != kind for k in kinds):
            return None
        listed = List.empty_list(kind)
        for array in seen:
            listed.append(array)
        names.append(f"v{i}")
        values.append(listed)
    return names, values


def _same(a: Operand, b: Operand) -> bool:
    """The same operand at two steps: arrays over the same memory in the same layout."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype
                and a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
                and a.shape == b.shape and a.strides == b.strides)
    return type(a) is type(b) and a == b

