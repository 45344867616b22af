"""reshape and flatten on the TapeMachine view their input's buffer when it is one the
program allocates (C-contiguous), through views that keep contiguity (squeeze,
expand_dims, other reshapes); of an input node, a transpose or a slice they copy, and
the values are always numpy's."""

import numpy as np
import pytest

import gorgon as G
from test_views import flags_of

rng = np.random.default_rng(11)


def test_a_reshape_of_a_computed_value_is_a_view_that_follows_every_run():
    xv = rng.standard_normal((4, 6))
    g = G.Graph()
    x = G.matrix(g, G.Float64, (4, 6), name="x", value=xv)
    h = G.tanh(x)
    r = G.reshape(h, (2, 12))
    f = G.flatten(G.expand_dims(G.reshape(r, (3, 8)), 0), 1)
    m = G.TapeMachine(g)
    m.run_all()
    assert "view" in flags_of(m, r) and "view" in flags_of(m, f)
    assert np.shares_memory(r.value, h.value) and np.shares_memory(f.value, h.value)
    np.testing.assert_array_equal(r.value, np.tanh(xv).reshape(2, 12))
    G.let(x, xv * 2.0)
    m.run_all()
    np.testing.assert_array_equal(f.value, np.tanh(xv * 2.0).reshape(1, 24))


@pytest.mark.parametrize("build, reference", [
    (lambda x: G.reshape(x, (6, 4)), lambda v: v.reshape(6, 4)),
    (lambda x: G.reshape(G.transpose(G.tanh(x)), (4, 6)), lambda v: np.tanh(v).T.reshape(4, 6)),
    (lambda x: G.flatten(G.tanh(x)[:, 1:4]), lambda v: np.tanh(v)[:, 1:4].reshape(12)),
    (lambda x: G.reshape(G.expand_dims(G.transpose(G.tanh(x)), 0), (24,)), lambda v: np.tanh(v).T.reshape(24)),
], ids=["input", "transpose", "slice", "expand_dims of a transpose"])
def test_a_reshape_that_may_need_a_copy_is_computed(build, reference):
    xv = rng.standard_normal((4, 6))
    g = G.Graph()
    x = G.matrix(g, G.Float64, (4, 6), name="x", value=xv)
    y = build(x)
    m = G.TapeMachine(g)
    m.run_all()
    assert "view" not in flags_of(m, y)
    np.testing.assert_array_equal(y.value, reference(xv))
    G.let(x, np.asfortranarray(xv * 3.0))
    m.run_all()
    np.testing.assert_array_equal(y.value, reference(xv * 3.0))


def test_the_view_refuses_an_array_it_cannot_view():
    g = G.Graph()
    x = G.matrix(g, G.Float64, (4, 6), name="x", value=np.zeros((4, 6)))
    r = G.reshape(x, (24,))
    with pytest.raises(G.GorgonError, match="reshape.*not C-contiguous"):
        r.op.view(np.zeros((6, 4)).T)
    base = np.arange(24.0).reshape(4, 6)
    assert np.shares_memory(r.op.view(base), base)


def test_gradients_through_reshape_views_agree_on_both_machines():
    xv = rng.standard_normal((3, 4))
    results = []
    for machine in (G.TapeMachine, G.LispMachine):
        g = G.Graph()
        x = G.matrix(g, G.Float64, (3, 4), name="x", value=xv)
        y = G.reshape(G.sigmoid(x), (2, 6))
        cost = G.sum(G.flatten(y * y) * np.arange(12.0))
        (dx,) = G.grad(cost, x)
        machine(g).run_all()
        results.append(dx.value.copy())
    s = 1.0 / (1.0 + np.exp(-xv))
    expected = (2 * s * np.arange(12.0).reshape(3, 4)) * s * (1 - s)
    for value in results:
        np.testing.assert_allclose(value, expected, rtol=1e-12)
