"""The profiler of both machines: rows per instruction / node, FLOPs declared by ops,
the table, the per-op totals, the Chrome trace, failed runs, and profiling off."""

import json

import numpy as np
import pytest

import gorgon as G
from gorgon.vm.profile import Profiler, entry


def small_cnn():
    """conv2d + bias + relu + max-pool + dense + cross-entropy, with its gradient."""
    rng = np.random.default_rng(0)
    g = G.Graph()
    x = G.tensor(g, G.Float32, (4, 2, 8, 8), name="x", value=rng.standard_normal((4, 2, 8, 8)).astype(np.float32))
    w = G.tensor(g, G.Float32, (3, 2, 3, 3), name="w", value=rng.standard_normal((3, 2, 3, 3)).astype(np.float32))
    b = G.tensor(g, G.Float32, (3, 1, 1), name="b", value=np.zeros((3, 1, 1), np.float32))
    d = G.tensor(g, G.Float32, (48, 5), name="d", value=rng.standard_normal((48, 5)).astype(np.float32))
    labels = G.vector(g, G.Int64, 4, name="labels", value=np.array([0, 1, 2, 3]))
    conv = G.conv2d(x, w, padding=1, name="conv")
    h = G.max_pool2d(G.relu(conv + b), 2)
    logits = G.matmul(G.flatten(h, 1), d, name="logits")
    loss = G.cross_entropy(logits, labels, name="loss")
    return g, (x, w, b, d), conv, logits, loss


def test_tape_rows_cover_every_instruction_with_calls_time_bytes_and_flops():
    g, (x, w, b, d), conv, logits, loss = small_cnn()
    G.grad(loss, w, b, d)
    m = G.TapeMachine(g, profile=True)
    for _ in range(3):
        m.run_all()
    profile = m.profile()
    assert profile.runs == 3
    assert len(profile.rows) == m.program.op_count
    assert all(r.calls == 3 for r in profile.rows)
    assert [r.total for r in profile.rows] == sorted((r.total for r in profile.rows), reverse=True)
    assert sum(r.share for r in profile.rows) == pytest.approx(1.0)
    assert profile.total == pytest.approx(sum(r.total for r in profile.rows))
    by_name = {r.node: r for r in profile.rows}
    row = by_name["conv"]
    assert row.op.startswith("conv2d")
    assert row.bytes == 4 * 3 * 8 * 8 * 4
    assert row.flops == 2 * (4 * 3 * 8 * 8) * (2 * 3 * 3)
    assert row.gflops == pytest.approx(row.flops * 3 / row.total / 1e9)
    assert row.mean == pytest.approx(row.total / 3)
    assert by_name["logits"].flops == 2 * 4 * 5 * 48
    assert by_name["loss"].flops == 6 * 4 * 5
    kinds = {r.op.split("{")[0]: r.flops for r in profile.rows}
    assert kinds["conv2d_grad_weight"] == row.flops
    assert kinds["max_pool2d"] == 4 * 3 * 4 * 4 * 4
    assert kinds["max_pool2d_grad"] == 4 * 3 * 4 * 4 * 4
    assert kinds["relu"] == 4 * 3 * 8 * 8


def test_profile_by_op_sums_instructions_of_one_type():
    g, params, conv, logits, loss = small_cnn()
    G.grad(loss, *params[1:])
    m = G.TapeMachine(g, profile=True)
    m.run_all()
    m.run_all()
    profile = m.profile()
    groups = {r.op: r for r in profile.by_op()}
    matmuls = [r for r in profile.rows if r.op.split("{")[0] == "matmul"]
    assert groups["matmul"].node == f"{len(matmuls)} instructions"
    assert groups["matmul"].calls == 2 * len(matmuls)
    assert groups["matmul"].total == pytest.approx(sum(r.total for r in matmuls))
    assert groups["matmul"].flops == sum(r.flops for r in matmuls) // len(matmuls)
    assert sum(r.total for r in profile.by_op()) == pytest.approx(profile.total)


def test_table_lists_the_slowest_first_with_its_columns():
    g, params, conv, logits, loss = small_cnn()
    m = G.TapeMachine(g, profile=True)
    m.run_all()
    profile = m.profile()
    text = str(profile)
    lines = text.splitlines()
    assert lines[0].startswith("profile: 1 run(s)")
    assert lines[1].split() == ["node", "op", "calls", "total", "ms", "mean", "us", "share", "bytes",
                                "MFLOP", "GFLOP/s"]
    assert lines[2].split()[0] == profile.rows[0].node
    assert len(lines) == 2 + len(profile.rows)
    assert len(profile.table(limit=2).splitlines()) == 4


def test_chrome_trace_has_one_complete_event_per_instruction_and_run(tmp_path):
    g, params, conv, logits, loss = small_cnn()
    m = G.TapeMachine(g, profile=True)
    for _ in range(2):
        m.run_all()
    profile = m.profile()
    trace = profile.chrome_trace()
    events = trace["traceEvents"]
    assert len(events) == 2 * m.program.op_count
    assert {e["ph"] for e in events} == {"X"}
    assert min(e["ts"] for e in events) == 0
    assert all(e["dur"] >= 0 for e in events)
    conv_events = [e for e in events if e["name"] == "conv"]
    assert [e["args"]["run"] for e in conv_events] == [0, 1]
    assert conv_events[0]["cat"] == "conv2d" and conv_events[0]["args"]["flops"] > 0
    first_run = [e for e in events if e["args"]["run"] == 0]
    assert [e["ts"] for e in first_run] == sorted(e["ts"] for e in first_run)
    path = tmp_path / "trace.json"
    profile.save_chrome_trace(path)
    assert json.loads(path.read_text()) == trace
    assert [p.name for p in tmp_path.iterdir()] == ["trace.json"]


