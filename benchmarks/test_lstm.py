"""W4 LSTM: one training step (forward, backward, SGD) of an LSTM with hidden 128,
input 64, batch 32, over 50 time steps, built from core ops."""

import numpy as np

import gorgon as G

HIDDEN, INPUTS, BATCH, STEPS = 128, 64, 32, 50
LEARNING_RATE = 1e-5  # small, so thousands of timed steps on one batch stay in the same regime


def data(seed: int = 0):
    rng = np.random.default_rng(seed)
    scale = 1.0 / np.sqrt(HIDDEN)
    return {
        "xs": rng.standard_normal((STEPS, BATCH, INPUTS)).astype(np.float32),
        "w": rng.uniform(-scale, scale, (INPUTS, 4 * HIDDEN)).astype(np.float32),
        "u": rng.uniform(-scale, scale, (HIDDEN, 4 * HIDDEN)).astype(np.float32),
        "b": np.zeros(4 * HIDDEN, np.float32),
        "target": rng.standard_normal((BATCH, HIDDEN)).astype(np.float32),
    }


def lstm_graph(values):
    g = G.Graph()
    xs = G.tensor(g, G.Float32, values["xs"].shape, name="xs", value=values["xs"])
    w = G.matrix(g, G.Float32, values["w"].shape, name="w", value=values["w"].copy())
    u = G.matrix(g, G.Float32, values["u"].shape, name="u", value=values["u"].copy())
    b = G.vector(g, G.Float32, values["b"].shape, name="b", value=values["b"].copy())
    target = G.matrix(g, G.Float32, values["target"].shape, name="target", value=values["target"])
    h = G.constant(np.zeros((BATCH, HIDDEN), np.float32), g)
    c = h
    for t in range(STEPS):
        z = xs[t] @ w + h @ u + b
        gates = G.sigmoid(z[:, :3 * HIDDEN])
        i, f, o = gates[:, :HIDDEN], gates[:, HIDDEN:2 * HIDDEN], gates[:, 2 * HIDDEN:]
        c = f * c + i * G.tanh(z[:, 3 * HIDDEN:])
        h = o * G.tanh(c)
    loss = G.mean(G.square(h - target))
    return g, [w, u, b], loss


def sgd(params):
    for p in params:
        p.value[...] -= LEARNING_RATE * p.grad


def numpy_step(values, params):
    """Hand-written forward and backward of the same LSTM, then SGD."""
    w, u, b = params
    xs, target = values["xs"], values["target"]
    h = np.zeros((BATCH, HIDDEN), np.float32)
    c = np.zeros_like(h)
    tape = []
    for t in range(STEPS):
        z = xs[t] @ w + h @ u + b
        gates = 1.0 / (1.0 + np.exp(-z[:, :3 * HIDDEN]))
        cell = np.tanh(z[:, 3 * HIDDEN:])
        c_prev, h_prev = c, h
        c = gates[:, HIDDEN:2 * HIDDEN] * c_prev + gates[:, :HIDDEN] * cell
        tanh_c = np.tanh(c)
        h = gates[:, 2 * HIDDEN:] * tanh_c
        tape.append((h_prev, c_prev, gates, cell, tanh_c))
    dh = 2.0 * (h - target) / h.size
    dc = np.zeros_like(c)
    dw, du, db = np.zeros_like(w), np.zeros_like(u), np.zeros_like(b)
    for t in reversed(range(STEPS)):
        h_prev, c_prev, gates, cell, tanh_c = tape[t]
        i, f, o = gates[:, :HIDDEN], gates[:, HIDDEN:2 * HIDDEN], gates[:, 2 * HIDDEN:]
        dc = dc + dh * o * (1.0 - tanh_c * tanh_c)
        dz = np.empty((BATCH, 4 * HIDDEN), np.float32)
        dz[:, :HIDDEN] = dc * cell * i * (1.0 - i)
        dz[:, HIDDEN:2 * HIDDEN] = dc * c_prev * f * (1.0 - f)
        dz[:, 2 * HIDDEN:3 * HIDDEN] = dh * tanh_c * o * (1.0 - o)
        dz[:, 3 * HIDDEN:] = dc * i * (1.0 - cell * cell)
        dw += xs[t].T @ dz
        du += h_prev.T @ dz
        db += dz.sum(axis=0)
        dh = dz @ u.T
        dc = dc * f
    for p, d in zip(params, (dw, du, db)):
        p -= LEARNING_RATE * d
    return dw


def test_w4_tape(benchmark, record):
    record("W4 LSTM step", "gorgon TapeMachine")
    g, params, loss = lstm_graph(data())
    G.grad(loss, *params)
    machine = G.TapeMachine(g)

    def step():
        machine.run_all()
        sgd(params)

    benchmark(step)
    assert np.isfinite(loss.value)


def test_w4_lisp(benchmark, record):
    record("W4 LSTM step", "gorgon LispMachine")
    g, params, loss = lstm_graph(data())
    machine = G.LispMachine(g, cost=loss, wrt=params)

    def step():
        machine.run_all()
        sgd(params)

    benchmark(step)
    assert np.isfinite(loss.value)


def test_w4_numpy(benchmark, record):
    record("W4 LSTM step", "numpy floor")
    values = data()
    params = [values["w"].copy(), values["u"].copy(), values["b"].copy()]
    benchmark(numpy_step, values, params)
    assert all(np.isfinite(p).all() for p in params)


def torch_cell_loop_step(torch):
    """PyTorch's W4 step: an LSTMCell called once per time step, then SGD."""
    values = data()
    cell = torch.nn.LSTMCell(INPUTS, HIDDEN)
    xs, target = torch.from_numpy(values["xs"]), torch.from_numpy(values["target"])

    def step():
        cell.zero_grad()
        h = torch.zeros(BATCH, HIDDEN)
        c = torch.zeros(BATCH, HIDDEN)
        for t in range(STEPS):
            h, c = cell(xs[t], (h, c))
        loss = ((h - target) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            for p in cell.parameters():
                p -= LEARNING_RATE * p.grad
        return loss

    return step


def test_w4_torch(benchmark, record, torch):
    record("W4 LSTM step", "torch eager")
    assert torch.isfinite(benchmark(torch_cell_loop_step(torch)))


def test_w4_hand_written_gradient_matches_gorgon():
    values = data()
    g, params, loss = lstm_graph(values)
    G.grad(loss, *params)
    G.TapeMachine(g).run_all()
    expected = params[0].grad.copy()
    mine = [values["w"].copy(), values["u"].copy(), values["b"].copy()]
    np.testing.assert_allclose(numpy_step(values, mine), expected, rtol=2e-3, atol=1e-6)
