"""Trainer.fit/evaluate, callbacks, schedules, metrics and nn.batches; five solver steps
equal torch.optim's; schedules equal torch's."""

import io

import numpy as np
import pytest

import gorgon as G
import gorgon_layers as nn
from gorgon_layers import metrics


def data(n=50, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1)
    return X.astype(np.float32), y


def mlp(dtype=np.float32):
    nn.seed(0)
    return nn.Sequential(nn.Linear(4, 16, dtype=dtype), nn.ReLU(), nn.Linear(16, 3, dtype=dtype))


def test_fit_trains_every_example_including_the_last_partial_batch():
    X, y = data(50)
    trainer = nn.Trainer(mlp(), "cross_entropy", nn.solver("Adam", learning_rate=0.05), metrics=["accuracy"])
    history = trainer.fit(X, y, epochs=6, batch_size=16, validation=(X[:20], y[:20]), seed=0)
    assert trainer.solver.steps == 6 * 4  # 16 + 16 + 16 + 2
    assert len(history) == 6 and list(history.history) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert history["loss"][-1] < history["loss"][0] and history["accuracy"][-1] > 0.8
    result = trainer.evaluate(X, y, batch_size=7)
    logits = trainer.model.predict(X)
    shifted = logits - logits.max(1, keepdims=True)
    expected = -np.mean(shifted[np.arange(50), y] - np.log(np.exp(shifted).sum(1)))
    assert result["loss"] == pytest.approx(expected, rel=1e-5)
    assert result["accuracy"] == pytest.approx(np.mean(logits.argmax(1) == y))


def test_fit_on_the_lisp_machine_equals_the_tape_machine():
    X, y = data(20)
    results = []
    for machine in ("tape", "lisp"):
        model = mlp(np.float64)
        trainer = nn.Trainer(model, "cross_entropy", nn.solver("SGD", learning_rate=0.1), machine=machine)
        trainer.fit(X.astype(np.float64), y, epochs=2, batch_size=8, shuffle=False)
        results.append({**model.state_dict(), "evaluation": np.array(trainer.evaluate(X, y)["loss"]),
                        "prediction": model.predict(X, machine=machine)})
    for name in results[0]:
        np.testing.assert_allclose(results[1][name], results[0][name], rtol=1e-12, err_msg=name)


def test_regression_with_mse_and_error_metrics():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 3)).astype(np.float32)
    y = (X @ np.array([[1.0], [-2.0], [0.5]]) + 0.3).astype(np.float32)
    model = nn.Linear(3, 1)
    trainer = nn.Trainer(model, "mse", nn.solver("Adam", learning_rate=0.1), metrics=["mae", "mse"])
    history = trainer.fit(X, y, epochs=40, batch_size=16)
    assert history["mse"][-1] < 1e-3 and history["mae"][-1] < 0.05
    assert history["loss"][-1] == pytest.approx(history["mse"][-1], rel=1e-3)


@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_five_steps_equal_torch_optim(name):
    torch = pytest.importorskip("torch")
    X, y = data(12)
    X = X.astype(np.float64)
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3)).double()
    ours = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 3)).to(np.float64)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    options = {"learning_rate": 0.1} if name == "SGD" else {"learning_rate": 0.01, "beta1": 0.8, "beta2": 0.99}
    trainer = nn.Trainer(ours, "cross_entropy", nn.solver(name, **options))
    if name == "SGD":
        optimizer = torch.optim.SGD(theirs.parameters(), lr=0.1)
    else:
        optimizer = torch.optim.Adam(theirs.parameters(), lr=0.01, betas=(0.8, 0.99), eps=1e-8)
    for step in range(5):
        batch = slice(step * 2, step * 2 + 4)  # a different batch each step
        trainer.train_batch(X[batch], y[batch])
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(theirs(torch.from_numpy(X[batch])), torch.from_numpy(y[batch])).backward()
        optimizer.step()
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[key], value.numpy(), rtol=1e-10, atol=1e-12, err_msg=key)


def test_schedules_equal_torch_lr_schedulers():
    torch = pytest.importorskip("torch")
    lr_scheduler = torch.optim.lr_scheduler
    pairs = [(nn.StepLR(3, 0.5), lambda o: lr_scheduler.StepLR(o, 3, 0.5)),
             (nn.ExponentialLR(0.9), lambda o: lr_scheduler.ExponentialLR(o, 0.9)),
             (nn.CosineLR(8, min_lr=0.01), lambda o: lr_scheduler.CosineAnnealingLR(o, 8, eta_min=0.01)),
             (nn.LinearWarmup(4, 0.25), lambda o: lr_scheduler.LinearLR(o, 0.25, total_iters=4)),
             (nn.ReduceLROnPlateau(factor=0.5, patience=1), lambda o: lr_scheduler.ReduceLROnPlateau(
                 o, factor=0.5, patience=1))]
    losses = [5, 4, 4, 4, 3, 3.5, 3.2, 3.1, 3.1, 3.1, 3.1, 2]
    for ours, make in pairs:
        g = G.Graph()
        solver = G.solvers.SGD(params=[G.vector(g, G.Float64, 2, value=np.zeros(2))], learning_rate=0.2)
        ours.attach(solver)
        optimizer = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=0.2)
        theirs = make(optimizer)
        for loss in losses[:9] if isinstance(ours, nn.CosineLR) else losses:  # torch's cosine rises again
            assert solver.learning_rate == pytest.approx(optimizer.param_groups[0]["lr"], rel=1e-12), type(ours)
            optimizer.step()
            ours.step(loss)
            theirs.step(loss) if isinstance(ours, nn.ReduceLROnPlateau) else theirs.step()


