"""TapeMachine: compile once, run many.

The graph is compiled into a Program; every op's output buffer is allocated once, and
every instruction is prepared as a ready-to-call step `(kernel, input arrays, out)`,
so a run is one tight loop with no lookups and no allocation by the machine. A new
binding (G.let of another array) re-prepares the steps; a graph changed since compile
(nodes added) is recompiled on the next run, so a machine always runs its graph as it
is now.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable, Sequence
from threading import get_ident

import numpy as np

from gorgon.compile import ALLOC, CONST, EXEC, LOAD, VIEW, Instruction, Program, check_readable, compile
from gorgon.errors import BindError, GorgonError
from gorgon.graph import Graph
from gorgon.node import Node
from gorgon.passes import PASSES, check_passes
from gorgon.backends import check_backends, tape_step
from gorgon.vm.concurrent import GROUP, Groups, check_concurrency, find_groups
from gorgon.vm.arguments import check_graph, check_training, node_list
from gorgon.vm.guard import concurrent_run, is_stateful, state_keeper
from gorgon.vm.memory_plan import MemoryPlan, memory_plan
from gorgon.vm.mode import ModeSwitch
from gorgon.vm.profile import Profile, Profiler, clock, entry, no_profile
from gorgon.vm.threads import blas_context, check_blas_threads
from gorgon.vm.watch import Tracer, check_finite, kernel_failure, make_tracer, summary


class TapeMachine(ModeSwitch):
    """Runs a compiled graph. Options (Gorgonia's VM options):

    - `outputs`: compile only what these nodes need; `inputs`: the only input nodes it
      may read (Gorgonia's CompileFunction: an inference program out of a training graph);
    - `forward_only`: leave out the gradient nodes G.grad built;
    - `watch_nan` / `watch_inf`: raise NaNError/InfError naming the first node that made one;
    - `trace`: True logs each executed instruction to the `gorgon.vm` logger, a callable
      receives each line;
    - `bind_dual_values`: `node.grad` reads for every node G.grad passed through, not only
      for those it was asked about;
    - `training`: True/False fixes this machine's mode; None (default) follows the graph's
      (`g.train()` / `g.eval()`). `m.train()` / `m.eval()` set it later;
    - `passes`: the compile passes to run (all of `gorgon.passes.PASSES` by default, `()`
      for none); `keep`: nodes whose values must stay readable whatever the passes do;
    - `readable`: "all" (default) or "lean", what stays readable after a run (below);
    - `profile`: time every instruction of every run, for `m.profile()` (a separate
      loop; without it runs read no clock). `m.memory()` is the buffer plan either way;
    - `backends`: kernel backends in order of preference (`("numba", "numpy")`; default
      GORGON_BACKENDS, else numpy): each op runs the first one's kernel that has one,
      numpy last (gorgon.backends), and the `fuse` pass makes fused kernels for them;
    - `blas_threads`: the threads BLAS may use during a run (default GORGON_BLAS_THREADS,
      else BLAS's own setting; see gorgon.vm.threads);
    - `concurrency`: up to this many independent heavy instructions run at once, on
      threads made once per machine (default GORGON_CONCURRENCY, else 1: in order; see
      gorgon.vm.concurrent); the listing marks the groups. BLAS then defaults to one
      thread, so the group's threads do not oversubscribe the cores; with
      `blas_threads` above 1 BLAS uses those outside groups and one inside. Runs that
      watch or trace run in order.

    Readable after a run, by default: inputs, constants, every node user code built, and
    every node G.grad returned; only the buffers of the nodes G.grad built on the way (and
    of the passes' own terms) are shared or overwritten in place. With `readable="lean"`
    the passes may reuse every buffer but those of the outputs (or the graph's sinks), the
    gradients G.grad last returned per `wrt`, nodes built with a `name=`, and `keep`.
    Reading a node whose buffer was reused raises an error that says how to keep it.
    """

    def __init__(self, graph: Graph, *, outputs: Sequence[Node] | None = None,
                 forward_only: bool = False, watch_nan: bool = False, watch_inf: bool = False,
                 trace: bool | Tracer | None = None, bind_dual_values: bool = False,
                 training: bool | None = None, passes: Iterable[str] = PASSES,
                 keep: Iterable[Node] = (), inputs: Sequence[Node] | None = None,
                 readable: str = "all", profile: bool = False,
                 backends: Sequence[str] | None = None, blas_threads: int | None = None,
                 concurrency: int | None = None):
        check_graph("TapeMachine", graph)
        self.backends = check_backends(backends)
        self.passes = check_passes(passes)
        self.readable = check_readable(readable)
        self.keep = node_list("TapeMachine", "keep", keep, graph)
        self.inputs = node_list("TapeMachine", "inputs", inputs, graph)
        self.training = check_training("TapeMachine", training)
        self.graph = graph
        self.outputs = node_list("TapeMachine", "outputs", outputs, graph)
        self.forward_only = forward_only
        self.watch_nan = watch_nan
        self.watch_inf = watch_inf
        self.tracer = make_tracer(trace)
        self.bind_dual_values = bind_dual_values
        self.profiler = Profiler() if profile else None
        self.concurrency = check_concurrency(concurrency)
        self.blas_threads = check_blas_threads(blas_threads)
        if self.blas_threads is None and self.concurrency > 1:
            self.blas_threads = 1
        self._groups: Groups | None = None
        self._blas = blas_context(self.blas_threads)
        self._ran = False
        self._busy = threading.Lock()
        self._owner: int | None = None
        self.compile()

    def compile(self) -> Program:
        """(Re)compile the graph and allocate every buffer."""
        keep = self.keep
        if self.bind_dual_values:
            keep = keep + list(self.graph.adjoints.values())
        self.program, self.locmap = compile(self.graph, self.outputs, self.forward_only,
                                            self.passes, keep, self.inputs, self.readable,
                                            self.backends)
        self._group_program()
        self.buffers: list[np.ndarray | None] = [None] * self.program.registers
        for ins in self.program.instructions:
            if ins.kind == ALLOC:
                self.buffers[ins.out] = np.empty(ins.term.shape, ins.term.dtype)
            elif ins.kind == CONST:
                self.buffers[ins.out] = ins.term.value
        self._exec = [ins for ins in self.program.instructions if ins.kind == EXEC]
        self._loads = [ins for ins in self.program.instructions if ins.kind == LOAD]
        self._views = [ins for ins in self.program.instructions if ins.kind == VIEW]
        if self.profiler is not None:
            self.profiler = self._new_profiler()
        self._bindings = None
        self._mode = None
        self._ran = False
        return self.program

    def _group_program(self) -> None:
        """Find the groups of instructions that may run at once and mark them in the
        listing (`group N`); the previous program's workers end."""
        if self._groups is not None:
            self._groups.close()
        self._groups = None
        groups = find_groups(self.program.instructions, self.concurrency)
        if not groups:
            return
        instructions = self.program.instructions
        positions = [i for i, ins in enumerate(instructions) if ins.kind == EXEC]
        for number, group in enumerate(groups, 1):
            for index in group:
                at = positions[index]
                instructions[at] = dataclasses.replace(instructions[at],
                                                       flags=instructions[at].flags + (f"{GROUP} {number}",))
        self._groups = Groups(self, groups, len(positions), self.blas_threads)

    def _new_profiler(self) -> Profiler:
        """A profiler with one entry per exec instruction of the program (a recompile
        starts a new profile)."""
        profiler = Profiler()
        term_at = {}
        for ins in self.program.instructions:
            if ins.kind == EXEC:
                inputs = [term_at[a] for a in ins.args]
                profiler.add(len(profiler.entries), entry(ins.term.name, ins.term.op, inputs, ins.term))
            term_at[ins.out] = ins.term
        return profiler

    def profile(self) -> Profile:
        """The timings of the runs since this machine was built or last recompiled: per
        instruction calls, time, share, bytes written, FLOPs and GFLOP/s (see
        gorgon.vm.profile). Needs `profile=True`."""
        if self.profiler is None:
            raise no_profile("TapeMachine")
        return self.profiler.profile()

    def memory(self) -> MemoryPlan:
        """The buffer plan of the compiled program: each buffer's bytes, the nodes that
        share it, the instructions over which it lives, and the peak of live bytes."""
        return memory_plan(self.program, self.locmap)

    def _prepare(self) -> None:
        buffers = self.buffers
        for ins in self._loads:
            value = ins.term.node._value
            if value is None:
                raise BindError(f"input {ins.term.name!r} has no value: bind one with G.let "
                                f"(built at {ins.term.origin})")
            buffers[ins.out] = value
        for ins in self._views:
            buffers[ins.out] = ins.term.op.view(*[buffers[a] for a in ins.args])
        mode = self.mode
        prepared = [tape_step(ins.term.op, [buffers[a] for a in ins.args], buffers[ins.out], mode,
                              self.backends) for ins in self._exec]
        self._steps = [run_step for run_step, _ in prepared]
        self._fallbacks = [fallback for _, fallback in prepared]
        self._keeper = state_keeper([(ins.term.op, [buffers[a] for a in ins.args])
                                     for ins in self._exec if is_stateful(ins.term.op)])
        self._bindings = self.graph.bindings
        self._mode = mode

    def run_all(self) -> None:
        """Run the program once; values and gradients become readable on the nodes.

        A run that fails (a kernel error, a NaN/Inf watch, KeyboardInterrupt) changes
        nothing: the arrays ops update in place (batch norm's running statistics) and
        random generators are put back as they were, no value reads as computed, and
        the graph's values stay those of its last successful run. Running one machine
        from two threads at once raises ConcurrentRunError."""
        if not self._busy.acquire(False):
            raise concurrent_run(self, self._owner)
        self._owner = get_ident()
        try:
            if self.graph.version != self.program.version:
                self.compile()
            if self.graph.bindings != self._bindings or self.mode != self._mode:
                self._prepare()
            self._ran = False
            keeper = self._keeper
            saved = None if keeper is None else keeper.save()
            try:
                if self.blas_threads is None:
                    self._run()
                else:
                    with self._blas:
                        self._run()
            except BaseException:
                if keeper is not None:
                    keeper.restore(saved)
                raise
            self._ran = True
            self.graph.source = self
        finally:
            self._busy.release()

    def _run(self) -> None:
        watched = self.watch_nan or self.watch_inf or self.tracer is not None
        if self._groups is not None and not watched:
            self._run_grouped()
        elif self.profiler is not None:
            self._run_profiled()
        elif watched:
            self._run_watched()
        else:
            self._run_fast()

    def _run_grouped(self) -> None:
        profiler = self.profiler
        if profiler is None:
            self._groups.run(self._steps, self._recover)
            return
        profiler.start_run()
        self._groups.run(self._steps, self._recover, profiler.record)
        profiler.finish_run()

    def _run_fast(self) -> None:
        steps = self._steps
        while steps:
            try:
                for run_step in steps:
                    run_step()
                return
            except Exception as exc:
                # The loop keeps no position: the failing step is the one `run_step` holds.
                index = next(i for i, s in enumerate(self._steps) if s is run_step)
                self._recover(index, exc)
                steps = self._steps[index + 1:]

    def _recover(self, index: int, exc: Exception) -> None:
        """After step `index` raised: run its numpy kernel instead when it was a backend's
        (which then replaces it), else raise the kernel failure."""
        ins = self._exec[index]
        fallback = self._fallbacks[index]
        if fallback is None:
            raise kernel_failure(ins.term, exc, self._inputs_of(ins)) from exc
        try:
            self._steps[index] = fallback.recover(exc)
        except Exception as numpy_exc:
            raise kernel_failure(ins.term, numpy_exc, self._inputs_of(ins)) from numpy_exc
        self._fallbacks[index] = None

    def _inputs_of(self, ins: Instruction) -> list[np.ndarray]:
        return [self.buffers[a] for a in ins.args]

    def _run_watched(self) -> None:
        for index, ins in enumerate(self._exec):
            try:
                self._steps[index]()
            except Exception as exc:
                self._recover(index, exc)
            out = self.buffers[ins.out]
            if self.tracer is not None:
                self.tracer(f"{ins}   = {summary(out)}")
            check_finite(ins.term, out, self.watch_nan, self.watch_inf)

    def _run_profiled(self) -> None:
        profiler, watched = self.profiler, self.watch_nan or self.watch_inf or self.tracer is not None
        profiler.start_run()
        for index, ins in enumerate(self._exec):
            start = clock()
            try:
                self._steps[index]()
            except Exception as exc:
                self._recover(index, exc)
            profiler.record(index, start, clock())
            if watched:
                out = self.buffers[ins.out]
                if self.tracer is not None:
                    self.tracer(f"{ins}   = {summary(out)}")
                check_finite(ins.term, out, self.watch_nan, self.watch_inf)
        profiler.finish_run()

    def reset(self) -> None:
        """Forget the last run: computed values and gradients read None until the next run."""
        self._ran = False

    def value_of(self, node: Node) -> np.ndarray | None:
        register = self.locmap.get(node)
        if register is None or not self._ran:
            reason = self.program.unreadable.get(node)
            if reason is not None and self._ran:
                lean = " or readable='all'," if self.readable == "lean" else ""
                raise GorgonError(
                    f"the value of node {node.name!r} is not kept by this TapeMachine: {reason}. "
                    f"Keep it with TapeMachine(g, keep=[node]){lean} build it with a name=, or "
                    f"compile without the passes that dropped it (passes=())")
            return None
        return self.buffers[register]

    def grad_of(self, node: Node) -> np.ndarray | None:
        gradient = self.graph.grad_map.get(node)
        if gradient is None and self.bind_dual_values:
            gradient = self.graph.adjoints.get(node)
        return None if gradient is None else self.value_of(gradient)

    def __repr__(self) -> str:
        return f"<TapeMachine {len(self._exec)} ops>"

