"""The main job: a convolutional net on the 8x8 handwritten digits that ship with
scikit-learn (1,797 images, no download), trained on the TapeMachine. Shows a progress
bar over batches (on a terminal only), loss and accuracy each epoch, the held-out test accuracy, saves the
parameters, and can draw the training curve as a PNG."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

import gorgon as G
from gorgon_ops_nn import save


def load_digits(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Images (N, 1, 8, 8) scaled to [0, 1] and labels, split 80/20 into train and test."""
    from sklearn.datasets import load_digits as sklearn_digits

    data = sklearn_digits()
    order = np.random.default_rng(seed).permutation(len(data.target))
    images = (data.images[order] / 16.0).astype(np.float32)[:, None]
    labels = data.target[order].astype(np.int64)
    cut = int(0.8 * len(labels))
    return images[:cut], labels[:cut], images[cut:], labels[cut:]


def make_params(g: G.Graph, seed: int = 0) -> list[G.Node]:
    """conv 1->16 3x3, conv 16->32 3x3, dense 128->64, dense 64->10."""
    shapes = [("conv1", (16, 1, 3, 3)), ("conv2", (32, 16, 3, 3)), ("fc1", (128, 64)), ("fc2", (64, 10))]
    params = []
    for index, (name, shape) in enumerate(shapes):
        params.append(G.tensor(g, G.Float32, shape, name=f"{name}_w", init=G.init.he_normal(seed=seed + index)))
        bias_shape = (shape[0], 1, 1) if len(shape) == 4 else (shape[1],)
        params.append(G.tensor(g, G.Float32, bias_shape, name=f"{name}_b", init="zeros"))
    return params


def forward(x: G.Node, params: list[G.Node]) -> G.Node:
    """Logits of the CNN for images x (N, 1, 8, 8)."""
    conv1_w, conv1_b, conv2_w, conv2_b, fc1_w, fc1_b, fc2_w, fc2_b = params
    h = G.max_pool2d(G.relu(G.conv2d(x, conv1_w, padding=1) + conv1_b), 2)
    h = G.max_pool2d(G.relu(G.conv2d(h, conv2_w, padding=1) + conv2_b), 2)
    h = G.relu(G.flatten(h, 1) @ fc1_w + fc1_b)
    return h @ fc2_w + fc2_b


class Model:
    """A training graph of a fixed batch size and an evaluation graph over the test
    set, sharing the parameter arrays."""

    def __init__(self, batch: int, test_images: np.ndarray, seed: int = 0):
        g = G.Graph()
        self.x = G.tensor(g, G.Float32, (batch, 1, 8, 8), name="x", value=np.zeros((batch, 1, 8, 8), np.float32))
        self.y = G.vector(g, G.Int64, batch, name="y", value=np.zeros(batch, np.int64))
        self.params = make_params(g, seed)
        self.logits = forward(self.x, self.params)
        self.loss = G.cross_entropy(self.logits, self.y, name="loss")
        self.predictions = G.argmax(self.logits, axis=1, name="predictions")
        G.grad(self.loss, *self.params)
        self.machine = G.TapeMachine(g)
        evaluation = G.Graph()
        shared = [G.tensor(evaluation, p.dtype, p.shape, name=p.name, value=p.value) for p in self.params]
        x_test = G.tensor(evaluation, G.Float32, test_images.shape, name="x", value=test_images)
        self.test_predictions = G.argmax(forward(x_test, shared), axis=1)
        self.evaluator = G.TapeMachine(evaluation.eval())

    def train_batch(self, images: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
        """One forward and backward run; the batch is copied into the bound arrays."""
        self.x.value[...] = images
        self.y.value[...] = labels
        self.machine.run_all()
        return float(self.loss.value), float(np.mean(self.predictions.value == labels))

    def test_accuracy(self, labels: np.ndarray) -> float:
        self.evaluator.run_all()
        return float(np.mean(self.test_predictions.value == labels))


def train(epochs: int = 12, batch: int = 32, learning_rate: float = 3e-3, seed: int = 0,
          limit: int | None = None, quiet: bool = False) -> tuple[Model, list[dict], float]:
    """Train with Adam; returns (model, per-epoch history, test accuracy). `limit` caps
    the number of batches per epoch (for quick runs)."""
    train_x, train_y, test_x, test_y = load_digits(seed)
    model = Model(batch, test_x, seed)
    solver = G.solvers.Adam(params=model.params, learning_rate=learning_rate)
    rng = np.random.default_rng(seed)
    count = len(train_y) // batch if limit is None else min(limit, len(train_y) // batch)
    history = []
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(train_y))
        losses, accuracies = [], []
        # disable=None: tqdm draws the bar only on a terminal, never into a log file
        bar = tqdm(total=count, desc=f"epoch {epoch}", unit="batch", leave=False,
                   disable=True if quiet else None)
        for step in range(count):
            chosen = order[step * batch:(step + 1) * batch]
            loss, accuracy = model.train_batch(train_x[chosen], train_y[chosen])
            solver.step()
            losses.append(loss)
            accuracies.append(accuracy)
            bar.set_postfix_str(f"loss {np.mean(losses):.3f}", refresh=False)
            bar.update(1)
        bar.refresh()  # the last batch is drawn even when it came within tqdm's redraw interval
        bar.close()
        history.append({"epoch": epoch, "loss": float(np.mean(losses)),
                        "accuracy": float(np.mean(accuracies)), "test": model.test_accuracy(test_y)})
        if not quiet:
            print(f"epoch {epoch:2d}  loss {history[-1]['loss']:.4f}  train accuracy "
                  f"{history[-1]['accuracy']:.1%}  test accuracy {history[-1]['test']:.1%}")
    return model, history, model.test_accuracy(test_y)


def plot(history: list[dict], path: Path) -> None:
    """The training curve (loss, and train/test accuracy) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in history]
    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    left.plot(epochs, [h["loss"] for h in history], marker="o")
    left.set(xlabel="epoch", ylabel="training loss", title="loss")
    right.plot(epochs, [h["accuracy"] for h in history], marker="o", label="train")
    right.plot(epochs, [h["test"] for h in history], marker="s", label="test")
    right.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    right.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--epochs", type=int, default=12, help="passes over the training set")
    parser.add_argument("--batch", type=int, default=32, help="images per training step")
    parser.add_argument("--save", type=Path, default=Path("digits_cnn.npz"), help="where to save the parameters")
    parser.add_argument("--plot", type=Path, help="write the training curve to this PNG file")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    model, history, accuracy = train(args.epochs, args.batch)
    elapsed = time.perf_counter() - started
    print(f"held-out test accuracy {accuracy:.2%} after {args.epochs} epochs ({elapsed:.1f} s of training)")
    save(args.save, model.params)
    print(f"parameters saved to {args.save}")
    if args.plot:
        plot(history, args.plot)
        print(f"training curve written to {args.plot}")


if __name__ == "__main__":
    main()
