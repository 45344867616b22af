"""LispMachine: walks the graph node by node, no compile step, and backpropagates on
values with the ops' own gradient rules. It runs the graph as it is at each call, so
graphs that grow or change between runs (RNNs over variable-length input) just work."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from threading import get_ident

import numpy as np

from gorgon.compile import forward_nodes
from gorgon.errors import ArgumentTypeError, ArgumentValueError, BindError, ExecutionError, GorgonError, GradError
from gorgon.grad import ancestors, backprop, backward_plan
from gorgon.graph import Graph
from gorgon.node import INPUT, Node
from gorgon.backends import NUMPY, check_backends, lisp_kernel
from gorgon.op import kernel
from gorgon.types import TensorType
from gorgon.vm.arguments import check_graph, check_training, node_list
from gorgon.vm.guard import concurrent_run, StateKeeper, is_stateful, state_keeper
from gorgon.vm.vjp import VJPProgram, vjp_program
from gorgon.vm.mode import ModeSwitch
from gorgon.vm.profile import Profile, Profiler, clock, entry, no_profile
from gorgon.vm.threads import blas_context, check_blas_threads
from gorgon.vm.watch import Tracer, check_finite, kernel_failure, make_tracer, summary


class LispMachine(ModeSwitch):
    """Runs a graph dynamically. Options (Gorgonia's VM options):

    - `cost`: the scalar to differentiate; default: the cost G.grad was last given (seeded
      with its `grad_output` when it had one), else the one float scalar node nothing
      else uses (no backward pass when there is none; an error when there are several);
    - `wrt`: the nodes whose `.grad` to fill (zeros for those the cost does not depend
      on); default: every float input the cost uses;
    - `outputs`: nodes whose values to compute besides the cost. With `cost` or `outputs`
      given, a run computes only what they need (other nodes' values read None); with
      neither, every node of the graph;
    - `forward_only` / `backward_only`: run one pass (backward_only reuses the last
      forward values);
    - `watch_nan` / `watch_inf`: raise NaNError/InfError naming the first node that made one;
    - `trace`: True logs each node to the `gorgon.vm` logger, a callable receives each line;
    - `bind_dual_values`: keep the gradient of every node backprop passed through, not
      only of `wrt`;
    - `training`: True/False fixes this machine's mode; None (default) follows the graph's
      (`g.train()` / `g.eval()`). `m.train()` / `m.eval()` set it later;
    - `profile`: time every kernel and gradient rule of every run, for `m.profile()`;
    - `backends`: kernel backends in order of preference (`("numba", "numpy")`; default
      GORGON_BACKENDS, else numpy): each node runs the first one's kernel that has one,
      numpy last (gorgon.backends). Nothing is fused: there is no compile step;
    - `blas_threads`: the threads BLAS may use during a run (default GORGON_BLAS_THREADS,
      else BLAS's own setting; see gorgon.vm.threads).

    `.grad` after a run is that run's gradient (None for nodes it did not differentiate).
    A run that fails changes nothing: updated arrays (batch norm's running statistics)
    and random generators are put back, and the values and gradients stay those of the
    last successful run. Running one machine from two threads at once raises
    ConcurrentRunError.
    """

    def __init__(self, graph: Graph, *, cost: Node | None = None, wrt: Sequence[Node] | None = None,
                 outputs: Sequence[Node] | None = None,
                 forward_only: bool = False, backward_only: bool = False, watch_nan: bool = False,
                 watch_inf: bool = False, trace: bool | Tracer | None = None,
                 bind_dual_values: bool = False, training: bool | None = None,
                 profile: bool = False, backends: Sequence[str] | None = None,
                 blas_threads: int | None = None):
        check_graph("LispMachine", graph)
        self.backends = check_backends(backends)
        self.training = check_training("LispMachine", training)
        if forward_only and backward_only:
            raise ArgumentValueError("LispMachine: forward_only and backward_only exclude each other")
        if cost is not None and not (isinstance(cost, Node) and cost.graph is graph):
            raise ArgumentTypeError(f"LispMachine: cost and wrt must be nodes of its graph, got {cost!r}")
        self.graph = graph
        self.cost = cost
        self.wrt = node_list("LispMachine", "wrt", wrt, graph)
        self.outputs = node_list("LispMachine", "outputs", outputs, graph)
        self.forward_only = forward_only
        self.backward_only = backward_only
        self.watch_nan = watch_nan
        self.watch_inf = watch_inf
        self.tracer = make_tracer(trace)
        self.bind_dual_values = bind_dual_values
        self.values: dict[Node, np.ndarray] = {}
        self._plan_key: tuple | None = None
        self._backward_key: tuple | None = None
        self._planned: list = []
        self._stateful: list[Node] = []
        self._sinks: tuple[int, Node | None] = (-1, None)
        self.grads: dict[Node, np.ndarray] = {}
        self.profiler = Profiler("nodes") if profile else None
        self.blas_threads = check_blas_threads(blas_threads)
        self._blas = blas_context(self.blas_threads)
        self._busy = threading.Lock()
        self._owner: int | None = None

    def run_all(self) -> None:
        """Run forward (what the cost and outputs need, or every node) then backward
        (filling `.grad`). With `backward_only`, the forward values are those of the last
        run, by any machine, over this graph."""
        if not self._busy.acquire(False):
            raise concurrent_run(self, self._owner)
        self._owner = get_ident()
        try:
            keeper = None if self.backward_only else self._keeper()
            saved = None if keeper is None else keeper.save()
            if self.profiler is not None:
                self.profiler.start_run()
            try:
                with self._blas:
                    values = self._last_forward() if self.backward_only else self._forward()
                    grads = {} if self.forward_only else self._backward(values)
            except BaseException:
                if keeper is not None:
                    keeper.restore(saved)
                raise
            self.values, self.grads = values, grads
            if self.profiler is not None:
                self.profiler.finish_run()
            self.graph.source = self
        finally:
            self._busy.release()

    def _keeper(self) -> StateKeeper | None:
        """What this run's stateful ops may change, saved to restore if the run fails."""
        self._plan(self.mode)
        return state_keeper([(node.op, [p._value if p.op is None else None for p in node.inputs])
                             for node in self._stateful])

    def _last_forward(self) -> dict[Node, np.ndarray]:
        source = self.graph.source
        values = {}
        if source is not None:
            for node in self.graph.nodes:
                try:
                    value = source.value_of(node)
                except GorgonError:
                    continue
                if value is not None:
                    values[node] = value
        if not values:
            raise BindError("LispMachine(backward_only=True) needs a forward run of this graph "
                            "first (by a machine without backward_only)")
        return values

    def _plan(self, mode: bool) -> list[tuple[Node, Callable[..., np.ndarray] | None, tuple[Node, ...]]]:
        """What to run, node by node: (node, kernel or None for a leaf, inputs). Rebuilt
        when the graph or the mode changed since the last run."""
        key = (self.graph.version, mode)
        if self._plan_key != key:
            nodes = self.graph.nodes
            if self.cost is not None or self.outputs is not None:
                nodes = ancestors(([] if self.cost is None else [self.cost]) + (self.outputs or []))
            if self.forward_only:
                nodes = forward_nodes(nodes)
            self._planned = [(n, None if n.op is None else self._timed(n, self._kernel(n, mode)),
                              n.inputs) for n in nodes]
            self._stateful = [n for n in nodes if n.op is not None and is_stateful(n.op)]
            self._plan_key = key
        return self._planned

    def _timed(self, node: Node, run: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
        """`run` itself, or when profiling, `run` timed for `node`'s profile entry."""
        profiler = self.profiler
        if profiler is None:
            return run
        key = (node, "forward")
        profiler.add(key, entry(node.name, node.op, node.inputs, node))

        def timed(*args: np.ndarray) -> np.ndarray:
            start = clock()
            value = run(*args)
            profiler.record(key, start, clock())
            return value

        return timed

    def profile(self) -> Profile:
        """The timings of the runs since this machine was built: per node and per
        gradient rule calls, time, share, bytes, FLOPs and GFLOP/s (see gorgon.vm.profile).
        Needs `profile=True`."""
        if self.profiler is None:
            raise no_profile("LispMachine")
        return self.profiler.profile()

    def _kernel(self, node: Node, mode: bool) -> Callable[..., np.ndarray]:
        """The node's kernel on the preferred backends (its op's own, allocating, on numpy)."""
        if self.backends == (NUMPY,):
            return node.op.ufunc or kernel(node.op, mode, self.backends)
        return lisp_kernel(node.op, [TensorType(p.shape, p.dtype) for p in node.inputs],
                           TensorType(node.shape, node.dtype), mode, self.backends)

    def _forward(self) -> dict[Node, np.ndarray]:
        values: dict[Node, np.ndarray] = {}
        watched = self.watch_nan or self.watch_inf or self.tracer is not None
        for node, run, parents in self._plan(self.mode):
            if run is None:
                if node._value is None:
                    raise BindError(f"input {node.name!r} has no value: bind one with G.let "
                                    f"(built at {node.origin})")
                values[node] = node._value
                continue
            args = [values[p] for p in parents]
            try:
                value = run(*args)
            except Exception as exc:
                raise kernel_failure(node, exc, args) from exc
            if type(value) is not np.ndarray:
                value = np.asarray(value)
            if value.shape != node.shape or value.dtype != node.dtype:
                raise ExecutionError(
                    f"kernel of op {node.op} returned {value.shape} {value.dtype} for node "
                    f"{node.name!r}, whose inferred type is {node.shape} {node.dtype}")
            values[node] = value
            if watched:
                self._watch(node, value)
        return values

    def _watch(self, node: Node, value: np.ndarray) -> None:
        if self.tracer is not None:
            self.tracer(f"{node.name} = {node.op}({', '.join(p.name for p in node.inputs)})"
                        f"   = {summary(value)}")
        check_finite(node, value, self.watch_nan, self.watch_inf)

    def _find_cost(self) -> tuple[Node | None, Node | None]:
        """The cost to differentiate, and the node whose value seeds it (None: ones)."""
        if self.cost is not None:
            return self.cost, None
        if self.graph.grad_cost is not None:
            return self.graph.grad_cost, self.graph.grad_seed
        return self._only_sink(), None

    def _only_sink(self) -> Node | None:
        """The one float scalar op node nothing uses (cached per graph version)."""
        version, sink = self._sinks
        if version != self.graph.version:
            used = {p for node in self.graph.nodes for p in node.inputs} | self.graph.bypassed
            sinks = [n for n in forward_nodes(self.graph.nodes)
                     if n not in used and n.op is not None and n.shape == () and n.dtype.kind == "f"]
            if len(sinks) > 1:
                raise GradError(f"LispMachine: the graph has {len(sinks)} float scalar sinks "
                                f"({', '.join(repr(n.name) for n in sinks[:5])}): pass cost= to say "
                                "which to differentiate (or forward_only=True for no gradient)")
            sink = sinks[0] if sinks else None
            self._sinks = (self.graph.version, sink)
        return sink

    def _backward(self, values: dict[Node, np.ndarray]) -> dict[Node, np.ndarray]:
        cost, seed_node = self._find_cost()
        if cost is None:
            if self.backward_only:
                raise GradError("LispMachine: no cost to differentiate; pass cost=")
            return {}
        if cost.dtype.kind != "f" or (cost.shape != () and seed_node is None):
            raise GradError(f"LispMachine: cost {cost.name!r} must be a float scalar, "
                            f"got {cost.shape} {cost.dtype}")
        wrt = self.wrt
        if wrt is None:
            wrt = [n for n in ancestors([cost]) if n.role == INPUT and n.dtype.kind == "f"]
        plan, programs = self._backward_plan(cost, wrt)
        profiler = self.profiler

        def contributions(node: Node, gradient: np.ndarray, needed: tuple[bool, ...]) -> list:
            arrays = [values[p] for p in node.inputs]
            arrays.append(values[node])
            arrays.append(gradient)
            try:
                if profiler is None:
                    return programs[node].run(arrays)
                key = (node, "gradient")
                profiler.add(key, entry(node.name, node.op, node.inputs, node, "gradient"))
                start = clock()
                result = programs[node].run(arrays)
                profiler.record(key, start, clock())
                return result
            except Exception as exc:
                raise kernel_failure(node, exc, arrays, "gradient rule") from exc

        try:
            seed = np.ones(cost.shape, cost.dtype) if seed_node is None else values[seed_node]
            adjoints = backprop(cost, seed, plan, contributions, np.add)
        except KeyError as missing:
            name = getattr(missing.args[0], "name", missing)
            raise BindError(f"node {name!r} has no forward value to differentiate with: "
                            "run the graph forward first") from None
        keep = adjoints if self.bind_dual_values else wrt
        grads = {}
        for node in keep:
            if node in adjoints:
                grads[node] = _owned(adjoints[node])
                check_finite(node, grads[node], self.watch_nan, self.watch_inf, "gradient")
        for node in self.wrt or ():
            if node not in grads:
                grads[node] = np.zeros(node.shape, node.dtype)
        return grads

    def _backward_plan(self, cost: Node, wrt: Sequence[Node]) -> tuple[list, dict[Node, VJPProgram]]:
        """The backward plan and each visited node's compiled gradient rule, rebuilt when
        the graph, the cost, the targets or the mode changed."""
        mode = self.mode
        key = (self.graph.version, cost, tuple(wrt), mode)
        if self._backward_key != key:
            plan = backward_plan(cost, wrt)
            self._backward_cached = plan, {node: vjp_program(node, needed, mode) for node, needed in plan}
            self._backward_key = key
        return self._backward_cached

    def reset(self) -> None:
        """Forget the last run's values and gradients."""
        self.values = {}
        self.grads = {}

    def value_of(self, node: Node) -> np.ndarray | None:
        return self.values.get(node)

    def grad_of(self, node: Node) -> np.ndarray | None:
        return self.grads.get(node)

    def __repr__(self) -> str:
        return f"<LispMachine over {len(self.graph.nodes)} nodes>"


def _owned(value: np.ndarray) -> np.ndarray:
    """A gradient the user may modify: a fresh writable array, never a view of another
    value or of a compiled constant."""
    value = np.asarray(value)
    if value.base is not None or not value.flags.writeable:
        return value.copy()
    return value
