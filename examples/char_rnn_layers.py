"""A character-level language model with gorgon_layers' LSTM layer: embedding, LSTM,
linear read-out, trained with nn.Trainer on random windows of random lengths from a
small text shipped in the repository. Each length gets its own compiled machine, made
once and cached by the model (examples/char_rnn.py builds the same by hand on the
LispMachine). Then it samples text."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import gorgon as G
import gorgon_layers as nn

TEXT = Path(__file__).with_name("data") / "gradients.txt"


@nn.register
class CharModel(nn.Module):
    """Logits of the next character at every position of a (batch, length) index array."""

    def __init__(self, vocabulary: str, embedding: int = 16, hidden: int = 64):
        super().__init__()
        self.vocabulary = vocabulary
        self.embed = nn.Embedding(len(vocabulary), embedding)
        self.lstm = nn.LSTM(embedding, hidden)
        self.head = nn.Linear(hidden, len(vocabulary))

    def forward(self, chars: G.Node) -> G.Node:
        output, _ = self.lstm(self.embed(chars))
        return self.head(output)

    def encode(self, text: str) -> np.ndarray:
        return np.array([self.vocabulary.index(ch) for ch in text], np.int64)

    def sample(self, start: str, length: int, window: int = 16, seed: int = 0, temperature: float = 0.7) -> str:
        """`length` characters after `start`, each drawn from the model's prediction after
        the last `window` characters (one cached machine for that window)."""
        rng = np.random.default_rng(seed)
        chars = list(self.encode(start))
        for _ in range(length):
            logits = self.predict(np.array([chars[-window:]]))[0, -1] / temperature
            p = np.exp(logits - logits.max())
            chars.append(int(rng.choice(len(p), p=p / p.sum())))
        return "".join(self.vocabulary[i] for i in chars)


def next_char_loss(logits: G.Node, targets: G.Node) -> G.Node:
    """Mean cross-entropy over every position of logits (N, T, V) and targets (N, T)."""
    n, t, v = logits.shape
    return G.cross_entropy(G.reshape(logits, (n * t, v)), G.reshape(targets, (n * t,)))


def windows(encoded: np.ndarray, rng: np.random.Generator, batch: int, length: int) -> tuple[np.ndarray, np.ndarray]:
    """A batch of random windows: the characters and the ones that follow them."""
    starts = rng.integers(0, len(encoded) - length - 1, batch)
    block = np.stack([encoded[s:s + length + 1] for s in starts])
    return block[:, :-1], block[:, 1:]


def train(steps: int = 300, batch: int = 16, lengths: tuple[int, ...] = (8, 12, 16, 20, 24), seed: int = 0,
          hidden: int = 64, log=print) -> tuple[CharModel, float, float]:
    """Train with Adam; returns (model, held-out loss before, held-out loss after)."""
    text = TEXT.read_text()
    nn.seed(seed)
    model = CharModel("".join(sorted(set(text))), hidden=hidden)
    encoded = model.encode(text)
    rng = np.random.default_rng(seed)
    held_out = windows(encoded, np.random.default_rng(seed + 1), 32, 20)
    trainer = nn.Trainer(model, next_char_loss, nn.solver("Adam", learning_rate=0.01, clip_norm=5.0))
    before = trainer.evaluate(*held_out)["loss"]
    for step in range(1, steps + 1):
        length = int(rng.choice(lengths))
        loss = float(trainer.train_batch(*windows(encoded, rng, batch, length)))
        if step % 50 == 0:
            log(f"step {step:4d}  loss {loss:.3f}  (sequences of {length})")
    return model, before, trainer.evaluate(*held_out)["loss"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args(argv)
    model, before, after = train(args.steps)
    print(f"held-out loss: {before:.3f} before training, {after:.3f} after")
    print("sample:", model.sample("the ", 120))


if __name__ == "__main__":
    main()
