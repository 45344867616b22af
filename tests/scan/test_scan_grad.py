"""Gradients through G.scan against the same loop unrolled into ordinary nodes: first
order on both machines, with several carries, sequences and non-sequences, reverse,
every output used or only some; second order (a gradient of a gradient) on the
TapeMachine; finite differences for one case."""

import numpy as np
import pytest

import gorgon as G


def values(seed=0, steps=5):
    rng = np.random.default_rng(seed)
    return {"xs": rng.standard_normal((steps, 2, 3)), "zs": rng.standard_normal((steps, 3)),
            "w": rng.standard_normal((3, 3)) * 0.5, "v": rng.standard_normal(3),
            "h0": rng.standard_normal((2, 3)), "c0": rng.standard_normal(3)}


def cell(h, c, x, z, w, v):
    h_new = G.tanh(h @ w + x * c)
    c_new = G.sigmoid(c * v + z) + G.sum(h_new, axis=0) * 0.1
    return h_new, c_new, h_new * v


def build(vals, use_scan, reverse=False, use_outputs=True, use_final=True):
    g = G.Graph()
    n = {k: G.tensor(g, G.Float64, a.shape, name=k, value=a.copy()) for k, a in vals.items()}
    if use_scan:
        def step(h, c, x, z, w, v):
            h_new, c_new, out = cell(h, c, x, z, w, v)
            return (h_new, c_new), out

        (h, c), outs = G.scan(step, sequences=(n["xs"], n["zs"]), init=(n["h0"], n["c0"]),
                              non_sequences=(n["w"], n["v"]), reverse=reverse)
    else:
        h, c, steps = n["h0"], n["c0"], vals["xs"].shape[0]
        collected = [None] * steps
        for t in (reversed(range(steps)) if reverse else range(steps)):
            h, c, collected[t] = cell(h, c, n["xs"][t], n["zs"][t], n["w"], n["v"])
        outs = G.stack(collected, axis=0)
    loss = G.constant(0.0, g)
    if use_outputs:
        loss = loss + G.sum(G.square(outs))
    if use_final:
        loss = loss + G.sum(h * h) + G.sum(G.sin(c))
    return g, n, loss


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("use_outputs,use_final", [(True, True), (True, False), (False, True)])
def test_first_order_equals_unrolled_on_the_tape(reverse, use_outputs, use_final):
    vals = values()
    grads = []
    for use_scan in (True, False):
        g, n, loss = build(vals, use_scan, reverse, use_outputs, use_final)
        wrt = [n[k] for k in vals]
        result = G.grad(loss, *wrt)
        G.TapeMachine(g).run_all()
        grads.append([r.value.copy() for r in result])
    for mine, unrolled in zip(*grads):
        np.testing.assert_allclose(mine, unrolled, rtol=1e-10, atol=1e-12)


def test_lisp_machine_backpropagates_through_a_scan():
    vals = values(1)
    g, n, loss = build(vals, True)
    wrt = [n[k] for k in vals]
    G.LispMachine(g, cost=loss, wrt=wrt).run_all()
    mine = [w.grad.copy() for w in wrt]
    g2, n2, loss2 = build(vals, False)
    expected = G.grad(loss2, *[n2[k] for k in vals])
    G.TapeMachine(g2).run_all()
    for a, b in zip(mine, expected):
        np.testing.assert_allclose(a, b.value, rtol=1e-10, atol=1e-12)


def test_finite_differences():
    vals = values(2, steps=3)
    g, n, loss = build(vals, True)
    (dw,) = G.grad(loss, n["w"])
    machine = G.TapeMachine(g)
    machine.run_all()
    analytic = dw.value.copy()
    numeric = np.zeros_like(analytic)
    for index in np.ndindex(analytic.shape):
        total = []
        for delta in (1e-6, -1e-6):
            n["w"].value[index] = vals["w"][index] + delta
            machine.run_all()
            total.append(float(loss.value))
        n["w"].value[index] = vals["w"][index]
        numeric[index] = (total[0] - total[1]) / 2e-6
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


def test_second_order_equals_unrolled():
    vals = values(3, steps=4)
    results = []
    for use_scan in (True, False):
        g, n, loss = build(vals, use_scan)
        dw, dh0 = G.grad(loss, n["w"], n["h0"])
        second = G.sum(dw * dw) + G.sum(G.sin(dh0))
        again = G.grad(second, n["w"], n["v"], n["xs"], n["h0"])
        G.TapeMachine(g).run_all()
        results.append([r.value.copy() for r in again])
    for mine, unrolled in zip(*results):
        np.testing.assert_allclose(mine, unrolled, rtol=1e-9, atol=1e-11)


def test_integer_sequence_indexes_a_table_whose_gradient_sums_over_steps():
    ids_value, table_value = np.array([0, 2, 1, 2]), np.arange(6.0).reshape(3, 2) * 0.1
    results = []
    for use_scan in (True, False):
        g = G.Graph()
        ids = G.tensor(g, G.Int64, (4,), value=ids_value)
        table = G.matrix(g, G.Float64, (3, 2), value=table_value)
        h = G.constant(np.ones(2), g)
        if use_scan:
            h, _ = G.scan(lambda h, i, table: (G.tanh(h * table[i] + 0.5), None), sequences=ids,
                          init=h, non_sequences=table)
        else:
            for t in range(4):
                h = G.tanh(h * table[ids[t]] + 0.5)
        (dt,) = G.grad(G.sum(h), table)
        G.TapeMachine(g).run_all()
        results.append(dt.value.copy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12)
    assert np.all(results[0][[0, 1, 2]] != 0)
