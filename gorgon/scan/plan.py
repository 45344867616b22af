"""A scan's body program bound to one run's arrays, step by step: no copies per step.

The body is compiled once (a TapeMachine program). For a scan over given arrays, a
`Plan` prepares every step's kernels once, with the registers that change from step to
step bound straight to where their values live: a step's slice of each sequence is a
view of the sequence, the carried state it starts from is where the previous step
wrote it (the stored carried state of that step when the scan stores residuals, else
one of two alternating buffers, the init for the first step), and each per-step output
and the new carried state are computed straight into their rows of the scan's packed
value (the last step's carried state into the final state's region). Only a result
that is not an op's own buffer (a placeholder passed on, a view, a value that is two
results at once) is copied after its step. A run is then one loop over ready kernels.

Where the machine's preferred backend compiles scan loops (it registers a maker under
LOOP), the steps of a plan that is kept (a TapeMachine's) become one call of the
backend's: gorgon-numba runs every kernel of every step from one Numba function, without
a Python call per kernel. A step it cannot compile keeps the whole plan on the Python
loop; a compiled loop that raises is reported once and the plan runs its steps from
Python again, from the first.

A plan is kept per binding (the arrays' addresses, shapes and strides) and number of
steps when the scan writes into its caller's buffer (a TapeMachine's, the same at every
run), so such a scan prepares once per length; a scan that allocates its result (the
LispMachine's) prepares at every run and keeps nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from gorgon.backends import report_loop, tape_step
from gorgon.compile import ALLOC, EXEC, LOAD, VIEW
from gorgon.op import Op
from gorgon.vm.watch import kernel_failure

if TYPE_CHECKING:
    from gorgon.scan.body import Body
    from gorgon.vm.tape import TapeMachine

BINDINGS = 4  # bindings whose plans a body keeps (each plan holds its arrays)
PLAN_LENGTHS = 64  # plans kept per binding, one per number of steps


LOOP = "scan_loop"
"""The name a backend registers a scan-loop compiler under: `make(ops, plan)` returns one
call running all of a plan's steps (per step p, each kernel of `ops` as in `plan.steps[p]`,
over `plan.arguments(p)`, then the copies in `plan.copies[p]`), or None to decline."""


def loop_maker(backends: Sequence[str]) -> tuple[str | None, Callable[..., Callable[[], object] | None] | None]:
    """The first preferred backend (before numpy) that compiles scan loops, and its maker."""
    from gorgon.registry import registry

    for backend in backends:
        if backend == "numpy":
            break
        make = registry.kernel_maker(LOOP, backend)
        if make is not None:
            return backend, make
    return None, None


def address(array: np.ndarray) -> tuple:
    """What identifies an array's memory for a plan: its data pointer, shape and strides."""
    return array.__array_interface__["data"][0], array.shape, array.strides


def _rebound(template: tuple, arrays: list[np.ndarray], out: np.ndarray, op: Op, mode: bool,
             backends: Sequence[str]) -> tuple:
    """A step like `template`'s over other arrays of the same types: the same step when
    they are the same arrays; a numpy step (a partial over its input arrays, then `out`,
    positional or keyword, and maybe a workspace, then shared: steps run one at a time)
    rebound without preparing it again; else prepared anew."""
    run_step, fallback, old_arrays, old_out = template
    if all(a is b for a, b in zip(arrays, old_arrays)) and out is old_out:
        return run_step, fallback
    n = len(old_arrays)
    if isinstance(run_step, functools.partial) and fallback is None and _over(run_step, old_arrays, old_out):
        args = (*arrays, out) if len(run_step.args) > n else tuple(arrays)
        keywords = dict(run_step.keywords)
        if "out" in keywords:
            keywords["out"] = out
        return functools.partial(run_step.func, *args, **keywords), None
    return tape_step(op, arrays, out, mode, backends)


def _over(run_step: functools.partial, arrays: list[np.ndarray], out: np.ndarray) -> bool:
    """Whether a step is `func(*arrays, out)` or `func(*arrays, out=out[, work=...])`."""
    n, args, keywords = len(arrays), run_step.args, run_step.keywords
    return (len(args) in (n, n + 1) and all(a is b for a, b in zip(args, arrays))
            and (len(args) == n or args[n] is out) and set(keywords) <= {"out", "work"}
            and keywords.get("out", out) is out and (len(args) == n + 1) != ("out" in keywords))


