"""A small residual network with batch normalisation on scikit-learn's digits, written
with gorgon_layers: a custom module (the residual block) in a few lines, registered so
the saved model loads back by name."""

from __future__ import annotations

import argparse

import numpy as np

import gorgon as G
import gorgon_layers as nn
from digits_layers import load_digits


@nn.register
class ResidualBlock(nn.Module):
    """x + bn(conv(relu(bn(conv(x))))), then ReLU: two 3x3 convolutions that keep the shape."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: G.Node) -> G.Node:
        h = G.relu(self.bn1(self.conv1(x)))
        return G.relu(x + self.bn2(self.conv2(h)))


def make_model(channels: int = 16, blocks: int = 2, seed: int = 0) -> nn.Sequential:
    nn.seed(seed)
    return nn.Sequential(nn.Conv2d(1, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels), nn.ReLU(),
                         *[ResidualBlock(channels) for _ in range(blocks)],
                         nn.GlobalAvgPool2d(), nn.Linear(channels, 10))


def train(epochs: int = 8, batch: int = 32, channels: int = 16, blocks: int = 2, quiet: bool = False,
          limit: int | None = None) -> tuple[nn.Sequential, nn.History, float]:
    """Train with Adam and a cosine schedule; returns the model, the history and the
    held-out accuracy. `limit` keeps only that many training examples."""
    train_x, train_y, test_x, test_y = load_digits()
    train_x, train_y = train_x[:limit], train_y[:limit]
    model = make_model(channels, blocks)
    trainer = nn.Trainer(model, "cross_entropy", nn.solver("Adam", learning_rate=1e-2), metrics=["accuracy"])
    callbacks = [nn.CosineLR(epochs)] + ([] if quiet else [nn.ProgressBar()])
    history = trainer.fit(train_x, train_y, epochs=epochs, batch_size=batch, callbacks=callbacks)
    accuracy = float(np.mean(model.predict(test_x).argmax(1) == test_y))
    return model, history, accuracy


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=8)
    args = parser.parse_args(argv)
    make_model().summary((1, 8, 8))
    _, _, accuracy = train(args.epochs)
    print(f"held-out test accuracy {accuracy:.2%}")


if __name__ == "__main__":
    main()
