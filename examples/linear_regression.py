"""Fit y = X @ w + b by gradient descent on generated data, on both machines."""

import numpy as np

import gorgon as G

TRUE_W = np.array([2.0, -3.0, 0.5])
TRUE_B = 1.25


def make_data(n: int = 256, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    features = rng.standard_normal((n, TRUE_W.size))
    targets = features @ TRUE_W + TRUE_B + 0.01 * rng.standard_normal(n)
    return features, targets


def fit(machine_kind: str, steps: int = 200, learning_rate: float = 0.1) -> tuple[np.ndarray, float, float]:
    """Train on the named machine; return (w, b, final mean squared error)."""
    features, targets = make_data()
    g = G.Graph()
    x = G.matrix(g, G.Float64, features.shape, name="x", value=features)
    y = G.vector(g, G.Float64, targets.shape, name="y", value=targets)
    w = G.vector(g, G.Float64, TRUE_W.shape, name="w", value=np.zeros(TRUE_W.size))
    b = G.scalar(g, G.Float64, name="b", value=0.0)
    error = x @ w + b - y
    loss = G.mean(error * error)
    if machine_kind == "tape":
        G.grad(loss, w, b)
        machine = G.TapeMachine(g)
    else:
        machine = G.LispMachine(g, cost=loss, wrt=[w, b])
    for _ in range(steps):
        machine.run_all()
        w.value[...] -= learning_rate * w.grad
        b.value[...] -= learning_rate * b.grad
    machine.run_all()
    return w.value.copy(), float(b.value), float(loss.value)


def main() -> None:
    print(f"true          w={TRUE_W}  b={TRUE_B}")
    for kind, label in (("tape", "TapeMachine"), ("lisp", "LispMachine")):
        w, b, mse = fit(kind)
        print(f"{label:<13} w={np.round(w, 3)}  b={b:.3f}  mse={mse:.2e}")


if __name__ == "__main__":
    main()
