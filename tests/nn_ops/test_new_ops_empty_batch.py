"""The nn ops added for issue 11 on an empty batch (the first axis of every sample made
0): they run on both machines with finite gradients, or are refused when the node is
built, naming the op (conv1d and the 1-D pools are in tests/reliability's sweep)."""

import warnings

import numpy as np
import pytest

import gorgon as G
from gorgon.registry import registry
from gorgon.testing.build import build
from gorgon.testing.samples import Sample
from gorgon.testing.target import resolve

MODULES = {
    "gorgon_ops_nn.modern_activations", "gorgon_ops_nn.pointwise_losses", "gorgon_ops_nn.one_hot",
    "gorgon_ops_nn.sparsemax", "gorgon_ops_nn.group_norm", "gorgon_ops_nn.ctc_loss",
    "gorgon_ops_nn.class_weights", "gorgon_ops_nn.nll_loss",
}


def emptied(value, lead):
    if isinstance(value, np.ndarray) and value.ndim >= 1 and value.shape[0] == lead:
        return np.zeros((0,) + value.shape[1:], value.dtype)
    return value


def cases():
    registry.load()
    found = []
    for name, op in sorted(registry.ops.items()):
        if op.__module__ not in MODULES:
            continue
        for sample in registry.samples[name]():
            arrays = [a for a in sample.args if isinstance(a, np.ndarray) and a.ndim >= 1]
            if isinstance(sample, Sample) and arrays:
                lead = arrays[0].shape[0]
                empty = Sample(*(emptied(a, lead) for a in sample.args), wrt=sample.wrt,
                               **{k: emptied(v, lead) for k, v in sample.kwargs.items()})
                found.append(pytest.param(name, empty, id=f"{name}-{sample.label}"))
    return found


@pytest.mark.parametrize("name, sample", cases())
def test_an_empty_batch_runs_or_is_refused_at_build(name, sample):
    try:
        built = build(resolve(name), sample)
    except G.GorgonError as exc:
        assert name in str(exc), f"unclear refusal: {exc}"
        return
    output = built.output
    differentiable = output.op.differentiable and output.dtype.kind == "f" and built.wrt
    grads = G.grad(G.sum(output), *built.wrt) if differentiable else []
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        G.TapeMachine(built.graph).run_all()
        value, tape_grads = output.value.copy(), [g.value.copy() for g in grads]
        G.LispMachine(built.graph, cost=G.sum(output) if differentiable else None, wrt=built.wrt or None,
                      outputs=[output], forward_only=not differentiable).run_all()
    assert value.shape == output.shape
    np.testing.assert_array_equal(output.value, value)
    for node, grad in zip(built.wrt if differentiable else [], tape_grads):
        assert grad.shape == node.shape and np.all(np.isfinite(grad))
        np.testing.assert_allclose(node.grad, grad)
