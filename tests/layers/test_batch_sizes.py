"""One model, any batch size and sequence length: machines specialised per input shape,
cached, sharing the model's arrays; a cached specialisation compiles nothing and
allocates no array."""

import tracemalloc

import numpy as np
import pytest

import gorgon as G
import gorgon_layers as nn
from gorgon_layers.running import specialised


def cnn():
    nn.seed(0)
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(128, 10))


def test_predict_on_any_batch_size_equals_one_big_batch():
    m = cnn()
    x = np.random.default_rng(0).standard_normal((37, 1, 8, 8)).astype(np.float32)
    whole = m.predict(x, batch_size=37)
    for batch_size in (1, 5, 16, 100):
        np.testing.assert_allclose(m.predict(x, batch_size=batch_size), whole, rtol=1e-5, atol=1e-6)
    assert {key[1][0] for key in m._cache} == {37, 1, 5, 16, 2}


def counting_compiles(monkeypatch):
    calls = []
    original = G.TapeMachine.compile

    def counted(self):
        calls.append(self)
        return original(self)

    monkeypatch.setattr(G.TapeMachine, "compile", counted)
    return calls


def test_a_cached_specialisation_compiles_nothing_and_shares_the_parameters(monkeypatch):
    m = cnn()
    trainer = nn.Trainer(m, "cross_entropy", nn.solver("SGD", learning_rate=0.1))
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((10, 1, 8, 8)).astype(np.float32), rng.integers(0, 10, 10)
    compiles = counting_compiles(monkeypatch)
    trainer.train_batch(x, y)
    trainer.train_batch(x[:3], y[:3])
    assert len(compiles) == 2
    before = m[5].weight.copy()
    for _ in range(3):
        trainer.train_batch(x, y)
        trainer.train_batch(x[:3], y[:3])
    assert len(compiles) == 2 and len(m._cache) == 2
    assert not np.array_equal(before, m[5].weight)
    specs = list(m._cache.values())
    for spec in specs:  # both graphs are bound to the model's very arrays
        assert all(node.value is array for node, array in zip(spec.params, m.parameters()))


def test_changing_an_array_rebuilds_the_specialisations():
    m = nn.Linear(2, 1)
    x = np.ones((1, 2), np.float32)
    m.predict(x)
    spec = next(iter(m._cache.values()))
    m.weight = nn.Parameter(np.full((1, 2), 3.0, np.float32))
    assert m.predict(x)[0, 0] == pytest.approx(6.0 + float(m.bias[0]))
    assert next(iter(m._cache.values())) is not spec


def peak_of(fn):
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("make", [cnn, lambda: nn.Sequential(nn.Linear(64, 128), nn.BatchNorm1d(128), nn.ReLU(),
                                                           nn.Dropout(0.3), nn.Linear(128, 10))],
                         ids=["cnn", "mlp"])
def test_a_cached_training_step_allocates_nothing_beyond_the_machine_run(make):
    """The layers' part of a step (batch copied into the bound arrays, solver step, batch
    counters) allocates nothing: the step's peak is the machine run's own (the kernels'
    temporaries, the same for a graph written with primitives)."""
    m = make()
    trainer = nn.Trainer(m, "cross_entropy", nn.solver("Adam", learning_rate=1e-3))
    rng = np.random.default_rng(0)
    shape = (32, 1, 8, 8) if isinstance(m[0], nn.Conv2d) else (32, 64)
    x, y = rng.standard_normal(shape).astype(np.float32), rng.integers(0, 10, 32)
    for _ in range(3):
        trainer.train_batch(x, y)
    machine = trainer.current.machine
    run_only = min(peak_of(machine.run_all) for _ in range(3))
    step = min(peak_of(lambda: trainer.train_batch(x, y)) for _ in range(3))
    assert step <= run_only + 2048, f"a cached step allocated {step} bytes, its machine run {run_only}"
    assert peak_of(trainer.solver.step) < 4096  # no array (a few Python objects under coverage)


def test_a_cached_prediction_run_allocates_nothing_beyond_the_machine_run():
    m = cnn()
    x = np.random.default_rng(0).standard_normal((32, 1, 8, 8)).astype(np.float32)
    m.predict(x)
    spec = specialised(m, "predict", x)
    run_only = min(peak_of(spec.machine.run_all) for _ in range(3))
    assert min(peak_of(lambda: spec.run(x)) for _ in range(3)) <= run_only + 512


def test_sequence_layers_run_on_any_length():
    nn.seed(0)

    @nn.register
    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(6, 4)
            self.lstm = nn.LSTM(4, 5)
            self.out = nn.Linear(5, 3)

        def forward(self, tokens):
            output, _ = self.lstm(self.embed(tokens))
            return self.out(output)

    m = Tagger()
    for length in (1, 3, 7):
        tokens = np.random.default_rng(length).integers(0, 6, (2, length))
        assert m.predict(tokens).shape == (2, length, 3)
    def loss(out, y):
        return G.cross_entropy(G.reshape(out, (out.shape[0] * out.shape[1], 3)),
                               G.reshape(y, (y.shape[0] * y.shape[1],)))

    trainer = nn.Trainer(m, loss, nn.solver("Adam", learning_rate=0.05))
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 6, (8, 5))
    first = float(trainer.train_batch(tokens, tokens % 3))
    for _ in range(30):
        loss = float(trainer.train_batch(tokens, tokens % 3))
        trainer.train_batch(tokens[:, :2], tokens[:, :2] % 3)
    assert loss < first / 2
