"""The stabilising rewrites gorgon_ops_core registers, and the rewrite engine itself."""

import numpy as np
import pytest

import gorgon as G
from gorgon.errors import GorgonError
from gorgon.node import OPERATION
from gorgon.passes.ir import Term, from_nodes
from gorgon.passes.rewrite import rewrite

X = np.array([-800.0, -1.0, 0.0, 1e-12, 3.0, 800.0])


def run(build, passes=None):
    g = G.Graph()
    x = G.vector(g, G.Float64, X.size, name="x", value=X.copy())
    y = build(x)
    options = {} if passes is None else {"passes": passes}
    machine = G.TapeMachine(g, readable="lean", **options)
    with np.errstate(all="ignore"):
        machine.run_all()
    ops = [ins.term.op.name for ins in machine.program.instructions if ins.kind == "exec"]
    return y.value.copy(), ops


@pytest.mark.parametrize("build, expected_ops, reference", [
    (lambda x: G.log(1.0 + x * 1e-9), ["mul", "log1p"], lambda v: np.log1p(v * 1e-9)),
    (lambda x: G.log(x * 1e-9 + 1.0), ["mul", "log1p"], lambda v: np.log1p(v * 1e-9)),
    (lambda x: G.exp(x * 1e-9) - 1.0, ["mul", "expm1"], lambda v: np.expm1(v * 1e-9)),
    (lambda x: G.log(1.0 + G.exp(x)), ["softplus"], lambda v: np.logaddexp(0.0, v)),
    (lambda x: G.log(G.sigmoid(x)), ["neg", "softplus", "neg"], lambda v: -np.logaddexp(0.0, -v)),
    (lambda x: G.log(1.0 - G.sigmoid(x)), ["softplus", "neg"], lambda v: -np.logaddexp(0.0, v)),
    (lambda x: -(-(x * 2.0)), ["mul"], lambda v: v * 2.0),
])
def test_rewrites_make_the_stable_form_and_keep_the_value(build, expected_ops, reference):
    value, ops = run(build)
    assert ops == expected_ops
    np.testing.assert_allclose(value, reference(X), rtol=1e-12)
    assert np.all(np.isfinite(value))


def test_without_the_rewrite_pass_the_node_is_still_built_in_its_stable_form():
    value, ops = run(lambda x: G.log(G.sigmoid(x)), passes=("fold", "cse", "dce"))
    assert ops == ["neg", "softplus", "neg"]
    np.testing.assert_allclose(value, -np.logaddexp(0.0, -X), rtol=1e-12)


def test_a_rewrite_that_does_not_apply_leaves_the_term():
    value, ops = run(lambda x: G.log(2.0 + G.abs(x)))
    assert ops == ["abs", "add", "log"]
    np.testing.assert_allclose(value, np.log(2.0 + np.abs(X)))


def test_the_engine_applies_custom_rules_and_rejects_a_rule_that_changes_the_type():
    g = G.Graph()
    x = G.vector(g, G.Float64, 3, name="x")
    y = G.square(x)
    terms, term_of = from_nodes(g.nodes)
    replaced = {}

    def square_to_mul(term, ctx):
        if ctx.is_op(term, "square"):
            return ctx.make("mul", term.inputs[0], term.inputs[0])
        return None

    out = rewrite(terms, lambda t: replaced.get(id(t), t), lambda a, b: replaced.__setitem__(id(a), b),
                  [("square_to_mul", square_to_mul)])
    assert [t.op.name for t in out if t.role == OPERATION] == ["mul"]
    assert replaced[id(term_of[y])].op.name == "mul"

    def wrong(term, ctx):
        return ctx.constant(np.zeros(2), term.dtype) if ctx.is_op(term, "square") else None

    terms, _ = from_nodes(g.nodes)
    with pytest.raises(GorgonError, match="rewrite rule 'wrong' turned square"):
        rewrite(terms, lambda t: t, lambda a, b: None, [("wrong", wrong)])


def test_term_describes_itself():
    g = G.Graph()
    x = G.matrix(g, G.Float32, (2, 3), name="x")
    terms, term_of = from_nodes(g.nodes)
    term = term_of[x]
    assert isinstance(term, Term) and term.ndim == 2 and term.size == 6
    assert "x" in repr(term) and "float32" in repr(term)


def test_the_nn_plugin_rewrites_log_of_softmax_into_log_softmax():
    g = G.Graph()
    x = G.matrix(g, G.Float64, (2, 3), name="x", value=np.array([[0.0, 1000.0, -1000.0], [1.0, 2.0, 3.0]]))
    y = G.log(G.softmax(x, axis=1))
    machine = G.TapeMachine(g, readable="lean")
    with np.errstate(all="ignore"):
        machine.run_all()
    ops = [ins.term.op for ins in machine.program.instructions if ins.kind == "exec"]
    assert [op.name for op in ops] == ["log_softmax"] and ops[0].axis == 1
    shifted = x.value - x.value.max(axis=1, keepdims=True)
    np.testing.assert_allclose(y.value, shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)))
    assert np.all(np.isfinite(y.value))


def test_summed_slice_gradients_are_added_in_place_into_one_array():
    g = G.Graph()
    z = G.matrix(g, G.Float64, (3, 8), name="z", value=np.linspace(-1, 1, 24).reshape(3, 8))
    cost = G.sum(G.sigmoid(z[:, :4]) * G.tanh(z[:, 4:]) + z[:, 2:6] ** 2.0)
    (dz,) = G.grad(cost, z)
    machine = G.TapeMachine(g)
    machine.run_all()
    ops = [ins.term.op.name for ins in machine.program.instructions if ins.kind == "exec"]
    assert ops.count("getitem_add") == 2 and ops.count("getitem_grad") == 1
    expected = dz.value.copy()
    G.TapeMachine(g, passes=()).run_all()
    np.testing.assert_allclose(dz.value, expected, rtol=1e-12)
