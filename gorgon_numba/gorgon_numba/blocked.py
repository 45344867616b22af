"""Long fused chains on flat loops, run by one compiled interpreter: ops outer, elements
inner, a block of elements at a time.

Elements-outer (one generated loop whose body is the whole chain), a long chain is a
serial dependency per element: each step waits for the one before, and the CPU cannot
look far enough ahead to overlap elements. Here every step runs over a whole block of
elements (held in rows of a scratch array the machine allocates once) before the next
step, so the block's elements are independent and the arithmetic vectorises. The steps
are a small program (`code`: opcode and rows per step, `params`: an op's numbers) for
an interpreter compiled once per dtype and input count and cached on disk, so a new
chain costs no compilation at all, however long it is.

Scratch rows: each input that varies, each constant and each broadcast scalar input has
its own row; a step's value takes a row freed by a value no later step reads before it
(a chain needs two, alternating). Large loops run their blocks in parallel over the
cores, each thread in its own scratch.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any

import numba
import numpy as np

from gorgon_numba.cache import load

BLOCK = 256  # elements per block of a large loop
SCRATCH_BYTES = 1 << 17  # a thread's scratch stays within the L2 cache
MIN_STEPS = 16  # ops from which a flat fused kernel is interpreted
OPCODES = ("add", "mul", "sub", "div", "tanh", "square", "neg", "exp", "log", "sqrt", "reciprocal",
           "sigmoid", "relu", "abs", "sign", "log1p", "expm1", "sin", "cos", "softplus", "pow",
           "maximum", "minimum", "erf", "clip", "gelu_tanh", "gelu")
PARAMETERS = {"clip": "min(max({0}, p0), p1)"}


def opcode(op: Any) -> str:
    """The interpreter's name for an op (gelu's two forms are two opcodes)."""
    if op.name == "gelu" and op.approximate == "tanh":
        return "gelu_tanh"
    return op.name


def interpreter_source(dtype: str, parallel: bool, expressions: dict[str, Callable[..., str | None]],
                       helpers: str) -> str:
    """The interpreter `run(code, params, inputs, rows, consts, work, out, total, result,
    count)` for `dtype`, its per-op loops made from the fused kernels' expressions: `total`
    elements, `result` the row of the output, `count` 0 for an elementwise output, else the
    divisor of the sum."""
    branches = []
    for number, name in enumerate(OPCODES):
        if name in PARAMETERS:
            expression = PARAMETERS[name].format("x[k]")
        else:
            form = SimpleNamespace(approximate="tanh" if name == "gelu_tanh" else "none")
            expression = expressions[name.removesuffix("_tanh")](form, ["x[k]", "y[k]"], dtype)
        keyword = "if" if number == 0 else "elif"
        branches += [f"            {keyword} op == {number}:", "                for k in range(m):",
                     f"                    z[k] = T({expression})"]
    loop = "numba.prange" if parallel else "range"
    lines = ["import math", "import numba", "import numpy as np", "", f"T = np.{dtype}", helpers,
             f"@numba.njit(cache=True, nogil=True, error_model='numpy', fastmath={{'contract'}}, parallel={parallel})",
             "def run(code, params, inputs, rows, consts, work, out, total, result, count):",
             "    size = work.shape[-1]",
             "    blocks = (total + size - 1) // size",
             "    acc = 0.0",
             f"    for b in {loop}(blocks):",
             "        w = work[numba.get_thread_id()]" if parallel else "        w = work",
             "        start = b * size",
             "        m = min(size, total - start)",
             "        for j in range(consts.shape[0]):",
             "            for k in range(m):",
             "                w[consts[j, 0], k] = params[consts[j, 1], 0]",
             "        for j in range(len(inputs)):",
             "            source = inputs[j]",
             "            row = rows[j, 0]",
             "            if rows[j, 1] == 0:",
             "                for k in range(m):",
             "                    w[row, k] = source[start + k]",
             "            else:",
             "                for k in range(m):",
             "                    w[row, k] = source[0]",
             "        for i in range(code.shape[0]):",
             "            op = code[i, 0]",
             "            z = w[code[i, 1]]",
             "            x = w[code[i, 2]]",
             "            y = w[code[i, 3]]",
             "            p0 = params[i, 0]",
             "            p1 = params[i, 1]"]
    lines += branches
    lines += ["        if count == 0:",
              "            for k in range(m):",
              "                out[start + k] = w[result, k]",
              "        else:",
              "            part = 0.0",
              "            for k in range(m):",
              "                part += w[result, k]",
              "            acc += part",
              "    if count != 0:",
              "        out[0] = T(acc / count)"]
    return "\n".join(lines) + "\n"


_interpreters: dict[tuple[str, bool], Callable[..., None]] = {}


def interpreter(dtype: str, parallel: bool, expressions: dict, helpers: str) -> Callable[..., None]:
    key = (dtype, parallel)
    if key not in _interpreters:
        _interpreters[key] = load(interpreter_source(dtype, parallel, expressions, helpers)).run
    return _interpreters[key]


class Program:
    """A fused op's steps as the interpreter's program: `code` (opcode, output row,
    argument rows; one per op step), `params` (each step's numbers; constants' values in
    rows past the steps), `consts` (row, params index) for the constant rows, `rows`
    (row, broadcast flag) per input, `result` (the output's row) and `slots` (rows)."""

    def __init__(self, steps: Sequence[Any], kinds: Sequence[tuple[bool, bool]], reduced: bool):
        inputs = len(kinds)
        self.rows = np.array([(j, 0 if kind[0] else 1) for j, kind in enumerate(kinds)], np.int64).reshape(-1, 2)
        where: dict[int, int] = {j: j for j in range(inputs)}
        count = inputs
        constants: dict[str, tuple[int, float]] = {}  # by repr: nan is one, -0.0 is not 0.0
        for number, step in enumerate(steps):
            if step.op is None:
                value = float(step.constant)
                if repr(value) not in constants:
                    constants[repr(value)] = (count, value)
                    count += 1
                where[inputs + number] = constants[repr(value)][0]
        last: dict[int, int] = {}
        for number, step in enumerate(steps):
            for arg in step.args:
                last[arg] = number
        free: list[int] = []
        code, params = [], []
        final = len(steps) - 1
        for number, step in enumerate(steps):
            value = inputs + number
            if step.op is None or (reduced and number == final):
                continue
            if free:  # never an argument's own row: a loop writing what it reads does not vectorise
                where[value] = free.pop(0)
            else:
                where[value] = count
                count += 1
            for arg in dict.fromkeys(step.args):
                if arg >= inputs and steps[arg - inputs].op is not None and last[arg] == number:
                    free.append(where[arg])
            if last.get(value, -1) < number and number != final:
                free.append(where[value])
            args = [where[a] for a in step.args] + [0, 0]
            code.append((OPCODES.index(opcode(step.op)), where[value], args[0], args[1]))
            params.append(_parameters(step.op))
        self.result = where[steps[final].args[0] if reduced else inputs + final]
        self.code = np.array(code, np.int64).reshape(-1, 4)
        base = len(params)
        params += [(value, 0.0) for _, value in constants.values()]
        self.params = np.array(params, np.float64).reshape(-1, 2)
        self.consts = np.array([(row, base + n) for n, (row, _) in enumerate(constants.values())],
                               np.int64).reshape(-1, 2)
        self.slots = count


def _parameters(op: Any) -> tuple[float, float]:
    if op.name == "clip":
        return float(op.low), float(op.high)
    return 0.0, 0.0


def supported(steps: Sequence[Any]) -> bool:
    """Whether the interpreter has an opcode for every op step (the last may reduce)."""
    return all(s.op is None or opcode(s.op) in OPCODES or s is steps[-1] for s in steps)


def block_size(rows: int, slots: int, itemsize: int) -> int:
    """Elements per block: the whole loop when it is small, else BLOCK or fewer, so
    that the scratch (slots rows of the block) stays in cache."""
    if rows <= BLOCK:
        return max(rows, 1)
    fit = SCRATCH_BYTES // max(slots * itemsize, 1)
    return max(16, min(BLOCK, fit // 16 * 16))


def threads() -> int:
    return numba.config.NUMBA_NUM_THREADS


def _read_only(array: np.ndarray) -> np.ndarray:
    """A read-only view: the interpreter's inputs are all of one type (a tuple it can
    index), and some inputs (constants) are read-only."""
    view = array.view()
    view.flags.writeable = False
    return view


class InterpretedKernel:
    """A fused op run by the interpreter on flat views: `kernel(*arrays, out)`, and
    `bind` for the TapeMachine (views and scratch made once)."""

    def __init__(self, run: Callable[..., None], program: Program, rows: int, count: int,
                 parallel: bool, dtype: np.dtype, tolerance: dict):
        self.run, self.program, self.total, self.count = run, program, rows, count
        size = block_size(rows, program.slots, dtype.itemsize)
        self.work_shape = (threads(), program.slots, size) if parallel else (program.slots, size)
        self.dtype = dtype
        self.tolerance = tolerance

    def _call(self, inputs: Sequence[np.ndarray], out: np.ndarray,
              rows: np.ndarray | None = None) -> Callable[[], None]:
        p = self.program
        return functools.partial(self.run, p.code, p.params, tuple(_read_only(a) for a in inputs),
                                 p.rows if rows is None else rows, p.consts,
                                 np.empty(self.work_shape, self.dtype), out, self.total, p.result,
                                 self.count)

    def __call__(self, *arrays: np.ndarray) -> np.ndarray:
        *inputs, out = arrays
        flat = out.reshape(-1) if out.flags.c_contiguous else np.empty(out.size, out.dtype)
        self._call([np.ascontiguousarray(a).reshape(-1) for a in inputs], flat)()
        if flat.base is not out and flat is not out:
            out[...] = flat.reshape(out.shape)
        return out

    def bind(self, *arrays: np.ndarray) -> Callable[[], None] | None:
        """The interpreter on flat views of these arrays (None when `out` is not
        C-contiguous). An input broadcast from one value (all strides 0) is read as that
        value; another strided input is copied into a buffer of its own before each run."""
        *inputs, out = arrays
        if not out.flags.c_contiguous:
            return None
        rows = self.program.rows.copy()
        views, copies = [], []
        for j, a in enumerate(inputs):
            if a.flags.c_contiguous:
                views.append(a.reshape(-1))
            elif not any(a.strides):
                views.append(np.lib.stride_tricks.as_strided(a, (1,), (a.itemsize,)))
                rows[j, 1] = 1
            else:
                buffer = np.empty(a.size, a.dtype)
                copies.append((buffer.reshape(a.shape), a))
                views.append(buffer)
        run = self._call(views, out.reshape(-1), rows)
        if not copies:
            return run

        def copy_and_run() -> None:
            for buffer, a in copies:
                np.copyto(buffer, a)
            run()

        return copy_and_run
