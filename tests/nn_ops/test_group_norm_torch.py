"""group_norm and instance_norm against torch.nn.functional: values and gradients for x,
scale and shift on both machines, float64 and float32, and second-order gradients."""

import numpy as np
import pytest

import gorgon as G
from nn_ops_harness import MACHINES, compare

torch = pytest.importorskip("torch")
F = torch.nn.functional

rng = np.random.default_rng(12)


def affine(channels):
    return rng.uniform(0.5, 2.0, channels), rng.standard_normal(channels)


@pytest.mark.parametrize("machine", MACHINES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape, groups", [((2, 6, 5), 3), ((3, 4, 2, 3), 2), ((2, 4), 4), ((2, 6, 3), 1)])
def test_group_norm_matches_torch(shape, groups, dtype, machine):
    x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    scale, shift = (a.astype(dtype) for a in affine(shape[1]))
    compare(torch, lambda a, w, b: G.group_norm(a, groups, w, b, eps=1e-4),
            lambda a, w, b: F.group_norm(a, groups, w, b, eps=1e-4), [x, scale, shift], machine=machine,
            tolerance=1e-10 if dtype == np.float64 else 2e-4)


@pytest.mark.parametrize("machine", MACHINES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 2, 3, 4)])
def test_instance_norm_matches_torch(shape, dtype, machine):
    x = (rng.standard_normal(shape) * 2 - 1).astype(dtype)
    scale, shift = (a.astype(dtype) for a in affine(shape[1]))
    compare(torch, lambda a, w, b: G.instance_norm(a, w, b),
            lambda a, w, b: F.instance_norm(a, weight=w, bias=b), [x, scale, shift], machine=machine,
            tolerance=1e-10 if dtype == np.float64 else 2e-4)


@pytest.mark.parametrize("name", ["group_norm", "instance_norm"])
def test_second_order_gradients_match_torch(name):
    x = rng.standard_normal((2, 4, 3))
    scale, shift = affine(4)
    ours = (lambda a, w, b: G.group_norm(a, 2, w, b)) if name == "group_norm" else G.instance_norm
    theirs = (lambda a, w, b: F.group_norm(a, 2, w, b)) if name == "group_norm" else (
        lambda a, w, b: F.instance_norm(a, weight=w, bias=b))
    probe = rng.standard_normal(x.shape)
    g = G.Graph()
    nodes = [G.tensor(g, G.Float64, a.shape, value=a, name=n)
             for a, n in ((x, "x"), (scale, "w"), (shift, "b"))]
    dx, dw = G.grad(G.sum(ours(*nodes) * probe), nodes[0], nodes[1])
    second = G.grad(G.sum(dx * dx) + G.sum(dw * dw), nodes[0], nodes[1])
    G.TapeMachine(g).run_all()
    tensors = [torch.tensor(a, requires_grad=True) for a in (x, scale, shift)]
    tdx, tdw = torch.autograd.grad((theirs(*tensors) * torch.tensor(probe)).sum(), tensors[:2],
                                   create_graph=True)
    expected = torch.autograd.grad((tdx * tdx).sum() + (tdw * tdw).sum(), tensors[:2])
    for ours_value, theirs_value in zip(second, expected):
        np.testing.assert_allclose(ours_value.value, theirs_value.numpy(), rtol=1e-9, atol=1e-10)
