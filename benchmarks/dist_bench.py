"""Data-parallel benchmark: training steps per second and allreduce time on 1 and 2 ranks
for the MLP (784-512-256-10, global batch 128, float32, SGD) and the digits CNN (global
batch 32, Adam), and the shared-memory allreduce latency and bandwidth that
docs/distributed.md's cost model is calibrated on.

    python -m benchmarks.dist_bench            # launches the mpiexec jobs, prints tables

Each measurement is a job `mpiexec -n R python -m gorgon_dist benchmarks/dist_bench.py
--job NAME`, whose rank 0 prints one JSON line. Every rank gets one BLAS thread
(OMP_NUM_THREADS=1), so 1 rank uses one core and 2 ranks two: the comparison is per core,
and immune to BLAS threads spinning against each other or against other processes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MLP_SIZES = [784, 512, 256, 10]
MLP_BATCH = 128
CNN_BATCH = 32
MESSAGE_BYTES = [8, 64, 512, 4096, 32768, 262144, 2097152, 16777216, 67108864]


def mlp_workload(batch: int) -> tuple[Callable[[], None], list]:
    """One forward/backward run of the MLP on `batch` examples, and its parameters."""
    import gorgon as G

    rng = np.random.default_rng(0)
    g = G.Graph()
    x = G.matrix(g, G.Float32, (batch, MLP_SIZES[0]), name="x",
                 value=rng.standard_normal((batch, MLP_SIZES[0])).astype(np.float32))
    labels = G.vector(g, G.Int64, batch, name="labels", value=rng.integers(0, 10, batch))
    params, h = [], x
    for layer, (a, b) in enumerate(pairwise(MLP_SIZES)):
        w = G.matrix(g, G.Float32, (a, b), name=f"w{layer}", init=G.init.he_normal(seed=layer))
        bias = G.vector(g, G.Float32, b, name=f"b{layer}", init="zeros")
        params += [w, bias]
        h = h @ w + bias
        if layer < len(MLP_SIZES) - 2:
            h = G.relu(h)
    G.grad(G.cross_entropy(h, labels), *params)
    return G.TapeMachine(g).run_all, params


def cnn_workload(batch: int) -> tuple[Callable[[], None], list]:
    """One forward/backward run of the digits CNN (examples/digits_cnn.py) on random images."""
    sys.path.insert(0, str(ROOT / "examples"))
    from digits_cnn import Model

    rng = np.random.default_rng(0)
    model = Model(batch, np.zeros((1, 1, 8, 8), np.float32))
    images = rng.random((batch, 1, 8, 8), np.float32)
    labels = rng.integers(0, 10, batch)
    return lambda: model.train_batch(images, labels), model.params


def time_training(name: str, steps: int) -> dict:
    """Steps per second of run + DataParallel.step, and the allreduce time per step."""
    from mpi4py import MPI

    import gorgon as G
    import gorgon_dist

    comm = MPI.COMM_WORLD
    make, batch = (mlp_workload, MLP_BATCH) if name == "mlp" else (cnn_workload, CNN_BATCH)
    run, params = make(gorgon_dist.local_batch_size(batch, comm.size))
    solver = G.solvers.SGD(params=params, learning_rate=1e-6) if name == "mlp" else G.solvers.Adam(params=params)
    trainer = gorgon_dist.DataParallel(params, solver)
    for _ in range(5):
        run()
        trainer.step()
    comm.Barrier()
    trainer.allreduce_seconds = 0.0
    start = MPI.Wtime()
    for _ in range(steps):
        run()
        trainer.step()
    elapsed = comm.allreduce(MPI.Wtime() - start, op=MPI.MAX)
    trainer.check_in_sync()
    return {"job": name, "ranks": comm.size, "steps_per_s": steps / elapsed,
            "allreduce_ms": 1e3 * trainer.allreduce_seconds / steps, "gradient_bytes": trainer.gradient_bytes}


def time_allreduce(repeats: int) -> dict:
    """Seconds per in-place float32 SUM Allreduce for each message size (the median)."""
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    seconds = {}
    for size in MESSAGE_BYTES:
        buffer = np.ones(size // 4, np.float32)
        times = []
        for _ in range(max(3, repeats * 1024 // max(size // 4096, 1024))):
            comm.Barrier()
            start = MPI.Wtime()
            comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
            times.append(MPI.Wtime() - start)
        seconds[size] = float(np.median(times))
    return {"job": "allreduce", "ranks": comm.size, "seconds": seconds}


def rank_main(job: str, steps: int) -> None:
    from mpi4py import MPI

    result = time_allreduce(steps) if job == "allreduce" else time_training(job, steps)
    if MPI.COMM_WORLD.rank == 0:
        print(json.dumps(result), flush=True)


def launch(ranks: int, job: str, steps: int) -> dict:
    """Run one measurement job on `ranks` ranks and return rank 0's result."""
    command = [shutil.which("mpiexec") or "mpiexec", "-n", str(ranks), sys.executable, "-m", "gorgon_dist",
               str(Path(__file__).resolve()), "--job", job, "--steps", str(steps)]
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=600, cwd=ROOT,
                          env=environment)
    return json.loads(done.stdout.strip().splitlines()[-1])


def fit(seconds: dict[str, float], ranks: int) -> tuple[float, float]:
    """Latency `a` (s) and bandwidth `B` (bytes/s) of the ring model
    t = 2(N-1) a + 2(N-1)/N n / B: `a` from the smallest message, `B` from the largest."""
    sizes = sorted(seconds, key=int)
    latency = seconds[sizes[0]] / (2 * (ranks - 1))
    moved = 2 * (ranks - 1) / ranks * int(sizes[-1])
    return latency, moved / (seconds[sizes[-1]] - 2 * (ranks - 1) * latency)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--job", choices=["mlp", "cnn", "allreduce"], help="run as one rank of this job")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2], help="the rank counts to measure")
    args = parser.parse_args(argv)
    if args.job:
        import gorgon_dist

        gorgon_dist.run(lambda: rank_main(args.job, args.steps))
        return
    print("| workload | ranks | steps/s | allreduce ms/step | gradient bytes |\n|---|---|---|---|---|")
    for job in ("mlp", "cnn"):
        for ranks in args.ranks:
            r = launch(ranks, job, args.steps)
            print(f"| {job} | {ranks} | {r['steps_per_s']:.1f} | {r['allreduce_ms']:.3f} | {r['gradient_bytes']} |")
    for ranks in (n for n in args.ranks if n > 1):
        seconds = launch(ranks, "allreduce", args.steps)["seconds"]
        print(f"\n| message bytes | {ranks}-rank allreduce |\n|---|---|")
        for size, value in seconds.items():
            print(f"| {size} | {value * 1e6:.1f} us |")
        latency, bandwidth = fit(seconds, ranks)
        print(f"\n{ranks} ranks, fit: latency {latency * 1e6:.2f} us, bandwidth {bandwidth / 1e9:.2f} GB/s")


if __name__ == "__main__":
    main()
