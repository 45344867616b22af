"""An LSTM and a GRU written with G.scan against torch.nn.LSTM / torch.nn.GRU in
float64: outputs, final states and every parameter's gradient, for lengths 1, 7 and 50
with one body compiled once, on numpy's kernels and on gorgon-numba's."""

import numpy as np
import pytest

import gorgon as G

torch = pytest.importorskip("torch")

I, H, B = 5, 4, 3


def lstm_step(h, c, xw, w_hh):
    z = xw + G.matmul(h, w_hh, transpose_b=True)
    i, f = G.sigmoid(z[:, :H]), G.sigmoid(z[:, H:2 * H])
    g, o = G.tanh(z[:, 2 * H:3 * H]), G.sigmoid(z[:, 3 * H:])
    c_new = f * c + i * g
    h_new = o * G.tanh(c_new)
    return (h_new, c_new), h_new


def gru_step(h, xw, w_hh, b_hh):
    hw = G.matmul(h, w_hh, transpose_b=True) + b_hh
    r = G.sigmoid(xw[:, :H] + hw[:, :H])
    z = G.sigmoid(xw[:, H:2 * H] + hw[:, H:2 * H])
    n = G.tanh(xw[:, 2 * H:] + r * hw[:, 2 * H:])
    h_new = (1.0 - z) * n + z * h
    return h_new, h_new


def weights(module):
    return {k: v.detach().numpy().copy() for k, v in module.named_parameters()}


def inputs(g, params, xs, states):
    nodes = {k: G.tensor(g, G.Float64, v.shape, name=k, value=v) for k, v in params.items()}
    x = G.tensor(g, G.Float64, xs.shape, name="xs", value=xs)
    return nodes, x, [G.tensor(g, G.Float64, s.shape, value=s) for s in states]


def torch_loss(outputs, finals, weights_out):
    total = (outputs * torch.from_numpy(weights_out[0])).sum()
    for final, w in zip(finals, weights_out[1:]):
        total = total + (final * torch.from_numpy(w)).sum()
    return total


def gorgon_loss(outputs, finals, weights_out):
    total = G.sum(outputs * weights_out[0])
    for final, w in zip(finals, weights_out[1:]):
        total = total + G.sum(final * w)
    return total


@pytest.mark.parametrize("backends", [("numpy",), ("numba", "numpy")], ids=["numpy", "numba"])
@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_scan_rnn_equals_torch_for_lengths_1_7_50(kind, backends):
    if "numba" in backends:
        pytest.importorskip("gorgon_numba")
    torch.manual_seed(0)
    module = (torch.nn.LSTM if kind == "lstm" else torch.nn.GRU)(I, H).double()
    params = weights(module)
    rng = np.random.default_rng(0)
    bodies = set()
    for steps in (1, 7, 50):
        xs = rng.standard_normal((steps, B, I))
        states = [rng.standard_normal((B, H)) for _ in range(2 if kind == "lstm" else 1)]
        weights_out = [rng.standard_normal((steps, B, H))] + [rng.standard_normal((B, H)) for _ in states]
        module.zero_grad()
        x_t = torch.from_numpy(xs).requires_grad_()
        state_t = tuple(torch.from_numpy(s)[None].requires_grad_() for s in states)
        out_t, final_t = module(x_t, state_t if kind == "lstm" else state_t[0])
        finals_t = [f[0] for f in (final_t if kind == "lstm" else (final_t,))]
        torch_loss(out_t, finals_t, weights_out).backward()

        g = G.Graph()
        p, x, state_nodes = inputs(g, params, xs, states)
        if kind == "lstm":
            xw = G.matmul(x, p["weight_ih_l0"], transpose_b=True) + (p["bias_ih_l0"] + p["bias_hh_l0"])
            (h, c), outs = G.scan(lstm_step, sequences=xw, init=tuple(state_nodes),
                                  non_sequences=p["weight_hh_l0"])
            finals = [h, c]
        else:
            xw = G.matmul(x, p["weight_ih_l0"], transpose_b=True) + p["bias_ih_l0"]
            h, outs = G.scan(gru_step, sequences=xw, init=state_nodes[0],
                             non_sequences=(p["weight_hh_l0"], p["bias_hh_l0"]))
            finals = [h]
        loss = gorgon_loss(outs, finals, weights_out)
        names = list(params)
        grads = G.grad(loss, *[p[k] for k in names], x, *state_nodes)
        G.TapeMachine(g, backends=backends).run_all()
        body = outs.inputs[0].op.body
        bodies.add(body)
        compiled = compiled if steps > 1 else body.compiles  # the first length compiles it

        np.testing.assert_allclose(outs.value, out_t.detach().numpy(), rtol=0, atol=1e-10)
        for mine, theirs in zip(finals, finals_t):
            np.testing.assert_allclose(mine.value, theirs.detach().numpy(), rtol=0, atol=1e-10)
        named = dict(module.named_parameters())
        for k, grad in zip(names, grads):
            np.testing.assert_allclose(grad.value, named[k].grad.numpy(), rtol=0, atol=1e-10)
        expected = [x_t.grad.numpy()] + [s.grad.numpy()[0] for s in state_t]
        for grad, theirs in zip(grads[len(names):], expected):
            np.testing.assert_allclose(grad.value, theirs, rtol=0, atol=1e-10)
    (body,) = bodies
    assert body.compiles == compiled


