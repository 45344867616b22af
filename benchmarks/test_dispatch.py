"""W1 dispatch: a chain of 1,000 elementwise ops (add a constant, multiply by a
constant, tanh, cycling) on a float64 vector of 16; forward and forward+backward."""

import numpy as np
import pytest

import gorgon as G

LENGTH = 1000
SIZE = 16
KINDS = [i % 3 for i in range(LENGTH)]


def chain(with_grad: bool):
    g = G.Graph()
    x = G.vector(g, G.Float64, SIZE, name="x", value=np.linspace(-0.5, 0.5, SIZE))
    h = x
    for kind in KINDS:
        h = h + 0.1 if kind == 0 else h * 0.9 if kind == 1 else G.tanh(h)
    cost = G.sum(h)
    if with_grad:
        G.grad(cost, x)
    return g, x, cost


def numpy_forward(x, buffers):
    h = x
    for kind, out in zip(KINDS, buffers):
        if kind == 0:
            np.add(h, 0.1, out=out)
        elif kind == 1:
            np.multiply(h, 0.9, out=out)
        else:
            np.tanh(h, out=out)
        h = out
    return h


def numpy_backward(buffers, grad, scratch):
    grad.fill(1.0)
    for kind, out in zip(reversed(KINDS), reversed(buffers)):
        if kind == 1:
            np.multiply(grad, 0.9, out=grad)
        elif kind == 2:
            np.multiply(out, out, out=scratch)
            np.subtract(1.0, scratch, out=scratch)
            np.multiply(grad, scratch, out=grad)
    return grad


def test_w1_forward_tape(benchmark, record):
    record("W1 forward", "gorgon TapeMachine", LENGTH)
    g, x, cost = chain(with_grad=False)
    machine = G.TapeMachine(g)
    benchmark(machine.run_all)
    assert np.isfinite(cost.value)


def test_w1_forward_lisp(benchmark, record):
    record("W1 forward", "gorgon LispMachine", LENGTH)
    g, x, cost = chain(with_grad=False)
    machine = G.LispMachine(g, forward_only=True)
    benchmark(machine.run_all)
    assert np.isfinite(cost.value)


def test_w1_forward_numpy(benchmark, record):
    record("W1 forward", "numpy floor", LENGTH)
    x = np.linspace(-0.5, 0.5, SIZE)
    buffers = [np.empty(SIZE) for _ in KINDS]
    result = benchmark(numpy_forward, x, buffers)
    g, _, cost = chain(with_grad=False)
    G.TapeMachine(g).run_all()
    assert np.isclose(result.sum(), cost.value)


def test_w1_forward_torch(benchmark, record, torch):
    record("W1 forward", "torch eager", LENGTH)
    x = torch.linspace(-0.5, 0.5, SIZE, dtype=torch.float64)

    def forward():
        h = x
        for kind in KINDS:
            h = h + 0.1 if kind == 0 else h * 0.9 if kind == 1 else torch.tanh(h)
        return h

    with torch.no_grad():
        result = benchmark(forward)
    assert torch.isfinite(result).all()


def test_w1_backward_tape(benchmark, record):
    record("W1 forward+backward", "gorgon TapeMachine", LENGTH)
    g, x, cost = chain(with_grad=True)
    machine = G.TapeMachine(g)
    benchmark(machine.run_all)
    assert x.grad.shape == (SIZE,)


def test_w1_backward_lisp(benchmark, record):
    record("W1 forward+backward", "gorgon LispMachine", LENGTH)
    g, x, cost = chain(with_grad=False)
    machine = G.LispMachine(g, cost=cost, wrt=[x])
    benchmark(machine.run_all)
    assert x.grad.shape == (SIZE,)


def test_w1_backward_numpy(benchmark, record):
    record("W1 forward+backward", "numpy floor", LENGTH)
    x = np.linspace(-0.5, 0.5, SIZE)
    buffers = [np.empty(SIZE) for _ in KINDS]
    grad, scratch = np.empty(SIZE), np.empty(SIZE)

    def step():
        numpy_forward(x, buffers)
        return numpy_backward(buffers, grad, scratch)

    result = benchmark(step)
    g, gx, cost = chain(with_grad=True)
    G.TapeMachine(g).run_all()
    np.testing.assert_allclose(result, gx.grad, rtol=1e-10)


def test_w1_backward_torch(benchmark, record, torch):
    record("W1 forward+backward", "torch eager", LENGTH)
    x = torch.linspace(-0.5, 0.5, SIZE, dtype=torch.float64, requires_grad=True)

    def step():
        x.grad = None
        h = x
        for kind in KINDS:
            h = h + 0.1 if kind == 0 else h * 0.9 if kind == 1 else torch.tanh(h)
        h.sum().backward()
        return x.grad

    result = benchmark(step)
    assert result.shape == (SIZE,)


@pytest.mark.parametrize("with_grad", [False, True])
def test_w1_machines_agree(with_grad):
    g, x, cost = chain(with_grad)
    G.TapeMachine(g).run_all()
    tape = cost.value.copy(), None if x.grad is None else x.grad.copy()
    G.LispMachine(g, cost=cost, wrt=[x]).run_all()
    np.testing.assert_allclose(cost.value, tape[0], rtol=1e-12)
    if with_grad:
        np.testing.assert_allclose(x.grad, tape[1], rtol=1e-10)
