"""The numba kernel backend against the numpy backend, in one run: W1 (the 1,000-op chain
of test_dispatch) forward and forward+backward on both machines; an elementwise-heavy
block on (4096, 1024) float32 (y = layer_norm(gelu(x + b) * 0.5 + x)); the LeNet
training step, alone and interleaved round by round with numpy's and PyTorch's; and the
first-call compile time (a fresh process, cold and warm disk cache). The numba TapeMachines use readable="lean", where whole chains fuse."""

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import gorgon as G
from benchmarks import test_dispatch, test_lenet

pytest.importorskip("gorgon_numba")

NUMBA = ("numba", "numpy")
ROOT = Path(__file__).resolve().parents[1]
BLOCK = (4096, 1024)


def first_call(benchmark, build):
    """Build a machine and run it once, recording the seconds (numba compiles then)."""
    start = time.perf_counter()
    machine = build()
    machine.run_all()
    benchmark.extra_info["first_call_s"] = round(time.perf_counter() - start, 3)
    return machine


@pytest.mark.parametrize("with_grad", [False, True], ids=["forward", "forward+backward"])
@pytest.mark.parametrize("label", ["numpy TapeMachine", "numba TapeMachine", "numpy LispMachine",
                                   "numba LispMachine"])
def test_w1(benchmark, record, label, with_grad):
    record(f"W1 {'forward+backward' if with_grad else 'forward'} (backends)", label, test_dispatch.LENGTH)
    g, x, cost = test_dispatch.chain(with_grad)
    backends = NUMBA if label.startswith("numba") else ("numpy",)
    if "Tape" in label:
        lean = {"readable": "lean"} if backends == NUMBA else {}
        machine = first_call(benchmark, lambda: G.TapeMachine(g, backends=backends, **lean))
    else:
        options = {"cost": cost, "wrt": [x]} if with_grad else {"forward_only": True}
        machine = first_call(benchmark, lambda: G.LispMachine(g, backends=backends, **options))
    benchmark(machine.run_all)
    assert np.isfinite(cost.value)


def block_graph():
    g = G.Graph()
    rng = np.random.default_rng(0)
    x = G.matrix(g, G.Float32, BLOCK, name="x", value=rng.standard_normal(BLOCK, dtype=np.float32))
    width = BLOCK[1]
    b = G.vector(g, G.Float32, width, name="b", value=rng.standard_normal(width, dtype=np.float32))
    scale = G.vector(g, G.Float32, width, name="scale", value=np.ones(width, np.float32))
    shift = G.vector(g, G.Float32, width, name="shift", value=np.zeros(width, np.float32))
    y = G.layer_norm(G.gelu(x + b) * 0.5 + x, scale, shift)
    return g, y


@pytest.mark.parametrize("label", ["numpy TapeMachine", "numba TapeMachine"])
def test_gelu_layer_norm_block(benchmark, record, label):
    record("GELU/layer-norm block (4096, 1024) float32", label)
    g, y = block_graph()
    options = {"backends": NUMBA, "readable": "lean"} if label.startswith("numba") else {}
    machine = first_call(benchmark, lambda: G.TapeMachine(g, outputs=[y], **options))
    benchmark(machine.run_all)
    assert np.isfinite(y.value).all()


def test_lenet_numba(benchmark, record):
    record("LeNet training step", "gorgon TapeMachine numba")
    g, params, loss = test_lenet.lenet_graph()
    G.grad(loss, *params)
    machine = first_call(benchmark, lambda: G.TapeMachine(g, backends=NUMBA, readable="lean"))
    solver = G.solvers.SGD(params=params, learning_rate=test_lenet.LEARNING_RATE)

    def step():
        machine.run_all()
        solver.step()

    benchmark(step)
    assert np.isfinite(loss.value)


@pytest.mark.parametrize("threads", [1, 2])
def test_lenet_interleaved(benchmark, record, torch, threads):
    """The LeNet step on numpy, on numba and in PyTorch, round by round in one process
    (each round runs each twice, in turn), medians of 11 rounds in extra_info: ratios
    that hold on a shared machine, where load changes between sequential benchmarks."""
    record(f"LeNet training step interleaved ({threads} BLAS/torch threads)", "numpy / numba / torch")
    if benchmark.disabled:
        pytest.skip("a timing only: it measures nothing without --benchmark-enable")
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        steps = {"numpy": lenet_step(("numpy",), threads), "numba": lenet_step(NUMBA, threads),
                 "torch": test_lenet.torch_step(torch)}
        times: dict[str, list[float]] = {name: [] for name in steps}

        def rounds() -> None:
            for _ in range(11):
                for name, step in steps.items():
                    start = time.perf_counter()
                    step()
                    step()
                    times[name].append((time.perf_counter() - start) / 2 * 1e3)

        for step in steps.values():
            step()
        benchmark.pedantic(rounds, rounds=1, iterations=1)
    finally:
        torch.set_num_threads(previous)
    medians = {name: round(float(np.median(v)), 2) for name, v in times.items()}
    benchmark.extra_info["median_ms"] = medians
    assert all(m > 0 for m in medians.values())


def lenet_step(backends: tuple[str, ...], threads: int):
    g, params, loss = test_lenet.lenet_graph()
    G.grad(loss, *params)
    machine = G.TapeMachine(g, backends=backends, readable="lean", blas_threads=threads)
    solver = G.solvers.SGD(params=params, learning_rate=test_lenet.LEARNING_RATE)

    def step() -> None:
        machine.run_all()
        solver.step()

    return step


COMPILE = """
import sys, time
sys.path.insert(0, {root!r})
start = time.perf_counter()
import gorgon as G
from benchmarks import test_dispatch
g, x, cost = test_dispatch.chain(True)
machine = G.TapeMachine(g, backends=("numba", "numpy"), readable="lean")
machine.run_all()
print(time.perf_counter() - start)
"""


@pytest.mark.parametrize("cache", ["cold", "warm"])
def test_w1_first_call_compile(benchmark, record, cache, tmp_path_factory):
    """Seconds for a fresh process to import gorgon, build W1 forward+backward on numba
    and run it once: with an empty kernel cache folder, then with the one it filled."""
    record("W1 first call in a new process (import + compile)", f"numba, {cache} disk cache")
    if benchmark.disabled:
        pytest.skip("a timing of fresh processes only: it measures nothing without --benchmark-enable")
    folder = tmp_path_factory.getbasetemp() / "numba-compile-cache"
    env = {**os.environ, "GORGON_NUMBA_CACHE": str(folder)}
    code = COMPILE.format(root=str(ROOT))
    if cache == "warm" and not folder.exists():
        subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)

    def run():
        if cache == "cold" and folder.exists():
            for path in sorted(folder.rglob("*"), reverse=True):
                path.unlink() if path.is_file() else path.rmdir()
        done = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                              capture_output=True, text=True)
        return float(done.stdout.split()[-1])

    seconds = benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info["seconds_in_process"] = round(seconds, 3)
    assert seconds > 0