@pytest.mark.parametrize("backends", [("numpy",), ("numba", "numpy")], ids=["numpy", "numba"])
def test_lstm_with_a_length_node_equals_torch_for_lengths_1_7_50_in_one_program(backends):
    """One TapeMachine over sequences of 50 rows and a length node: each length's final
    states and gradients equal torch.nn.LSTM's over that many steps."""
    if "numba" in backends:
        pytest.importorskip("gorgon_numba")
    torch.manual_seed(1)
    module = torch.nn.LSTM(I, H).double()
    params = weights(module)
    rng = np.random.default_rng(1)
    xs = rng.standard_normal((50, B, I))
    states = [rng.standard_normal((B, H)) for _ in range(2)]
    weights_out = [rng.standard_normal((B, H)) for _ in states]
    g = G.Graph()
    p, x, state_nodes = inputs(g, params, xs, states)
    n = G.scalar(g, G.Int64, name="n", value=np.int64(50))
    xw = G.matmul(x, p["weight_ih_l0"], transpose_b=True) + (p["bias_ih_l0"] + p["bias_hh_l0"])
    (h, c), outs = G.scan(lstm_step, sequences=xw, init=tuple(state_nodes),
                          non_sequences=p["weight_hh_l0"], length=n)
    loss = G.sum(h * weights_out[0]) + G.sum(c * weights_out[1])
    names = list(params)
    grads = G.grad(loss, *[p[k] for k in names], x, *state_nodes)
    machine = G.TapeMachine(g, backends=backends)
    program = machine.program
    for steps in (1, 7, 50):
        G.let(n, np.int64(steps))
        machine.run_all()
        module.zero_grad()
        x_t = torch.from_numpy(xs[:steps].copy()).requires_grad_()
        state_t = tuple(torch.from_numpy(s)[None].requires_grad_() for s in states)
        out_t, (h_t, c_t) = module(x_t, state_t)
        sum((final[0] * torch.from_numpy(w)).sum() for final, w in zip((h_t, c_t), weights_out)).backward()
        np.testing.assert_allclose(outs.value[:steps], out_t.detach().numpy(), rtol=0, atol=1e-10)
        for mine, theirs in zip((h, c), (h_t, c_t)):
            np.testing.assert_allclose(mine.value, theirs.detach().numpy()[0], rtol=0, atol=1e-10)
        named = dict(module.named_parameters())
        for k, grad in zip(names, grads):
            np.testing.assert_allclose(grad.value, named[k].grad.numpy(), rtol=0, atol=1e-10)
        np.testing.assert_allclose(grads[len(names)].value[:steps], x_t.grad.numpy(), rtol=0, atol=1e-10)
        assert not grads[len(names)].value[steps:].any()
        for grad, theirs in zip(grads[len(names) + 1:], state_t):
            np.testing.assert_allclose(grad.value, theirs.grad.numpy()[0], rtol=0, atol=1e-10)
        if steps == 1:
            compiled = outs.inputs[0].op.body.compiles
    assert machine.program is program and outs.inputs[0].op.body.compiles == compiled
