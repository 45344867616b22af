"""Every node user code built, and every node G.grad returned, reads its value after a
TapeMachine run by default, with every compile pass on; `readable="lean"` keeps the old,
leaner buffer reuse. The LispMachine reads the same values."""

import numpy as np
import pytest

import gorgon as G

MACHINES = {
    "tape": lambda g: G.TapeMachine(g),
    "lisp": lambda g: G.LispMachine(g),
}


def user_graph():
    """A small model whose intermediates the passes would otherwise reuse or rewrite."""
    rng = np.random.default_rng(0)
    g = G.Graph()
    x = G.matrix(g, G.Float64, (4, 3), name="x", value=rng.standard_normal((4, 3)))
    w = G.matrix(g, G.Float64, (3, 5), name="w", value=rng.standard_normal((3, 5)))
    pre = x @ w
    act = G.tanh(pre)
    shifted = 2.0 + act * act
    logged = G.log(shifted)
    cost = G.mean(logged * 0.5)
    (dw,) = G.grad(cost, w)
    return g, [pre, act, shifted, logged, cost], dw


def reference(nodes, dw):
    g = nodes[0].graph
    G.TapeMachine(g, passes=()).run_all()
    return [n.value.copy() for n in nodes], dw.value.copy()


@pytest.mark.parametrize("machine", sorted(MACHINES))
def test_the_seeds_grad_of_grad_case_reads_both_gradients(machine):
    g = G.Graph()
    x = G.vector(g, G.Float64, shape=(3,), name="x", value=np.array([0.3, -1.2, 2.0]))
    y = G.sum(G.sin(x) * x)
    (dx,) = G.grad(y, x)
    (ddx,) = G.grad(G.sum(dx), x)
    MACHINES[machine](g).run_all()
    v = x.value
    np.testing.assert_allclose(dx.value, np.cos(v) * v + np.sin(v), rtol=1e-12)
    np.testing.assert_allclose(ddx.value, 2.0 * np.cos(v) - v * np.sin(v), rtol=1e-12)


@pytest.mark.parametrize("machine", sorted(MACHINES))
def test_every_user_built_intermediate_is_readable_by_default(machine):
    g, nodes, dw = user_graph()
    expected, expected_dw = reference(nodes, dw)
    MACHINES[machine](g).run_all()
    for node, want in zip(nodes, expected):
        assert node.value is not None, node.name
        np.testing.assert_allclose(node.value, want, rtol=1e-12, err_msg=node.name)
    np.testing.assert_allclose(dw.value, expected_dw, rtol=1e-12)


def test_lean_reuses_user_buffers_and_says_how_to_read_them():
    g, nodes, dw = user_graph()
    lean = G.TapeMachine(g, readable="lean")
    lean.run_all()
    unreadable = [n for n in nodes if n in lean.program.unreadable]
    assert unreadable, "the lean option should let the passes reuse some user node's buffer"
    with pytest.raises(G.GorgonError, match=r"not kept by this TapeMachine.*readable='all'"):
        unreadable[0].value
    full = G.TapeMachine(g)
    full.run_all()
    assert not [n for n in g.nodes if n in full.program.unreadable and not n.is_grad]


def test_nodes_built_inside_grad_still_share_buffers():
    g, nodes, dw = user_graph()
    plain, _ = G.compile(g, passes=())
    full, locmap = G.compile(g)
    lean, _ = G.compile(g, readable="lean")
    allocs = [sum(ins.kind == "alloc" for ins in p.instructions) for p in (plain, full, lean)]
    assert allocs[2] <= allocs[1] < allocs[0]
    assert any(ins.flags and set(ins.flags) & {"shared", "inplace"} for ins in full.instructions)
    assert all(n in locmap for n in g.nodes if not n.is_grad and n.op is not None)


def test_a_user_node_a_rewrite_replaces_is_still_computed_and_readable():
    g = G.Graph()
    x = G.vector(g, G.Float64, 3, name="x", value=np.array([1e-12, 0.5, 2.0]))
    one_plus = 1.0 + x
    y = G.log(one_plus)
    G.TapeMachine(g).run_all()
    np.testing.assert_allclose(one_plus.value, 1.0 + x.value)
    np.testing.assert_allclose(y.value, np.log1p(x.value), rtol=1e-15)


def test_outputs_keep_the_user_nodes_they_need_readable():
    g, nodes, dw = user_graph()
    pre, act, shifted, logged, cost = nodes
    expected, _ = reference(nodes, dw)
    G.TapeMachine(g, outputs=[cost], forward_only=True).run_all()
    for node, want in zip(nodes, expected):
        np.testing.assert_allclose(node.value, want, rtol=1e-12)


def test_gradients_returned_by_several_grad_calls_on_one_wrt_stay_readable():
    g = G.Graph()
    w = G.vector(g, G.Float64, 4, name="w", value=np.linspace(-1.0, 1.0, 4))
    (d_first,) = G.grad(G.sum(G.exp(w)), w)
    (d_second,) = G.grad(G.sum(G.tanh(w) * 3.0), w)
    m = G.TapeMachine(g)
    m.run_all()
    np.testing.assert_allclose(d_first.value, np.exp(w.value))
    np.testing.assert_allclose(d_second.value, 3.0 / np.cosh(w.value) ** 2)
    m.reset()
    assert d_first.value is None and d_second.value is None


def test_readable_takes_only_all_or_lean():
    g, _, _ = user_graph()
    for bad in ("some", None, True):
        with pytest.raises(G.ArgumentValueError, match="readable must be one of"):
            G.TapeMachine(g, readable=bad)
        with pytest.raises(ValueError, match="readable must be one of"):
            G.compile(g, readable=bad)


def test_function_reads_only_its_results_so_it_compiles_lean():
    @G.function
    def double_tanh(a):
        return G.tanh(a * 2.0) + 1.0

    np.testing.assert_allclose(double_tanh(np.ones(3)), np.tanh(2.0) + 1.0)
    (traced,) = double_tanh.traces.values()
    assert traced.machine.readable == "lean"


def test_a_program_counts_its_instructions_ops_and_buffer_bytes():
    g = G.Graph()
    x = G.matrix(g, G.Float32, (8, 16), name="x", value=np.ones((8, 16), np.float32))
    G.sum(G.tanh(x) * 2.0)
    program, _ = G.compile(g, passes=())
    kinds = [ins.kind for ins in program.instructions]
    assert len(program) == len(kinds) and program.op_count == kinds.count("exec") == 3
    assert program.buffer_bytes == (8 * 16 * 2 + 1) * 4
    assert f"({program.op_count} ops)" in str(program).splitlines()[0]
