"""A scan that stores no residuals (a reverse scan, a scan run in evaluation mode) runs a
body program whose only results are the carried state and the step's outputs: the
residuals are intermediate values there, free to share buffers and to fuse."""

import numpy as np

import gorgon as G

STEPS, B, H = 5, 2, 3


def lstm_like_step(h, c, x, u):
    z = x + h @ u
    gates = G.sigmoid(z[:, :2 * H])
    c = gates[:, :H] * c + gates[:, H:] * G.tanh(z[:, 2 * H:])
    return (G.tanh(c), c), None


def build(evaluation=False):
    rng = np.random.default_rng(5)
    g = G.Graph()
    if evaluation:
        g.eval()
    xs = G.tensor(g, G.Float64, (STEPS, B, 3 * H), name="xs", value=rng.standard_normal((STEPS, B, 3 * H)))
    u = G.matrix(g, G.Float64, (H, 3 * H), name="u", value=0.5 * rng.standard_normal((H, 3 * H)))
    zeros = G.constant(np.zeros((B, H)), g)
    (h, c), _ = G.scan(lstm_like_step, sequences=xs, init=(zeros, zeros), non_sequences=u, name="cell")
    return g, u, G.sum(h * c)


def bodies(g):
    return {n.op.body.name: n.op for n in g.nodes if n.op is not None and n.op.name == "scan"}


def test_the_reverse_scan_compiles_its_body_without_residual_results():
    g, u, loss = build()
    (du,) = G.grad(loss, u)
    G.TapeMachine(g).run_all()
    scans = bodies(g)
    forward, backward = scans["cell"], scans["cell_grad"]
    assert forward.store and not backward.store
    [machine] = [m for key, m in backward.body._machines.items() if key == (True, ("numpy",), False)]
    assert len(backward.body.residuals) > 0
    assert len(machine.outputs) == len(set(backward.body.new_carries + backward.body.outputs[:backward.body.n_user]))
    results = set(backward.body.new_carries + backward.body.outputs[:backward.body.n_user])
    assert not (set(backward.body.residuals) - results) & set(machine.outputs)
    [machine] = [m for key, m in forward.body._machines.items() if key == (True, ("numpy",), True)]
    assert set(forward.body.residuals) <= set(machine.outputs)
    numeric = np.zeros_like(u.value)
    value = u.value.copy()
    for index in np.ndindex(value.shape):
        results = []
        for sign in (1.0, -1.0):
            g2, u2, loss2 = build()
            shifted = value.copy()
            shifted[index] += sign * 1e-6
            G.let(u2, shifted)
            G.TapeMachine(g2).run_all()
            results.append(float(loss2.value))
        numeric[index] = (results[0] - results[1]) / 2e-6
    np.testing.assert_allclose(du.value, numeric, rtol=1e-6, atol=1e-9)


def test_an_evaluation_mode_scan_compiles_its_body_without_residual_results():
    g, _, loss = build(evaluation=True)
    machine = G.TapeMachine(g)
    machine.run_all()
    (op,) = bodies(g).values()
    assert not op.store
    [body_machine] = [m for key, m in op.body._machines.items() if key[1:] == (("numpy",), False)]
    assert len(body_machine.outputs) == len(op.body.new_carries) + op.body.n_user
    g2, _, loss2 = build()
    G.TapeMachine(g2).run_all()
    np.testing.assert_allclose(loss.value, loss2.value, rtol=1e-12)
