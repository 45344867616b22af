"""The fuse pass moves elementwise work into a concat (an LSTM gradient's gate
gradients, joined, then times the sigmoid's derivative): `concat(a, b) * y` becomes
`concat(a * y[:, :k], b * y[:, k:])`, each product fused with what computes its block,
and a concat of that concat takes its blocks; otherwise nothing moves (toy fused-kernel
generator, numpy inside)."""

import numpy as np
import pytest

import gorgon as G
from gorgon.registry import registry
from gorgon.types import TensorType

from test_fuse_pass import fused_lines, toy  # noqa: F401 - the fixture

VALUES = np.random.default_rng(9).standard_normal((5, 4, 12))


def joined(extra_reader=False, bias=False, outer=True):
    g = G.Graph()
    a, b, c, y, d = (G.matrix(g, G.Float64, (4, 12), name=n, value=v) for n, v in zip("abcyd", VALUES))
    row = G.vector(g, G.Float64, 12, name="row", value=VALUES[0, 0])
    parts = [G.tanh(a[:, :4]) * 2.0, G.tanh(b[:, 4:]) + 1.0]
    z = G.concat(parts, axis=1)
    out = (z * (row if bias else y)) * (1.0 - y)
    outs = [G.concat([out, G.tanh(c[:, :3]) * 3.0], axis=1) if outer else out]
    if extra_reader:
        outs.append(z * 5.0)
    return g, outs


def run(backends, readable="lean", **options):
    g, outs = joined(**options)
    machine = G.TapeMachine(g, outputs=outs, backends=backends, readable=readable)
    machine.run_all()
    _, expected = joined(**options)
    G.TapeMachine(expected[0].graph, outputs=expected, readable=readable).run_all()
    for got, want in zip(outs, expected):
        np.testing.assert_allclose(got.value, want.value, rtol=1e-14)
    return machine


def concats(machine):
    return [ins for ins in machine.program.instructions
            if ins.kind == "exec" and ins.term.op is not None and ins.term.op.name == "concat"]


def test_a_product_of_a_concat_runs_in_the_blocks_kernels_and_one_concat_is_left(toy):
    machine = run(("toy",))
    (concat,) = concats(machine)
    assert len(concat.args) == 3 and concat.term.shape == (4, 15)
    lines = fused_lines(machine)
    assert len(lines) == 3 and sum("tanh, mul x3, sub" in line for line in lines) == 1


@pytest.mark.parametrize("options", [dict(extra_reader=True), dict(bias=True)],
                         ids=["the concat read elsewhere too", "a broadcast operand"])
def test_otherwise_the_concat_stays(toy, options):
    machine = run(("toy",), **options)
    assert any(len(c.args) == 2 and c.term.shape == (4, 12) for c in concats(machine))


def test_a_readable_concat_stays(toy):
    machine = run(("toy",), readable="all")
    assert len(concats(machine)) == 2


def test_without_a_fusing_backend_nothing_moves():
    assert len(concats(run(("numpy",)))) == 2


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concat_blocks_are_the_views_of_its_inputs(axis):
    op = registry.op("concat")(axis=axis)
    shapes = [(2, 3), (2, 5)] if axis else [(2, 3), (4, 3)]
    views = op.blocks(*(TensorType(s, np.float64) for s in shapes))
    arrays = [np.random.default_rng(k).standard_normal(s) for k, s in enumerate(shapes)]
    whole = np.concatenate(arrays, axis=axis)
    assert all(v.is_view for v in views)
    for view, array in zip(views, arrays):
        np.testing.assert_array_equal(view.view(whole), array)
    assert registry.op("add")().blocks(TensorType((2,), np.float64)) is None
