"""The numba backend's fused elementwise kernels over strided views (slices of a wider
array, as an LSTM's gates are): the TapeMachine binds the kernel's nested-loop variant
to the views instead of falling back to numpy (which allocates every run), and the
values equal numpy's in float32 and float64, run after run, with no allocation."""

import tracemalloc

import numpy as np
import pytest

pytest.importorskip("gorgon_numba")

import gorgon as G  # noqa: E402
from gorgon.backends import tape_step  # noqa: E402
from gorgon.dtypes import as_dtype  # noqa: E402
from gorgon_numba.fused import TOLERANCE  # noqa: E402

NUMBA = ("numba", "numpy")


def gates_graph(dtype, seed=0):
    """c' = f * c + i * tanh(g): three slices of one (B, 4H) pre-activation z."""
    rng = np.random.default_rng(seed)
    g = G.Graph()
    z = G.matrix(g, as_dtype(dtype), (8, 48), name="z", value=rng.standard_normal((8, 48)).astype(dtype))
    c = G.matrix(g, as_dtype(dtype), (8, 12), name="c", value=rng.standard_normal((8, 12)).astype(dtype))
    s = G.sigmoid(z * 1.5)
    out = s[:, 12:24] * c + s[:, :12] * G.tanh(s[:, 24:36] + z[:, 36:])
    return g, z, out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_fused_chain_over_slices_runs_on_numba_and_equals_numpy(dtype):
    g, z, out = gates_graph(dtype)
    machine = G.TapeMachine(g, outputs=[out], backends=NUMBA, readable="lean")
    machine.run_all()
    fused = [ins for ins in machine.program.instructions if ins.kind == "exec" and ins.term.op.name == "fused"]
    assert fused
    buffers = machine.buffers
    strided = 0
    for ins in fused:
        arrays = [buffers[a] for a in ins.args]
        strided += not all(a.flags.c_contiguous for a in arrays)
        _, fallback = tape_step(ins.term.op, arrays, buffers[ins.out], True, NUMBA)
        assert fallback is not None  # a numba step, not the numpy evaluation of the steps
    assert strided == 1  # the gates' chain reads four slices
    got = out.value.copy()
    expected_graph, _, expected = gates_graph(dtype)
    G.TapeMachine(expected_graph, outputs=[expected], readable="lean").run_all()
    rtol, atol = TOLERANCE[np.dtype(dtype).name]
    np.testing.assert_allclose(got, expected.value, rtol=rtol, atol=atol)
    G.let(z, np.asarray(z.value) * 0.5)
    machine.run_all()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(5):
            machine.run_all()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 4096
    assert not np.allclose(out.value, got)


def chain_kernel(dtype, shape):
    """The numba kernel of fused `tanh(a * b) + 0.5 * a`, on arrays of `shape`."""
    from gorgon.backends import find_kernel
    from gorgon.passes.fuse import FusedOp, Step
    from gorgon.registry import registry
    from gorgon.types import TensorType

    name = np.dtype(dtype).str
    steps = (Step(registry.ops["mul"](), (0, 1), shape, name), Step(registry.ops["tanh"](), (2,), shape, name),
             Step(None, (), (), name, 0.5), Step(registry.ops["mul"](), (4, 0), shape, name),
             Step(registry.ops["add"](), (3, 5), shape, name))
    op = FusedOp(steps=steps, backend="numba")
    found = find_kernel(op, [TensorType(shape, dtype)] * 2, TensorType(shape, dtype), NUMBA)
    assert found is not None and found[0] == "numba"
    return found[1]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["gate columns", "every other column"])
def test_strided_inputs_bind_by_rows_or_else_by_nested_loops(dtype, layout):
    """Column blocks of wider arrays run the rows variant (flat views of their rows, no
    copy); a view with a stride inside its rows runs the nested loops. Either writes the
    output's own elements only."""
    rng = np.random.default_rng(4)
    kernel = chain_kernel(dtype, (8, 12))
    wide = rng.standard_normal((8, 48)).astype(dtype)
    a, b = (wide[:, 12:24], wide[:, 30:42]) if layout == "gate columns" else (wide[:, ::4], wide[:, 1::4])
    block = np.full((8, 40), 9.0, dtype)
    out = block[:, 20:32]
    step = kernel.bind(a, b, out)
    assert step is not None
    by_rows = step.args[0].ndim == 1  # the rows variant writes through a flat view of out
    assert by_rows == (layout == "gate columns")
    step()
    rtol, atol = TOLERANCE[np.dtype(dtype).name]
    np.testing.assert_allclose(out, np.tanh(a * b) + 0.5 * a, rtol=rtol, atol=atol)
    assert (block[:, :20] == 9).all() and (block[:, 32:] == 9).all()