@pytest.mark.parametrize("name", ["SGD", "Momentum", "Adam", "AdamW", "RMSProp", "AdaGrad", "AdaDelta",
                                  "BarzilaiBorwein"])
def test_a_schedule_drives_every_solver_in_fit(name):
    X, y = data(20)
    trainer = nn.Trainer(mlp(), "cross_entropy", nn.solver(name, learning_rate=0.05))
    trainer.fit(X, y, epochs=3, batch_size=10, callbacks=[nn.ExponentialLR(0.5)])
    assert trainer.solver.learning_rate == pytest.approx(0.05 * 0.5 ** 3)


def recording():
    class Record(nn.Callback):
        def __init__(self):
            self.states = []

        def on_epoch_end(self, trainer, epoch, logs):
            self.states.append(trainer.model.state_dict())

    return Record()


def test_early_stopping_stops_and_restores_the_best_weights():
    X, y = data(30)
    record = recording()
    stopper = nn.EarlyStopping(monitor="loss", patience=2, min_delta=1e9)  # no epoch after the first improves
    trainer = nn.Trainer(mlp(), "cross_entropy", nn.solver("Adam", learning_rate=0.05))
    history = trainer.fit(X, y, epochs=10, batch_size=10, callbacks=[record, stopper])
    assert len(history) == 3 and stopper.stopped_epoch == 3
    for name, value in record.states[0].items():
        np.testing.assert_array_equal(trainer.model.state_dict()[name], value)


def test_model_checkpoint_keeps_the_best(tmp_path):
    X, y = data(30)
    record = recording()
    path = tmp_path / "best.gorgon"
    checkpoint = nn.ModelCheckpoint(path, monitor="val_accuracy")
    trainer = nn.Trainer(mlp(), "cross_entropy", nn.solver("Adam", learning_rate=0.05), metrics=["accuracy"])
    history = trainer.fit(X, y, epochs=6, batch_size=10, validation=(X, y), callbacks=[record, checkpoint])
    accuracies = history["val_accuracy"]
    best = int(np.argmax(accuracies))
    assert checkpoint.saved_epochs[-1] == best + 1
    assert all(accuracies[e - 1] > max(accuracies[:e - 1], default=-1) for e in checkpoint.saved_epochs)
    saved = nn.load(path).state_dict()
    for name, value in record.states[best].items():
        np.testing.assert_array_equal(saved[name], value)
    every = nn.ModelCheckpoint(tmp_path / "every.gorgon", monitor="loss", save_best_only=False)
    trainer.fit(X, y, epochs=2, batch_size=10, callbacks=[every])
    assert every.saved_epochs == [1, 2]


def test_monitoring_a_missing_entry_is_a_clear_error():
    X, y = data(10)
    trainer = nn.Trainer(mlp(), "cross_entropy", nn.solver("SGD", learning_rate=0.1))
    with pytest.raises(G.ArgumentValueError, match="cannot monitor 'val_loss'.*need validation="):
        trainer.fit(X, y, epochs=2, callbacks=[nn.EarlyStopping()])
    with pytest.raises(G.ArgumentValueError, match="mode must be"):
        nn.EarlyStopping(mode="up")


def test_progress_bar_prints_each_epoch_and_draws_a_bar_only_on_a_terminal():
    X, y = data(30)
    trainer = nn.Trainer(mlp(), "cross_entropy", nn.solver("Adam", learning_rate=0.05), metrics=["accuracy"])
    stream = io.StringIO()
    trainer.fit(X, y, epochs=2, batch_size=10, callbacks=[nn.ProgressBar(stream)])
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and lines[0].startswith("epoch 1/2  loss ") and "accuracy" in lines[0]
    assert "%|" not in stream.getvalue()

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    trainer.fit(X, y, epochs=1, batch_size=10, callbacks=[nn.ProgressBar(terminal)])
    assert "epoch 1/1:" in terminal.getvalue() and "%|" in terminal.getvalue()
    assert "3/3" in terminal.getvalue()  # the last batch is drawn, however fast it came


