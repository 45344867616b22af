"""The main job: a convolutional net on the 8x8 handwritten digits that ship with
scikit-learn (1,797 images, no download), written with gorgon_layers and trained with
nn.Trainer on the TapeMachine: loss and accuracy each epoch (a progress bar on a
terminal), the held-out accuracy, the model saved whole; `--predict MODEL` loads a saved
model (in a fresh process) and prints the labels it predicts for the held-out images.
(examples/digits_cnn.py is the same model written with gorgon's primitives.)"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import gorgon_layers as nn
from digits_cnn import load_digits  # the same data and split as the primitives version


def make_model(seed: int = 0) -> nn.Sequential:
    """conv 1->16 3x3, pool, conv 16->32 3x3, pool, dense 128->64, dense 64->10."""
    nn.seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))


def train(epochs: int = 12, batch: int = 32, learning_rate: float = 3e-3, seed: int = 0,
          stream=None, limit: int | None = None) -> tuple[nn.Sequential, nn.History, float]:
    """Train with Adam (every example each epoch, the last batch smaller); returns the
    model, the history and the held-out accuracy. `limit` keeps only that many training
    examples (for quick runs)."""
    train_x, train_y, test_x, test_y = load_digits(seed)
    train_x, train_y = train_x[:limit], train_y[:limit]
    model = make_model(seed)
    trainer = nn.Trainer(model, "cross_entropy", nn.solver("Adam", learning_rate=learning_rate),
                         metrics=["accuracy"])
    history = trainer.fit(train_x, train_y, epochs=epochs, batch_size=batch, validation=(test_x, test_y),
                          seed=seed, callbacks=[nn.ProgressBar(stream)])
    accuracy = float(np.mean(model.predict(test_x).argmax(1) == test_y))
    return model, history, accuracy


def predicted_labels(path: Path, seed: int = 0) -> np.ndarray:
    """The held-out labels predicted by the model saved at `path`."""
    model = nn.load(path)
    return model.predict(load_digits(seed)[2]).argmax(1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--save", type=Path, default=Path("digits.gorgon"), help="where to save the model")
    parser.add_argument("--predict", type=Path, help="load this saved model and print its held-out labels")
    args = parser.parse_args(argv)
    if args.predict:
        print(" ".join(map(str, predicted_labels(args.predict))))
        return
    model = make_model()
    model.summary((1, 8, 8))
    started = time.perf_counter()
    model, history, accuracy = train(args.epochs, args.batch, stream=sys.stdout)
    elapsed = time.perf_counter() - started
    print(f"held-out test accuracy {accuracy:.2%} after {args.epochs} epochs ({elapsed:.1f} s of training)")
    model.save(args.save)
    print(f"model saved to {args.save}; load it with nn.load({str(args.save)!r}) "
          f"or: python {Path(__file__).name} --predict {args.save}")


if __name__ == "__main__":
    main()
