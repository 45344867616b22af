"""One rank of a distributed test job: `mpiexec -n N python dist_ranks.py ...`.

Trains dist_model's MLP data-parallel on shards of each global batch, checking after
every step that all ranks hold bit-identical parameters, and writes each rank's final
parameters to `<out>.<rank>.npz`. Options inject the faults the tests look for.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

import numpy as np
from dist_model import GLOBAL_BATCH, SIZES, Model, global_batch
from mpi4py import MPI

import gorgon_dist


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--solver", choices=["sgd", "adam"], default="sgd")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--out", help="write each rank's parameters to OUT.<rank>.npz")
    parser.add_argument("--save-at", type=int, help="save a checkpoint after this step and stop")
    parser.add_argument("--checkpoint", help="the checkpoint file to save or resume from")
    parser.add_argument("--resume", action="store_true", help="start from --checkpoint")
    parser.add_argument("--fail-rank", type=int, help="this rank raises at step 1")
    parser.add_argument("--kill-rank", type=int, help="this rank is killed at step 1")
    parser.add_argument("--hidden-on-last-rank", type=int, help="the last rank's hidden size")
    parser.add_argument("--desync", action="store_true", help="the last rank changes a weight")
    parser.add_argument("--loss-scale-on-last-rank", type=float, default=1.0, help="the last rank's loss factor")
    parser.add_argument("--bucket-bytes-on-last-rank", type=int, help="the last rank's bucket size")
    parser.add_argument("--timeout", type=float, help="DataParallel's collective timeout")
    parser.add_argument("--leave-rank", type=int, help="this rank leaves the job after step 1")
    parser.add_argument("--leave-by", choices=["return", "exit"], default="return")
    parser.add_argument("--extra-step-rank", type=int, help="this rank runs one step more")
    parser.add_argument("--stall-rank", type=int, help="this rank stops calling collectives at step 1")
    return parser.parse_args()


def inject_faults(args: argparse.Namespace, model: Model, rank: int, size: int) -> None:
    if model.solver.steps != 1:
        return
    if args.fail_rank == rank:
        raise RuntimeError("injected failure at step 1")
    if args.kill_rank == rank:
        os.kill(os.getpid(), signal.SIGKILL)
    if args.desync and rank == size - 1:
        model.params[0].value[0, 0] += 1e-12
    if args.stall_rank == rank:
        time.sleep(3600)


def leaves_now(args: argparse.Namespace, model: Model, rank: int) -> bool:
    """Whether this rank leaves the job now (the early leavers the tests look for),
    raising SystemExit(0) for `--leave-by exit`."""
    if args.leave_rank != rank or model.solver.steps != 1:
        return False
    if args.leave_by == "exit":
        sys.exit(0)
    return True


def main() -> None:
    args = arguments()
    rank, size = MPI.COMM_WORLD.rank, MPI.COMM_WORLD.size
    hidden = args.hidden_on_last_rank if args.hidden_on_last_rank and rank == size - 1 else SIZES[1]
    last = rank == size - 1
    model = Model(gorgon_dist.local_batch_size(GLOBAL_BATCH, size), args.solver, seed=rank, hidden=hidden,
                  loss_scale=args.loss_scale_on_last_rank if last else 1.0)
    buckets = args.bucket_bytes_on_last_rank if last and args.bucket_bytes_on_last_rank else 2**25
    trainer = gorgon_dist.DataParallel(model.params, model.solver, bucket_bytes=buckets, timeout=args.timeout)
    trainer.check_in_sync()
    if args.resume:
        trainer.load(args.checkpoint)
    steps = args.steps + (args.extra_step_rank == rank)
    while model.solver.steps < steps:
        x, labels = global_batch(model.solver.steps)
        model.run(gorgon_dist.shard(x, rank, size), gorgon_dist.shard(labels, rank, size))
        trainer.step()
        inject_faults(args, model, rank, size)
        if leaves_now(args, model, rank):
            return
        trainer.check_in_sync()
        if model.solver.steps == args.save_at:
            trainer.save(args.checkpoint)
            return
    np.savez(f"{args.out}.{rank}.npz", **model.values())


if __name__ == "__main__":
    gorgon_dist.run(main)
