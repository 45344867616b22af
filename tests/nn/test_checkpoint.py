"""Saving and loading parameters and solver state with .npz files: round trips, and
files that do not fit the graph, which change nothing."""

import zipfile

import numpy as np
import pytest

import gorgon as G
from gorgon_ops_nn.checkpoint import load, save

rng = np.random.default_rng(10)


def model():
    g = G.Graph()
    x = G.matrix(g, G.Float64, (6, 3), name="x", value=rng.standard_normal((6, 3)))
    w = G.matrix(g, G.Float64, (3, 2), name="w", init=G.init.glorot_uniform(seed=1))
    b = G.vector(g, G.Float64, 2, name="b", init="zeros")
    loss = G.mean(G.square(x @ w + b))
    machine = G.TapeMachine(g, outputs=[loss, *G.grad(loss, w, b)])
    return machine, [w, b]


def trained(steps=2):
    machine, params = model()
    solver = G.solvers.Adam(params=params, learning_rate=0.1)
    for _ in range(steps):
        machine.run_all()
        solver.step()
    return machine, params, solver


def test_parameters_and_solver_state_round_trip_in_place(tmp_path):
    path = tmp_path / "model.npz"
    _, params, solver = trained()
    save(path, params, solver)
    _, fresh_params, _ = trained(steps=0)
    fresh_solver = G.solvers.Adam(params=fresh_params, learning_rate=0.1)
    arrays = [p.value for p in fresh_params]
    load(path, fresh_params, fresh_solver)
    for saved, loaded, array in zip(params, fresh_params, arrays):
        np.testing.assert_array_equal(loaded.value, saved.value)
        assert loaded.value is array
    assert fresh_solver.steps == 2
    for key, value in solver.state_dict().items():
        np.testing.assert_array_equal(fresh_solver.state_dict()[key], value)


def test_the_file_holds_plain_arrays_under_readable_names(tmp_path):
    path = tmp_path / "model.npz"
    _, params, solver = trained()
    save(path, params, solver)
    with np.load(path, allow_pickle=False) as data:
        assert set(data.files) == {"param/w", "param/b", "solver/steps", "solver/m/0", "solver/m/1",
                                   "solver/v/0", "solver/v/1", "solver_name"}
        assert str(data["solver_name"]) == "Adam"


def test_a_dict_names_the_parameters_and_unbound_nodes_get_bound(tmp_path):
    path = tmp_path / "weights.npz"
    _, (w, b), _ = trained()
    save(path, {"layer.weight": w, "layer.bias": b})
    g = G.Graph()
    w2 = G.matrix(g, G.Float64, (3, 2), name="other")
    b2 = G.vector(g, G.Float64, 2, name="names")
    load(path, {"layer.weight": w2, "layer.bias": b2})
    np.testing.assert_array_equal(w2.value, w.value)
    np.testing.assert_array_equal(b2.value, b.value)


def test_a_file_that_does_not_fit_changes_nothing(tmp_path):
    path = tmp_path / "model.npz"
    _, params, _ = trained()
    save(path, params)
    g = G.Graph()
    w = G.matrix(g, G.Float64, (3, 4), name="w", value=np.zeros((3, 4)))
    c = G.vector(g, G.Float64, 2, name="c", value=np.zeros(2))
    with pytest.raises(G.GorgonError) as error:
        load(path, [w, c])
    message = str(error.value)
    assert "the file lacks parameters ['c']" in message
    assert "the file holds parameters the graph lacks: ['b']" in message
    assert "'w' is (3, 2) float64 in the file, (3, 4) float64 in the graph" in message
    assert not w.value.any() and not c.value.any()


def test_a_solver_state_that_does_not_fit_changes_no_parameter_either(tmp_path):
    path = tmp_path / "model.npz"
    _, params, solver = trained()
    save(path, params, solver)
    _, fresh_params, _ = trained(steps=0)
    before = [p.value.copy() for p in fresh_params]
    with pytest.raises(G.GorgonError, match="the state of solver Adam, not of SGD"):
        load(path, fresh_params, G.solvers.SGD(params=fresh_params))
    save(path, params)
    with pytest.raises(G.GorgonError, match="the file holds no solver state"):
        load(path, fresh_params, G.solvers.Adam(params=fresh_params))
    for node, value in zip(fresh_params, before):
        np.testing.assert_array_equal(node.value, value)


def test_a_pickled_array_is_never_loaded(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, **{"param/w": np.array([object()], dtype=object)})
    _, params, _ = trained(steps=0)
    with pytest.raises(G.GorgonError, match="Object arrays cannot be loaded when allow_pickle=False"):
        load(path, params)


def test_a_file_that_is_not_npz_is_a_clear_error(tmp_path):
    path = tmp_path / "notes.npz"
    path.write_text("not a zip")
    _, params, _ = trained(steps=0)
    with pytest.raises(G.GorgonError, match="cannot read parameters from"):
        load(path, params)


def test_saving_replaces_the_file_whole(tmp_path):
    path = tmp_path / "model.npz"
    _, params, _ = trained()
    save(path, params)
    save(path, params)
    assert zipfile.is_zipfile(path)
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


def test_two_parameters_with_one_name_cannot_be_saved(tmp_path):
    g = G.Graph()
    a = G.vector(g, G.Float64, 2, name="same", value=np.zeros(2))
    b = G.vector(g, G.Float64, 2, name="same", value=np.ones(2))
    with pytest.raises(G.GorgonError, match="two parameters are named 'same'"):
        save(tmp_path / "x.npz", [a, b])


def test_solver_state_for_parameters_in_another_order_is_refused(tmp_path):
    path = tmp_path / "model.npz"
    _, params, solver = trained()
    save(path, params, solver)
    _, (w, b), _ = trained(steps=0)
    before = w.value.copy()
    message = r"Adam: cannot load this state: 'm/0' has shape \(3, 2\), expected \(2,\)"
    with pytest.raises(G.GorgonError, match=message):
        load(path, [w, b], G.solvers.Adam(params=[b, w]))
    np.testing.assert_array_equal(w.value, before)


def test_a_parameter_without_value_cannot_be_saved(tmp_path):
    g = G.Graph()
    w = G.vector(g, G.Float64, 2, name="w")
    with pytest.raises(G.BindError, match=r"cannot save parameter 'w' \(shape \(2,\), float64\): it has no"):
        save(tmp_path / "x.npz", [w])
    assert not list(tmp_path.iterdir())
