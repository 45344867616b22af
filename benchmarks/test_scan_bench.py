"""W4 with G.scan: the LSTM training step of benchmarks/test_lstm.py (I=64, H=128, B=32,
T=50, float32) written as one scan node, on the TapeMachine, beside the unrolled graph,
PyTorch's cell loop and torch.nn.LSTM in the same run, each with one and with two BLAS
(torch) threads; the input projections of all steps are one GEMM outside the loop (as
torch.nn.LSTM does). A scan whose length is a node (one program for every length):
its step at T=50, a round of five lengths against one program per length, and the
first run of a new length. Also: building + differentiating + compiling for T = 10 and
100 (a new length's outer graph, the scan body cached: its cost does not grow with T;
the unrolled graph's does; the dynamic scan's one program), the body's own one-time
trace and compile, and the memory of one step: tracemalloc's peak and the buffers the
programs hold."""

import contextlib
import tracemalloc
import types

import numpy as np
import pytest

import gorgon as G
from benchmarks.test_lstm import (BATCH, HIDDEN, INPUTS, LEARNING_RATE, STEPS, data, lstm_graph, sgd,
                                  torch_cell_loop_step)

WORKLOAD = "W4 LSTM step (scan)"
H = HIDDEN


def lstm_step(h, c, xw, u):
    z = xw + h @ u
    gates = G.sigmoid(z[:, :3 * H])
    i, f, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:]
    c = f * c + i * G.tanh(z[:, 3 * H:])
    return (o * G.tanh(c), c), None


def scan_graph(values, dynamic=False, evaluation=False):
    """The W4 LSTM as one scan: the same parameters, loss and gradients as lstm_graph;
    with `dynamic`, the scan's length is the input node "n" (bound to T); with
    `evaluation`, built in evaluation mode (its scan stores no residuals)."""
    g = G.Graph()
    if evaluation:
        g.eval()
    xs = G.tensor(g, G.Float32, values["xs"].shape, name="xs", value=values["xs"])
    w = G.matrix(g, G.Float32, values["w"].shape, name="w", value=values["w"].copy())
    u = G.matrix(g, G.Float32, values["u"].shape, name="u", value=values["u"].copy())
    b = G.vector(g, G.Float32, values["b"].shape, name="b", value=values["b"].copy())
    target = G.matrix(g, G.Float32, values["target"].shape, name="target", value=values["target"])
    steps, batch, inputs = values["xs"].shape
    length = G.scalar(g, G.Int64, name="n", value=np.array(steps)) if dynamic else None
    xw = G.reshape(G.reshape(xs, (steps * batch, inputs)) @ w + b, (steps, batch, 4 * H))
    zeros = G.constant(np.zeros((batch, H), np.float32), g)
    (h, _), _ = G.scan(lstm_step, sequences=xw, init=(zeros, zeros), non_sequences=u, length=length)
    loss = G.mean(G.square(h - target))
    return g, [w, u, b], loss


def dynamic_graph(values):
    return scan_graph(values, dynamic=True)


def data_of_length(steps):
    values = data()
    values["xs"] = np.resize(values["xs"], (steps, BATCH, INPUTS))
    return values


def trained(build, values, **options):
    g, params, loss = build(values)
    G.grad(loss, *params)
    machine = G.TapeMachine(g, **options)

    def step():
        machine.run_all()
        sgd(params)

    return machine, params, loss, step


@contextlib.contextmanager
def torch_threads(torch, threads):
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("kind", ["scan", "dynamic scan", "unrolled"])
def test_w4_scan_tape(benchmark, record, kind, threads):
    record(f"{WORKLOAD}, {threads} thread(s)", f"gorgon {kind} TapeMachine")
    build = {"scan": scan_graph, "dynamic scan": dynamic_graph, "unrolled": lstm_graph}[kind]
    _, _, loss, step = trained(build, data(), blas_threads=threads)
    benchmark(step)
    assert np.isfinite(loss.value)


