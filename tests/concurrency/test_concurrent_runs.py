"""Runs of a TapeMachine with groups: a kernel error in either member is an
ExecutionError naming its instruction and the failed run puts state back; the profile
times every member; a steady-state run allocates no more than the serial machine's;
the worker threads end with their machine or its previous program."""

from __future__ import annotations

import gc
import re
import sys
import threading
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import gorgon as G
from gorgon.vm.concurrent import MIN_FLOPS

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "alloc"))

from measure import peak_of  # noqa: E402

FAILING: set[str] = set()
"""Names of the Heavy instructions that raise when they run."""


class Heavy(G.Op):
    """`x * 2`, declaring enough FLOPs to be grouped; raises while its `tag` is in FAILING."""

    name = "concurrency_test_heavy_run"

    def __init__(self, tag: str = "", **params):
        super().__init__(tag=tag, **params)

    def infer(self, x):
        return G.TensorType(x.shape, x.dtype)

    def forward(self, x, out=None):
        if self.tag in FAILING:
            raise ValueError(f"{self.tag} failed")
        return np.multiply(x, 2.0, out=out)

    def flops(self, inputs, output):
        return MIN_FLOPS


class Bump(G.Op):
    """Adds 1 to its input in place (declared in `updates`) and returns the new value."""

    name = "concurrency_test_bump"
    updates = (0,)

    def infer(self, x):
        return G.TensorType(x.shape, x.dtype)

    def forward(self, x, out=None):
        x += 1.0
        return np.copyto(out, x) or out if out is not None else x.copy()


def graph():
    g = G.Graph()
    state = G.vector(g, G.Float64, 4, name="state", value=np.zeros(4))
    x = G.vector(g, G.Float64, 4, name="x", value=np.arange(4.0))
    bumped = G.apply(Bump(), state)
    first = G.apply(Heavy(tag="first"), x)
    second = G.apply(Heavy(tag="second"), bumped)
    return g, state, first, second


@pytest.fixture(autouse=True)
def nothing_fails():
    FAILING.clear()
    yield
    FAILING.clear()


@pytest.mark.parametrize("tag", ["first", "second"])
def test_an_error_in_a_group_names_its_instruction_and_the_run_is_undone(tag):
    g, state, first, second = graph()
    machine = G.TapeMachine(g, concurrency=2)
    assert machine._groups.groups == [(1, 2)]
    machine.run_all()
    assert second.value.tolist() == [2.0] * 4 and state.value.tolist() == [1.0] * 4
    FAILING.add(tag)
    failing = {"first": first, "second": second}[tag]
    with pytest.raises(G.ExecutionError, match=f"node {re.escape(repr(failing.name))}.*{tag} failed"):
        machine.run_all()
    assert state.value.tolist() == [1.0] * 4
    assert first.value is None and second.value is None  # a failed run leaves nothing computed
    FAILING.clear()
    machine.run_all()
    assert state.value.tolist() == [2.0] * 4 and second.value.tolist() == [4.0] * 4


def test_the_profile_times_every_member_of_a_group():
    g, state, first, second = graph()
    machine = G.TapeMachine(g, concurrency=2, profile=True)
    for _ in range(3):
        machine.run_all()
    FAILING.add("second")
    with pytest.raises(G.ExecutionError):
        machine.run_all()
    profile = machine.profile()
    assert profile.runs == 3
    assert {r.node: r.calls for r in profile.rows} == {n.name: 3 for n in g.nodes if n.op is not None}
    assert all(r.total > 0 for r in profile.rows)
    assert len(profile.chrome_trace()["traceEvents"]) == 3 * len(profile.rows)


def test_watched_runs_run_in_order_and_agree():
    g, state, first, second = graph()
    lines: list[str] = []
    machine = G.TapeMachine(g, concurrency=2, trace=lines.append, watch_nan=True)
    machine.run_all()
    assert [first.name in line for line in lines] == [False, True, False]
    assert second.name in lines[2]
    assert second.value.tolist() == [2.0] * 4


def matmul_graph():
    rng = np.random.default_rng(0)
    g = G.Graph()
    a, b, c = (G.matrix(g, G.Float64, (200, 200), name=n, value=rng.standard_normal((200, 200)))
               for n in "abc")
    left, right = a @ b, a @ c
    return g, left, right


RUNS = 20
WINDOWS = 3


