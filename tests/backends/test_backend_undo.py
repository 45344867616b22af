"""A backend kernel of an op that updates arrays in place (batch norm's running
statistics) which writes them and then raises: the arrays are put back before the numpy
fallback runs, so one run updates them once, on both machines."""

import warnings

import numpy as np
import pytest

import gorgon as G
from gorgon import backends


def make_half_done_batch_norm(op, inputs, output):
    def kernel(x, scale, shift, mean, var, out, training):
        mean += 100.0
        var *= 3.0
        raise RuntimeError("toy batch_norm fails after writing the statistics")

    return kernel


make_half_done_batch_norm.modes = True


@pytest.fixture
def halfdone(backend_plugin):
    backend_plugin("halfdone", {"batch_norm": make_half_done_batch_norm})


def statistics_after_two_runs(machine_of):
    rng = np.random.default_rng(0)
    g = G.Graph()
    x = G.tensor(g, G.Float64, (6, 3, 2, 2), name="x", value=rng.standard_normal((6, 3, 2, 2)) * 2 + 1)
    scale = G.vector(g, G.Float64, 3, name="scale", value=np.ones(3))
    shift = G.vector(g, G.Float64, 3, name="shift", value=np.zeros(3))
    mean = G.vector(g, G.Float64, 3, name="running_mean", value=np.zeros(3))
    var = G.vector(g, G.Float64, 3, name="running_var", value=np.ones(3))
    y = G.batch_norm(x, scale, shift, mean, var)
    machine = machine_of(g, y)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", backends.BackendWarning)
        machine.run_all()
        machine.run_all()
    reports = [str(w.message) for w in caught if issubclass(w.category, backends.BackendWarning)]
    return (mean.value.copy(), var.value.copy(), y.value.copy()), reports


@pytest.mark.parametrize("kind", ["tape", "lisp"])
def test_a_backend_kernel_that_raises_midway_leaves_the_statistics_to_numpy(halfdone, kind):
    def build(backends_chosen):
        if kind == "tape":
            return lambda g, y: G.TapeMachine(g, outputs=[y], backends=backends_chosen)
        return lambda g, y: G.LispMachine(g, outputs=[y], backends=backends_chosen)

    expected, none = statistics_after_two_runs(build(("numpy",)))
    got, reports = statistics_after_two_runs(build(("halfdone", "numpy")))
    assert not none and len(reports) == 1 and "halfdone" in reports[0]
    for want, have in zip(expected, got):
        np.testing.assert_array_equal(have, want)