class Plan:
    """`steps` steps of a body's compiled `machine` over these arrays (see the module), as
    one compiled loop when `compile_loop` and a backend compiles them."""

    def __init__(self, body: Body, machine: TapeMachine, init: Sequence[np.ndarray],
                 sequences: Sequence[np.ndarray], params: Sequence[np.ndarray], steps: int, reverse: bool,
                 per_step: Sequence[np.ndarray], finals: Sequence[np.ndarray], compile_loop: bool = True):
        self.body, self.machine = body, machine
        self.finals, self.init = list(finals), list(init)
        instructions = machine.program.instructions
        self.kinds: dict[int, str] = {}
        for ins in instructions:
            self.kinds.setdefault(ins.out, ins.kind)
        self.load_of = {ins.term.node: ins.out for ins in instructions if ins.kind == LOAD}
        self.instructions = [ins for ins in instructions if ins.kind == EXEC]
        self.views = [ins for ins in instructions if ins.kind == VIEW]
        base = list(machine.buffers)
        for node, array in zip(body.params, params):
            if node in self.load_of:
                base[self.load_of[node]] = array
        order = list(range(steps - 1, -1, -1)) if reverse else list(range(steps))
        stored = len(per_step) > body.n_user  # the residuals are stored, the carried states first
        carries = self._carries(order, per_step, stored)
        self.seed = list(zip(carries[0], init)) if stored and steps else []
        self.steps: list[list] = []
        self.fallbacks: list[list] = []
        self.copies: list[list] = []
        self.arrays: list[list] = []
        self._templates: dict[int, tuple] = {}
        nc = len(body.carries)
        for p, t in enumerate(order):
            registers = list(base)
            for node, array in [*zip(body.carries, carries[p]),
                                *((node, sequence[t, ...]) for node, sequence in zip(body.slices, sequences))]:
                if node in self.load_of:
                    registers[self.load_of[node]] = array
            results = list(zip(body.new_carries, carries[p + 1] if p + 1 < steps else self.finals))
            results += [(node, store[t, ...]) for j, (node, store) in enumerate(zip(body.outputs, per_step))
                        if not (stored and body.n_user <= j < body.n_user + nc)]  # stored carries: in place
            self._add_step(registers, results)
        self.loop_backend, make = loop_maker(machine.backends)
        self.compiled = self._compile(make) if make is not None and steps and compile_loop else None

    def _compile(self, make: Callable[..., Callable[[], object] | None]) -> Callable[[], object] | None:
        """All the steps as one call of the loop backend's, or None when it declines."""
        try:
            return make([ins.term.op for ins in self.instructions], self)
        except Exception as exc:  # a backend must never break a machine
            report_loop(self.body.name, self.loop_backend, f"failed to compile ({type(exc).__name__}: {exc})")
            return None

    def arguments(self, p: int) -> list[tuple[list[np.ndarray], np.ndarray]]:
        """Step `p`'s (input arrays, output) of each kernel, in the order of `steps[p]`."""
        registers = self.arrays[p]
        return [([registers[a] for a in ins.args], registers[ins.out]) for ins in self.instructions]

    def _carries(self, order: list[int], per_step: Sequence[np.ndarray], stored: bool) -> list[list]:
        """Where the carried state each step starts from lives (and the one after the last
        step but that one goes to the finals): the stored rows, else the init and then two
        buffers in turn."""
        body, nc = self.body, len(self.body.carries)
        if stored:
            self.pairs: list[np.ndarray] = []
            return [[per_step[body.n_user + i][t, ...] for i in range(nc)] for t in order]
        pairs = [[np.empty(c.shape, c.dtype) for c in body.carries] for _ in range(min(2, len(order) - 1))]
        self.pairs = [array for pair in pairs for array in pair]
        return [list(self.init)] + [pairs[p % 2] for p in range(len(order) - 1)]

    def _add_step(self, registers: list, results: list[tuple]) -> None:
        """One step's kernels over `registers`, each result computed into its target when
        it is an op's own buffer (and not already another result's), else copied there."""
        copies, claimed = [], set()
        for node, target in results:
            register = self.machine.locmap[node]
            if self.kinds[register] == ALLOC and register not in claimed:
                registers[register] = target
                claimed.add(register)
            else:
                copies.append((target, register))
        for ins in self.views:
            registers[ins.out] = ins.term.op.view(*[registers[a] for a in ins.args])
        mode, backends = self.machine.mode, self.machine.backends
        row, falls = [], []
        for k, ins in enumerate(self.instructions):
            arrays, out = [registers[a] for a in ins.args], registers[ins.out]
            if k in self._templates:
                run_step, fallback = _rebound(self._templates[k], arrays, out, ins.term.op, mode, backends)
            else:
                run_step, fallback = tape_step(ins.term.op, arrays, out, mode, backends)
                self._templates[k] = run_step, fallback, arrays, out
            row.append(run_step)
            falls.append(fallback)
        self.steps.append(row)
        self.fallbacks.append(falls)
        self.copies.append([(target, registers[r]) for target, r in copies])
        self.arrays.append(registers)

    def run(self) -> None:
        """Every step in order, then the final state (the init when there is no step)."""
        for row, value in self.seed:
            row[...] = value
        if self.compiled is not None:
            try:
                self.compiled()
            except Exception as exc:  # the steps run again from Python, from the first
                self.compiled = None
                report_loop(self.body.name, self.loop_backend, f"raised at run time ({type(exc).__name__}: {exc})")
            else:
                return
        for p, row in enumerate(self.steps):
            todo = row
            while todo:
                try:
                    for run_step in todo:
                        run_step()
                    todo = None
                except Exception as exc:
                    index = next(k for k, s in enumerate(row) if s is run_step)
                    self._recover(p, index, exc)
                    todo = row[index + 1:]
            for target, value in self.copies[p]:
                np.copyto(target, value)
        if not self.steps:
            for final, value in zip(self.finals, self.init):
                final[...] = value

    def _recover(self, p: int, index: int, exc: Exception) -> None:
        """After kernel `index` of step `p` raised: its numpy kernel when it was a backend's,
        else the kernel failure, naming the body's node."""
        fallback = self.fallbacks[p][index]
        if fallback is None:
            ins = self.instructions[index]
            raise kernel_failure(ins.term, exc, [self.arrays[p][a] for a in ins.args]) from exc
        self.steps[p][index] = fallback.recover(exc)
        self.fallbacks[p][index] = None
