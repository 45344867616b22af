"""layer_norm over trailing axes against a numpy reference, with gradients of the first
and second order on both machines."""

import numpy as np
import pytest

import gorgon as G
from nn_helpers import MACHINES, forward_value, numeric_grad, run, weighted_sum

rng = np.random.default_rng(4)


def norm_graph(shape, trailing, dtype=G.Float64):
    g = G.Graph()
    x = G.tensor(g, dtype, shape, name="x", value=(rng.standard_normal(shape) * 2 + 3).astype(dtype))
    params = shape[len(shape) - trailing:]
    scale = G.tensor(g, dtype, params, name="scale", value=rng.uniform(0.5, 2, params).astype(dtype))
    shift = G.tensor(g, dtype, params, name="shift", value=rng.standard_normal(params).astype(dtype))
    return g, (x, scale, shift), G.layer_norm(x, scale, shift, eps=1e-5)


@pytest.mark.parametrize("dtype", [G.Float64, G.Float32])
@pytest.mark.parametrize("shape, trailing", [((4, 6), 1), ((2, 3, 4), 2), ((5,), 1)])
def test_layer_norm_matches_reference(shape, trailing, dtype):
    g, (x, scale, shift), y = norm_graph(shape, trailing, dtype)
    G.TapeMachine(g, outputs=[y]).run_all()
    data = x.value.astype(np.float64)
    axes = tuple(range(len(shape) - trailing, len(shape)))
    centered = data - data.mean(axis=axes, keepdims=True)
    normalised = centered / np.sqrt(data.var(axis=axes, keepdims=True) + 1e-5)
    assert y.value.dtype == dtype
    np.testing.assert_allclose(y.value, normalised * scale.value + shift.value,
                               rtol=1e-4 if dtype == G.Float32 else 1e-12, atol=1e-5)


@pytest.mark.parametrize("machine", MACHINES)
def test_gradients_for_x_scale_and_shift(machine):
    g, params, y = norm_graph((3, 2, 4), 2)
    cost = weighted_sum(y * y)
    grads = run(machine, g, cost, list(params))
    value_of = forward_value(g, cost)
    for node, grad in zip(params, grads):
        np.testing.assert_allclose(grad, numeric_grad(value_of, node.value), rtol=1e-5, atol=1e-7)


def test_second_order_gradients():
    g, (x, scale, shift), y = norm_graph((3, 4), 1)
    dx, dscale = G.grad(weighted_sum(y * y), x, scale)
    total = weighted_sum(dx, seed=1) + weighted_sum(dscale, seed=2)
    second = G.grad(total, x, scale)
    G.TapeMachine(g, outputs=[total, *second]).run_all()
    symbolic = [grad.value.copy() for grad in second]
    value_of = forward_value(g, total)
    for node, grad in zip((x, scale), symbolic):
        np.testing.assert_allclose(grad, numeric_grad(value_of, node.value), rtol=1e-4, atol=1e-6)


def test_scale_must_match_the_trailing_axes():
    g, (x, _, _), _ = norm_graph((3, 4), 1)
    wrong = G.vector(g, G.Float64, 3, name="wrong")
    with pytest.raises(G.ShapeError, match=r"layer_norm.*trailing axes.*'wrong' \(shape \(3,\)"):
        G.layer_norm(x, wrong, wrong)
