"""silu, mish, hardswish, selu and softsign against torch.nn.functional: values and
gradients on both machines, float64 and float32, and second-order gradients."""

import numpy as np
import pytest

import gorgon as G
from nn_ops_harness import MACHINES, compare

torch = pytest.importorskip("torch")
F = torch.nn.functional

ACTIVATIONS = {
    "silu": F.silu,
    "mish": F.mish,
    "hardswish": F.hardswish,
    "selu": F.selu,
    "softsign": F.softsign,
}
def inputs(dtype):
    """Values spread over every piece of each activation, big ones and hardswish's kinks
    and selu's (where torch's slope conventions are checked) included."""
    rng = np.random.default_rng(5)
    x = np.concatenate([rng.uniform(-6, 6, 39), [-40.0, -3.5, -3.0, -2.5, 0.0, 2.5, 3.0, 3.5, 40.0]])
    return x.reshape(2, 24).astype(dtype)


@pytest.mark.parametrize("machine", MACHINES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_matches_torch(name, dtype, machine):
    compare(torch, getattr(G, name), ACTIVATIONS[name], [inputs(dtype)], machine=machine)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_second_derivative_matches_torch(name):
    """Away from the kinks, where there is no second derivative to agree on."""
    x = inputs(np.float64)
    x = x[~np.isin(x, [-3.0, 0.0, 3.0])].reshape(3, 15)
    g = G.Graph()
    node = G.tensor(g, G.Float64, x.shape, value=x, name="x")
    (dx,) = G.grad(G.sum(getattr(G, name)(node)), node)
    (ddx,) = G.grad(G.sum(dx), node)
    G.TapeMachine(g).run_all()
    t = torch.tensor(x, requires_grad=True)
    (first,) = torch.autograd.grad(ACTIVATIONS[name](t).sum(), t, create_graph=True)
    (second,) = torch.autograd.grad(first.sum(), t)
    np.testing.assert_allclose(dx.value, first.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ddx.value, second.numpy(), rtol=1e-10, atol=1e-12)
