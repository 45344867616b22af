"""The fuse pass moves an elementwise term read only through views behind them (an
LSTM's pre-activation `xw + h @ u`, read through its gate slices): each slice of
`a + b` becomes `a[slice] + b[slice]` and fuses with what reads it; otherwise nothing
moves (toy fused-kernel generator, numpy inside)."""

import numpy as np
import pytest

import gorgon as G

from test_fuse_pass import fused_lines, toy  # noqa: F401 - the fixture

VALUES = np.random.default_rng(6).standard_normal((2, 4, 12))


def gates(slices, readable="lean", extra_reader=False, bias=False):
    g = G.Graph()
    a = G.matrix(g, G.Float64, (4, 12), name="a", value=VALUES[0])
    b = G.matrix(g, G.Float64, (4, 12), name="b", value=VALUES[1])
    row = G.vector(g, G.Float64, 12, name="row", value=VALUES[1, 0])
    z = a + (row if bias else b)
    outs = [G.tanh(z[:, start:stop]) * 2.0 for start, stop in slices]
    if extra_reader:
        outs.append(z * 3.0)
    return g, outs


def run(backends, **options):
    g, outs = gates(**options)
    readable = options.get("readable", "lean")
    machine = G.TapeMachine(g, outputs=outs, backends=backends, readable=readable)
    machine.run_all()
    values = [np.array(o.value) for o in outs]
    _, expected_outs = gates(**options)
    expected = G.TapeMachine(expected_outs[0].graph, outputs=expected_outs, readable=readable)
    expected.run_all()
    for got, want in zip(values, expected_outs):
        np.testing.assert_allclose(got, want.value, rtol=1e-14)
    return machine


def test_slices_that_tile_a_sum_take_its_add_into_their_kernels(toy):
    machine = run(("toy",), slices=[(0, 8), (8, 12)])
    lines = fused_lines(machine)
    assert len(lines) == 2 and all("3 ops: add, tanh, mul" in line for line in lines)
    assert machine.program.op_count == 2  # no add of the whole (4, 12) left


@pytest.mark.parametrize("options", [dict(slices=[(0, 8), (4, 12)]), dict(slices=[(0, 6)], extra_reader=True),
                                     dict(slices=[(0, 6), (6, 12)], bias=True)],
                         ids=["overlapping slices", "a reader that is no view", "a broadcast input"])
def test_otherwise_the_add_stays_where_it_is(toy, options):
    machine = run(("toy",), **options)
    assert not any("add" in line for line in fused_lines(machine))


def test_a_readable_slice_keeps_its_add(toy):
    machine = run(("toy",), slices=[(0, 8), (8, 12)], readable="all")
    assert not any("add" in line for line in fused_lines(machine))


def test_without_a_fusing_backend_nothing_moves():
    machine = run(("numpy",), slices=[(0, 8), (8, 12)])
    assert not fused_lines(machine)
    assert any(ins.term.op is not None and ins.term.op.name == "add" and ins.term.shape == (4, 12)
               for ins in machine.program.instructions)


def test_a_lone_op_on_a_slice_gets_a_fused_kernel_and_a_lone_op_on_whole_arrays_does_not(toy):
    g = G.Graph()
    a = G.matrix(g, G.Float64, (4, 12), name="a", value=VALUES[0])
    b = G.matrix(g, G.Float64, (4, 12), name="b", value=VALUES[1])
    sliced, whole = a[:, 2:6] * b[:, 6:10], a * b
    machine = G.TapeMachine(g, outputs=[sliced, whole], backends=("toy",), readable="lean")
    machine.run_all()
    assert [line.split("fused[")[1].split("]")[0] for line in fused_lines(machine)] == ["toy: 1 ops: mul"]
    np.testing.assert_array_equal(sliced.value, VALUES[0][:, 2:6] * VALUES[1][:, 6:10])
    np.testing.assert_array_equal(whole.value, VALUES[0] * VALUES[1])
