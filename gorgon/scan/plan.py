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

A plan is kept per binding (the arrays' addresses, shapes and strides), so a
TapeMachine's scan, whose arrays stay the same from run to run, prepares once.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from gorgon.backends import tape_step
from gorgon.compile import ALLOC, EXEC, LOAD, VIEW
from gorgon.vm.watch import kernel_failure

PLANS = 32


def address(array: np.ndarray) -> tuple:
    """What identifies an array's memory for a plan: its data pointer, shape and strides."""
    return array.__array_interface__["data"][0], array.shape, array.strides


def _rebound(template: tuple, arrays: list[np.ndarray], out: np.ndarray, op, mode: bool,
             backends: Sequence[str]) -> tuple:
    """A step like `template`'s over other arrays of the same types: the same step when
    they are the same arrays; a numpy step (a partial over its input arrays, then `out`,
    positional or keyword, and maybe a workspace, then shared: steps run one at a time)
    rebound without preparing it again; else prepared anew."""
    run_step, fallback, old_arrays, old_out = template
    if all(a is b for a, b in zip(arrays, old_arrays)) and out is old_out:
        return run_step, fallback
    n = len(old_arrays)
    if isinstance(run_step, functools.partial) and fallback is None \
            and all(a is b for a, b in zip(run_step.args, old_arrays)) \
            and run_step.args[n:] in ((), (old_out,)) and set(run_step.keywords) <= {"out", "work"} \
            and run_step.keywords.get("out", old_out) is old_out:
        args = (*arrays, out) if len(run_step.args) > n else tuple(arrays)
        keywords = dict(run_step.keywords)
        if "out" in keywords:
            keywords["out"] = out
        return functools.partial(run_step.func, *args, **keywords), None
    return tape_step(op, arrays, out, mode, backends)


class Plan:
    """`steps` steps of a body's compiled `machine` over these arrays (see the module)."""

    def __init__(self, body, machine, init: Sequence[np.ndarray], sequences: Sequence[np.ndarray],
                 params: Sequence[np.ndarray], steps: int, reverse: bool,
                 per_step: Sequence[np.ndarray], finals: Sequence[np.ndarray]):
        program, locmap = machine.program, machine.locmap
        self.finals, self.init = list(finals), list(init)
        order = list(range(steps - 1, -1, -1)) if reverse else list(range(steps))
        kinds = {}
        for ins in program.instructions:
            kinds.setdefault(ins.out, ins.kind)
        load_of = {ins.term.node: ins.out for ins in program.instructions if ins.kind == LOAD}
        base = list(machine.buffers)
        for node, array in zip(body.params, params):
            if node in load_of:
                base[load_of[node]] = array
        stored = len(per_step) > body.n_user  # the residuals are stored: carries first
        nc = len(body.carries)
        if stored:
            inputs = [[per_step[body.n_user + i][t, ...] for i in range(nc)] for t in order]
        else:
            pairs = [[np.empty(c.shape, c.dtype) for c in body.carries] for _ in range(min(2, steps - 1))]
            inputs = [list(init)] + [pairs[p % 2] for p in range(steps - 1)]
        self.pairs = [array for pair in pairs for array in pair] if not stored else []
        self.seed = [(row, value) for row, value in zip(inputs[0], init)] if stored and steps else []
        execs = [ins for ins in program.instructions if ins.kind == EXEC]
        views = [ins for ins in program.instructions if ins.kind == VIEW]
        mode, backends = machine.mode, machine.backends
        self.instructions = execs
        self.steps: list[list] = []
        self.fallbacks: list[list] = []
        self.copies: list[list] = []
        self.arrays: list[list] = []
        shared: dict[int, tuple] = {}
        for p, t in enumerate(order):
            registers = list(base)
            for node, array in zip(body.carries, inputs[p]):
                if node in load_of:
                    registers[load_of[node]] = array
            for node, sequence in zip(body.slices, sequences):
                if node in load_of:
                    registers[load_of[node]] = sequence[t, ...]
            outs = inputs[p + 1] if p + 1 < steps else self.finals
            results = list(zip(body.new_carries, outs))
            results += [(node, store[t, ...]) for j, (node, store) in enumerate(zip(body.outputs, per_step))
                        if not (stored and j >= body.n_user and j - body.n_user < nc)]
            copies, claimed = [], set()
            for node, target in results:
                register = locmap[node]
                if kinds[register] == ALLOC and register not in claimed:
                    registers[register] = target
                    claimed.add(register)
                else:
                    copies.append((target, register))
            for ins in views:
                registers[ins.out] = ins.term.op.view(*[registers[a] for a in ins.args])
            row, falls = [], []
            for k, ins in enumerate(execs):
                arrays, out = [registers[a] for a in ins.args], registers[ins.out]
                if k in shared:
                    run_step, fallback = _rebound(shared[k], arrays, out, ins.term.op, mode, backends)
                else:
                    run_step, fallback = tape_step(ins.term.op, arrays, out, mode, backends)
                    shared[k] = run_step, fallback, arrays, out
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