@pytest.mark.parametrize("threads", [1, 2])
def test_w4_scan_tape_numba(benchmark, record, threads):
    """The scan on the TapeMachine with gorgon-numba's kernels first (fused elementwise
    chains, vectorised float32 sigmoid and tanh), numpy's for the rest."""
    pytest.importorskip("gorgon_numba")
    record(f"{WORKLOAD}, {threads} thread(s)", "gorgon scan TapeMachine on numba")
    _, _, loss, step = trained(scan_graph, data(), blas_threads=threads, backends=("numba", "numpy"))
    benchmark(step)
    assert np.isfinite(loss.value)


def test_w4_scan_equals_unrolled():
    grads = []
    for build in (scan_graph, dynamic_graph, lstm_graph):
        g, params, loss = build(data())
        result = G.grad(loss, *params)
        G.TapeMachine(g).run_all()
        grads.append([r.value.copy() for r in result])
    for mine, dynamic, unrolled in zip(*grads):
        np.testing.assert_allclose(mine, unrolled, rtol=1e-4, atol=1e-7)
        np.testing.assert_array_equal(mine, dynamic)


@pytest.mark.parametrize("threads", [1, 2])
def test_w4_scan_torch_cell_loop(benchmark, record, torch, threads):
    record(f"{WORKLOAD}, {threads} thread(s)", "torch eager")
    with torch_threads(torch, threads):
        assert torch.isfinite(benchmark(torch_cell_loop_step(torch)))


@pytest.mark.parametrize("threads", [1, 2])
def test_w4_interleaved(benchmark, record, torch, threads):
    """Every W4 implementation round by round in one process, each settled by an untimed
    step before its timed one (benchmarks/scan_interleaved.py): medians and the scan's
    ratios to the torch cell loop and torch.nn.LSTM in extra_info, figures that hold on
    a shared machine where load changes between sequential benchmarks."""
    from benchmarks.scan_interleaved import interleaved, ratios

    record(f"{WORKLOAD} interleaved ({threads} BLAS/torch threads)", "every implementation")
    if benchmark.disabled:
        pytest.skip("a timing only: it measures nothing without --benchmark-enable")
    found: dict = {}
    benchmark.pedantic(lambda: found.update(interleaved(threads, rounds=9, settle=True)), rounds=1, iterations=1)
    benchmark.extra_info["median_ms"] = {name: round(float(np.median(v)) * 1e3, 2) for name, v in found.items()}
    benchmark.extra_info["ratios"] = ratios(found)
    assert all(len(v) == 9 for v in found.values()) and benchmark.extra_info["ratios"]


