"""The digits CNN of examples/digits_cnn.py, trained data-parallel over MPI ranks:

    mpiexec -n 2 python examples/digits_cnn_dist.py

Every rank runs the CNN on its share of each batch of 32 (16 images each on 2 ranks), with
the same shuffling, initial weights and Adam settings as the single-process run
(`python examples/digits_cnn.py`); gradients are averaged over the ranks, so the loss,
the accuracies and the held-out test accuracy printed are the single-process ones (up
to float32 rounding).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np
from digits_cnn import Model, load_digits
from mpi4py import MPI

import gorgon as G
import gorgon_dist


def train(epochs: int = 12, batch: int = 32, learning_rate: float = 3e-3, seed: int = 0,
          log: Callable[[str], None] = print) -> tuple[list[dict], float]:
    """Train on every rank of MPI.COMM_WORLD; returns (per-epoch history, test accuracy)."""
    comm = MPI.COMM_WORLD
    train_x, train_y, test_x, test_y = load_digits(seed)
    model = Model(gorgon_dist.local_batch_size(batch, comm.size), test_x, seed)
    trainer = gorgon_dist.DataParallel(model.params, G.solvers.Adam(params=model.params, learning_rate=learning_rate))
    rng = np.random.default_rng(seed)
    history = []
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(train_y))
        results = []
        for chosen in order[:len(train_y) // batch * batch].reshape(-1, batch):
            images = gorgon_dist.shard(train_x[chosen], comm.rank, comm.size)
            labels = gorgon_dist.shard(train_y[chosen], comm.rank, comm.size)
            results.append(model.train_batch(images, labels))
            trainer.step()
        loss, accuracy = comm.allreduce(np.mean(results, axis=0)) / comm.size
        history.append({"epoch": epoch, "loss": float(loss), "accuracy": float(accuracy),
                        "test": model.test_accuracy(test_y)})
        if comm.rank == 0:
            log(f"epoch {epoch:2d}  loss {loss:.4f}  train accuracy {accuracy:.1%}  "
                f"test accuracy {history[-1]['test']:.1%}")
    trainer.check_in_sync()
    return history, model.test_accuracy(test_y)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch", type=int, default=32, help="the global batch, split over the ranks")
    args = parser.parse_args()
    _, accuracy = train(args.epochs, args.batch)
    if MPI.COMM_WORLD.rank == 0:
        print(f"held-out test accuracy {accuracy:.2%} after {args.epochs} epochs on "
              f"{MPI.COMM_WORLD.size} ranks")


if __name__ == "__main__":
    gorgon_dist.run(main)
