"""Logistic (softmax) regression and a small MLP on the iris data that ships with
scikit-learn, trained on the TapeMachine (Gorgonia's own first examples)."""

from __future__ import annotations

import argparse

import numpy as np

import gorgon as G


def load_iris(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Standardised features and labels, split 80/20 into train and test."""
    from sklearn.datasets import load_iris as sklearn_iris

    data = sklearn_iris()
    order = np.random.default_rng(seed).permutation(len(data.target))
    x = data.data[order]
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    y = data.target[order].astype(np.int64)
    cut = int(0.8 * len(y))
    return x[:cut], y[:cut], x[cut:], y[cut:]


def make_params(g: G.Graph, sizes: list[int], seed: int = 0) -> list[G.Node]:
    """Weights (Glorot) and biases (zeros) of dense layers of the given sizes."""
    params = []
    for layer, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:])):
        params.append(G.matrix(g, G.Float64, (fan_in, fan_out), name=f"w{layer}",
                               init=G.init.glorot_uniform(seed=seed + layer)))
        params.append(G.vector(g, G.Float64, fan_out, name=f"b{layer}", init="zeros"))
    return params


def forward(x: G.Node, params: list[G.Node]) -> G.Node:
    """Logits: dense layers with ReLU between them."""
    h = x
    layers = list(zip(params[::2], params[1::2]))
    for layer, (w, b) in enumerate(layers):
        h = h @ w + b
        if layer < len(layers) - 1:
            h = G.relu(h)
    return h


def accuracy(params: list[G.Node], x_test: np.ndarray, y_test: np.ndarray) -> float:
    """Test accuracy, in a graph of its own that shares the trained parameter arrays."""
    g = G.Graph()
    x = G.matrix(g, G.Float64, x_test.shape, name="x", value=x_test)
    shared = [G.tensor(g, p.dtype, p.shape, name=p.name, value=p.value) for p in params]
    predictions = G.argmax(forward(x, shared), axis=1)
    G.TapeMachine(g).run_all()
    return float(np.mean(predictions.value == y_test))


def train(hidden: int | None, epochs: int = 200, learning_rate: float = 0.1) -> tuple[float, float]:
    """Full-batch Adam; `hidden=None` is logistic regression. Returns (final training
    loss, test accuracy)."""
    x_train, y_train, x_test, y_test = load_iris()
    g = G.Graph()
    x = G.matrix(g, G.Float64, x_train.shape, name="x", value=x_train)
    y = G.vector(g, G.Int64, y_train.shape, name="y", value=y_train)
    params = make_params(g, [x_train.shape[1]] + ([hidden] if hidden else []) + [3])
    loss = G.cross_entropy(forward(x, params), y)
    G.grad(loss, *params)
    machine = G.TapeMachine(g)
    solver = G.solvers.Adam(params=params, learning_rate=learning_rate)
    for _ in range(epochs):
        machine.run_all()
        solver.step()
    machine.run_all()
    return float(loss.value), accuracy(params, x_test, y_test)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=100)
    args = parser.parse_args(argv)
    for label, hidden in (("logistic regression", None), ("MLP 4-16-3", 16)):
        loss, test_accuracy = train(hidden, args.epochs)
        print(f"{label:<20} training loss {loss:.3f}   test accuracy {test_accuracy:.1%}")


if __name__ == "__main__":
    main()
