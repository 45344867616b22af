"""leaky_relu, elu and gelu against numpy/scipy references, in both float dtypes, with
gradients on both machines."""

import numpy as np
import pytest
from scipy import special

import gorgon as G
from nn_helpers import MACHINES, forward_value, numeric_grad, run, weighted_sum

X = np.array([[-3.0, -0.5, -0.01], [0.02, 0.7, 4.0]])


def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))


REFERENCES = {
    "leaky_relu": ({"alpha": 0.1}, lambda x: np.where(x > 0, x, 0.1 * x)),
    "elu": ({"alpha": 0.5}, lambda x: np.where(x > 0, x, 0.5 * np.expm1(x))),
    "gelu": ({}, lambda x: x * special.ndtr(x)),
    "gelu_tanh": ({"approximate": "tanh"}, gelu_tanh),
}


def build(name, dtype):
    params, reference = REFERENCES[name]
    g = G.Graph()
    x = G.matrix(g, dtype, X.shape, name="x", value=X.astype(dtype))
    y = getattr(G, name.removesuffix("_tanh"))(x, **params)
    return g, x, y, reference


@pytest.mark.parametrize("dtype", [G.Float64, G.Float32])
@pytest.mark.parametrize("name", REFERENCES)
def test_activation_matches_reference(name, dtype):
    g, x, y, reference = build(name, dtype)
    G.TapeMachine(g, outputs=[y]).run_all()
    assert y.value.dtype == dtype
    tolerance = 1e-6 if dtype == G.Float32 else 1e-12
    np.testing.assert_allclose(y.value, reference(X), rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("machine", MACHINES)
@pytest.mark.parametrize("name", REFERENCES)
def test_activation_gradient_matches_finite_differences(name, machine):
    g, x, y, _ = build(name, G.Float64)
    cost = weighted_sum(y)
    (dx,) = run(machine, g, cost, [x])
    np.testing.assert_allclose(dx, numeric_grad(forward_value(g, cost), x.value), rtol=1e-6, atol=1e-8)


def test_gelu_rejects_an_unknown_approximation():
    g = G.Graph()
    x = G.vector(g, G.Float64, 3, name="x")
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh'"):
        G.gelu(x, approximate="erf")


def test_leaky_relu_rejects_integers_naming_the_node():
    g = G.Graph()
    x = G.vector(g, G.Int64, 3, name="counts")
    with pytest.raises(G.DtypeError, match=r"leaky_relu.*'counts' \(shape \(3,\), int64\)"):
        G.leaky_relu(x)
