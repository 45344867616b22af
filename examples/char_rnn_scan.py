"""The character-level LSTM of char_rnn.py, written with G.scan and trained on the
TapeMachine. Each batch draws sequences of a new length, and one compiled program runs
them all: the scan's trip count is a length node bound per batch (`G.scan(length=n)`),
its sequences hold up to `capacity` steps (the rows after the length are padding the
loop does not run), and the loss is the sum of the per-step losses times 1/n, also
bound per batch. One TapeMachine per batch size; then it samples text."""

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
    """CharLSTM whose loss graph is one scan over time with a run-time length: one
    TapeMachine per batch size runs every length up to `capacity`."""

    def __init__(self, vocabulary: str, hidden: int = 64, embedding: int = 16, seed: int = 0,
                 capacity: int = 32):
        super().__init__(vocabulary, hidden, embedding, seed)
        self.capacity = capacity
        self.machines: dict[int, tuple] = {}

    def loss_graph(self, batch: int) -> tuple[G.Graph, dict[str, G.Node], G.Node]:
        """Mean cross-entropy of predicting each next character over the first `n` steps of
        (capacity, batch) windows; `chars`, `targets`, `n` and `inv_n` (1 / n) are bound per batch."""
        g = G.Graph()
        p = self.params(g)
        chars = G.tensor(g, G.Int64, (self.capacity, batch), name="chars")
        targets = G.tensor(g, G.Int64, (self.capacity, batch), name="targets")
        n = G.scalar(g, G.Int64, name="n")
        inv_n = G.scalar(g, G.Float64, name="inv_n")
        xw = G.embedding(chars, p["embed"]) @ p["wx"] + p["b"]
        zeros = G.constant(np.zeros((batch, self.hidden)), g)
        _, losses = G.scan(step, sequences=(xw, targets), init=(zeros, zeros),
                           non_sequences=(p["wh"], p["wy"], p["by"]), length=n)
        return g, p, G.sum(losses) * inv_n

    def machine(self, sequences: np.ndarray) -> tuple[G.TapeMachine, dict[str, G.Node], G.Node]:
        """The TapeMachine for this batch size (built on first use), bound to `sequences`
        (batch, length + 1): the windows padded to `capacity` steps, their length."""
        batch, steps = sequences.shape[0], sequences.shape[1] - 1
        if steps > self.capacity:
            raise ValueError(f"sequences of {steps} steps do not fit capacity={self.capacity}")
        if batch not in self.machines:
            g, p, loss = self.loss_graph(batch)
            G.grad(loss, *p.values())
            for name, shape, dtype in (("chars", (self.capacity, batch), np.int64),
                                       ("targets", (self.capacity, batch), np.int64),
                                       ("n", (), np.int64), ("inv_n", (), np.float64)):
                G.let(g.by_name(name), np.zeros(shape, dtype))
            self.machines[batch] = G.TapeMachine(g), p, loss
        machine, p, loss = self.machines[batch]
        graph = machine.graph  # the bound arrays are refilled: the program stays prepared
        for name, rows in (("chars", sequences[:, :-1].T), ("targets", sequences[:, 1:].T)):
            array = graph.by_name(name).value
            array[:steps], array[steps:] = rows, 0
        graph.by_name("n").value[...] = steps
        graph.by_name("inv_n").value[...] = 1.0 / steps
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
                f"{int(machine.graph.by_name('n').value)} steps; {len(model.machines)} programs)")
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
    print(f"{len(model.machines)} programs (one per batch size), scan bodies compiled "
          f"{body_compiles(model)} times each")
    print("sample:", model.sample("the ", 120))


if __name__ == "__main__":
    main()
