"""The LeNet training step with one BLAS thread (TapeMachine(blas_threads=1)) beside
PyTorch with one thread, in the same run as the two-thread cases of test_lenet.py: on
a machine whose cores other processes keep busy, spinning BLAS threads cost more than
they give."""

import numpy as np

import gorgon as G
from benchmarks.test_lenet import LEARNING_RATE, data, lenet_graph


def test_lenet_tape_one_blas_thread(benchmark, record):
    record("LeNet training step", "gorgon TapeMachine, blas_threads=1")
    g, params, loss = lenet_graph()
    G.grad(loss, *params)
    machine = G.TapeMachine(g, blas_threads=1)
    solver = G.solvers.SGD(params=params, learning_rate=LEARNING_RATE)

    def step():
        machine.run_all()
        solver.step()

    benchmark(step)
    assert np.isfinite(loss.value)


def test_lenet_torch_one_thread(benchmark, record, torch):
    record("LeNet training step", "torch eager, 1 thread")
    torch.set_num_threads(1)
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

    try:
        assert torch.isfinite(benchmark(step))
    finally:
        torch.set_num_threads(2)
