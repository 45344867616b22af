"""One epoch of the digits CNN main job (examples/digits_cnn.py: conv 1->16, conv 16->32,
dense 128->64->10 on 8x8 digits, batch 32, Adam) on the TapeMachine (numpy, and numba
backends chosen through GORGON_BACKENDS), beside the same model and loop in PyTorch
eager, in one run."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import gorgon as G

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "digits_cnn.py"
BATCH, LEARNING_RATE = 32, 3e-3


def example():
    spec = importlib.util.spec_from_file_location("digits_cnn_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def digits():
    pytest.importorskip("sklearn")
    module = example()
    return module, module.load_digits(0)


def batches(labels):
    order = np.random.default_rng(0).permutation(len(labels))
    return [order[i * BATCH:(i + 1) * BATCH] for i in range(len(labels) // BATCH)]


@pytest.mark.parametrize("backends", ["numpy", "numba,numpy"])
def test_digits_epoch_tape(benchmark, record, digits, backends, monkeypatch):
    if backends != "numpy":
        pytest.importorskip("gorgon_numba")
    record("digits CNN epoch", "gorgon TapeMachine" + ("" if backends == "numpy" else " numba"))
    monkeypatch.setenv("GORGON_BACKENDS", backends)  # the example's machines take the default
    module, (train_x, train_y, test_x, test_y) = digits
    model = module.Model(BATCH, test_x, 0)
    solver = G.solvers.Adam(params=model.params, learning_rate=LEARNING_RATE)
    chosen = batches(train_y)

    def epoch():
        losses = []
        for index in chosen:
            losses.append(model.train_batch(train_x[index], train_y[index])[0])
            solver.step()
        return losses

    losses = benchmark(epoch)
    assert len(losses) == len(chosen) and np.isfinite(losses).all()


def test_digits_epoch_torch(benchmark, record, torch, digits):
    record("digits CNN epoch", "torch eager")
    module, (train_x, train_y, test_x, test_y) = digits
    functional = torch.nn.functional
    g = G.Graph()
    shapes = [p.value for p in module.make_params(g, 0)]
    params = [torch.tensor(v, requires_grad=True) for v in shapes]
    optimizer = torch.optim.Adam(params, lr=LEARNING_RATE)
    images, labels = torch.from_numpy(train_x), torch.from_numpy(train_y)
    chosen = [torch.from_numpy(index) for index in batches(train_y)]
    c1w, c1b, c2w, c2b, f1w, f1b, f2w, f2b = params

    def epoch():
        losses = []
        for index in chosen:
            optimizer.zero_grad()
            x = images[index]
            h = functional.max_pool2d(torch.relu(functional.conv2d(x, c1w, padding=1) + c1b), 2)
            h = functional.max_pool2d(torch.relu(functional.conv2d(h, c2w, padding=1) + c2b), 2)
            h = torch.relu(h.flatten(1) @ f1w + f1b)
            loss = functional.cross_entropy(h @ f2w + f2b, labels[index])
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
        return losses

    losses = benchmark(epoch)
    assert len(losses) == len(chosen) and np.isfinite(losses).all()
