"""The character-level LSTM of char_rnn.py, written with G.scan and trained on the
TapeMachine. Each batch draws sequences of a new length; the loop body (one LSTM step
and its loss) is traced and compiled once, for every length: a new length only makes
a small outer graph (embedding, the input projections of all steps as one GEMM, the
scan node, the mean loss), kept per length. Then it samples text."""

from __future__ import annotations

import argparse

import numpy as np

import gorgon as G
from char_rnn import TEXT, CharLSTM, batches


def step(h: G.Node, c: G.Node, xw: G.Node, target: G.Node, wh: G.Node, wy: G.Node,
         by: G.Node) -> tuple[tuple[G.Node, G.Node], G.Node]:
    """One time step: the LSTM cell on the step's projected input, and the step's
    cross-entropy of the next character."""
    n = wh.shape[0]
    z = xw + h @ wh
    i, f, o = (G.sigmoid(z[:, k * n:(k + 1) * n]) for k in range(3))
    c = f * c + i * G.tanh(z[:, 3 * n:])
    h = o * G.tanh(c)
    return (h, c), G.cross_entropy(h @ wy + by, target)


class ScanLSTM(CharLSTM):
    """CharLSTM whose loss graph is one scan over time, with one TapeMachine per length."""

    def __init__(self, vocabulary: str, hidden: int = 64, embedding: int = 16, seed: int = 0):
        super().__init__(vocabulary, hidden, embedding, seed)
        self.machines: dict[tuple[int, int], tuple] = {}

    def loss_graph(self, sequences: np.ndarray) -> tuple[G.Graph, dict[str, G.Node], G.Node]:
        """Mean cross-entropy of predicting each next character, (batch, length + 1) -> scalar."""
        g = G.Graph()
        p = self.params(g)
        steps, batch = sequences.shape[1] - 1, sequences.shape[0]
        chars = G.tensor(g, G.Int64, (steps, batch), name="chars")
        targets = G.tensor(g, G.Int64, (steps, batch), name="targets")
        xw = G.embedding(chars, p["embed"]) @ p["wx"] + p["b"]
        zeros = G.constant(np.zeros((batch, self.hidden)), g)
        _, losses = G.scan(step, sequences=(xw, targets), init=(zeros, zeros),
                           non_sequences=(p["wh"], p["wy"], p["by"]))
        return g, p, G.mean(losses)

    def machine(self, sequences: np.ndarray) -> tuple[G.TapeMachine, dict[str, G.Node], G.Node]:
        """The TapeMachine for this batch's shape (built on first use), its inputs bound."""
        key = sequences.shape
        if key not in self.machines:
            g, p, loss = self.loss_graph(sequences)
            G.grad(loss, *p.values())
            self.machines[key] = G.TapeMachine(g), p, loss
        machine, p, loss = self.machines[key]
        G.let(machine.graph.by_name("chars"), np.ascontiguousarray(sequences[:, :-1].T))
        G.let(machine.graph.by_name("targets"), np.ascontiguousarray(sequences[:, 1:].T))
        return machine, p, loss


def evaluate(model: ScanLSTM, windows: np.ndarray) -> float:
    machine, _, loss = model.machine(windows)
    machine.run_all()
    return float(loss.value)


def train(steps: int = 300, batch: int = 16, lengths: tuple[int, int] = (8, 25), seed: int = 0,
          hidden: int = 64, log=print) -> tuple[ScanLSTM, float, float]:
    """Train with Adam; returns (model, held-out loss before, held-out loss after)."""
    text = TEXT.read_text()
    model = ScanLSTM("".join(sorted(set(text))), hidden=hidden, seed=seed)
    encoded = model.encode(text)
    rng = np.random.default_rng(seed)
    held_out = batches(encoded, np.random.default_rng(seed + 1), 32, (20, 21))
    before = evaluate(model, held_out)
    solver = None
    for number in range(1, steps + 1):
        machine, params, loss = model.machine(batches(encoded, rng, batch, lengths))
        machine.run_all()
        if solver is None:
            solver = G.solvers.Adam(params=list(params.values()), learning_rate=0.01, clip_norm=5.0)
        else:
            solver.rebind(list(params.values()))
        solver.step()
        if number % 50 == 0:
            log(f"step {number:4d}  loss {float(loss.value):.3f}  (sequences of "
                f"{machine.graph.by_name('chars').shape[0]}; {len(model.machines)} lengths so far)")
    return model, before, evaluate(model, held_out)


def body_compiles(model: ScanLSTM) -> list[int]:
    """How often each scan body (the forward step, its gradient) was compiled."""
    bodies = {}
    for machine, _, _ in model.machines.values():
        for node in machine.program.nodes:
            if node.op is not None and node.op.name == "scan":
                bodies[id(node.op.body)] = node.op.body.compiles
    return sorted(bodies.values())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args(argv)
    model, before, after = train(args.steps)
    print(f"held-out loss: {before:.3f} before training, {after:.3f} after")
    print(f"{len(model.machines)} lengths, scan bodies compiled {body_compiles(model)} times each")
    print("sample:", model.sample("the ", 120))


if __name__ == "__main__":
    main()
