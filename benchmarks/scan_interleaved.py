"""W4 training steps interleaved in one process, for ratios on a shared, noisy machine:
each round runs every implementation in a shuffled order (what runs right after torch,
whose threads keep spinning a while, would otherwise always pay for it), so load that
comes and goes hits them alike; the medians over the rounds are printed. With
`--settle`, each implementation runs once untimed before its timed step in every round,
so that the thread pools the previous one left spinning (torch's OpenMP threads, an
OpenBLAS pool) have settled: with two threads, otherwise, each pays for the other's. The
pytest-benchmark figures (benchmarks/test_scan_bench.py) time each implementation in its
own stretch.

    python -m benchmarks.scan_interleaved [--rounds 25] [--threads 1 2] [--settle]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks.test_lstm import LEARNING_RATE, data, lstm_graph, numpy_step, torch_cell_loop_step
from benchmarks.test_scan_bench import dynamic_graph, scan_graph, trained


def torch_lstm_step(torch, onednn=True):
    """torch.nn.LSTM's training step; with `onednn` False, with oneDNN off, so that it
    runs op by op instead of oneDNN's fused RNN primitive."""
    step = _torch_lstm_step(torch)
    if onednn:
        return step

    def without_onednn():
        with torch.backends.mkldnn.flags(enabled=False):
            step()

    return without_onednn


def _torch_lstm_step(torch):
    values = data()
    lstm = torch.nn.LSTM(values["xs"].shape[2], values["u"].shape[0])
    xs, target = torch.from_numpy(values["xs"]), torch.from_numpy(values["target"])

    def step():
        lstm.zero_grad()
        _, (h, _) = lstm(xs)
        ((h[0] - target) ** 2).mean().backward()
        with torch.no_grad():
            for p in lstm.parameters():
                p -= LEARNING_RATE * p.grad

    return step


def implementations(threads: int) -> dict:
    """name -> (step, torch thread count or None)."""
    values = data()
    params = [values["w"].copy(), values["u"].copy(), values["b"].copy()]
    found = {
        f"gorgon scan, {threads} BLAS thread(s)": trained(scan_graph, data(), blas_threads=threads)[3],
        f"gorgon dynamic scan, {threads}": trained(dynamic_graph, data(), blas_threads=threads)[3],
        f"gorgon unrolled, {threads}": trained(lstm_graph, data(), blas_threads=threads)[3],
        f"numpy floor, {threads}": lambda: numpy_step(values, params),
    }
    try:
        import gorgon_numba  # noqa: F401
    except ImportError:
        pass
    else:
        found[f"gorgon scan on numba, {threads}"] = trained(
            scan_graph, data(), blas_threads=threads, backends=("numba", "numpy"))[3]
    try:
        import torch
    except ImportError:
        return found
    found[f"torch cell loop, {threads}"] = torch_cell_loop_step(torch)
    found[f"torch.nn.LSTM, {threads}"] = torch_lstm_step(torch)
    found[f"torch.nn.LSTM without oneDNN, {threads}"] = torch_lstm_step(torch, onednn=False)
    return found


def interleaved(threads: int, rounds: int, settle: bool) -> dict[str, list[float]]:
    """Each implementation's timed steps (seconds) over `rounds` shuffled rounds with
    `threads` BLAS and torch threads (torch's thread count is put back after)."""
    from threadpoolctl import threadpool_limits

    try:
        import torch
    except ImportError:
        torch = None
    order = np.random.default_rng(0)
    steps = implementations(threads)
    times: dict[str, list[float]] = {name: [] for name in steps}
    previous = torch.get_num_threads() if torch is not None else None
    try:
        with threadpool_limits(threads):
            if torch is not None:
                torch.set_num_threads(threads)
            for step in steps.values():
                step()
            names = list(steps)
            for _ in range(rounds):
                for index in order.permutation(len(names)):
                    name = names[index]
                    if settle:
                        steps[name]()
                    start = time.perf_counter()
                    steps[name]()
                    times[name].append(time.perf_counter() - start)
    finally:
        if torch is not None:
            torch.set_num_threads(previous)
    return times


def ratios(times: dict[str, list[float]]) -> dict[str, float]:
    """'scan / peer' -> the ratio of the medians, for the scan on numpy's and numba's
    kernels against the torch cell loop and torch.nn.LSTM (those that ran)."""
    medians = {name.split(",")[0]: float(np.median(seen)) for name, seen in times.items()}
    return {f"{mine} / {peer}": round(medians[mine] / medians[peer], 3)
            for mine in ("gorgon scan", "gorgon scan on numba") for peer in ("torch cell loop", "torch.nn.LSTM")
            if mine in medians and peer in medians}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--settle", action="store_true", help="an untimed step before each timed one")
    args = parser.parse_args(argv)
    for threads in args.threads:
        times = interleaved(threads, args.rounds, args.settle)
        for name, seen in times.items():
            print(f"{name:<40} median {np.median(seen) * 1e3:7.2f} ms   min {min(seen) * 1e3:7.2f} ms")
        for pair, ratio in ratios(times).items():
            print(f"{pair}: {ratio:.2f}")


if __name__ == "__main__":
    main()
