"""A scan's body: a small graph of one loop step, its placeholders and results, compiled
once into a TapeMachine program and run step after step by the scan op's kernel.

Besides the step's own results (the new carried state and the per-step outputs), a
body's per-step outputs include its *residuals*: the values of one step that the body's
gradient reads (gates, masks, the carried state it started from). The forward scan
stores those per step, and only those; the backward scan reads them back.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from gorgon.errors import DtypeError, GorgonError, NonDifferentiable
from gorgon.graph import Graph
from gorgon.inputs import tensor
from gorgon.node import OPERATION, Node
from gorgon.scan.backprop import multi_backprop
from gorgon.scan.plan import BINDINGS, PLAN_LENGTHS, Plan, address
from gorgon.types import describe


class Body:
    """One step as a graph: placeholders for the carried state (`carries`), the slices of
    the sequences (`slices`) and the non-sequences (`params`); the step's new carried
    state (`new_carries`, typed as `carries`) and per-step outputs (`outputs`, the first
    `n_user` the step returned, then the residuals)."""

    def __init__(self, name: str, graph: Graph, carries: Sequence[Node], slices: Sequence[Node],
                 params: Sequence[Node], new_carries: Sequence[Node], outputs: Sequence[Node]):
        self.name = name
        self.graph = graph
        self.carries = list(carries)
        self.slices = list(slices)
        self.params = list(params)
        self.new_carries = list(new_carries)
        self.n_user = len(outputs)
        self.single_output = False
        for carry, new in zip(self.carries, self.new_carries):
            if new.shape != carry.shape or new.dtype != carry.dtype:
                raise GorgonError(f"scan {name!r}: the step returns carried state {describe(new)} "
                                  f"for {describe(carry)}, whose init has shape {carry.shape} and "
                                  f"dtype {carry.dtype}: the carried state must keep its shape and dtype")
        self.dtype = _packed_dtype(name, self.new_carries + list(outputs))
        self.grad_error: str | None = None
        self.residuals = self._find_residuals(outputs)
        self.outputs = list(outputs) + self.residuals
        ops = [n.op for n in graph.nodes if n.op is not None]
        for op in ops:
            if op.updates:
                raise GorgonError(f"scan {name!r}: op {op} updates its inputs in place (running "
                                  "statistics), which a scan body cannot do")
        self.impure = list({id(op): op for op in ops if not op.pure}.values())
        self.mode_dependent = any(op.mode_dependent for op in ops)
        self.backwards: dict[tuple, Body] = {}
        self.compiles = 0
        self._machines: dict[tuple, object] = {}
        self._lock = threading.Lock()
        self._plans: dict[tuple, dict[int, Plan]] = {}

    def __str__(self) -> str:
        return self.name

    @property
    def placeholders(self) -> list[Node]:
        return self.carries + self.slices + self.params

    def _find_residuals(self, outputs: Sequence[Node]) -> list[Node]:
        """The carried state a step starts from, and every op node of the body that the
        first-order gradient reads: built once on the body graph, then taken back."""
        seeds = {}
        mark = self.graph.mark()
        try:
            for node in self.new_carries + list(outputs):
                if node.dtype.kind == "f" and node not in seeds:
                    seeds[node] = tensor(self.graph, node.dtype, node.shape, name=f"seed_{node.name}")
            first_new = self.graph.mark()[0]
            targets = [n for n in self.placeholders if n.dtype.kind == "f"]
            multi_backprop(seeds, targets, {})
            read = {p for n in self.graph.nodes[first_new:] for p in n.inputs}
        except NonDifferentiable as exc:
            self.grad_error = str(exc)
            read = set()
        finally:
            self.graph.rollback(mark)
        kept = {id(base): base for base in map(_view_base, read) if base.role == OPERATION}
        return self.carries + [n for n in self.graph.nodes[:mark[0]] if id(n) in kept]

    def machine(self, training: bool, backends: Sequence[str] | None = None, store: bool = True):
        """The body's TapeMachine for a mode, a backend preference (None: the default,
        GORGON_BACKENDS) and whether the residuals are results (`store`; else they are
        free to fuse and share buffers), compiled on first use (only its program and
        buffers are used: a `Plan` runs it over a scan's arrays)."""
        key = (training, None if backends is None else tuple(backends), store)
        machine = self._machines.get(key)
        if machine is None:
            from gorgon.vm.tape import TapeMachine

            outputs = _unique(self.new_carries + (self.outputs if store else self.outputs[:self.n_user]))
            machine = TapeMachine(self.graph, outputs=outputs, training=training, readable="lean",
                                  backends=backends)
            self.compiles += 1
            self._machines[key] = machine
        return machine

    def run(self, init: Sequence[np.ndarray], sequences: Sequence[np.ndarray],
            params: Sequence[np.ndarray], steps: int, reverse: bool,
            per_step: Sequence[np.ndarray], finals: Sequence[np.ndarray], training: bool,
            keep: bool = True, backends: Sequence[str] | None = None) -> None:
        """Run `steps` steps from `init` over the sequences' slices, computing the per-step
        outputs into `per_step[j][t]` and the last carried state into `finals`, the body's
        kernels on `backends` (the running machine's preference). With `keep` (the arrays
        are a machine's buffers, the same at every run) the plan is kept for the next run
        over them: the last BINDINGS bindings, PLAN_LENGTHS lengths each."""
        arrays = (*init, *sequences, *params, *per_step, *finals)
        key = (training, backends, reverse, len(per_step), tuple(map(address, arrays)))
        with self._lock:
            plans = self._plans.pop(key, {})
            plan = plans.pop(steps, None)
            if plan is None:
                machine = self.machine(training, backends, store=len(per_step) > self.n_user)
                plan = Plan(self, machine, init, sequences, params, steps, reverse, per_step, finals, keep)
            if keep:
                plans[steps] = plan
                _trim(plans, PLAN_LENGTHS)
                self._plans[key] = plans
                _trim(self._plans, BINDINGS)
            plan.run()


def _trim(table: dict, size: int) -> None:
    """Drop the oldest entries of `table` beyond `size`."""
    while len(table) > size:
        table.pop(next(iter(table)))


def _view_base(node: Node) -> Node:
    """The node whose buffer `node` views (itself when it is no view): the backward reads
    a view of a stored residual instead of storing the view too."""
    while node.op is not None and node.op.is_view:
        node = node.inputs[0]
    return node


def _unique(nodes: Sequence[Node]) -> list[Node]:
    return list(dict.fromkeys(nodes))


def _packed_dtype(name: str, nodes: Sequence[Node]) -> np.dtype:
    """The one float dtype of a scan's float results (float64 when it has none): the
    dtype the gradient of its packed result travels in."""
    floats = {n.dtype for n in nodes if n.dtype.kind == "f"}
    if len(floats) > 1:
        shown = ", ".join(describe(n) for n in nodes if n.dtype.kind == "f")
        raise DtypeError(f"scan {name!r}: the float carried state and outputs must share one dtype, "
                         f"got {shown}: cast them to one")
    return floats.pop() if floats else np.dtype(np.float64)
