"""The kit's check of solver update kernels (gorgon.testing.solver_checks) on a toy
backend: a kernel equal to the solver's rule passes, one that moves the parameters a
little differently or that declines a parameter fails, naming the solver and backend."""

import pytest

import gorgon as G
from gorgon.testing.report import ConformanceError
from gorgon.testing.solver_checks import check_solver, solver_cases

BEHAVIOUR = {"scale": 1.0, "decline": False}


class ToySGD:
    tolerance = {"float32": (1e-6, 1e-7), "float64": (1e-12, 1e-14)}

    def __call__(self, solver, index, value, gradient):
        value -= solver.learning_rate * BEHAVIOUR["scale"] * gradient


def make_sgd(solver, inputs, output):
    if BEHAVIOUR["decline"] and inputs[0].shape == (50,):
        return None
    return ToySGD() if type(solver) is G.solvers.SGD else None


@pytest.fixture
def toy(backend_plugin):
    backend_plugin("toysolver", {"solver_SGD": make_sgd})
    BEHAVIOUR.update(scale=1.0, decline=False)


def test_the_registered_kernel_gets_a_case_per_variant(toy):
    ids = [case.id for case in solver_cases("toysolver")]
    assert ids == ["toysolver-SGD", "toysolver-SGD[clip_value=0.5,l1=0.01,l2=0.1]"]


def test_a_kernel_equal_to_the_rule_passes(toy):
    check_solver("SGD", "toysolver")


def test_a_kernel_that_moves_the_parameters_differently_fails(toy):
    BEHAVIOUR["scale"] = 1.0 + 1e-4
    with pytest.raises(ConformanceError, match=r"'toysolver', update kernel of solver SGD .* parameter p0"):
        check_solver("SGD", "toysolver")


def test_a_kernel_that_declines_a_parameter_fails(toy):
    BEHAVIOUR["decline"] = True
    with pytest.raises(ConformanceError, match="did not use the kernel"):
        check_solver("SGD", "toysolver")
