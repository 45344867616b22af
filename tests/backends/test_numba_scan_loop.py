"""gorgon-numba's compiled scan loops (gorgon_numba.loop): a TapeMachine's scan on numba's
kernels runs all its steps as one Numba call, and its values and gradients equal the same
steps run from Python; one loop function serves every length; a body holding a kernel
the loop cannot call runs from Python; the loop's GEMM equals numpy's matmul over every
layout a body hands it, and its copies equal numpy's."""

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("gorgon_numba")

import gorgon as G  # noqa: E402
from gorgon_numba import loop, loop_blas  # noqa: E402
from gorgon_ops_core.linalg import Matmul  # noqa: E402

plan_module = importlib.import_module("gorgon.scan.plan")
NUMBA = ("numba", "numpy")
B, I, H = 6, 5, 4


def lstm_step(h, c, xw, u):
    z = xw + G.matmul(h, u)
    i, f, o = G.sigmoid(z[:, :H]), G.sigmoid(z[:, H:2 * H]), G.sigmoid(z[:, 2 * H:3 * H])
    c_new = f * c + i * G.tanh(z[:, 3 * H:])
    h_new = o * G.tanh(c_new)
    return (h_new, c_new), h_new * 2.0


def lstm_graph(dtype, steps, seed=0):
    """An LSTM over `steps` steps as one scan, its input projection hoisted; the loss
    reads the per-step outputs and both final states."""
    rng = np.random.default_rng(seed)
    kind = G.Float32 if dtype == np.float32 else G.Float64
    g = G.Graph()
    xs = G.tensor(g, kind, (steps, B, I), name="xs", value=rng.standard_normal((steps, B, I)).astype(dtype))
    w = G.matrix(g, kind, (I, 4 * H), name="w", value=(0.4 * rng.standard_normal((I, 4 * H))).astype(dtype))
    u = G.matrix(g, kind, (H, 4 * H), name="u", value=(0.4 * rng.standard_normal((H, 4 * H))).astype(dtype))
    h0 = G.matrix(g, kind, (B, H), name="h0", value=(0.1 * rng.standard_normal((B, H))).astype(dtype))
    c0 = G.matrix(g, kind, (B, H), name="c0", value=np.zeros((B, H), dtype))
    xw = G.reshape(G.reshape(xs, (steps * B, I)) @ w, (steps, B, 4 * H))
    (h, c), outs = G.scan(lstm_step, sequences=xw, init=(h0, c0), non_sequences=u)
    loss = G.sum(G.square(outs)) + G.sum(h * c)
    grads = G.grad(loss, w, u, h0)
    return g, [loss, h, c, outs, *grads]


def bodies(machine):
    found = [ins.term.op.body for ins in machine.program.instructions if getattr(ins.term.op, "body", None)]
    return list({id(body): body for body in found}.values())


def plans(machine):
    return [plan for body in bodies(machine) for kept in body._plans.values() for plan in kept.values()]


def run(dtype, steps, monkeypatch=None, compiled=True):
    if not compiled:
        monkeypatch.setattr(plan_module, "loop_maker", lambda backends: (None, None))
    g, nodes = lstm_graph(dtype, steps)
    machine = G.TapeMachine(g, backends=NUMBA)
    machine.run_all()
    return machine, nodes, [n.value.copy() for n in nodes]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_compiled_loop_runs_every_scan_and_equals_the_steps_run_from_python(dtype, monkeypatch):
    machine, nodes, looped = run(dtype, 7)
    made = plans(machine)
    assert len(made) == 2 and all(plan.compiled is not None for plan in made)  # the forward and the backward
    before = {id(plan) for plan in made}
    with monkeypatch.context() as patched:
        python_machine, _, stepped = run(dtype, 7, patched, compiled=False)
        fresh = [plan for plan in plans(python_machine) if id(plan) not in before]  # bodies are shared
        assert len(fresh) == 2 and all(plan.compiled is None for plan in fresh)
    for mine, theirs in zip(looped, stepped):  # Numba's own tanh may differ from numpy's in the last place
        np.testing.assert_allclose(mine, theirs, rtol=2e-5 if dtype == np.float32 else 1e-12, atol=1e-7)
    for node in nodes:
        node.value[...] = 0 if node.value.ndim else node.value
    machine.run_all()  # again, over the kept plans
    for node, expected in zip(nodes, looped):
        np.testing.assert_array_equal(node.value, expected)


