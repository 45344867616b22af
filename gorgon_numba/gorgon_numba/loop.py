"""A scan's steps as one compiled loop: the `scan_loop` maker (gorgon.scan.plan).

A scan runs its body's kernels step after step; from Python each call costs a few
microseconds of dispatch (an LSTM step calls six to eight kernels). Here a kept plan's
steps become one Numba function that calls every kernel of every step itself, without
the GIL: Numba kernels directly, numpy ufunc steps as Numba's ufuncs (which may differ
from numpy's in the last place for exp, tanh and the like), matmul through numpy's own
BLAS (gorgon_numba.loop_blas), a sum over a matrix's rows (a bias gradient inside a step),
and an op that joins blocks (concat) and the copies after a step as loops. Steps holding anything else (another numpy kernel, a kernel that cannot be
imported by name, arrays of other layouts from step to step) are declined and run from
Python as before.

Each argument of a step is either the same array at every step (a parameter, a buffer)
or one array per step (a slice of a sequence, a stored row): the former is passed once;
the latter, C-contiguous, as the arrays' addresses, which the loop views again (the plan
holds the arrays, so the memory stays theirs), else as a typed list indexed by the step. The loop's source names its kernels by
module, so it is one module per body structure (gorgon_numba.cache), made once and kept
by Numba's cache for the next process; a scan over another length or binding runs the
same function, on the same machine code.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numba
import numpy as np
from numba.core.registry import CPUDispatcher
from numba.typed import List

from gorgon import TensorType
from gorgon_numba import loop_blas
from gorgon_numba.cache import load

Operand = Any  # an array or a number
HELPERS = "gorgon_numba.loop_blas"


def make_loop(ops: Sequence[Any], plan: Any) -> Callable[[], None] | None:
    """One call running all of `plan`'s steps (its `steps`, `arguments(p)` and `copies`,
    per step, one entry per instruction of `ops`), or None when a step cannot be compiled."""
    if not plan.steps:
        return None
    template, operands = None, []
    for p in range(len(plan.steps)):
        found = _step_lines(ops, plan.steps[p], plan.arguments(p), plan.copies[p])
        if found is None or (template is not None and found[:2] != template):
            return None
        template = found[:2]
        operands.append(found[2])
    lines, imports = template
    passed = _passed(operands)
    if passed is None:
        return None
    params, uses = passed
    imports["pointer"] = (HELPERS, "pointer")
    source = ["import numba", "import numpy as np", f"# loop_blas {loop_blas.VERSION}: a new version, a new loop"]
    source += [f"from {module} import {name} as {alias}" for alias, (module, name) in sorted(imports.items())]
    source += ["", "", "@numba.njit(nogil=True, cache=True)",
               "def loop(steps, " + ", ".join(name for name, _ in params) + "):", "    for p in range(steps):"]
    source += [f"        {line.format(*uses)}" for line in lines]
    compiled = load("\n".join(source) + "\n").loop
    values = [value for _, value in params]
    try:
        compiled(0, *values)
    except Exception:  # noqa: BLE001 - a loop Numba cannot type is declined, the steps run from Python
        return None
    return functools.partial(compiled, len(plan.steps), *values)


def _importable(function: Any) -> tuple[str, str] | None:
    """(module, name) a kernel is imported by, or None when that does not give it back."""
    inner = getattr(function, "py_func", function)
    module, name = getattr(inner, "__module__", None), getattr(inner, "__name__", None)
    found = getattr(sys.modules.get(module), name, None) if module and name else None
    return (module, name) if found is function else None


def _step_lines(ops: Sequence[Any], steps: Sequence[Callable], calls: Sequence[tuple], copies: Sequence[tuple]
                ) -> tuple[list[str], dict[str, tuple[str, str]], list[Operand]] | None:
    """One step as source lines over operand slots `{i}`, the imports the lines name, and
    its operands; None when a kernel is none of the kinds compiled here."""
    lines: list[str] = []
    imports: dict[str, tuple[str, str]] = {}
    operands: list[Operand] = []

    def call(alias: str, where: tuple[str, str], values: Sequence[Operand]) -> None:
        imports[alias] = where
        start = len(operands)
        operands.extend(values)
        lines.append(f"{alias}({', '.join(f'{{{i}}}' for i in range(start, start + len(values)))})")

    def copy(target: np.ndarray, value: np.ndarray) -> bool:
        if target.shape != value.shape or target.dtype != value.dtype or loop_blas.copy_into(target.ndim) is None:
            return False
        call(f"copy{target.ndim}", (HELPERS, f"copy{target.ndim}"), [target, value])
        return True

    for k, (op, run_step, (arrays, out)) in enumerate(zip(ops, steps, calls)):
        func = getattr(run_step, "func", None)
        where = _importable(func) if isinstance(run_step, functools.partial) else None
        if isinstance(func, CPUDispatcher) and where is not None and not run_step.keywords:
            call(f"kernel{k}", where, run_step.args)
        elif isinstance(func, np.ufunc) and getattr(np, func.__name__, None) is func \
                and set(run_step.keywords) <= {"out"}:
            call(f"ufunc{k}", ("numpy", func.__name__), [*run_step.args, *run_step.keywords.values()])
        elif op.name == "matmul":
            found = loop_blas.gemm_for(op, arrays, out)
            if found is None:
                return None
            call(f"gemm{k}", (HELPERS, found[0]), [*arrays, out, *found[1]])
        elif loop_blas.sums_rows(op, arrays, out):
            call(f"sum{k}", (HELPERS, "sum_rows"), [*arrays, out])
        else:
            blocks = op.blocks(*[TensorType(a.shape, a.dtype) for a in arrays])
            if blocks is None or not all(copy(view.view(out), part) for view, part in zip(blocks, arrays)):
                return None
    if not all(copy(target, value) for target, value in copies):
        return None
    return lines, imports, operands


def _passed(operands: list[list[Operand]]) -> tuple[list[tuple[str, Any]], list[str]] | None:
    """The loop's parameters (name, value) and each slot's expression at step `p`: `c{i}`,
    the one value every step has; for C-contiguous arrays of one shape and dtype, one per
    step, `a{i}`, their addresses, viewed with shape `s{i}`; for other arrays, `v{i}`, a
    typed list of them, read-only when one of them is. None when a slot's numbers differ
    from step to step, or its arrays' Numba types do otherwise."""
    params: list[tuple[str, Any]] = []
    uses: list[str] = []
    for i, seen in enumerate(zip(*operands)):
        first = seen[0]
        if all(_same(first, other) for other in seen[1:]):
            params.append((f"c{i}", first))
            uses.append(f"c{i}")
            continue
        if any(not isinstance(a, np.ndarray) for a in seen):
            return None
        if all(a.flags.c_contiguous and a.shape == first.shape and a.dtype == first.dtype for a in seen):
            addresses = np.array([a.__array_interface__["data"][0] for a in seen], np.uint64)
            params += [(f"a{i}", addresses), (f"s{i}", tuple(first.shape))]
            uses.append(f"numba.carray(pointer(a{i}[p]), s{i}, np.{first.dtype.type.__name__})")
            continue
        kinds = {numba.typeof(a) for a in seen}
        kind = next(iter(kinds)).copy(readonly=True) if len(kinds) > 1 else kinds.pop()
        if any(k.copy(readonly=True) != kind for k in kinds):
            return None
        listed = List.empty_list(kind)
        for array in seen:
            listed.append(array)
        params.append((f"v{i}", listed))
        uses.append(f"v{i}[p]")
    return params, uses


def _same(a: Operand, b: Operand) -> bool:
    """The same operand at two steps: arrays over the same memory in the same layout."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype
                and a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
                and a.shape == b.shape and a.strides == b.strides)
    return type(a) is type(b) and a == b
