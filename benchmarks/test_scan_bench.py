"""W4 with G.scan: the LSTM training step of benchmarks/test_lstm.py (I=64, H=128, B=32,
T=50, float32) written as one scan node, on the TapeMachine, beside PyTorch's cell loop
and torch.nn.LSTM in the same run; the input projections of all steps are one GEMM
outside the loop (as torch.nn.LSTM does). Also: building + differentiating + compiling
for T = 10 and 100 (a new length's outer graph, the scan body cached: its cost does not grow
with T; the unrolled graph's does), the body's own one-time trace and compile,
and the memory of one step: tracemalloc's peak and the buffers the programs hold."""

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


def scan_graph(values):
    """The W4 LSTM as one scan: the same parameters, loss and gradients as lstm_graph."""
    g = G.Graph()
    xs = G.tensor(g, G.Float32, values["xs"].shape, name="xs", value=values["xs"])
    w = G.matrix(g, G.Float32, values["w"].shape, name="w", value=values["w"].copy())
    u = G.matrix(g, G.Float32, values["u"].shape, name="u", value=values["u"].copy())
    b = G.vector(g, G.Float32, values["b"].shape, name="b", value=values["b"].copy())
    target = G.matrix(g, G.Float32, values["target"].shape, name="target", value=values["target"])
    steps, batch, inputs = values["xs"].shape
    xw = G.reshape(G.reshape(xs, (steps * batch, inputs)) @ w + b, (steps, batch, 4 * H))
    zeros = G.constant(np.zeros((batch, H), np.float32), g)
    (h, _), _ = G.scan(lstm_step, sequences=xw, init=(zeros, zeros), non_sequences=u)
    loss = G.mean(G.square(h - target))
    return g, [w, u, b], loss


def data_of_length(steps):
    values = data()
    values["xs"] = np.resize(values["xs"], (steps, BATCH, INPUTS))
    return values


def trained(build, values):
    g, params, loss = build(values)
    G.grad(loss, *params)
    machine = G.TapeMachine(g)

    def step():
        machine.run_all()
        sgd(params)

    return machine, params, loss, step


def test_w4_scan_tape(benchmark, record):
    record(WORKLOAD, "gorgon scan TapeMachine")
    _, _, loss, step = trained(scan_graph, data())
    benchmark(step)
    assert np.isfinite(loss.value)


def test_w4_scan_equals_unrolled():
    grads = []
    for build in (scan_graph, lstm_graph):
        g, params, loss = build(data())
        result = G.grad(loss, *params)
        G.TapeMachine(g).run_all()
        grads.append([r.value.copy() for r in result])
    for mine, unrolled in zip(*grads):
        np.testing.assert_allclose(mine, unrolled, rtol=1e-4, atol=1e-7)


def test_w4_scan_torch_cell_loop(benchmark, record, torch):
    record(WORKLOAD, "torch eager")
    assert torch.isfinite(benchmark(torch_cell_loop_step(torch)))


def test_w4_scan_torch_lstm(benchmark, record, torch):
    record(WORKLOAD, "torch.nn.LSTM")
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

    assert torch.isfinite(benchmark(step))


@pytest.mark.parametrize("steps", [10, 100])
@pytest.mark.parametrize("kind", ["scan", "unrolled"])
def test_w4_compile_time(benchmark, record, kind, steps):
    record(f"W4 build+grad+compile, T={steps}", f"gorgon {kind}")
    build = scan_graph if kind == "scan" else lstm_graph
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
            total += sum(b.nbytes for plan in body._plans.values() for b in plan.pairs)
    return total


@pytest.mark.parametrize("kind", ["scan", "unrolled"])
def test_w4_memory(benchmark, record, kind):
    record("W4 memory per step", f"gorgon {kind} TapeMachine")
    machine, _, _, step = trained(scan_graph if kind == "scan" else lstm_graph, data())
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
