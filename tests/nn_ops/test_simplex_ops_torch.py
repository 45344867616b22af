"""one_hot against torch's F.one_hot; logsumexp with weights b against scipy's values and
torch's gradients of log(sum(b * exp(x))); sparsemax against its closed form written in
torch, whose autograd gives the reference gradient."""

import numpy as np
import pytest
from scipy import special

import gorgon as G
from nn_ops_harness import MACHINES, compare

torch = pytest.importorskip("torch")
F = torch.nn.functional

rng = np.random.default_rng(9)


def evaluate(build, *arrays):
    g = G.Graph()
    nodes = [G.tensor(g, a.dtype, a.shape, value=a, name=f"in{i}") for i, a in enumerate(arrays)]
    y = build(*nodes)
    G.TapeMachine(g, outputs=[y]).run_all()
    return y.value


@pytest.mark.parametrize("shape", [(5,), (2, 3), ()])
def test_one_hot_matches_torch(shape):
    labels = rng.integers(0, 4, shape)
    expected = F.one_hot(torch.tensor(labels), 4).numpy()
    ours = evaluate(lambda y: G.one_hot(y, 4, dtype=G.Int64), labels)
    assert ours.dtype == np.int64
    np.testing.assert_array_equal(ours, expected)
    np.testing.assert_array_equal(evaluate(lambda y: G.one_hot(y, 4), labels), expected.astype(np.float64))


def test_one_hot_rejects_labels_out_of_range_when_run():
    with pytest.raises(G.GorgonError, match=r"labels must lie in \[0, 3\)"):
        evaluate(lambda y: G.one_hot(y, 3), np.array([0, 3]))


@pytest.mark.parametrize("axis, keepdims", [(None, False), (1, False), (0, True), ((0, 2), False)])
def test_logsumexp_with_weights_matches_scipy(axis, keepdims):
    x = rng.standard_normal((2, 3, 4)) * 30
    b = rng.uniform(0.1, 2.0, (3, 4))
    ours = evaluate(lambda a, w: G.logsumexp(a, axis=axis, keepdims=keepdims, b=w), x, b)
    np.testing.assert_allclose(ours, special.logsumexp(x, axis=axis, keepdims=keepdims, b=b), rtol=1e-12)


def test_logsumexp_weights_zero_mask_minus_infinity_and_negative_sums_are_nan():
    x = np.array([[-np.inf, 1.0, 2.0], [0.5, 0.0, 1.0]])
    b = np.array([[0.0, 1.0, 1.0], [-3.0, 1.0, 0.0]])
    with np.errstate(invalid="ignore"):
        expected = special.logsumexp(x, axis=1, b=b)
    np.testing.assert_array_equal(np.isnan(expected), [False, True])
    np.testing.assert_allclose(evaluate(lambda a, w: G.logsumexp(a, axis=1, b=w), x, b), expected)


@pytest.mark.parametrize("machine", MACHINES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_logsumexp_with_weights_gradients_match_torch(dtype, machine):
    x = rng.standard_normal((3, 5)).astype(dtype)
    b = rng.uniform(0.1, 2.0, (3, 5)).astype(dtype)
    compare(torch, lambda a, w: G.logsumexp(a, axis=1, b=w),
            lambda a, w: torch.log(torch.sum(w * torch.exp(a), dim=1)), [x, b], machine=machine)


def torch_sparsemax(x, dim):
    """The closed form (sort, cumulative sums, threshold) in torch ops."""
    z = x.transpose(dim, -1)
    ordered, _ = torch.sort(z, dim=-1, descending=True)
    totals = ordered.cumsum(-1)
    ranks = torch.arange(1, z.shape[-1] + 1, dtype=z.dtype)
    size = (1 + ranks * ordered > totals).sum(-1, keepdim=True)
    tau = (totals.gather(-1, size - 1) - 1) / size.to(z.dtype)
    return torch.clamp(z - tau, min=0).transpose(dim, -1)


@pytest.mark.parametrize("machine", MACHINES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_sparsemax_matches_torch_closed_form(axis, dtype, machine):
    x = (rng.standard_normal((4, 6, 5)) * 1.5).astype(dtype)
    compare(torch, lambda a: G.sparsemax(a, axis=axis), lambda a: torch_sparsemax(a, axis), [x],
            machine=machine)


def test_sparsemax_lies_on_the_simplex_with_zeros():
    x = rng.standard_normal((50, 7)) * 3
    y = evaluate(lambda a: G.sparsemax(a), x)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-12)
    assert (y >= 0).all() and (y == 0).any()
    np.testing.assert_allclose(evaluate(lambda a: G.sparsemax(a), x + 100.0), y, atol=1e-12)