def test_one_loop_function_serves_every_length():
    def step(h, c, x, u):  # a body of this test's own
        return lstm_step(h, c, x, u)

    g = G.Graph()
    n = G.scalar(g, G.Int64, name="n", value=np.array(3))
    xs = G.tensor(g, G.Float64, (9, B, 4 * H), name="xs", value=np.random.default_rng(1).standard_normal((9, B, 4 * H)))
    u = G.matrix(g, G.Float64, (H, 4 * H), name="u", value=0.3 * np.random.default_rng(2).standard_normal((H, 4 * H)))
    zeros = G.constant(np.zeros((B, H)), g)
    (h, c), _ = G.scan(step, sequences=xs, init=(zeros, zeros), non_sequences=u, length=n)
    machine = G.TapeMachine(g, outputs=[h], backends=NUMBA)
    machine.run_all()
    (made,) = plans(machine)
    compiled = made.compiled.func
    signatures = len(compiled.signatures)
    for steps in (9, 5):
        n.value[...] = steps
        machine.run_all()
        expected = np.zeros((B, H))
        cell = np.zeros((B, H))
        for t in range(steps):
            z = xs.value[t] + expected @ u.value
            sig = 1 / (1 + np.exp(-z[:, :3 * H]))
            cell = sig[:, H:2 * H] * cell + sig[:, :H] * np.tanh(z[:, 3 * H:])
            expected = sig[:, 2 * H:3 * H] * np.tanh(cell)
        np.testing.assert_allclose(h.value, expected, rtol=1e-12, atol=1e-14)
    assert len(plans(machine)) == 3 and all(plan.compiled.func is compiled for plan in plans(machine))
    assert len(compiled.signatures) == signatures  # no new machine code for a new length
    source = Path(sys.modules[compiled.py_func.__module__].__file__).read_text()
    assert loop_blas.VERSION in source  # a changed loop_blas makes a new loop


def test_a_body_with_a_kernel_the_loop_cannot_call_runs_from_python():
    def step(h, x):
        new = G.tanh(G.cumsum(x, axis=1) + h)  # cumsum runs numpy's kernel
        return new, new

    g = G.Graph()
    xs = G.tensor(g, G.Float64, (4, 3, 5), name="xs", value=np.linspace(-1, 1, 60).reshape(4, 3, 5))
    h0 = G.matrix(g, G.Float64, (3, 5), name="h0", value=np.zeros((3, 5)))
    h, _ = G.scan(step, sequences=xs, init=h0)
    machine = G.TapeMachine(g, outputs=[h], backends=NUMBA)
    machine.run_all()
    (made,) = plans(machine)
    assert made.compiled is None
    expected = np.zeros((3, 5))
    for t in range(4):
        expected = np.tanh(np.cumsum(xs.value[t], axis=1) + expected)
    np.testing.assert_allclose(h.value, expected, rtol=1e-12)


def matmul(transpose_a=False, transpose_b=False):
    flags = {k: True for k, v in (("transpose_a", transpose_a), ("transpose_b", transpose_b)) if v}
    return Matmul(**flags)


