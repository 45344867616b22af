"""DESIGN.md's Layers example, run as written on small synthetic 8x8 "digits"; and a
solver built without parameters, bound later."""

import numpy as np
import pytest

import gorgon as G
import gorgon_layers as nn


def digits(n, seed):
    """Ten classes of 8x8 images, each a fixed random pattern plus noise."""
    patterns = np.random.default_rng(123).standard_normal((10, 1, 8, 8))
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    X = patterns[y] + 0.3 * rng.standard_normal((n, 1, 8, 8))
    return X.astype(np.float32), y


def test_the_design_example_runs_as_written(tmp_path, capsys):
    X, y = digits(250, 0)
    Xv, yv = digits(30, 1)
    X_test, y_test = digits(37, 2)
    g = G.Graph()
    x = G.tensor(g, G.Float32, (50, 1, 8, 8), name="x")
    nn.seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(128, 10))
    model.summary((1, 8, 8))
    assert "Linear" in capsys.readouterr().out
    logits = model(x)
    assert logits.shape == (50, 10) and logits.graph is g
    trainer = nn.Trainer(model, loss="cross_entropy", solver=G.solvers.Adam(learning_rate=1e-3),
                         metrics=["accuracy"])
    history = trainer.fit(X, y, epochs=12, batch_size=50, validation=(Xv, yv))
    assert trainer.solver.steps == 12 * 5
    assert history["loss"][-1] < history["loss"][0]
    assert history["val_accuracy"][-1] >= 0.9
    labels = model.predict(X_test).argmax(1)
    assert labels.shape == (37,) and np.mean(labels == y_test) >= 0.9
    model.save(tmp_path / "digits.gorgon"); model2 = nn.load(tmp_path / "digits.gorgon")  # noqa: E702
    assert np.array_equal(model2.predict(X_test).argmax(1), labels)


def test_a_solver_built_without_params_is_bound_later():
    g = G.Graph()
    w = G.tensor(g, G.Float64, (3,), name="w", value=np.array([1.0, -2.0, 3.0]))
    cost = G.sum(w * w)
    G.grad(cost, w)
    solver = G.solvers.Adam(learning_rate=0.1)
    assert solver.params == [] and list(solver.state_dict()) == ["steps"]
    with pytest.raises(G.GorgonError, match=r"Adam.step: the solver has no parameters.*bind"):
        solver.step()
    with pytest.raises(G.GorgonError, match="bind it first"):
        solver.load_state_dict({"steps": np.array(0), "m/0": np.zeros(3), "v/0": np.zeros(3)})
    solver.bind([w])
    G.TapeMachine(g).run_all()
    solver.step()
    assert np.allclose(w.value, [0.9, -1.9, 2.9])
    assert sorted(solver.state_dict()) == ["m/0", "steps", "v/0"]


@pytest.mark.parametrize("name", ["SGD", "Momentum", "Adam", "AdamW", "RMSProp", "AdaGrad", "AdaDelta",
                                  "BarzilaiBorwein"])
def test_every_solver_bound_later_steps_as_one_built_with_params(name):
    def problem():
        g = G.Graph()
        w = G.tensor(g, G.Float64, (2, 2), name="w", value=np.array([[1.0, -2.0], [0.5, 3.0]]))
        b = G.tensor(g, G.Float64, (2,), name="b", value=np.array([0.1, -0.1]))
        G.grad(G.sum(G.square(w) * 2.0) + G.sum(b * w), w, b)
        return g, [w, b]

    g1, p1 = problem()
    g2, p2 = problem()
    built = getattr(G.solvers, name)(params=p1, learning_rate=0.05)
    later = getattr(G.solvers, name)(learning_rate=0.05)
    later.bind(p2)
    for _ in range(3):
        G.TapeMachine(g1).run_all(); built.step()  # noqa: E702
        G.TapeMachine(g2).run_all(); later.step()  # noqa: E702
    for a, b in zip(p1, p2):
        assert np.array_equal(a.value, b.value)
    state1, state2 = built.state_dict(), later.state_dict()
    assert state1.keys() == state2.keys() and all(np.array_equal(state1[k], state2[k]) for k in state1)


def test_binding_other_shapes_to_a_bound_solver_changes_nothing():
    g = G.Graph()
    w = G.tensor(g, G.Float64, (3,), name="w", value=np.ones(3))
    v = G.tensor(g, G.Float64, (4,), name="v", value=np.ones(4))
    solver = G.solvers.SGD(learning_rate=0.1)
    solver.bind([w])
    with pytest.raises(G.GorgonError, match=r"SGD.rebind: expected nodes of shapes"):
        solver.bind([v])
    assert solver.params == [w]