def _kept_over_runs(machine):
    """Bytes still traced after RUNS runs that were not before them."""
    before = tracemalloc.get_traced_memory()[0]
    for _ in range(RUNS):
        machine.run_all()
    return tracemalloc.get_traced_memory()[0] - before


def test_a_grouped_run_allocates_no_more_than_a_serial_one():
    """Beyond the serial run's, a grouped run's peak holds only a few small Python
    objects (loop iterators; both matmuls' transient bookkeeping alive at once), far
    below one 320 KB buffer, and runs keep nothing: over RUNS runs less than one Python
    object per run (16 bytes, the smallest) beyond the serial machine's, in the quietest
    of WINDOWS stretches of RUNS runs (numpy's small caches, filled from both threads,
    move tracemalloc's count by a few hundred bytes in some stretches; a leak shows in
    every one)."""
    previous = np.setbufsize(16)
    try:
        peaks, kept = {}, {}
        for concurrency in (1, 2):
            g, left, right = matmul_graph()
            tracer = threading.gettrace()
            threading.settrace(None)  # a worker started under coverage would trace (and allocate)
            try:
                machine = G.TapeMachine(g, concurrency=concurrency, blas_threads=1)
            finally:
                threading.settrace(tracer)
            assert (machine._groups is not None) == (concurrency == 2)
            for _ in range(3):
                machine.run_all()
            tracemalloc.start()
            try:
                peaks[concurrency] = max(peak_of(machine.run_all) for _ in range(5))
                kept[concurrency] = min(_kept_over_runs(machine) for _ in range(WINDOWS))
            finally:
                tracemalloc.stop()
        assert peaks[2] <= peaks[1] + 1024, peaks
        assert kept[2] - max(kept[1], 0) < 16 * RUNS, kept
    finally:
        np.setbufsize(previous)


def group_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("gorgon-group-")]


def test_workers_end_with_their_machine_and_with_a_recompiled_program():
    before = set(group_threads())
    g, left, right = matmul_graph()
    machine = G.TapeMachine(g, concurrency=2)
    mine = [t for t in group_threads() if t not in before]
    assert len(mine) == 1
    left + right  # the graph changed: the next run recompiles
    machine.run_all()
    mine[0].join(5)
    assert not mine[0].is_alive()
    assert np.array_equal(left.value, left.inputs[0].value @ left.inputs[1].value)
    newer = [t for t in group_threads() if t not in before]
    assert len(newer) == 1
    del machine, g, left, right  # the graph holds its last machine (graph.source)
    gc.collect()
    newer[0].join(5)
    assert not newer[0].is_alive()


class BlasProbe(Heavy):
    """Heavy's `x * 2`, recording BLAS's thread counts when it runs (grouped or not)."""

    name = "concurrency_test_blas_probe"
    seen: list[list[int]] = []

    def forward(self, x, out=None):
        threadpoolctl = pytest.importorskip("threadpoolctl")
        BlasProbe.seen.append([i["num_threads"] for i in threadpoolctl.threadpool_info()
                               if i["user_api"] == "blas"])
        return super().forward(x, out)

    def flops(self, inputs, output):
        return MIN_FLOPS if self.tag != "light" else 1


def test_blas_runs_one_thread_inside_groups_and_the_machines_outside():
    g = G.Graph()
    x = G.vector(g, G.Float64, 4, name="x", value=np.arange(4.0))
    for tag in ("a", "b", "light"):
        G.apply(BlasProbe(tag=tag), x)
    machine = G.TapeMachine(g, concurrency=2, blas_threads=2)
    assert machine._groups.groups == [(0, 1)]
    BlasProbe.seen.clear()
    machine.run_all()
    counts = [set(s) for s in BlasProbe.seen]  # every BLAS library loaded
    assert sorted(counts, key=min) == [{1}, {1}, {2}] and counts[-1] == {2}


class Light(Heavy):
    name = "concurrency_test_light_run"

    def flops(self, inputs, output):
        return 1


def test_an_error_outside_the_groups_of_a_grouped_machine_names_its_instruction():
    g, state, first, second = graph()
    light = G.apply(Light(tag="light"), first)
    machine = G.TapeMachine(g, concurrency=2)
    assert machine._groups.groups == [(1, 2)]
    FAILING.add("light")
    with pytest.raises(G.ExecutionError, match=re.escape(repr(light.name))):
        machine.run_all()
    assert state.value.tolist() == [0.0] * 4
