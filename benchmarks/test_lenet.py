"""A LeNet-sized CNN training step: batch 64 of 1x28x28, conv 1->32 3x3 pad 1, ReLU,
max-pool 2, conv 32->64 3x3 pad 1, ReLU, max-pool 2, dense 3136->128, ReLU,
dense 128->10, softmax cross-entropy, SGD."""

import numpy as np

import gorgon as G

BATCH, CLASSES = 64, 10
LEARNING_RATE = 1e-5  # small, so thousands of timed steps on one batch stay in the same regime
SHAPES = [("c1w", (32, 1, 3, 3)), ("c1b", (32, 1, 1)), ("c2w", (64, 32, 3, 3)), ("c2b", (64, 1, 1)),
          ("f1w", (3136, 128)), ("f1b", (128,)), ("f2w", (128, CLASSES)), ("f2b", (CLASSES,))]


def data(seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.random((BATCH, 1, 28, 28), dtype=np.float32)
    labels = rng.integers(0, CLASSES, BATCH)
    params = {}
    for name, shape in SHAPES:
        fan_in = int(np.prod(shape[1:])) if len(shape) == 4 else shape[0]
        scale = np.sqrt(2.0 / fan_in) if name.endswith("w") else 0.0
        params[name] = (rng.standard_normal(shape) * scale).astype(np.float32)
    return x, labels, params


def lenet_graph():
    """The LeNet graph with its loss and parameters (no gradient built yet)."""
    x_value, labels_value, values = data()
    g = G.Graph()
    x = G.tensor(g, G.Float32, x_value.shape, name="x", value=x_value)
    labels = G.vector(g, G.Int64, BATCH, name="labels", value=labels_value)
    p = {name: G.tensor(g, G.Float32, v.shape, name=name, value=v) for name, v in values.items()}
    h = G.max_pool2d(G.relu(G.conv2d(x, p["c1w"], padding=1) + p["c1b"]), 2)
    h = G.max_pool2d(G.relu(G.conv2d(h, p["c2w"], padding=1) + p["c2b"]), 2)
    h = G.relu(G.flatten(h, 1) @ p["f1w"] + p["f1b"])
    loss = G.cross_entropy(h @ p["f2w"] + p["f2b"], labels)
    return g, list(p.values()), loss


def tape_step(**options):
    """The LeNet training step on a TapeMachine built with `options`, and its loss node."""
    g, params, loss = lenet_graph()
    G.grad(loss, *params)
    machine = G.TapeMachine(g, **options)
    solver = G.solvers.SGD(params=params, learning_rate=LEARNING_RATE)

    def step():
        machine.run_all()
        solver.step()

    return step, loss


def test_lenet_tape(benchmark, record):
    record("LeNet training step", "gorgon TapeMachine")
    step, loss = tape_step()
    benchmark(step)
    assert np.isfinite(loss.value)


def test_lenet_tape_concurrent(benchmark, record):
    record("LeNet training step", "gorgon TapeMachine, concurrency=2 (BLAS 1 thread)")
    step, loss = tape_step(concurrency=2)
    benchmark(step)
    assert np.isfinite(loss.value)


def torch_step(torch):
    """PyTorch's LeNet training step on the same data and weights: forward, backward, SGD."""
    x_value, labels_value, values = data()
    x, labels = torch.from_numpy(x_value), torch.from_numpy(labels_value)
    p = {name: torch.tensor(v, requires_grad=True) for name, v in values.items()}
    optimizer = torch.optim.SGD(list(p.values()), lr=LEARNING_RATE)
    functional = torch.nn.functional

    def step():
        optimizer.zero_grad()
        h = functional.max_pool2d(torch.relu(functional.conv2d(x, p["c1w"], padding=1) + p["c1b"]), 2)
        h = functional.max_pool2d(torch.relu(functional.conv2d(h, p["c2w"], padding=1) + p["c2b"]), 2)
        h = torch.relu(h.flatten(1) @ p["f1w"] + p["f1b"])
        loss = functional.cross_entropy(h @ p["f2w"] + p["f2b"], labels)
        loss.backward()
        optimizer.step()
        return loss

    return step


def test_lenet_torch(benchmark, record, torch):
    record("LeNet training step", "torch eager")
    assert torch.isfinite(benchmark(torch_step(torch)))