def layouts(dtype, rng):
    """(a, b, transpose_a, transpose_b) over the layouts a body hands a matmul: plain,
    column blocks of wider arrays, transposed views, the transpose flags."""
    wide = rng.standard_normal((6, 11)).astype(dtype)
    b = rng.standard_normal((5, 7)).astype(dtype)
    wider_b = rng.standard_normal((9, 7)).astype(dtype)
    return [
        (wide[:, :5], b, False, False),
        (wide[:, 3:8], wider_b[2:7], False, False),
        (np.asfortranarray(wide[:, :5]), b, False, False),
        (wide[:, :5], np.ascontiguousarray(b.T), False, True),
        (wide[:, :5], b.T.copy().T, False, False),
        (np.ascontiguousarray(wide[:, :5].T), b, True, False),
        (wide[:1, :5], b, False, False),
    ]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_loop_gemm_equals_numpy_matmul_over_every_layout(dtype):
    rng = np.random.default_rng(3)
    wide_out = np.zeros((6, 10), dtype)
    for a, b, ta, tb in layouts(dtype, rng):
        op = matmul(ta, tb)
        expected = op.forward(a, b)
        for out in (np.zeros(expected.shape, dtype), wide_out[:expected.shape[0], 2:2 + expected.shape[1]]):
            found = loop_blas.gemm_for(op, [a, b], out)
            assert found is not None, (a.strides, b.strides, ta, tb)
            name, numbers = found
            getattr(loop_blas, name)(a, b, out, *numbers)
            np.testing.assert_allclose(out, expected, rtol=1e-6 if dtype == np.float32 else 1e-13)


def test_the_loop_gemm_declines_what_it_cannot_call():
    a, b = np.ones((3, 4)), np.ones((4, 2))
    op = matmul()
    assert loop_blas.gemm_for(op, [a, b], np.zeros((2, 3)).T) is None  # a column-major result
    assert loop_blas.gemm_for(op, [a[::-1], b], np.zeros((3, 2))) is None  # a negative stride
    assert loop_blas.gemm_for(op, [np.ones((3, 8))[:, ::2], b], np.zeros((3, 2))) is None  # neither layout
    assert loop_blas.gemm_for(op, [a.astype(np.float32), b], np.zeros((3, 2))) is None  # mixed dtypes
    assert loop_blas.gemm_for(op, [a.astype(np.int64), b.astype(np.int64)], np.zeros((3, 2), np.int64)) is None
    assert loop_blas.gemm_for(op, [np.ones((2, 3, 4)), b], np.zeros((2, 3, 2))) is None  # a stack


@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_the_loop_copies_equal_numpy(ndim):
    shape = (2, 3, 4)[:ndim]
    source = np.asfortranarray(np.arange(np.prod(shape), dtype=np.float64).reshape(shape))
    target = np.zeros(tuple(n + 2 for n in shape))[tuple(slice(1, 1 + n) for n in shape)]  # strided
    loop_blas.copy_into(ndim)(target, source)
    np.testing.assert_array_equal(target, source)
    assert loop_blas.copy_into(4) is None


def test_slots_pass_one_value_addresses_or_a_list_and_decline_numbers_that_vary():
    fixed = np.zeros(3)
    rows = np.arange(12.0).reshape(2, 6)
    frozen = rows[1].copy()[::2]
    frozen.flags.writeable = False
    params, uses = loop._passed([[fixed, rows[0, :3], rows[0, ::2], 2], [fixed, rows[1, :3], frozen, 2]])
    named = dict(params)
    assert named["c0"] is fixed and named["c3"] == 2 and uses[0] == "c0" and uses[3] == "c3"
    assert list(named["a1"]) == [rows[0].ctypes.data, rows[1].ctypes.data] and named["s1"] == (3,)
    assert uses[1] == "numba.carray(pointer(a1[p]), s1, np.float64)"
    assert [list(array) for array in named["v2"]] == [[0.0, 2.0, 4.0], [6.0, 8.0, 10.0]] and uses[2] == "v2[p]"
    assert loop._passed([[fixed, 1], [fixed, 2]]) is None
    assert loop._passed([[rows[0, ::2]], [np.zeros(6, np.float32)[::2]]]) is None


