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
    bodies = set()
    for steps in (1, 7, 50, 3):
        x = rng.standard_normal((2, steps, 3))
        g = G.Graph()
        node = G.tensor(g, G.Float64, x.shape, value=x)
        out, _ = ours(node)
        grads = G.grad(G.sum(G.square(out)), *ours.parameter_nodes(g))
        G.TapeMachine(g).run_all()
        bodies |= scan_bodies(g)
        theirs.zero_grad()
        expected, _ = theirs(torch.from_numpy(x))
        (expected ** 2).sum().backward()
        np.testing.assert_allclose(out.value, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
        for (name, p), grad in zip(theirs.named_parameters(), grads):
            np.testing.assert_allclose(grad.value, p.grad.numpy(), rtol=1e-9, atol=1e-11, err_msg=name)
    forward = [b for b in bodies if not b.name.endswith("_grad")]
    assert len(forward) == 1 and forward[0].compiles == 1
    assert all(b.compiles == 1 for b in bodies)
