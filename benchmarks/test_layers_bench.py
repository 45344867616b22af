"""gorgon_layers against the same models written with primitives, side by side: the W2
MLP step (784-512-256-10, batch 128, SGD) and the LeNet step. Both sides copy the batch
into the bound arrays, run the TapeMachine and step SGD (what a training loop does); the
layers side goes through `Trainer.train_batch` on its cached specialisation. The
memory benchmarks record the peak bytes of one cached step (tracemalloc)."""


import numpy as np
import pytest

import gorgon as G
import gorgon_layers as nn
from benchmarks import test_lenet, test_mlp


def primitives_step(graph_and_loss, x_value, labels_value, learning_rate):
    g, params, loss = graph_and_loss
    G.grad(loss, *params)
    machine = G.TapeMachine(g)
    solver = G.solvers.SGD(params=params, learning_rate=learning_rate)
    x, labels = g.by_name("x"), g.by_name("labels")

    def step():
        np.copyto(x.value, x_value)
        np.copyto(labels.value, labels_value)
        machine.run_all()
        solver.step()
        return loss.value

    return step


def layers_step(model, x_value, labels_value, learning_rate):
    trainer = nn.Trainer(model, "cross_entropy", nn.solver("SGD", learning_rate=learning_rate))

    def step():
        return trainer.train_batch(x_value, labels_value)

    return step


def mlp_model():
    _, _, weights, biases = test_mlp.data()
    layers = []
    for index, (w, b) in enumerate(zip(weights, biases)):
        layers.append(nn.Linear(*w.shape))
        if index < len(weights) - 1:
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers)
    model.load_state_dict({key: value for i, (w, b) in enumerate(zip(weights, biases))
                           for key, value in ((f"{2 * i}.weight", w.T), (f"{2 * i}.bias", b))})
    return model


def lenet_model():
    _, _, values = test_lenet.data()
    model = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, test_lenet.CLASSES))
    model.load_state_dict({"0.weight": values["c1w"], "0.bias": values["c1b"].ravel(),
                           "3.weight": values["c2w"], "3.bias": values["c2b"].ravel(),
                           "7.weight": values["f1w"].T, "7.bias": values["f1b"],
                           "9.weight": values["f2w"].T, "9.bias": values["f2b"]})
    return model


def steps(workload):
    """(primitives step, layers step) of one workload, on the same weights and batch."""
    if workload == "W2 MLP step":
        x, labels, _, _ = test_mlp.data()
        rate = test_mlp.LEARNING_RATE
        return (primitives_step(test_mlp.mlp_graph(), x, labels, rate),
                layers_step(mlp_model(), x, labels, rate))
    x, labels, _ = test_lenet.data()
    rate = test_lenet.LEARNING_RATE
    return primitives_step(test_lenet.lenet_graph(), x, labels, rate), layers_step(lenet_model(), x, labels, rate)


WORKLOADS = ["W2 MLP step", "LeNet training step"]


@pytest.fixture(scope="module", params=WORKLOADS)
def workload(request):
    """(name, primitives step, layers step), checked to compute the same loss first."""
    primitives, layers = steps(request.param)
    assert float(primitives()) == pytest.approx(float(layers()), rel=1e-4)  # one model, one batch
    return request.param, primitives, layers


@pytest.mark.parametrize("side", ["gorgon primitives (batch copied)", "gorgon_layers Trainer.train_batch"])
def test_layers_against_primitives(benchmark, record, workload, side):
    name, primitives, layers = workload
    record(name, side)
    assert np.isfinite(benchmark(layers if side.startswith("gorgon_layers") else primitives))


def test_a_cached_layers_step_allocates_no_more_than_primitives(benchmark, record, workload):
    name, primitives, layers = workload
    record(f"{name} memory", "gorgon_layers peak bytes")
    peaks = {"primitives_peak_bytes": test_mlp.peak_bytes(primitives), "layers_peak_bytes": test_mlp.peak_bytes(layers)}
    benchmark.extra_info.update(peaks)
    benchmark.pedantic(layers, rounds=1, iterations=1)
    assert peaks["layers_peak_bytes"] <= peaks["primitives_peak_bytes"] + 1024, peaks
