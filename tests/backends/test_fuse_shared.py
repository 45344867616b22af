"""The fuse pass computes a shared term once when recomputing it would read many arrays
many times (an LSTM's cell gradient, read by its four gates' gradients), and recomputes
a shared term in each group otherwise (toy fused-kernel generator, numpy inside)."""

import numpy as np
import pytest

import gorgon as G
from gorgon.passes.fuse import SHARED_INPUTS, SHARED_READERS

from test_fuse_pass import fused_lines, toy  # noqa: F401 - the fixture


def graph(readers, inputs):
    """`readers` outputs, each tanh(shared * w_k), where `shared` = the product of
    `inputs` vectors plus 1."""
    g = G.Graph()
    rng = np.random.default_rng(3)
    xs = [G.vector(g, G.Float64, 6, name=f"x{j}", value=rng.standard_normal(6)) for j in range(inputs)]
    shared = xs[0]
    for x in xs[1:]:
        shared = shared * x
    shared = shared + 1.0
    ws = [G.vector(g, G.Float64, 6, name=f"w{k}", value=rng.standard_normal(6)) for k in range(readers)]
    outs = [G.tanh(shared * w) for w in ws]
    return g, outs


def run(backends, readers, inputs):
    g, outs = graph(readers, inputs)
    machine = G.TapeMachine(g, outputs=outs, backends=backends, readable="lean")
    machine.run_all()
    return machine, [np.array(o.value) for o in outs]


def test_a_term_read_by_many_groups_over_many_arrays_is_computed_once(toy):
    machine, values = run(("toy",), SHARED_READERS, SHARED_INPUTS)
    lines = fused_lines(machine)
    assert len(lines) == SHARED_READERS + 1  # the shared product once, then each reader
    assert sum(f"mul x{SHARED_INPUTS - 1}, add" in line for line in lines) == 1
    _, expected = run(("numpy",), SHARED_READERS, SHARED_INPUTS)
    for got, want in zip(values, expected):
        np.testing.assert_allclose(got, want, rtol=1e-14)


@pytest.mark.parametrize("readers, inputs", [(SHARED_READERS - 1, SHARED_INPUTS + 1),
                                             (SHARED_READERS + 1, SHARED_INPUTS - 1)],
                         ids=["few readers", "few arrays"])
def test_a_cheap_shared_term_is_recomputed_in_each_group(toy, readers, inputs):
    machine, values = run(("toy",), readers, inputs)
    lines = fused_lines(machine)
    assert len(lines) == readers
    assert all("add" in line for line in lines)
    _, expected = run(("numpy",), readers, inputs)
    for got, want in zip(values, expected):
        np.testing.assert_allclose(got, want, rtol=1e-14)
