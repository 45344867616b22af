"""Solver update kernels (gorgon_numba.solvers): a solver built with the numba backend
takes the same steps as with numpy's rules (parameters and state), in float64 and
float32, with regularisation and clipping; allocates nothing; and falls back to its
own rule, reported once, when a kernel fails."""

import tracemalloc
import warnings

import numpy as np
import pytest

pytest.importorskip("gorgon_numba")

import gorgon as G  # noqa: E402
from gorgon import backends  # noqa: E402
from gorgon_numba import solvers as numba_solvers  # noqa: E402
from gorgon.testing.solver_checks import solver_cases, solver_steps, training_parameters  # noqa: E402

CASES = solver_cases("numba")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_numba_steps_equal_numpy_steps(case):
    case.run()


def test_every_numba_solver_kernel_is_checked():
    assert {c.solver for c in CASES} == set(numba_solvers.SOLVERS)
    assert any(dict(c.options).get("nesterov") for c in CASES)


def test_gorgon_backends_chooses_the_kernels(monkeypatch):
    monkeypatch.setenv("GORGON_BACKENDS", "numba,numpy")
    solver = G.solvers.Adam(params=training_parameters(G.Float64, seed=0)[0])
    assert all(k is not None for k in solver.kernels)


def test_a_numba_step_allocates_nothing():
    solver, _ = solver_steps("Adam", {}, G.Float64, ("numba",), steps=2)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(3):
            solver.step()  # the same gradients again: the step's arithmetic alone
        assert tracemalloc.get_traced_memory()[1] - before < 4096  # Python objects; a buffer is 9,600 bytes
    finally:
        tracemalloc.stop()


def test_a_failing_kernel_is_reported_once_and_the_rule_takes_over(monkeypatch):
    def broken(w, g, rate):
        w[0] = np.nan  # a half-done update, which must be undone
        raise RuntimeError("boom")

    backends.forget()
    monkeypatch.setattr(numba_solvers, "_sgd", broken)
    _, expected = solver_steps("SGD", {}, G.Float64, ("numpy",))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        solver, got = solver_steps("SGD", {}, G.Float64, ("numba",))
    reports = [w for w in caught if issubclass(w.category, backends.BackendWarning)]
    assert len(reports) == 1 and "solver_SGD" in str(reports[0].message) and "boom" in str(reports[0].message)
    assert all(k is None for k in solver.kernels)
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)
    backends.forget()


def test_non_contiguous_parameters_keep_the_rule():
    g = G.Graph()
    base = np.arange(12.0).reshape(3, 4)
    node = G.matrix(g, G.Float64, (3, 2), name="w", value=base[:, ::2])
    G.grad(G.sum(node), node)
    machine = G.TapeMachine(g)
    machine.run_all()
    solver = G.solvers.SGD(params=[node], learning_rate=0.5, backends=("numba",))
    assert solver.kernels[0] is not None
    solver.step()
    np.testing.assert_array_equal(base[:, ::2], np.arange(12.0).reshape(3, 4)[:, ::2] - 0.5)
    np.testing.assert_array_equal(base[:, 1::2], np.arange(12.0).reshape(3, 4)[:, 1::2])


def test_a_subclass_with_its_own_rule_keeps_it():
    class Halved(G.solvers.SGD):
        def update_one(self, index, value, gradient):
            self.descend(index, value, gradient, self.learning_rate / 2)

    nodes, machine = training_parameters(G.Float64, seed=5)
    solver = Halved(params=nodes, learning_rate=0.5, backends=("numba",))
    assert all(k is None for k in solver.kernels)
    assert all(k is not None for k in G.solvers.SGD(params=nodes, backends=("numba",)).kernels)