def test_trace_keeps_only_the_last_runs():
    g, params, conv, logits, loss = small_cnn()
    m = G.TapeMachine(g, profile=True, outputs=[conv])
    for _ in range(40):
        m.run_all()
    profile = m.profile()
    assert profile.runs == 40 and profile.rows[0].calls == 40
    assert len(profile.chrome_trace()["traceEvents"]) == 32 * m.program.op_count


def test_a_failed_run_adds_nothing_to_the_profile():
    g = G.Graph()
    x = G.vector(g, G.Float64, 3, name="x", value=np.array([1.0, 2.0, 3.0]))
    y = G.log(x, name="y")
    m = G.TapeMachine(g, profile=True, watch_nan=True)
    m.run_all()
    G.let(x, np.array([1.0, -1.0, 3.0]))
    with pytest.raises(G.NaNError):
        m.run_all()
    profile = m.profile()
    assert profile.runs == 1 and [r.calls for r in profile.rows] == [1]
    assert len(profile.chrome_trace()["traceEvents"]) == 1


def test_profiled_runs_compute_the_same_values_and_trace_still_works():
    lines = []
    g, (x, w, b, d), conv, logits, loss = small_cnn()
    gw, = G.grad(loss, w)
    plain = G.TapeMachine(g)
    plain.run_all()
    expected = (loss.value.copy(), gw.value.copy())
    profiled = G.TapeMachine(g, profile=True, trace=lines.append)
    profiled.run_all()
    assert loss.value == expected[0]
    np.testing.assert_array_equal(gw.value, expected[1])
    assert len(lines) == profiled.program.op_count


def test_a_recompile_starts_a_new_profile():
    g = G.Graph()
    x = G.vector(g, G.Float64, 3, name="x", value=np.ones(3))
    G.exp(x, name="e")
    m = G.TapeMachine(g, profile=True)
    m.run_all()
    G.sin(x, name="s")
    m.run_all()
    profile = m.profile()
    assert profile.runs == 1
    assert sorted(r.node for r in profile.rows) == ["e", "s"]


def test_machines_without_profile_say_how_to_profile():
    g, params, conv, logits, loss = small_cnn()
    for machine in (G.TapeMachine(g), G.LispMachine(g)):
        machine.run_all()
        assert machine.profiler is None
        with pytest.raises(G.GorgonError, match=r"profile=True"):
            machine.profile()


def test_lisp_machine_profiles_kernels_and_gradient_rules():
    g, (x, w, b, d), conv, logits, loss = small_cnn()
    m = G.LispMachine(g, cost=loss, wrt=[w, b, d], profile=True)
    m.run_all()
    m.run_all()
    profile = m.profile()
    rows = {(r.node, r.kind): r for r in profile.rows}
    forward = rows[("conv", "forward")]
    assert forward.calls == 2 and forward.flops == 2 * (4 * 3 * 8 * 8) * (2 * 3 * 3)
    gradient = rows[("conv", "gradient")]
    assert gradient.flops is None and gradient.gflops is None
    assert gradient.bytes == (4 * 2 * 8 * 8 + 3 * 2 * 3 * 3) * 4
    assert "conv (gradient)" in str(profile)
    assert {r.node for r in profile.by_op() if r.op == "conv2d"} == {"1 nodes"}
    assert sum(r.share for r in profile.rows) == pytest.approx(1.0)


def test_lisp_machine_failed_run_adds_nothing():
    g = G.Graph()
    x = G.vector(g, G.Float64, 2, name="x", value=np.array([1.0, 2.0]))
    G.sum(G.log(x), name="total")
    m = G.LispMachine(g, forward_only=True, watch_nan=True, profile=True)
    m.run_all()
    G.let(x, np.array([-1.0, 2.0]))
    with pytest.raises(G.NaNError):
        m.run_all()
    assert m.profile().runs == 1
    assert {r.calls for r in m.profile().rows} == {1}


def test_profiler_reset_forgets_timings_but_keeps_entries():
    profiler = Profiler()
    g = G.Graph()
    x = G.vector(g, G.Float64, 3, name="x")
    y = G.exp(x)
    profiler.add("k", entry("y", y.op, [x], y))
    profiler.start_run()
    profiler.record("k", 10, 30)
    profiler.finish_run()
    assert profiler.profile().rows[0].total == pytest.approx(20e-9)
    profiler.reset()
    assert profiler.profile().rows == [] and profiler.runs == 0 and "k" in profiler.entries


def test_ops_without_a_count_show_no_flops():
    g = G.Graph()
    x = G.matrix(g, G.Float64, (2, 3), name="x", value=np.ones((2, 3)))
    G.transpose(x, name="t")
    m = G.TapeMachine(g, profile=True, passes=())
    m.run_all()
    row, = m.profile().rows
    assert row.flops is None and row.gflops is None
    assert row.bytes == 2 * 3 * 8