def test_trainer_arguments_are_checked():
    X, y = data(10)
    with pytest.raises(G.ArgumentTypeError, match="nn.Module"):
        nn.Trainer("model")
    with pytest.raises(G.ArgumentValueError, match="unknown loss 'hinge'"):
        nn.Trainer(mlp(), "hinge")
    with pytest.raises(G.ArgumentValueError, match="machine must be one of"):
        nn.Trainer(mlp(), machine="gpu")
    with pytest.raises(G.ArgumentTypeError, match="solver must be"):
        nn.Trainer(mlp(), solver=3)
    with pytest.raises(G.ArgumentValueError, match="no parameters"):
        nn.Trainer(nn.ReLU())
    trainer = nn.Trainer(mlp())
    assert trainer.solver.name == "Adam"
    with pytest.raises(G.ArgumentValueError, match="same, non-zero number"):
        trainer.fit(X, y[:5])
    with pytest.raises(G.ArgumentValueError, match="same, non-zero number"):
        trainer.evaluate(X[:0], y[:0])


def test_a_solver_made_beforehand_is_rebound():
    model = mlp()
    solver = G.solvers.Momentum(params=model.parameter_nodes(G.Graph()), learning_rate=0.1)
    trainer = nn.Trainer(model, solver=solver)
    X, y = data(10)
    trainer.fit(X, y, epochs=1, batch_size=5)
    assert trainer.solver is solver and solver.steps == 2


def test_metrics():
    out = np.array([[0.1, 0.7, 0.2], [0.5, 0.1, 0.4], [0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])
    labels = np.array([1, 2, 2, 1])
    acc = metrics.metric("accuracy")
    acc.update(out, labels)
    assert acc.result() == pytest.approx(0.5)
    acc.update(out, np.eye(3)[labels])  # one-hot targets
    assert acc.result() == pytest.approx(0.5) and acc.count == 8
    top2 = metrics.metric("top2_accuracy")
    top2.update(out, labels)
    assert top2.name == "top2_accuracy" and top2.result() == pytest.approx(1.0)
    binary = metrics.Accuracy()
    binary.update(np.array([[0.9], [0.2], [0.6]]), np.array([1.0, 0.0, 0.0]))
    assert binary.result() == pytest.approx(2 / 3)
    mae, mse = metrics.metric("mae"), metrics.metric(metrics.MeanSquaredError)
    for m in (mae, mse):
        m.update(np.array([1.0, 2.0]), np.array([2.0, 4.0]))
    assert mae.result() == pytest.approx(1.5) and mse.result() == pytest.approx(2.5)
    assert np.isnan(metrics.Accuracy().result())
    with pytest.raises(G.ArgumentValueError, match="unknown metric"):
        metrics.metric("f1")
    with pytest.raises(G.ArgumentValueError, match="k must be"):
        metrics.TopKAccuracy(0)


def test_batches():
    X, y = np.arange(10), np.arange(10) * 2
    got = list(nn.batches(X, y, 4))
    assert [b[0].tolist() for b in got] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert all((b[1] == b[0] * 2).all() for b in got)
    assert [len(b) for b in nn.batches(X, batch_size=4, drop_last=True)] == [4, 4]
    first = [b.tolist() for b in nn.batches(X, batch_size=3, shuffle=True, seed=1)]
    again = [b.tolist() for b in nn.batches(X, batch_size=3, shuffle=True, seed=1)]
    assert first == again and sorted(sum(first, [])) == list(range(10)) and sum(first, []) != list(range(10))
    with pytest.raises(G.ArgumentValueError, match="X has 10 examples, y has 3"):
        next(nn.batches(X, y[:3]))
    with pytest.raises(G.ArgumentValueError, match="batch_size"):
        next(nn.batches(X, batch_size=0))


def test_schedule_misuse():
    with pytest.raises(G.GorgonError, match="attach"):
        nn.StepLR(2).step()
    with pytest.raises(G.ArgumentTypeError, match="no learning_rate"):
        nn.StepLR(2).attach(object())
    for make in (lambda: nn.StepLR(0), lambda: nn.CosineLR(0), lambda: nn.LinearWarmup(0),
                 lambda: nn.ReduceLROnPlateau(factor=2)):
        with pytest.raises(G.ArgumentValueError):
            make()
    g = G.Graph()
    plateau = nn.ReduceLROnPlateau().attach(G.solvers.SGD(params=[G.vector(g, G.Float64, 1, value=np.zeros(1))]))
    with pytest.raises(G.ArgumentValueError, match="monitored value"):
        plateau.step()


def test_batch_norm_counts_the_training_batches_as_pytorch_does():
    X, y = data(30)
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
    trainer = nn.Trainer(model, "cross_entropy", nn.solver("SGD", learning_rate=0.1))
    trainer.fit(X, y, epochs=2, batch_size=8, validation=(X, y))
    assert int(model[1].num_batches_tracked) == trainer.solver.steps == 8
    assert not np.array_equal(model[1].running_mean, np.zeros(8))