@pytest.mark.parametrize("onednn", [True, False], ids=["oneDNN", "no oneDNN"])
@pytest.mark.parametrize("threads", [1, 2])
def test_w4_scan_torch_lstm(benchmark, record, torch, threads, onednn):
    """torch.nn.LSTM, which on the CPU runs oneDNN's fused RNN primitive; with oneDNN
    off it runs op by op."""
    record(f"{WORKLOAD}, {threads} thread(s)", "torch.nn.LSTM" + ("" if onednn else " without oneDNN"))
    values = data()
    lstm = torch.nn.LSTM(INPUTS, HIDDEN)
    xs, target = torch.from_numpy(values["xs"]), torch.from_numpy(values["target"])

    def step():
        lstm.zero_grad()
        _, (h, _) = lstm(xs)
        loss = ((h[0] - target) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            for p in lstm.parameters():
                p -= LEARNING_RATE * p.grad
        return loss

    with torch_threads(torch, threads), torch.backends.mkldnn.flags(enabled=onednn):
        assert torch.isfinite(benchmark(step))


LENGTHS = (10, 20, 30, 40, 50)


@pytest.mark.parametrize("kind", ["one dynamic program", "a program per length"])
def test_w4_round_of_lengths(benchmark, record, kind):
    """One training step at each of five lengths: one program with a length node (the
    sequences padded to 50 steps), or one program per length built beforehand."""
    record("W4 training steps at T = 10, 20, 30, 40, 50", f"gorgon {kind}")
    if kind == "one dynamic program":
        machine, _, loss, step = trained(dynamic_graph, data(), blas_threads=1)
        n = machine.graph.by_name("n")

        def round_of_lengths():
            for steps in LENGTHS:
                n.value[...] = steps
                step()
    else:
        steps_of = [trained(scan_graph, data_of_length(steps), blas_threads=1)[3] for steps in LENGTHS]

        def round_of_lengths():
            for step in steps_of:
                step()

    benchmark(round_of_lengths)


def test_w4_first_run_of_a_new_length(benchmark, record):
    """The dynamic scan's first run at a length: its steps prepared (a plan), then run."""
    record("W4 dynamic scan: first run of a new length (T=50)", "gorgon dynamic scan")
    machine, _, loss, step = trained(dynamic_graph, data(), blas_threads=1)
    step()
    bodies = [n.op.body for n in machine.program.nodes if n.op is not None and n.op.name == "scan"]

    def forget():
        for body in bodies:
            body._plans.clear()

    benchmark.pedantic(step, setup=forget, rounds=9, iterations=1)
    assert np.isfinite(loss.value)


@pytest.mark.parametrize("steps", [10, 100])
@pytest.mark.parametrize("kind", ["scan", "dynamic scan", "unrolled"])
def test_w4_compile_time(benchmark, record, kind, steps):
    record(f"W4 build+grad+compile, T={steps}", f"gorgon {kind}")
    build = {"scan": scan_graph, "dynamic scan": dynamic_graph, "unrolled": lstm_graph}[kind]
    values = data_of_length(steps)
    if kind == "unrolled":
        import benchmarks.test_lstm as unrolled

        original, unrolled.STEPS = unrolled.STEPS, steps
        try:
            machine = benchmark.pedantic(lambda: trained(build, values)[0], rounds=3, iterations=1)
        finally:
            unrolled.STEPS = original
    else:
        machine = benchmark.pedantic(lambda: trained(build, values)[0], rounds=3, iterations=1)
    assert machine.program.op_count > 0


def test_w4_scan_body_trace_and_compile_once(benchmark, record):
    record("W4 scan body trace+compile (once per step function)", "gorgon scan")

    def fresh():
        step = types.FunctionType(lstm_step.__code__, globals(), "lstm_step")
        values = data()
        g = G.Graph()
        xw = G.tensor(g, G.Float32, (STEPS, BATCH, 4 * H), value=np.zeros((STEPS, BATCH, 4 * H), np.float32))
        u = G.matrix(g, G.Float32, values["u"].shape, value=values["u"])
        zeros = G.constant(np.zeros((BATCH, H), np.float32), g)
        (h, _), _ = G.scan(step, sequences=xw, init=(zeros, zeros), non_sequences=u)
        G.grad(G.sum(h), u)
        bodies = [n.op.body for n in g.nodes if n.op is not None and n.op.name == "scan"]
        for body in bodies:
            body.machine(True)
        return bodies

    bodies = benchmark.pedantic(fresh, rounds=3, iterations=1)
    assert len(bodies) == 2 and all(b.compiles == 1 for b in bodies)


def held_bytes(machine):
    """The buffers a TapeMachine holds for its program, plus those of the scan bodies'
    own machines (each body's compiled programs and placeholder buffers)."""
    total = machine.program.buffer_bytes
    for node in machine.program.nodes:
        if node.op is not None and node.op.name == "scan":
            body = node.op.body
            total += sum(m.program.buffer_bytes for m in body._machines.values())
            total += sum(b.nbytes for plans in body._plans.values() for plan in plans.values()
                         for b in plan.pairs)
    return total


@pytest.mark.parametrize("kind", ["scan", "unrolled", "scan forward-only", "unrolled forward-only",
                                  "scan built in eval mode, forward-only"])
def test_w4_memory(benchmark, record, kind):
    record("W4 memory per step", f"gorgon {kind} TapeMachine")
    forward_only = kind.endswith("forward-only")
    build = scan_graph if kind.startswith("scan") else lstm_graph
    if forward_only:
        g, params, loss = build(data(), evaluation=True) if "eval" in kind else build(data())
        if "eval" not in kind:
            G.grad(loss, *params)
        machine = G.TapeMachine(g, forward_only=True)
        step = machine.run_all
    else:
        machine, _, _, step = trained(build, data())
    for _ in range(2):
        step()
    tracemalloc.start()
    try:
        step()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    benchmark.extra_info["peak_bytes"] = peak
    benchmark.extra_info["held_bytes"] = held_bytes(machine)
    benchmark.pedantic(step, rounds=1, iterations=1)
    assert held_bytes(machine) > 0
