"""The numba backend's interpreter for long flat fused chains (gorgon_numba.blocked):
every opcode against numpy through the kit, long chains and their gradients, strided,
broadcast and parallel inputs, constants, and the arithmetic tanh."""

import numpy as np
import pytest

pytest.importorskip("gorgon_numba")

import gorgon as G  # noqa: E402
from gorgon import backends  # noqa: E402
from gorgon.testing.backend_checks import backend_cases  # noqa: E402
from gorgon_numba import blocked  # noqa: E402
from gorgon_numba.fused import COMPARISONS, EXPRESSIONS  # noqa: E402
from test_numba_backend import threads  # noqa: E402,F401 (a fixture)

FUSED = [c for c in backend_cases("numba") if c.fused]


@pytest.fixture
def interpret_everything(monkeypatch):
    """Every flat fused kernel, however short, runs on the interpreter."""
    monkeypatch.setattr(blocked, "MIN_STEPS", 1)
    backends.forget()
    yield
    backends.forget()


def interpreted():
    return [k for k in backends._kernels.values() if isinstance(k, blocked.InterpretedKernel)]


@pytest.mark.parametrize("case", FUSED, ids=[c.id for c in FUSED])
def test_the_interpreter_passes_the_kit(case, interpret_everything):
    checked = case.run()
    if case.op in blocked.OPCODES or case.op == "gelu":
        assert checked > 0 and interpreted(), f"the interpreter ran no sample of {case.op}"


def test_every_expression_has_an_opcode():
    """All but the comparisons and cast, whose boolean values the generated loops keep."""
    assert set(EXPRESSIONS) - {*COMPARISONS, "cast"} == {name.removesuffix("_tanh") for name in blocked.OPCODES}


def long_chain(x, length=40, kinds=5):
    """add, mul, tanh, sigmoid, clip, in turn (the first `kinds` of them)."""
    h = x
    for i in range(length):
        h = [lambda v: v + 0.25, lambda v: v * -0.75, G.tanh, G.sigmoid, lambda v: G.clip(v, -0.5, 2.0)][i % kinds](h)
    return h


def numpy_chain(v, length=40, kinds=5):
    for i in range(length):
        v = [lambda a: a + 0.25, lambda a: a * -0.75, np.tanh, lambda a: 1 / (1 + np.exp(-a)),
             lambda a: np.clip(a, -0.5, 2.0)][i % kinds](v)
    return v


def machine(g, outputs=None):
    m = G.TapeMachine(g, outputs=outputs, backends=("numba",), readable="lean")
    m.run_all()
    return m


@pytest.mark.parametrize("shape", [(3, 7), (300, 257)], ids=["small", "parallel-blocks"])
@pytest.mark.parametrize("dtype", [G.Float64, G.Float32])
def test_a_long_chain_and_its_gradient_equal_numpy(shape, dtype, threads):
    g = G.Graph()
    value = np.random.default_rng(1).standard_normal(shape).astype(dtype)
    x = G.matrix(g, dtype, shape, name="x", value=value)
    cost = G.mean(long_chain(x, kinds=4))  # clip's gradient does not fuse
    G.grad(cost, x)
    m = machine(g)
    assert interpreted()
    G.TapeMachine(g).run_all()
    expected, grad = cost.value.copy(), x.grad.copy()
    m.run_all()
    rtol = 1e-12 if dtype == G.Float64 else 2e-5
    np.testing.assert_allclose(cost.value, numpy_chain(value.astype(np.float64), kinds=4).mean(),
                               rtol=rtol * 10)
    np.testing.assert_allclose(cost.value, expected, rtol=rtol)
    np.testing.assert_allclose(x.grad, grad, rtol=rtol, atol=1e-12 if dtype == G.Float64 else 1e-6)


def test_strided_and_broadcast_inputs_follow_their_arrays():
    g = G.Graph()
    base = np.linspace(-1, 1, 40).reshape(5, 8)
    x = G.matrix(g, G.Float64, (5, 4), name="x", value=base[:, ::2])
    scalar = np.broadcast_to(np.array(0.5), (5, 4))
    s = G.matrix(g, G.Float64, (5, 4), name="s", value=scalar)
    y = long_chain(x * s)
    m = machine(g, [y])
    assert interpreted()
    np.testing.assert_allclose(y.value, numpy_chain(base[:, ::2] * 0.5), rtol=1e-12)
    base[:, ::2] += 0.5
    m.run_all()
    np.testing.assert_allclose(y.value, numpy_chain(base[:, ::2] * 0.5), rtol=1e-12)


def test_the_lisp_machine_runs_the_interpreter():
    g = G.Graph()
    value = np.linspace(-2, 2, 33)
    x = G.vector(g, G.Float64, 33, name="x", value=value)
    y = long_chain(x, 30)
    G.LispMachine(g, outputs=[y], backends=("numba",), forward_only=True).run_all()
    assert interpreted()
    np.testing.assert_allclose(y.value, numpy_chain(value, 30), rtol=1e-12)


def test_constants_share_rows_by_value_but_nan_and_signed_zero_keep_theirs():
    from gorgon.passes.fuse import FusedOp, Step

    from gorgon.registry import registry

    add, mul = registry.ops["add"](), registry.ops["mul"]()
    steps = (Step(None, (), (), "<f8", 2.0), Step(mul, (0, 1)), Step(None, (), (), "<f8", 2.0),
             Step(add, (2, 3)), Step(None, (), (), "<f8", float("nan")), Step(None, (), (), "<f8", -0.0),
             Step(mul, (4, 6)), Step(add, (7, 5)))
    program = blocked.Program(FusedOp(steps=steps, backend="numba").steps, [(True, False)], False)
    rows = dict(program.consts.tolist())
    values = {row: program.params[index, 0] for row, index in rows.items()}
    assert sorted(repr(float(v)) for v in values.values()) == ["-0.0", "2.0", "nan"]
    assert all(op_row != arg for _, op_row, arg, _ in program.code.tolist())


def test_tanh_is_within_a_few_ulps_of_numpys():
    g = G.Graph()
    value = np.concatenate([np.linspace(-30, 30, 6001), np.geomspace(1e-300, 5, 300),
                            -np.geomspace(1e-300, 5, 300), [0.0, -0.0, np.inf, -np.inf, np.nan]])
    x = G.vector(g, G.Float64, value.size, name="x", value=value)
    y = G.tanh(x)
    for _ in range(blocked.MIN_STEPS):
        y = G.maximum(y, -2.0)
    machine(g, [y])
    assert interpreted()
    expected = np.tanh(value)
    np.testing.assert_array_equal(np.isnan(y.value), np.isnan(expected))
    finite = np.isfinite(expected)
    np.testing.assert_allclose(y.value[finite], expected[finite], rtol=1e-15, atol=0)
    assert np.signbit(y.value[-4]) and not np.signbit(y.value[-5])
