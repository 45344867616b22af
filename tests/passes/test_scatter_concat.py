"""gorgon_ops_core's rule scatters_to_concat: the gradients of slices that tile one axis
of a node join into one concat instead of a getitem_grad and getitem_adds."""

import numpy as np
import pytest

import gorgon as G

Z = np.linspace(-1.5, 2.0, 36).reshape(3, 12)


def gradient(slices, axis=1, machine=G.TapeMachine):
    """dz of sum(tanh(piece) * k) over the pieces z[slices], k the piece's position + 1,
    the ops that compute it, and the numpy value."""
    g = G.Graph()
    z = G.matrix(g, G.Float64, Z.shape, name="z", value=Z.copy())
    expected = np.zeros_like(Z)
    cost = None
    for k, cut in enumerate(slices, 1):
        index = (slice(None),) * axis + (cut,)
        term = G.sum(G.tanh(z[index]) * float(k))
        cost = term if cost is None else cost + term
        expected[index] += k * (1.0 - np.tanh(Z[index]) ** 2)
    (dz,) = G.grad(cost, z)
    m = machine(g)
    m.run_all()
    ops = [n.op.name for n in g.nodes if n.op is not None and n in _ancestors(dz)]
    return dz.value.copy(), ops, expected


def _ancestors(node):
    seen, todo = set(), [node]
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo.extend(n.inputs)
    return seen


@pytest.mark.parametrize("slices", [
    [slice(0, 4), slice(4, 8), slice(8, 12)],
    [slice(8, None), slice(None, 4), slice(4, 8)],
    [slice(None, 5), slice(5, None)],
])
def test_slices_that_tile_an_axis_join_into_one_concat(slices):
    value, ops, expected = gradient(slices)
    assert ops.count("concat") == 1
    assert "getitem_grad" not in ops and "getitem_add" not in ops
    np.testing.assert_allclose(value, expected, rtol=1e-12)


def test_slices_of_the_first_axis_join_too():
    value, ops, expected = gradient([slice(0, 1), slice(1, 3)], axis=0)
    assert ops.count("concat") == 1 and "getitem_add" not in ops
    np.testing.assert_allclose(value, expected, rtol=1e-12)


@pytest.mark.parametrize("slices, why", [
    ([slice(0, 4), slice(6, 12)], "a gap"),
    ([slice(0, 7), slice(5, 12)], "an overlap"),
    ([slice(0, 12, 2), slice(1, 12, 2)], "steps of two"),
])
def test_slices_that_do_not_tile_the_axis_stay_scatters(slices, why):
    value, ops, expected = gradient(slices)
    assert "concat" not in ops, why
    assert "getitem_add" in ops
    np.testing.assert_allclose(value, expected, rtol=1e-12)


def test_both_machines_agree_and_second_order_gradients_flow_through_the_concat():
    results = []
    for machine in (G.TapeMachine, G.LispMachine):
        g = G.Graph()
        z = G.matrix(g, G.Float64, Z.shape, name="z", value=Z.copy())
        cost = G.sum(G.sigmoid(z[:, :6]) * G.tanh(z[:, 6:]))
        (dz,) = G.grad(cost, z)
        (ddz,) = G.grad(G.sum(dz * dz), z)
        machine(g).run_all()
        results.append((dz.value.copy(), ddz.value.copy()))
    (dz_tape, ddz_tape), (dz_lisp, ddz_lisp) = results
    np.testing.assert_allclose(dz_tape, dz_lisp, rtol=1e-12)
    np.testing.assert_allclose(ddz_tape, ddz_lisp, rtol=1e-12)
    s, t = 1.0 / (1.0 + np.exp(-Z[:, :6])), np.tanh(Z[:, 6:])
    np.testing.assert_allclose(dz_tape, np.concatenate([s * (1 - s) * t, s * (1 - t * t)], axis=1), rtol=1e-12)
    step = 1e-6
    numeric = np.zeros_like(Z)
    for index in np.ndindex(Z.shape):
        shifted = []
        for sign in (1.0, -1.0):
            v = Z.copy()
            v[index] += sign * step
            s, t = 1.0 / (1.0 + np.exp(-v[:, :6])), np.tanh(v[:, 6:])
            d = np.concatenate([s * (1 - s) * t, s * (1 - t * t)], axis=1)
            shifted.append(np.sum(d * d))
        numeric[index] = (shifted[0] - shifted[1]) / (2 * step)
    np.testing.assert_allclose(ddz_tape, numeric, rtol=1e-6, atol=1e-8)
