"""gorgon_layers' LSTM and GRU run through G.scan: over batches of varying length on the
TapeMachine, equal to torch.nn.LSTM/GRU (float64), each layer's body compiled once."""

import numpy as np
import pytest

import gorgon as G

nn = pytest.importorskip("gorgon_layers")
torch = pytest.importorskip("torch")


def scan_bodies(graph):
    return {node.op.body for node in graph.nodes if node.op is not None and node.op.name == "scan"}


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_layer_over_varying_lengths_equals_torch_with_one_body(kind):
    torch.manual_seed(0)
    ours, theirs = getattr(nn, kind)(3, 4, num_layers=2), getattr(torch.nn, kind)(3, 4, num_layers=2,
                                                                                   batch_first=True)
    ours.to(np.float64)
    theirs.double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    rng = np.random.default_rng(0)
    bodies, compiled = set(), {}
    for steps in (1, 7, 50, 3):
        x = rng.standard_normal((2, steps, 3))
        g = G.Graph()
        node = G.tensor(g, G.Float64, x.shape, value=x)
        out, _ = ours(node)
        grads = G.grad(G.sum(G.square(out)), *ours.parameter_nodes(g))
        G.TapeMachine(g).run_all()
        bodies |= scan_bodies(g)
        for body in bodies:
            compiled.setdefault(body, body.compiles)
        theirs.zero_grad()
        expected, _ = theirs(torch.from_numpy(x))
        (expected ** 2).sum().backward()
        np.testing.assert_allclose(out.value, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
        for (name, p), grad in zip(theirs.named_parameters(), grads):
            np.testing.assert_allclose(grad.value, p.grad.numpy(), rtol=1e-9, atol=1e-11, err_msg=name)
    forward = [b for b in bodies if not b.name.endswith("_grad")]
    assert len(forward) == 1
    assert all(b.compiles == compiled[b] for b in bodies)  # nothing compiled after the first length


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_layer_with_a_length_node_runs_every_length_in_one_program(kind):
    torch.manual_seed(1)
    ours, theirs = getattr(nn, kind)(3, 4, num_layers=2), getattr(torch.nn, kind)(3, 4, num_layers=2,
                                                                                   batch_first=True)
    ours.to(np.float64)
    theirs.double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((2, 20, 3))
    g = G.Graph()
    node = G.tensor(g, G.Float64, x.shape, value=x)
    n = G.scalar(g, G.Int64, name="n", value=np.int64(20))
    out, state = ours(node, length=n)
    final_h = state[0] if kind == "LSTM" else state
    grads = G.grad(G.sum(G.square(out)) + G.sum(final_h), *ours.parameter_nodes(g))
    machine = G.TapeMachine(g)
    program = machine.program
    compiled = {}
    for steps in (20, 1, 7):
        G.let(n, np.int64(steps))
        machine.run_all()
        compiled = compiled or {body: body.compiles for body in scan_bodies(g)}
        theirs.zero_grad()
        expected, expected_state = theirs(torch.from_numpy(x[:, :steps].copy()))
        expected_h = expected_state[0] if kind == "LSTM" else expected_state
        ((expected ** 2).sum() + expected_h.sum()).backward()
        np.testing.assert_allclose(out.value[:, :steps], expected.detach().numpy(), rtol=1e-10, atol=1e-12)
        assert not out.value[:, steps:].any()
        np.testing.assert_allclose(final_h.value, expected_h.detach().numpy(), rtol=1e-10, atol=1e-12)
        for (name, p), grad in zip(theirs.named_parameters(), grads):
            np.testing.assert_allclose(grad.value, p.grad.numpy(), rtol=1e-9, atol=1e-11, err_msg=name)
    assert machine.program is program
    assert all(body.compiles == compiled[body] for body in scan_bodies(g))
