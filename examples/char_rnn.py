"""A character-level LSTM, built from gorgon ops, trained on a small text shipped in
the repository; every step draws sequences of a new length. By default it trains on the
TapeMachine through G.scan, one compiled program for every length (char_rnn_scan.py);
with `--machine lisp` every step builds a new graph of its length, which the
LispMachine runs as it is given. Then it samples text."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import gorgon as G

TEXT = Path(__file__).with_name("data") / "gradients.txt"


class CharLSTM:
    """The parameters (numpy arrays, updated in place by the solver) and the graph
    builders of an embedding, one LSTM layer and a linear read-out."""

    def __init__(self, vocabulary: str, hidden: int = 64, embedding: int = 16, seed: int = 0):
        self.vocabulary = vocabulary
        self.index = {ch: i for i, ch in enumerate(vocabulary)}
        self.hidden = hidden
        rng = np.random.default_rng(seed)
        size = len(vocabulary)
        scale = 1.0 / np.sqrt(hidden)
        self.arrays = {
            "embed": rng.normal(0.0, 0.1, (size, embedding)),
            "wx": rng.uniform(-scale, scale, (embedding, 4 * hidden)),
            "wh": rng.uniform(-scale, scale, (hidden, 4 * hidden)),
            "b": np.concatenate([np.zeros(hidden), np.ones(hidden), np.zeros(2 * hidden)]),
            "wy": rng.uniform(-scale, scale, (hidden, size)),
            "by": np.zeros(size),
        }

    def params(self, g: G.Graph) -> dict[str, G.Node]:
        """Input nodes of `g` bound to the parameter arrays (no copy)."""
        return {name: G.tensor(g, G.Float64, a.shape, name=name, value=a) for name, a in self.arrays.items()}

    def cell(self, p: dict[str, G.Node], x: G.Node, h: G.Node, c: G.Node) -> tuple[G.Node, G.Node]:
        """One LSTM step: gates from the input and the previous hidden state."""
        n = self.hidden
        z = x @ p["wx"] + h @ p["wh"] + p["b"]
        i, f, o = (G.sigmoid(z[:, k * n:(k + 1) * n]) for k in range(3))
        c = f * c + i * G.tanh(z[:, 3 * n:])
        return o * G.tanh(c), c

    def loss_graph(self, sequences: np.ndarray) -> tuple[G.Graph, dict[str, G.Node], G.Node]:
        """Mean cross-entropy of predicting each next character of `sequences` (batch, length + 1)."""
        g = G.Graph()
        p = self.params(g)
        batch, steps = sequences.shape[0], sequences.shape[1] - 1
        inputs = G.embedding(G.tensor(g, G.Int64, (batch, steps), name="chars", value=sequences[:, :-1]),
                             p["embed"])
        targets = G.tensor(g, G.Int64, (batch, steps), name="targets", value=sequences[:, 1:])
        h = c = G.constant(np.zeros((batch, self.hidden)), g)
        losses = []
        for t in range(steps):
            h, c = self.cell(p, inputs[:, t], h, c)
            losses.append(G.cross_entropy(h @ p["wy"] + p["by"], targets[:, t]))
        loss = losses[0]
        for term in losses[1:]:
            loss = loss + term
        return g, p, loss / float(steps)

    def encode(self, text: str) -> np.ndarray:
        return np.array([self.index[ch] for ch in text], np.int64)

    def sample(self, start: str, length: int, seed: int = 0, temperature: float = 0.7) -> str:
        """Generate `length` characters after `start`, one forward-only graph per step."""
        rng = np.random.default_rng(seed)
        h, c = np.zeros((1, self.hidden)), np.zeros((1, self.hidden))
        text, current = start, self.encode(start)
        for position in range(len(start) - 1 + length):
            g = G.Graph()
            p = self.params(g)
            x = G.embedding(G.tensor(g, G.Int64, (1,), value=current[position:position + 1]), p["embed"])
            h_node, c_node = self.cell(p, x, G.matrix(g, G.Float64, h.shape, value=h),
                                       G.matrix(g, G.Float64, c.shape, value=c))
            probabilities = G.softmax((h_node @ p["wy"] + p["by"]) / temperature)
            G.LispMachine(g, forward_only=True).run_all()
            h, c = h_node.value, c_node.value
            if position >= len(start) - 1:
                choice = rng.choice(len(self.vocabulary), p=probabilities.value[0] / probabilities.value[0].sum())
                text += self.vocabulary[choice]
                current = np.append(current, choice)
        return text


def batches(encoded: np.ndarray, rng: np.random.Generator, batch: int, lengths: tuple[int, int]):
    """Random windows of a random length (one length per batch)."""
    length = int(rng.integers(*lengths))
    starts = rng.integers(0, len(encoded) - length - 1, batch)
    return np.stack([encoded[s:s + length + 1] for s in starts])


def evaluate(model: CharLSTM, windows: np.ndarray) -> float:
    g, _, loss = model.loss_graph(windows)
    G.LispMachine(g, forward_only=True).run_all()
    return float(loss.value)


def train(steps: int = 300, batch: int = 16, lengths: tuple[int, int] = (8, 25), seed: int = 0,
          hidden: int = 64, log=print) -> tuple[CharLSTM, float, float]:
    """Train with Adam; returns (model, held-out loss before, held-out loss after)."""
    text = TEXT.read_text()
    model = CharLSTM("".join(sorted(set(text))), hidden=hidden, seed=seed)
    encoded = model.encode(text)
    rng = np.random.default_rng(seed)
    held_out = batches(encoded, np.random.default_rng(seed + 1), 32, (20, 21))
    before = evaluate(model, held_out)
    solver = None
    for step in range(1, steps + 1):
        g, params, loss = model.loss_graph(batches(encoded, rng, batch, lengths))
        G.LispMachine(g, cost=loss, wrt=list(params.values())).run_all()
        if solver is None:
            solver = G.solvers.Adam(params=list(params.values()), learning_rate=0.01, clip_norm=5.0)
        else:
            solver.rebind(list(params.values()))
        solver.step()
        if step % 50 == 0:
            log(f"step {step:4d}  loss {float(loss.value):.3f}  (sequences of {g.by_name('chars').shape[1]})")
    return model, before, evaluate(model, held_out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--machine", choices=("tape", "lisp"), default="tape",
                        help="tape: G.scan on the TapeMachine, one program for every length; "
                             "lisp: a graph per step on the LispMachine")
    args = parser.parse_args(argv)
    if args.machine == "tape":
        import char_rnn_scan

        char_rnn_scan.main(["--steps", str(args.steps)])
        return
    model, before, after = train(args.steps)
    print(f"held-out loss: {before:.3f} before training, {after:.3f} after")
    print("sample:", model.sample("the ", 120))


if __name__ == "__main__":
    main()