def test_arrays_strided_within_their_rows_reach_the_loop_as_lists():
    def step(h, x):
        new = G.tanh(x[:, ::2] * 0.5 + h)  # a view strided inside its rows
        return new, new

    rng = np.random.default_rng(4)
    g = G.Graph()
    xs = G.tensor(g, G.Float32, (5, 3, 8), name="xs", value=rng.standard_normal((5, 3, 8)).astype(np.float32))
    h0 = G.matrix(g, G.Float32, (3, 4), name="h0", value=np.zeros((3, 4), np.float32))
    h, outs = G.scan(step, sequences=xs, init=h0)
    machine = G.TapeMachine(g, outputs=[h, outs], backends=NUMBA)
    machine.run_all()
    (made,) = plans(machine)
    assert made.compiled is not None
    assert any(name.startswith("v") for name in made.compiled.func.py_func.__code__.co_varnames)
    expected = np.zeros((3, 4), np.float32)
    for t in range(5):
        expected = np.tanh(xs.value[t, :, ::2] * np.float32(0.5) + expected)
        np.testing.assert_allclose(outs.value[t], expected, rtol=2e-6, atol=1e-7)
    np.testing.assert_allclose(h.value, expected, rtol=2e-6, atol=1e-7)


def test_the_lisp_machine_runs_its_scans_from_python_with_the_same_values(monkeypatch):
    machine, _, looped = run(np.float64, 4)
    kept = {id(plan) for plan in plans(machine)}
    real, compiles = plan_module.loop_maker, []

    def counted(backends):
        backend, make = real(backends)
        return backend, lambda ops, plan: compiles.append(plan) or make(ops, plan)

    monkeypatch.setattr(plan_module, "loop_maker", counted)
    g, nodes = lstm_graph(np.float64, 4)
    G.LispMachine(g, backends=NUMBA).run_all()
    assert compiles == []  # its plans are made at every run: nothing is compiled for them
    assert {id(plan) for plan in plans(machine)} == kept
    for node, expected in zip(nodes, looped):
        np.testing.assert_allclose(node.value, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_gorgon_layers_recurrent_scans_run_as_compiled_loops(kind, monkeypatch):
    import gorgon_layers as nn

    layer = getattr(nn, kind)(3, 4, num_layers=2)
    found = {}
    for compiled in (True, False):
        if not compiled:
            monkeypatch.setattr(plan_module, "loop_maker", lambda backends: (None, None))
        g = G.Graph()
        x = G.tensor(g, G.Float32, (5, 7, 3), value=np.random.default_rng(1).standard_normal((5, 7, 3)).astype(np.float32))
        out, _ = layer(x)
        cost = G.sum(out * out)
        grads = G.grad(cost, *layer.parameter_nodes(g))
        machine = G.TapeMachine(g, backends=NUMBA)
        machine.run_all()
        mine = [plan for body in bodies(machine) for key, kept in body._plans.items() if key[1] == NUMBA
                for plan in kept.values() if plan.machine.backends == NUMBA]
        found[compiled] = [cost.value.copy()] + [grad.value.copy() for grad in grads]
        if compiled:  # both layers' forward and gradient scans (a GRU's sums its bias gradient in the loop)
            assert len(mine) >= 4 and all(plan.compiled is not None for plan in mine)
    for looped, stepped in zip(found[True], found[False]):
        np.testing.assert_allclose(looped, stepped, rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_loop_row_sum_equals_numpy_sum_over_axis_0(dtype):
    x = np.random.default_rng(5).standard_normal((7, 9)).astype(dtype)
    out = np.empty(9, dtype)
    loop_blas.sum_rows(x, out)
    np.testing.assert_array_equal(out, x.sum(axis=0))
    from gorgon_ops_core.reduce import Sum

    assert loop_blas.sums_rows(Sum(axis=(0,), keepdims=False), [x], out)
    assert not loop_blas.sums_rows(Sum(axis=(0,), keepdims=True), [x], out[None])
    assert not loop_blas.sums_rows(Sum(axis=(1,), keepdims=False), [x], np.empty(7, dtype))
    assert not loop_blas.sums_rows(Sum(axis=(0,), keepdims=False), [x.astype(np.int64)], np.empty(9, np.int64))
