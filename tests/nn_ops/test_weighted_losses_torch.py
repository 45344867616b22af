"""cross_entropy with class weights, ignore_index and label smoothing, and nll_loss with
class weights and ignore_index, in every reduction, against torch.nn.functional (whose
weighted mean divides by the kept labels' summed weights): values and gradients for logits/log-probabilities
and probability targets, on both machines, float64 and float32. Our class axis is the
last one; torch's is axis 1, so the torch side moves it."""

import numpy as np
import pytest

import gorgon as G
from nn_ops_harness import MACHINES, compare

torch = pytest.importorskip("torch")
F = torch.nn.functional

rng = np.random.default_rng(17)
CLASSES = 4


def class_first(t):
    return t if t.ndim <= 2 else torch.movedim(t, -1, 1)


def labels(shape, ignored=None):
    y = rng.integers(0, CLASSES, shape)
    if ignored is not None:
        y.flat[::3] = ignored
    return y


CASES = [
    dict(),
    dict(weight=True),
    dict(ignore_index=-100),
    dict(ignore_index=2),
    dict(label_smoothing=0.2),
    dict(weight=True, ignore_index=-100, label_smoothing=0.15),
    dict(weight=True, label_smoothing=0.3),
]


def arrays_for(case, shape, dtype):
    logits = (rng.standard_normal(shape + (CLASSES,)) * 2).astype(dtype)
    target = labels(shape, case.get("ignore_index"))
    arrays = [logits, target]
    if case.get("weight"):
        arrays.append(rng.uniform(0.2, 2.0, CLASSES).astype(dtype))
    return arrays


def options(case):
    return {k: v for k, v in case.items() if k != "weight"}


@pytest.mark.parametrize("machine", MACHINES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(2, 5)], ids=str)
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_cross_entropy_with_labels_matches_torch(case, reduction, shape, dtype, machine):
    arrays = arrays_for(case, shape, dtype)
    opts = options(case)

    def ours(logits, target, *weight):
        return G.cross_entropy(logits, target, reduction, *weight, **opts)

    def theirs(logits, target, *weight):
        return F.cross_entropy(class_first(logits), target, *weight, reduction=reduction, **opts)

    compare(torch, ours, theirs, arrays, machine=machine, grad_of=[0])


@pytest.mark.parametrize("machine", MACHINES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("case", [dict(weight=True), dict(label_smoothing=0.25),
                                  dict(weight=True, label_smoothing=0.1)], ids=str)
def test_cross_entropy_with_probabilities_matches_torch(case, reduction, dtype, machine):
    logits = rng.standard_normal((2, 3, CLASSES)).astype(dtype)
    raw = rng.uniform(0.1, 1.0, logits.shape)
    arrays = [logits, (raw / raw.sum(axis=-1, keepdims=True)).astype(dtype)]
    if case.get("weight"):
        arrays.append(rng.uniform(0.2, 2.0, CLASSES).astype(dtype))
    opts = options(case)
    compare(torch, lambda x, t, *w: G.cross_entropy(x, t, reduction, *w, **opts),
            lambda x, t, *w: F.cross_entropy(class_first(x), class_first(t), *w, reduction=reduction, **opts),
            arrays, machine=machine, grad_of=[0, 1])


@pytest.mark.parametrize("machine", MACHINES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(2, 4)], ids=str)
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("case", [dict(), dict(weight=True), dict(ignore_index=1),
                                  dict(weight=True, ignore_index=-100)], ids=str)
def test_nll_loss_matches_torch(case, reduction, shape, dtype, machine):
    arrays = arrays_for(case, shape, dtype)
    arrays[0] = (arrays[0] - np.log(np.exp(arrays[0]).sum(axis=-1, keepdims=True))).astype(dtype)
    opts = options(case)
    compare(torch, lambda lp, y, *w: G.nll_loss(lp, y, reduction, *w, **opts),
            lambda lp, y, *w: F.nll_loss(class_first(lp), y, *w, reduction=reduction, **opts),
            arrays, machine=machine, grad_of=[0])


def test_weighted_cross_entropy_second_derivative_matches_torch():
    logits, target, weight = arrays_for(dict(weight=True, ignore_index=-100), (5,), np.float64)
    g = G.Graph()
    x = G.tensor(g, G.Float64, logits.shape, value=logits, name="x")
    loss = G.cross_entropy(x, target, "mean", weight, ignore_index=-100, label_smoothing=0.2)
    (dx,) = G.grad(loss, x)
    (ddx,) = G.grad(G.sum(dx * dx), x)
    G.TapeMachine(g).run_all()
    t = torch.tensor(logits, requires_grad=True)
    torch_loss = F.cross_entropy(t, torch.tensor(target), torch.tensor(weight), ignore_index=-100,
                                 label_smoothing=0.2)
    (tdx,) = torch.autograd.grad(torch_loss, t, create_graph=True)
    (tddx,) = torch.autograd.grad((tdx * tdx).sum(), t)
    np.testing.assert_allclose(ddx.value, tddx.numpy(), rtol=1e-10, atol=1e-12)


def test_all_ignored_mean_is_nan_as_torch():
    g = G.Graph()
    x = G.tensor(g, G.Float64, (3, CLASSES), value=rng.standard_normal((3, CLASSES)), name="x")
    loss = G.cross_entropy(x, np.array([-100, -100, -100]), ignore_index=-100)
    G.TapeMachine(g, outputs=[loss]).run_all()
    expected = F.cross_entropy(torch.tensor(x.value), torch.tensor([-100, -100, -100]), ignore_index=-100)
    assert np.isnan(loss.value) and torch.isnan(expected)


def test_class_weights_get_no_gradient():
    g = G.Graph()
    x = G.tensor(g, G.Float64, (3, CLASSES), value=rng.standard_normal((3, CLASSES)), name="x")
    w = G.tensor(g, G.Float64, (CLASSES,), value=np.ones(CLASSES), name="w")
    with pytest.raises(G.NonDifferentiable, match="class weights get no gradient"):
        G.grad(G.cross_entropy(x, np.array([0, 1, 2]), "mean", w), w)


def test_the_plain_cross_entropy_keeps_its_fused_op_and_name():
    g = G.Graph()
    x = G.tensor(g, G.Float64, (3, CLASSES), name="x")
    assert str(G.cross_entropy(x, np.array([0, 1, 2])).op) == "cross_entropy{reduction='mean'}"
    assert "label_smoothing=0.1" in str(G.cross_entropy(x, np.array([0, 1, 2]), label_smoothing=0.1).op)
