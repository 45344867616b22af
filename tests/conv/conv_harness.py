"""Running one op on either machine: its value, and the gradients of sum(output * gy)
with respect to its inputs (symbolic on the TapeMachine, automatic on the LispMachine)."""

import numpy as np

import gorgon as G

MACHINES = ["tape", "lisp"]


def run(machine, build, arrays, gy):
    """`build(*nodes)` on input nodes holding `arrays`, run on `machine` ("tape" or "lisp");
    returns (value, [gradient per input])."""
    g = G.Graph()
    nodes = [G.tensor(g, a.dtype, a.shape, value=a, name=f"in{i}") for i, a in enumerate(arrays)]
    y = build(*nodes)
    assert y.shape == gy.shape, f"inferred {y.shape}, reference {gy.shape}"
    cost = G.sum(y * gy)
    if machine == "tape":
        grads = G.grad(cost, *nodes)
        G.TapeMachine(g, keep=[y]).run_all()
        return y.value, [gr.value for gr in grads]
    G.LispMachine(g, cost=cost, wrt=nodes).run_all()
    return y.value, [n.grad for n in nodes]


def assert_matches(ours, reference, dtype=np.float64):
    """Value and gradients equal to the reference's, to rounding of `dtype`."""
    tolerance = 1e-10 if dtype == np.float64 else 1e-4
    value, grads = ours
    expected_value, *expected_grads = reference
    assert value.dtype == dtype
    np.testing.assert_allclose(value, expected_value, rtol=tolerance, atol=tolerance)
    assert len(grads) == len(expected_grads)
    for grad, expected in zip(grads, expected_grads):
        assert grad.dtype == dtype
        np.testing.assert_allclose(grad, expected, rtol=tolerance, atol=tolerance)
