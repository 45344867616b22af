"""Which kernels of a steady-state TapeMachine step allocate, and how much.

Runs each prepared step of the W2 MLP, LeNet and W4 LSTM benchmark programs alone under
tracemalloc and prints those whose peak exceeds a threshold, with the op, its input
types and the bytes (`python tests/alloc/measure.py W2 LeNet W4`)."""

from __future__ import annotations

import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import gorgon as G

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks import test_lenet, test_lstm, test_mlp  # noqa: E402

BUILDERS: dict[str, Callable] = {
    "W2": test_mlp.mlp_graph,
    "LeNet": test_lenet.lenet_graph,
    "W4": lambda: test_lstm.lstm_graph(test_lstm.data()),
}


def training_machine(which: str) -> tuple[G.TapeMachine, object]:
    """The benchmark's TapeMachine (gradients built) and an SGD solver over its params."""
    g, params, loss = BUILDERS[which]()
    G.grad(loss, *params)
    return G.TapeMachine(g), G.solvers.SGD(params=params, learning_rate=1e-5)


def peak_of(call: Callable[[], object]) -> int:
    """Peak bytes traced while `call` runs (tracemalloc already started), with any Python
    trace function (coverage's) off meanwhile, so its own bookkeeping is not counted."""
    tracer = sys.gettrace()
    sys.settrace(None)
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        call()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        sys.settrace(tracer)


def allocating_steps(machine: G.TapeMachine, threshold: int = 256) -> list[tuple[int, str, int]]:
    """(index, instruction, peak bytes) of each step that allocated over `threshold`."""
    found = []
    tracemalloc.start()
    try:
        for index, (ins, run_step) in enumerate(zip(machine._exec, machine._steps)):
            peak = peak_of(run_step)
            if peak > threshold:
                types = ", ".join(f"{a.dtype}{list(a.shape)}" for a in machine._inputs_of(ins))
                found.append((index, f"{ins.term.op}({types})", peak))
    finally:
        tracemalloc.stop()
    return found


def main(names: list[str]) -> None:
    for which in names:
        machine, solver = training_machine(which)
        for _ in range(3):
            machine.run_all()
            solver.step()
        tracemalloc.start()
        run_peak, solver_peak = peak_of(machine.run_all), peak_of(solver.step)
        tracemalloc.stop()
        steps = allocating_steps(machine)
        print(f"== {which}: run_all peak {run_peak} B, solver.step peak {solver_peak} B, "
              f"{len(steps)} of {len(machine._steps)} steps allocate")
        for index, text, peak in steps:
            print(f"  #{index:4d} {peak:9d} B  {text}")


if __name__ == "__main__":
    main(sys.argv[1:] or list(BUILDERS))
