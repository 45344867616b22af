"""The fuse pass with a toy fused-kernel generator (numpy inside, so no numba needed):
which terms fuse, readability, gradients, listings, and the pass doing nothing."""

import numpy as np
import pytest

import gorgon as G
from gorgon import backends
from gorgon.passes.fuse import FusedOp, Step
from gorgon.registry import registry

from test_backend_mechanism import CALLS, Toy


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.delenv("GORGON_BACKENDS", raising=False)
    registry.add_plugin(Toy, "toy")
    backends.forget()
    CALLS.update(tanh=0, fused=0)
    yield
    registry.reload()
    backends.forget()


def chain(length=9, with_grad=False):
    g = G.Graph()
    x = G.vector(g, G.Float64, 5, name="x", value=np.linspace(-1, 1, 5))
    h = x
    for i in range(length):
        h = h + 0.1 if i % 3 == 0 else h * 0.9 if i % 3 == 1 else G.tanh(h)
    cost = G.sum(h)
    if with_grad:
        G.grad(cost, x)
    return g, x, h, cost


def fused_lines(machine):
    return [line for line in str(machine.program).splitlines() if "fused[" in line]


def test_lean_fuses_a_chain_and_its_sum_into_one_kernel(toy):
    g, x, h, cost = chain()
    G.TapeMachine(g).run_all()
    expected = cost.value.copy()
    machine = G.TapeMachine(g, backends=("toy",), readable="lean")
    machine.run_all()
    assert machine.program.op_count == 1
    assert fused_lines(machine) == [fused_lines(machine)[0]]
    assert "fused[toy: 10 ops: add x3, mul x3, tanh x3, sum{axis=(0,),keepdims=False}]" in fused_lines(machine)[0]
    assert CALLS["fused"] == 1
    np.testing.assert_allclose(cost.value, expected, rtol=1e-14)
    with pytest.raises(G.GorgonError, match="not kept by this TapeMachine"):
        h.value


def test_readable_nodes_are_never_fused_away(toy):
    g, x, h, cost = chain()
    machine = G.TapeMachine(g, backends=("toy",))
    machine.run_all()
    assert fused_lines(machine) == []
    np.testing.assert_allclose(h.value, h.value)
    g, x, h, cost = chain()
    machine = G.TapeMachine(g, backends=("toy",), readable="lean", keep=[h])
    machine.run_all()
    assert machine.program.op_count == 2
    np.testing.assert_allclose(cost.value, np.sum(h.value))


def test_gradients_fuse_and_recompute_forward_values(toy):
    g, x, h, cost = chain(with_grad=True)
    G.TapeMachine(g).run_all()
    expected = cost.value.copy(), x.grad.copy()
    machine = G.TapeMachine(g, backends=("toy",), readable="lean")
    machine.run_all()
    lines = fused_lines(machine)
    assert len(lines) == 2 and lines[1].endswith("[grad]")
    np.testing.assert_allclose(cost.value, expected[0], rtol=1e-14)
    np.testing.assert_allclose(x.grad, expected[1], rtol=1e-13)
    default = G.TapeMachine(g, backends=("toy",))
    default.run_all()
    assert any(line.endswith("[grad]") for line in fused_lines(default))
    np.testing.assert_allclose(x.grad, expected[1], rtol=1e-13)


def test_no_fusing_backend_no_change(toy):
    g, x, h, cost = chain()
    plain = G.TapeMachine(g, readable="lean")
    assert fused_lines(plain) == []
    unfused = G.TapeMachine(g, backends=("toy",), readable="lean", passes=("dce",))
    assert fused_lines(unfused) == [] and unfused.program.op_count == 10


def test_what_the_backend_cannot_fuse_stays_as_it_is(toy):
    g = G.Graph()
    x = G.vector(g, G.Float64, 4, name="x", value=np.arange(4.0))
    y = G.sqrt(x * 2.0 + 0.5) * 3.0 + 1.0
    z = G.vector(g, G.Float32, 4, name="z", value=np.ones(4, np.float32))
    w = z * 2.0 + 1.0  # the toy generator declines float32
    machine = G.TapeMachine(g, backends=("toy",), outputs=[y, w], readable="lean")
    machine.run_all()
    assert len(fused_lines(machine)) == 2  # mul and add, sqrt (not fusable), mul and add
    assert machine.program.op_count == 5
    np.testing.assert_allclose(y.value, np.sqrt(np.arange(4.0) * 2 + 0.5) * 3 + 1)
    np.testing.assert_allclose(w.value, np.full(4, 3.0))


def test_broadcast_inputs_and_constants_enter_the_fused_kernel(toy):
    g = G.Graph()
    x = G.matrix(g, G.Float64, (3, 4), name="x", value=np.arange(12.0).reshape(3, 4))
    b = G.vector(g, G.Float64, 4, name="b", value=np.arange(4.0))
    c = G.constant(np.array([1.0, 2.0, 3.0, 4.0]), g)
    y = G.sum(G.tanh(x * 0.01 + b) * c, axis=1)
    machine = G.TapeMachine(g, backends=("toy",), outputs=[y], readable="lean")
    machine.run_all()
    assert machine.program.op_count == 1
    expected = np.sum(np.tanh(x.value * 0.01 + b.value) * [1, 2, 3, 4], axis=1)
    np.testing.assert_allclose(y.value, expected, rtol=1e-14)


def test_the_fused_op_computes_its_steps_with_numpy():
    from gorgon_ops_core.arithmetic import Add, Mul

    steps = (Step(None, (), (), "<f8", 2.0), Step(Mul(), (0, 1), (3,), "<f8"),
             Step(Add(), (2, 0), (3,), "<f8"))
    op = FusedOp(steps=steps, backend="toy")
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(op.forward(x), [3.0, 6.0, 9.0])
    out = np.empty(3)
    assert op.forward(x, out=out) is out
    np.testing.assert_array_equal(out, [3.0, 6.0, 9.0])
    assert str(op) == "fused[toy: 2 ops: mul, add]"
    with pytest.raises(G.GorgonError, match="only the compiler"):
        op.infer()
