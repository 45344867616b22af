"""Constant folding, common-subexpression elimination and dead-node elimination: the
program before and after, and the same values either way."""

import numpy as np
import pytest

import gorgon as G
from gorgon.errors import GorgonError
from gorgon.passes import PASSES


def ops_in(program) -> list[str]:
    return [ins.term.op.name for ins in program.instructions if ins.kind == "exec"]


def without(name: str) -> tuple[str, ...]:
    return tuple(p for p in PASSES if p != name)


def test_cse_computes_a_repeated_subexpression_once():
    g = G.Graph()
    x = G.vector(g, G.Float64, 4, name="x", value=np.linspace(-1, 1, 4))
    y = G.tanh(x) + G.tanh(x)
    before, _ = G.compile(g, passes=without("cse"))
    after, _ = G.compile(g)
    assert ops_in(before).count("tanh") == 2
    assert ops_in(after).count("tanh") == 1
    machine = G.TapeMachine(g)
    machine.run_all()
    np.testing.assert_allclose(y.value, 2 * np.tanh(x.value))


def test_cse_never_merges_random_nodes():
    g = G.Graph()
    a = G.uniform(g, (64,), seed=1)
    b = G.uniform(g, (64,), seed=1)
    total = a + b
    program, _ = G.compile(g)
    assert ops_in(program).count("uniform") == 2
    G.TapeMachine(g).run_all()
    assert total.value.shape == (64,)


def test_fold_computes_constant_subgraphs_at_compile_time():
    g = G.Graph()
    x = G.vector(g, G.Float64, 3, name="x", value=np.ones(3))
    two = G.constant(np.array([1.0, 2.0, 3.0]), g)
    y = x * G.exp(two * 0.5)
    before, _ = G.compile(g, passes=without("fold"))
    after, _ = G.compile(g)
    assert {"exp", "mul"} <= set(ops_in(before)) and ops_in(before).count("mul") == 2
    assert ops_in(after) == ["mul"]
    G.TapeMachine(g).run_all()
    np.testing.assert_allclose(y.value, np.exp([0.5, 1.0, 1.5]))


def test_a_failing_constant_kernel_is_left_to_fail_at_run_time_with_context():
    g = G.Graph()
    x = G.vector(g, G.Float64, 2, name="x", value=np.ones(2))
    bad = G.take(G.constant(np.arange(3.0), g), np.array([5, 0]))
    y = x + bad
    program, _ = G.compile(g)
    assert "take" in ops_in(program)
    with pytest.raises(G.ExecutionError, match="take"):
        G.TapeMachine(g).run_all()
    assert y.graph is g


def test_dce_drops_what_no_output_needs_after_rewrites():
    g = G.Graph()
    x = G.vector(g, G.Float64, 3, name="x", value=np.array([1e-10, 1.0, 2.0]))
    one_plus = 1.0 + x
    y = G.log(one_plus)
    before, _ = G.compile(g, passes=without("dce"), readable="lean")
    after, _ = G.compile(g, readable="lean")
    assert "add" in ops_in(before) and "add" not in ops_in(after)
    machine = G.TapeMachine(g, readable="lean")
    machine.run_all()
    np.testing.assert_allclose(y.value, np.log1p(x.value), rtol=1e-15)
    with pytest.raises(GorgonError, match=rf"'{one_plus.name}'.*removed.*keep="):
        one_plus.value
    kept = G.TapeMachine(g, keep=[one_plus], readable="lean")
    kept.run_all()
    np.testing.assert_allclose(one_plus.value, 1.0 + x.value)


def test_unknown_pass_names_are_rejected():
    g = G.Graph()
    G.vector(g, G.Float64, 3, name="x")
    with pytest.raises(GorgonError, match="unknown compile passes.*'speedup'"):
        G.compile(g, passes=("cse", "speedup"))
    with pytest.raises(GorgonError, match="unknown compile passes"):
        G.TapeMachine(g, passes=("nope",))
