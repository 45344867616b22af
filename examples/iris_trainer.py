"""Iris with nn.Trainer: a small MLP, standardised features, validation on a held-out
split, early stopping that keeps the best weights, a learning rate reduced on plateaus."""

from __future__ import annotations

import argparse

import numpy as np

import gorgon_layers as nn


def load_iris(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Standardised features and labels, split 80/20 into train and validation."""
    from sklearn.datasets import load_iris as sklearn_iris

    data = sklearn_iris()
    order = np.random.default_rng(seed).permutation(len(data.target))
    x = data.data[order]
    x = ((x - x.mean(0)) / x.std(0)).astype(np.float32)
    y = data.target[order].astype(np.int64)
    cut = int(0.8 * len(y))
    return x[:cut], y[:cut], x[cut:], y[cut:]


def train(epochs: int = 100, hidden: int = 16, quiet: bool = True, seed: int = 0) -> tuple[nn.History, dict]:
    """Fit and return the history and the final evaluation on the validation split."""
    x, y, xv, yv = load_iris(seed)
    nn.seed(seed)
    model = nn.Sequential(nn.Linear(4, hidden), nn.Tanh(), nn.Linear(hidden, 3))
    trainer = nn.Trainer(model, "cross_entropy", nn.solver("SGD", learning_rate=0.1), metrics=["accuracy"])
    callbacks = [nn.EarlyStopping(monitor="val_loss", patience=15),
                 nn.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=5)]
    if not quiet:
        callbacks.append(nn.ProgressBar())
    history = trainer.fit(x, y, epochs=epochs, batch_size=16, validation=(xv, yv), seed=seed,
                          callbacks=callbacks)
    return history, trainer.evaluate(xv, yv)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=100)
    args = parser.parse_args(argv)
    history, result = train(args.epochs, quiet=False)
    print(f"{len(history)} epochs; validation loss {result['loss']:.4f}, accuracy {result['accuracy']:.2%}")


if __name__ == "__main__":
    main()
