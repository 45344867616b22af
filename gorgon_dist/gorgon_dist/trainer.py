"""DataParallel: one model trained by many ranks, each on its shard of every batch.

Every rank builds the same graph, binds its shard of the global batch and runs its machine;
`step()` then averages the gradients over the ranks and lets the solver update the
parameters. Because every rank applies the same averaged gradient with the same
deterministic solver from the same starting point, the ranks' parameters stay
bit-identical, and equal those of one process training on the whole batch (up to
rounding), provided the loss is a mean over examples and the shards are equal (`shard`).
"""

from __future__ import annotations

import os
from collections import defaultdict

import numpy as np
from gorgon_ops_nn.checkpoint import Params, named
from mpi4py import MPI

from gorgon import Graph, Node
from gorgon.errors import BindError, GorgonError
from gorgon.types import describe
from gorgon_dist.averaged import AveragedGradients
from gorgon_dist.buckets import make_buckets
from gorgon_dist.checkpoint import load_checkpoint, save_checkpoint
from gorgon_dist.errors import DistError
from gorgon_dist.signature import check_same_model
from gorgon_dist.sync import check_in_sync
from gorgon_dist.watchdog import watchdog
from gorgon_ops_nn import Solver

BUCKET_BYTES = 32 * 2**20


class DataParallel:
    """Data-parallel training of `params` (a list of input nodes, or a dict name -> node,
    as for gorgon_ops_nn's checkpoints) with `solver` over the ranks of `comm`
    (MPI.COMM_WORLD by default).

    Creating it is collective: every rank must create it with the same parameters (names,
    shapes, dtypes, order) and solver settings, else every rank raises GraphMismatch;
    then rank 0's parameter values and solver state are broadcast to all.

    The start-up check compares the whole graph the parameters live in (every node's op,
    shape, dtype and inputs, and constant values) and `bucket_bytes` as well, so ranks
    that would compute different losses never start.

    Gradients are fused into buckets of at most `bucket_bytes` (one per dtype at least),
    allocated once, and summed with one in-place Allreduce each. `allreduce_seconds`
    adds up the time spent in those calls.

    Every collective call either completes or ends the job within `timeout` seconds
    (default: GORGON_DIST_TIMEOUT, else 300), naming the rank at fault: one that left the
    job early (returned, `sys.exit(0)`, one step fewer) is named as soon as another rank
    waits for it. See `gorgon_dist.watchdog`.
    """

    def __init__(self, params: Params, solver: Solver | None = None, comm: MPI.Comm | None = None,
                 bucket_bytes: int = BUCKET_BYTES, timeout: float | None = None):
        self.comm = MPI.COMM_WORLD if comm is None else comm
        self.watchdog = watchdog(self.comm, timeout)
        self.params = named(params)
        self.solver = solver
        self._check_params()
        check_same_model(self.watchdog, self.params, solver, bucket_bytes)
        self.buckets = make_buckets(list(self.params.values()), bucket_bytes)
        self.allreduce_seconds = 0.0
        self._averaged: dict[Graph, dict[Node, np.ndarray]] = defaultdict(dict)
        for bucket in self.buckets:
            for node, view in zip(bucket.nodes, bucket.views):
                self._averaged[node.graph][node] = view
        self.broadcast_parameters()

    def _check_params(self) -> None:
        for node in self.params.values():
            if node.role != "input" or node.dtype.kind != "f":
                raise GorgonError(f"DataParallel: every parameter must be a float input node, "
                                  f"got {describe(node)}")
            if node.value is None:
                raise BindError(f"DataParallel: parameter {describe(node)} has no value bound")
        if self.solver is not None and set(self.solver.params) != set(self.params.values()):
            raise GorgonError(f"DataParallel: the solver's parameters {self.solver.params} are not "
                              f"the parameters given, {list(self.params.values())}")

    @property
    def rank(self) -> int:
        return self.comm.rank

    @property
    def size(self) -> int:
        return self.comm.size

    @property
    def gradient_bytes(self) -> int:
        """The bytes each rank sends into the allreduce per step (all buckets)."""
        return sum(bucket.nbytes for bucket in self.buckets)

    def broadcast_parameters(self) -> None:
        """Make every rank's parameter values and solver state rank 0's (collective)."""
        for bucket in self.buckets:
            values = [node.value for node in bucket.nodes]
            bucket.pack(values)
            self.watchdog.bcast(bucket.flat, "the broadcast of rank 0's parameters")
            if self.rank != 0:
                bucket.unpack(values)
        if self.solver is not None:
            state = self.watchdog.bcast_object(self.solver.state_dict() if self.rank == 0 else None,
                                               "the broadcast of rank 0's solver state")
            if self.rank != 0:
                self.solver.load_state_dict(state)

    def average_gradients(self) -> None:
        """Average every parameter's gradient from the last run over the ranks
        (collective). Until the next run of a machine, `node.grad` reads the average."""
        if self.size == 1:
            return
        for bucket in self.buckets:
            bucket.pack(self._gradient(node) for node in bucket.nodes)
            start = MPI.Wtime()
            self.watchdog.allreduce_sum(bucket.flat, self._step_name("the gradient allreduce"))
            self.allreduce_seconds += MPI.Wtime() - start
            bucket.flat /= self.size
        for graph, averaged in self._averaged.items():
            graph.source = AveragedGradients(graph.source, averaged)

    def _step_name(self, what: str) -> str:
        steps = "" if self.solver is None else f" of step {self.solver.steps + 1}"
        return what + steps

    def _gradient(self, node: Node) -> np.ndarray:
        gradient = node.grad
        if gradient is None:
            raise DistError(f"DataParallel: parameter {describe(node)} has no gradient: run a "
                            "machine that computes it (G.grad(cost, ...) with this node) first")
        return gradient

    def step(self) -> None:
        """Average the gradients of the last run over the ranks, then take one solver step
        with them (collective)."""
        if self.solver is None:
            raise DistError("DataParallel.step needs a solver: pass solver= when creating it, "
                            "or call average_gradients() and update the parameters yourself")
        self.average_gradients()
        self.solver.step()

    def check_in_sync(self) -> None:
        """Raise OutOfSync on every rank unless all ranks hold bit-identical parameters and
        solver state (collective)."""
        check_in_sync(self.watchdog, self.params, self.solver)

    def save(self, path: str | os.PathLike) -> None:
        """Rank 0 saves the parameters and solver state to `path` (collective)."""
        save_checkpoint(self.watchdog, path, self.params, self.solver)

    def load(self, path: str | os.PathLike) -> None:
        """Rank 0 loads `path`, saved by `save`, and broadcasts it to every rank
        (collective)."""
        load_checkpoint(self.watchdog, path, self.params, self.solver)
        self.broadcast_parameters()

    def __repr__(self) -> str:
        return (f"<DataParallel rank {self.rank} of {self.size}: {len(self.params)} parameters "
                f"in {len(self.buckets)} buckets of {self.gradient_bytes} bytes>")
