"""Train an MLP data-parallel over MPI ranks with gorgon_dist, on synthetic data (ten
Gaussian clusters in 32 dimensions, made from a fixed seed on every rank).

    python examples/train_mlp_dist.py                  # one process
    mpiexec -n 2 python examples/train_mlp_dist.py     # two ranks, the same result
    mpiexec -n 2 python -m gorgon_dist examples/train_mlp_dist.py   # also names a rank that dies

Every rank builds the same graph for its share of each global batch; gradients are
averaged over the ranks after each run, so the parameters (and the printed loss and test
accuracy) are those of one process training on the global batch. With `--checkpoint`,
rank 0 saves after each epoch and a restarted job carries on from the last one.
"""

from __future__ import annotations

import argparse
import os

import numpy as np
from mpi4py import MPI

import gorgon as G
import gorgon_dist

FEATURES, HIDDEN, CLASSES = 32, 64, 10


def make_data(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`count` points of ten noisy Gaussian clusters (the centres depend only on a fixed seed)."""
    centres = np.random.default_rng(0).standard_normal((CLASSES, FEATURES)).astype(np.float32)
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, CLASSES, count)
    noise = rng.standard_normal((count, FEATURES)).astype(np.float32) * 1.5
    return centres[labels] + noise, labels


def logits_of(x: G.Node, params: list[G.Node]) -> G.Node:
    w0, b0, w1, b1 = params
    return G.relu(x @ w0 + b0) @ w1 + b1


class Model:
    """The training graph for `batch` examples per run and an evaluation graph over
    `test_x`, sharing the parameter arrays."""

    def __init__(self, batch: int, test_x: np.ndarray):
        g = G.Graph()
        self.x = G.matrix(g, G.Float32, (batch, FEATURES), name="x", value=np.zeros((batch, FEATURES), np.float32))
        self.labels = G.vector(g, G.Int64, batch, name="labels", value=np.zeros(batch, np.int64))
        self.params = [G.matrix(g, G.Float32, (FEATURES, HIDDEN), name="w0", init=G.init.he_normal(seed=1)),
                       G.vector(g, G.Float32, HIDDEN, name="b0", init="zeros"),
                       G.matrix(g, G.Float32, (HIDDEN, CLASSES), name="w1", init=G.init.he_normal(seed=2)),
                       G.vector(g, G.Float32, CLASSES, name="b1", init="zeros")]
        self.loss = G.cross_entropy(logits_of(self.x, self.params), self.labels, name="loss")
        G.grad(self.loss, *self.params)
        self.machine = G.TapeMachine(g)
        evaluation = G.Graph()
        shared = [G.tensor(evaluation, p.dtype, p.shape, name=p.name, value=p.value) for p in self.params]
        test = G.matrix(evaluation, G.Float32, test_x.shape, name="x", value=test_x)
        self.predictions = G.argmax(logits_of(test, shared), axis=1)
        self.evaluator = G.TapeMachine(evaluation)

    def run(self, x: np.ndarray, labels: np.ndarray) -> float:
        """Forward and backward on this rank's shard; returns its mean loss."""
        np.copyto(self.x.value, x)
        np.copyto(self.labels.value, labels)
        self.machine.run_all()
        return float(self.loss.value)

    def accuracy(self, labels: np.ndarray) -> float:
        self.evaluator.run_all()
        return float(np.mean(self.predictions.value == labels))


def train(epochs: int, batch: int, checkpoint: str | None = None, log=print) -> tuple[float, float]:
    """Train on every rank of MPI.COMM_WORLD; returns (last epoch's mean loss, test accuracy)."""
    comm = MPI.COMM_WORLD
    train_x, train_y = make_data(4096, seed=1)
    test_x, test_y = make_data(1024, seed=2)
    model = Model(gorgon_dist.local_batch_size(batch, comm.size), test_x)
    trainer = gorgon_dist.DataParallel(model.params, G.solvers.Adam(params=model.params, learning_rate=2e-3))
    if checkpoint and os.path.exists(checkpoint):
        trainer.load(checkpoint)
    steps_per_epoch = len(train_y) // batch
    loss = accuracy = float("nan")
    while trainer.solver.steps < epochs * steps_per_epoch:
        epoch = trainer.solver.steps // steps_per_epoch
        order = np.random.default_rng(epoch).permutation(len(train_y))
        losses = []
        for chosen in order[:steps_per_epoch * batch].reshape(-1, batch):
            x = gorgon_dist.shard(train_x[chosen], comm.rank, comm.size)
            y = gorgon_dist.shard(train_y[chosen], comm.rank, comm.size)
            losses.append(model.run(x, y))
            trainer.step()
        loss, accuracy = comm.allreduce(float(np.mean(losses))) / comm.size, model.accuracy(test_y)
        if checkpoint:
            trainer.save(checkpoint)
        if comm.rank == 0:
            log(f"epoch {epoch + 1}: loss {loss:.6f}  test accuracy {accuracy:.4f}  "
                f"({comm.size} rank{'s' if comm.size > 1 else ''})")
    trainer.check_in_sync()
    return loss, accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch", type=int, default=128, help="the global batch, split over the ranks")
    parser.add_argument("--checkpoint", help="save here after each epoch; resume from it when it exists")
    args = parser.parse_args()
    train(args.epochs, args.batch, args.checkpoint)


if __name__ == "__main__":
    gorgon_dist.run(main)
