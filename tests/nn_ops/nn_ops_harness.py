"""Comparing one gorgon op with its PyTorch counterpart: values, and the gradients of
sum(output * gy) for every float input, on both machines."""

import numpy as np

import gorgon as G

MACHINES = ["tape", "lisp"]


def run(machine, build, arrays, gy, floats=None):
    """`build(*nodes)` on input nodes holding `arrays`; returns (value, {index: gradient})
    for the inputs at `floats` (default: every float input), symbolic on the TapeMachine,
    automatic on the LispMachine."""
    g = G.Graph()
    nodes = [G.tensor(g, a.dtype, a.shape, value=a, name=f"in{i}") for i, a in enumerate(arrays)]
    if floats is None:
        floats = [i for i, a in enumerate(arrays) if a.dtype.kind == "f"]
    y = build(*nodes)
    assert y.shape == gy.shape, f"inferred {y.shape}, reference {gy.shape}"
    cost = G.sum(y * gy)
    wrt = [nodes[i] for i in floats]
    if machine == "tape":
        grads = G.grad(cost, *wrt)
        G.TapeMachine(g, keep=[y]).run_all()
        return y.value.copy(), {i: gr.value.copy() for i, gr in zip(floats, grads)}
    G.LispMachine(g, cost=cost, wrt=wrt).run_all()
    return y.value.copy(), {i: n.grad.copy() for i, n in zip(floats, wrt)}


def torch_run(torch, function, arrays, gy, grad_of):
    """function(*tensors) in torch: the value and the gradients of sum(output * gy) for
    the inputs at `grad_of`."""
    tensors = [torch.tensor(a, requires_grad=i in grad_of) for i, a in enumerate(arrays)]
    y = function(*tensors)
    y.backward(torch.tensor(gy))
    return y.detach().numpy(), {i: tensors[i].grad.numpy() for i in grad_of}


def compare(torch, build, function, arrays, machine="tape", grad_of=None, tolerance=None, seed=0):
    """Our op and torch's agree on the value and on the gradients for inputs `grad_of`
    (default: every float input)."""
    dtype = next(a.dtype for a in arrays if a.dtype.kind == "f")
    grad_of = [i for i, a in enumerate(arrays) if a.dtype.kind == "f"] if grad_of is None else grad_of
    shape = tuple(function(*(torch.tensor(a) for a in arrays)).shape)
    gy = np.asarray(np.random.default_rng(seed).standard_normal(shape), dtype)
    value, grads = run(machine, build, arrays, gy, grad_of)
    expected_value, expected_grads = torch_run(torch, function, arrays, gy, grad_of)
    if tolerance is None:
        tolerance = 1e-10 if dtype == np.float64 else 1e-4
    assert value.dtype == dtype
    np.testing.assert_allclose(value, expected_value, rtol=tolerance, atol=tolerance)
    for i in grad_of:
        assert grads[i].dtype == dtype
        np.testing.assert_allclose(grads[i], expected_grads[i], rtol=tolerance, atol=tolerance,
                                   err_msg=f"gradient of input {i}")
