"""W2 MLP step: 784-512-256-10, ReLU, softmax cross-entropy, batch 128, float32, SGD;
time per full training step. W5 memory: tracemalloc peak bytes of one steady-state
step."""

import tracemalloc

import numpy as np
import pytest

import gorgon as G

SIZES = [784, 512, 256, 10]
BATCH = 128
LEARNING_RATE = 1e-5  # small, so thousands of timed steps on one batch stay in the same regime


def data(seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    labels = rng.integers(0, SIZES[-1], BATCH)
    weights = [(rng.standard_normal((a, b)) * np.sqrt(2.0 / a)).astype(np.float32)
               for a, b in zip(SIZES, SIZES[1:])]
    biases = [np.zeros(b, np.float32) for b in SIZES[1:]]
    return x, labels, weights, biases


def mlp_graph():
    x_value, labels_value, weights, biases = data()
    g = G.Graph()
    x = G.matrix(g, G.Float32, x_value.shape, name="x", value=x_value)
    labels = G.vector(g, G.Int64, BATCH, name="labels", value=labels_value)
    params = []
    h = x
    for layer, (w_value, b_value) in enumerate(zip(weights, biases)):
        w = G.matrix(g, G.Float32, w_value.shape, name=f"w{layer}", value=w_value)
        b = G.vector(g, G.Float32, b_value.shape, name=f"b{layer}", value=b_value)
        params += [w, b]
        h = h @ w + b
        if layer < len(weights) - 1:
            h = G.relu(h)
    loss = G.cross_entropy(h, labels)
    return g, params, loss


def gorgon_step(kind: str):
    g, params, loss = mlp_graph()
    if kind == "tape":
        G.grad(loss, *params)
        machine = G.TapeMachine(g)
    else:
        machine = G.LispMachine(g, cost=loss, wrt=params)
    solver = G.solvers.SGD(params=params, learning_rate=LEARNING_RATE)

    def step():
        machine.run_all()
        solver.step()

    return step, loss


def numpy_step_factory():
    """A hand-written numpy step that allocates freely, as one writes it by hand."""
    x, labels, weights, biases = data()
    rows = np.arange(BATCH)

    def step():
        activations = [x]
        for layer, (w, b) in enumerate(zip(weights, biases)):
            z = activations[-1] @ w + b
            activations.append(np.maximum(z, 0) if layer < len(weights) - 1 else z)
        logits = activations[-1]
        shifted = logits - logits.max(axis=1, keepdims=True)
        probabilities = np.exp(shifted)
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        loss = -np.log(probabilities[rows, labels]).mean()
        grad = probabilities
        grad[rows, labels] -= 1.0
        grad /= BATCH
        for layer in reversed(range(len(weights))):
            w = weights[layer]
            grad_w = activations[layer].T @ grad
            grad_b = grad.sum(axis=0)
            if layer > 0:
                grad = (grad @ w.T) * (activations[layer] > 0)
            w -= LEARNING_RATE * grad_w
            biases[layer] -= LEARNING_RATE * grad_b
        return loss

    return step


@pytest.mark.parametrize("kind, label", [("tape", "gorgon TapeMachine"), ("lisp", "gorgon LispMachine")])
def test_w2_gorgon(benchmark, record, kind, label):
    record("W2 MLP step", label)
    step, loss = gorgon_step(kind)
    benchmark(step)
    assert np.isfinite(loss.value)


def test_w2_numpy(benchmark, record):
    record("W2 MLP step", "numpy floor")
    assert np.isfinite(benchmark(numpy_step_factory()))


def test_w2_torch(benchmark, record, torch):
    record("W2 MLP step", "torch eager")
    x_value, labels_value, weights, biases = data()
    x, labels = torch.from_numpy(x_value), torch.from_numpy(labels_value)
    params = []
    for w, b in zip(weights, biases):
        params += [torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)]
    optimizer = torch.optim.SGD(params, lr=LEARNING_RATE)

    def step():
        optimizer.zero_grad()
        h = x
        for layer in range(len(weights)):
            h = h @ params[2 * layer] + params[2 * layer + 1]
            if layer < len(weights) - 1:
                h = torch.relu(h)
        loss = torch.nn.functional.cross_entropy(h, labels)
        loss.backward()
        optimizer.step()
        return loss

    assert torch.isfinite(benchmark(step))


def peak_bytes(step) -> int:
    for _ in range(3):
        step()
    tracemalloc.start()
    try:
        step()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("label", ["gorgon TapeMachine", "numpy floor"])
def test_w5_memory(benchmark, record, label):
    record("W5 memory per W2 step", label)
    step = gorgon_step("tape")[0] if label.startswith("gorgon") else numpy_step_factory()
    peak = peak_bytes(step)
    benchmark.extra_info["peak_bytes"] = peak
    benchmark.pedantic(step, rounds=1, iterations=1)
    if label.startswith("gorgon"):
        assert peak < 64 * 1024, f"a steady-state TapeMachine step allocated {peak} bytes"
