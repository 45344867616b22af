"""softmax, log_softmax and logsumexp against references computed in a stable way,
on inputs of 1000 (where a naive exp overflows), with gradients on both machines."""

import numpy as np
import pytest
from scipy import special

import gorgon as G
from nn_helpers import MACHINES, forward_value, numeric_grad, run, weighted_sum

rng = np.random.default_rng(3)
X = rng.standard_normal((3, 4))


def evaluate(build, array, dtype=G.Float64):
    g = G.Graph()
    x = G.tensor(g, dtype, array.shape, name="x", value=array.astype(dtype))
    y = build(x)
    G.TapeMachine(g, outputs=[y]).run_all()
    return y.value


@pytest.mark.parametrize("dtype", [G.Float64, G.Float32])
@pytest.mark.parametrize("shift", [0.0, 1000.0, -1000.0])
def test_softmax_family_is_stable_for_large_inputs(shift, dtype):
    big = (X + shift).astype(dtype)
    exact = big.astype(np.float64)
    tolerance = 1e-5 if dtype == G.Float32 else 1e-12
    softmax = evaluate(lambda x: G.softmax(x), big, dtype)
    log_softmax = evaluate(lambda x: G.log_softmax(x), big, dtype)
    assert np.isfinite(softmax).all() and np.isfinite(log_softmax).all()
    np.testing.assert_allclose(softmax, special.softmax(exact, axis=-1), rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(log_softmax, special.log_softmax(exact, axis=-1), rtol=tolerance,
                               atol=tolerance)
    lse = evaluate(lambda x: G.logsumexp(x, axis=1), big, dtype)
    np.testing.assert_allclose(lse, special.logsumexp(exact, axis=1), rtol=tolerance)


def test_softmax_along_another_axis():
    array = rng.standard_normal((2, 3, 4))
    np.testing.assert_allclose(evaluate(lambda x: G.softmax(x, axis=1), array),
                               special.softmax(array, axis=1), rtol=1e-12)


@pytest.mark.parametrize("axis, keepdims", [(None, False), (0, True), ((0, 2), False), (-1, False)])
def test_logsumexp_axes(axis, keepdims):
    array = rng.standard_normal((2, 3, 4)) * 10
    expected = special.logsumexp(array, axis=axis, keepdims=keepdims)
    np.testing.assert_allclose(evaluate(lambda x: G.logsumexp(x, axis=axis, keepdims=keepdims), array),
                               expected, rtol=1e-12)


def test_logsumexp_of_minus_infinities_is_minus_infinity():
    array = np.array([[-np.inf, -np.inf], [0.0, -np.inf]])
    np.testing.assert_array_equal(evaluate(lambda x: G.logsumexp(x, axis=1), array), [-np.inf, 0.0])


BUILDERS = {
    "softmax": lambda x: G.softmax(x),
    "log_softmax": lambda x: G.log_softmax(x, axis=0),
    "logsumexp": lambda x: G.logsumexp(x, axis=1, keepdims=True),
}


@pytest.mark.parametrize("machine", MACHINES)
@pytest.mark.parametrize("name", BUILDERS)
def test_gradients_match_finite_differences_on_large_inputs(name, machine):
    g = G.Graph()
    x = G.matrix(g, G.Float64, X.shape, name="x", value=X + 1000.0)
    cost = weighted_sum(BUILDERS[name](x))
    (dx,) = run(machine, g, cost, [x])
    np.testing.assert_allclose(dx, numeric_grad(forward_value(g, cost), x.value, eps=1e-5),
                               rtol=1e-4, atol=1e-6)


def test_softmax_errors_name_the_op_and_the_node():
    g = G.Graph()
    x = G.matrix(g, G.Float64, (3, 4), name="scores")
    with pytest.raises(G.ShapeError, match=r"softmax\{axis=2\}: axis 2 is out of range.*'scores'"):
        G.softmax(x, axis=2)
    with pytest.raises(G.ShapeError, match=r"logsumexp.*out of range"):
        G.logsumexp(x, axis=5)
