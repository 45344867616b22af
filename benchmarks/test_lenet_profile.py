"""The LeNet training step on a TapeMachine built with profile=True: its median beside
the plain machine's (what profiling costs), and the profile of the timed steps, per op
type and for the slowest instructions, kept in extra_info["profile"] for the report."""

import numpy as np

import gorgon as G
from gorgon.vm.profile import Profile
from benchmarks.test_lenet import LEARNING_RATE, lenet_graph

TOP = 12


def profile_summary(profile: Profile) -> dict:
    """The rows the report prints, as plain JSON values."""

    def plain(row) -> dict:
        return {"node": row.node, "op": row.op, "kind": row.kind, "calls": row.calls,
                "total": row.total, "mean": row.mean, "share": row.share, "bytes": row.bytes,
                "flops": row.flops, "gflops": row.gflops}

    return {"runs": profile.runs, "total": profile.total,
            "by_op": [plain(r) for r in profile.by_op()], "top": [plain(r) for r in profile.rows[:TOP]]}


def test_lenet_tape_profiled(benchmark, record):
    record("LeNet training step", "gorgon TapeMachine, profile=True")
    g, params, loss = lenet_graph()
    G.grad(loss, *params)
    machine = G.TapeMachine(g, profile=True)
    solver = G.solvers.SGD(params=params, learning_rate=LEARNING_RATE)

    def step():
        machine.run_all()
        solver.step()

    benchmark(step)
    profile = machine.profile()
    assert profile.runs >= 1 and np.isfinite(loss.value)
    assert {r.calls for r in profile.rows} == {profile.runs}
    benchmark.extra_info["profile"] = profile_summary(profile)
