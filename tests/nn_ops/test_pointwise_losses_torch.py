"""huber_loss, smooth_l1_loss and kl_div against torch.nn.functional: every reduction,
their size parameters, log_target; values and gradients for input and target on both
machines, float64 and float32."""

import numpy as np
import pytest

import gorgon as G
from nn_ops_harness import MACHINES, compare

torch = pytest.importorskip("torch")
F = torch.nn.functional

rng = np.random.default_rng(8)
X, T = rng.standard_normal((2, 4, 5)) * 2, rng.standard_normal((2, 4, 5))


@pytest.mark.parametrize("machine", MACHINES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("delta", [1.0, 0.3, 2.5])
def test_huber_loss_matches_torch(delta, reduction, dtype, machine):
    compare(torch, lambda x, t: G.huber_loss(x, t, reduction=reduction, delta=delta),
            lambda x, t: F.huber_loss(x, t, reduction=reduction, delta=delta),
            [X.astype(dtype), T.astype(dtype)], machine=machine)


@pytest.mark.parametrize("machine", MACHINES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("beta", [1.0, 0.3, 0.0])
def test_smooth_l1_loss_matches_torch(beta, reduction, dtype, machine):
    compare(torch, lambda x, t: G.smooth_l1_loss(x, t, reduction=reduction, beta=beta),
            lambda x, t: F.smooth_l1_loss(x, t, reduction=reduction, beta=beta),
            [X.astype(dtype), T.astype(dtype)], machine=machine)


def log_softmax(x):
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides:UserWarning")
@pytest.mark.parametrize("machine", MACHINES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum", "batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_torch(log_target, reduction, dtype, machine):
    x = log_softmax(X)
    target = log_softmax(T) if log_target else np.exp(log_softmax(T))
    compare(torch, lambda a, b: G.kl_div(a, b, reduction=reduction, log_target=log_target),
            lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=log_target),
            [x.astype(dtype), target.astype(dtype)], machine=machine)


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
def test_kl_div_of_zero_targets_is_zero_there():
    """The loss and the input's gradient; the target's gradient there is log(0) = -inf."""
    x = log_softmax(X[0])
    target = np.exp(log_softmax(T[0]))
    target[:, 0] = 0.0
    compare(torch, lambda a, b: G.kl_div(a, b, reduction="sum"),
            lambda a, b: F.kl_div(a, b, reduction="sum"), [x, target], grad_of=[0])


def test_robust_losses_have_second_derivatives():
    g = G.Graph()
    x = G.tensor(g, G.Float64, X.shape, value=X.copy(), name="x")
    (dx,) = G.grad(G.huber_loss(x, T, reduction="sum", delta=0.5), x)
    (ddx,) = G.grad(G.sum(dx * dx), x)
    G.TapeMachine(g).run_all()
    inside = np.abs(X - T) < 0.5
    np.testing.assert_allclose(ddx.value, np.where(inside, 2 * (X - T), 0.0), atol=1e-12)


@pytest.mark.parametrize("machine", MACHINES)
@pytest.mark.parametrize("name, size", [("huber_loss", "delta"), ("smooth_l1_loss", "beta")])
def test_robust_losses_at_their_kinks_match_torch(name, size, machine):
    """Differences exactly at -size, 0 and size, where torch picks a slope."""
    x = np.array([-0.5, 0.5, 0.0, 1.0, -1.0, 0.25])
    target = np.zeros(6)
    compare(torch, lambda a, b: getattr(G, name)(a, b, reduction="sum", **{size: 0.5}),
            lambda a, b: getattr(F, name)(a, b, reduction="sum", **{size: 0.5}), [x, target], machine=machine)
