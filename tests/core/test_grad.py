"""Symbolic differentiation with G.grad: the engine's own duties (fan-out, broadcasting,
higher order, checking the rules) on top of whatever rules the ops bring."""

import numpy as np
import pytest

import gorgon as G
from gorgon.errors import GradError, NonDifferentiable
from gorgon.infer import elementwise


def run(graph: G.Graph) -> None:
    G.TapeMachine(graph).run_all()


class Floor(G.Op):
    """A float op with no gradient."""

    name = "test_floor"
    differentiable = False

    def infer(self, x):
        return elementwise(self, x)

    def forward(self, x, out=None):
        return np.floor(x, out=out)


class NoRule(Floor):
    """Claims to be differentiable but brings no rule."""

    name = "test_norule"
    differentiable = True


class Rule(G.Op):
    """`a * b` whose gradient rule is the callable `rule(inputs, gy)` given as a parameter."""

    name = "test_rule"

    def infer(self, a, b):
        return elementwise(self, a, b)

    def forward(self, a, b, out=None):
        return np.multiply(a, b, out=out)

    def vjp(self, inputs, output, gy):
        return self.rule(inputs, gy)


def test_fan_out_accumulates():
    g = G.Graph()
    x = G.vector(g, G.Float64, (3,), name="x", value=np.array([1.0, 2.0, -1.0]))
    y = x * x + x
    (dx,) = G.grad(y, x, grad_output=G.constant(np.ones(3), g))
    run(g)
    np.testing.assert_allclose(dx.value, [3.0, 5.0, -1.0])
    assert x.grad is dx.value


def test_grad_output_seeds_the_backward_pass():
    g = G.Graph()
    x = G.vector(g, G.Float64, (2,), name="x", value=np.array([1.0, 3.0]))
    seed = G.vector(g, G.Float64, (2,), name="seed", value=np.array([10.0, -1.0]))
    (dx,) = G.grad(x * x, x, grad_output=seed)
    run(g)
    np.testing.assert_allclose(dx.value, [20.0, -6.0])


def test_broadcast_gradients_sum_back_to_each_input_shape(needs_ops):
    needs_ops("sum", "reshape")
    g = G.Graph()
    m = G.matrix(g, G.Float64, (3, 1), name="m", value=np.arange(3.0).reshape(3, 1))
    v = G.vector(g, G.Float64, (2,), name="v", value=np.array([1.0, 2.0]))
    s = G.scalar(g, G.Float64, name="s", value=2.0)
    cost = G.sum((m + v) * s)
    dm, dv, ds = G.grad(cost, m, v, s)
    assert (dm.shape, dv.shape, ds.shape) == ((3, 1), (2,), ())
    run(g)
    np.testing.assert_allclose(dm.value, [[4.0], [4.0], [4.0]])
    np.testing.assert_allclose(dv.value, [6.0, 6.0])
    assert ds.value == pytest.approx(float(np.sum(np.arange(3.0).reshape(3, 1) + [1.0, 2.0])))


def test_gradients_of_gradients():
    g = G.Graph()
    x = G.scalar(g, G.Float64, name="x", value=3.0)
    (dx,) = G.grad(x ** 3.0, x)
    (ddx,) = G.grad(dx, x)
    (dddx,) = G.grad(ddx, x)
    run(g)
    assert (dx.value, ddx.value, dddx.value) == (27.0, 18.0, 6.0)


def test_unreachable_wrt_is_an_error_or_zeros_when_allowed():
    g = G.Graph()
    x = G.vector(g, G.Float64, (2,), name="x", value=np.ones(2))
    unused = G.matrix(g, G.Float32, (2, 2), name="unused")
    cost = G.exp(G.scalar(g, G.Float64, name="s", value=0.0)) + 0.0
    with pytest.raises(GradError, match="does not depend on 'unused'.*allow_unused"):
        G.grad(cost, unused)
    dx, dunused = G.grad(cost, x, unused, allow_unused=True)
    assert (dunused.shape, dunused.dtype) == ((2, 2), G.Float32)
    np.testing.assert_array_equal(dunused.value, np.zeros((2, 2), np.float32))
    np.testing.assert_array_equal(dx.value, np.zeros(2))


def test_a_gradient_flowing_only_through_integers_is_unreachable():
    g = G.Graph()
    x = G.scalar(g, G.Float64, name="x", value=1.5)
    cost = G.cast(G.cast(x, G.Int64), G.Float64) * 2.0
    with pytest.raises(GradError, match="does not depend on 'x'"):
        G.grad(cost, x)


@pytest.mark.parametrize("call, error, pattern", [
    (lambda x, v, i, c: G.grad(v * 2.0, x, allow_unused=True), GradError, "must be a scalar"),
    (lambda x, v, i, c: G.grad(x, i), GradError, "not a float"),
    (lambda x, v, i, c: G.grad(i + 1, x), GradError, "must be a float"),
    (lambda x, v, i, c: G.grad(x), GradError, "at least one node"),
    (lambda x, v, i, c: G.grad(np.ones(()), x), TypeError, "cost must be a node"),
    (lambda x, v, i, c: G.grad(x, "x"), TypeError, "wrt must be nodes"),
    (lambda x, v, i, c: G.grad(x, c), GradError, "another graph"),
    (lambda x, v, i, c: G.grad(v, v, grad_output=np.ones(2)), GradError, "grad_output must be a node"),
    (lambda x, v, i, c: G.grad(v, v, grad_output=x), GradError, "must match cost"),
])
def test_bad_grad_calls(call, error, pattern):
    g = G.Graph()
    x = G.scalar(g, G.Float64, name="x")
    v = G.vector(g, G.Float64, (2,), name="v")
    i = G.scalar(g, G.Int64, name="i")
    other = G.scalar(G.Graph(), G.Float64, name="other")
    with pytest.raises(error, match=pattern):
        call(x, v, i, other)


def test_differentiating_through_a_non_differentiable_op_names_it():
    g = G.Graph()
    x = G.scalar(g, G.Float64, name="x")
    floored = G.apply(Floor(), x)
    with pytest.raises(NonDifferentiable, match=r"'test_floor\d+'.*test_floor.*built at .*test_grad.py"):
        G.grad(floored * x, x)
    with pytest.raises(NonDifferentiable, match="op test_norule has no gradient"):
        G.grad(G.apply(NoRule(), x), x)


def test_non_differentiable_ops_off_the_path_do_not_matter():
    g = G.Graph()
    x = G.scalar(g, G.Float64, name="x", value=2.0)
    y = G.scalar(g, G.Float64, name="y", value=0.5)
    (dx,) = G.grad(x * G.apply(Floor(), y) + x * G.where(G.gt(y, 0.0), y, 0.0), x)
    run(g)
    assert dx.value == 0.5


@pytest.mark.parametrize("rule, pattern", [
    (lambda inputs, gy: (G.cast(gy, G.Float32), None), "returned dtype float32, expected float64"),
    (lambda inputs, gy: (G.constant(np.ones(3), gy.graph), None), r"returned shape \(3,\)"),
    (lambda inputs, gy: (1.0, None), "returned float, not a node"),
    (lambda inputs, gy: (gy,), "returned 1 gradients for 2 inputs"),
])
def test_a_wrong_gradient_rule_is_blamed_by_op_name(rule, pattern):
    g = G.Graph()
    a = G.vector(g, G.Float64, (2,), name="a")
    y = G.apply(Rule(rule=rule), a, 2.0)
    with pytest.raises(GradError, match=f"test_rule.*{pattern}"):
        G.grad(y, a, grad_output=G.constant(np.ones(2), g))


def test_a_rule_returning_a_broadcast_gradient_is_summed_back(needs_ops):
    needs_ops("sum", "broadcast_to")
    g = G.Graph()
    a = G.vector(g, G.Float64, (2,), name="a", value=np.ones(2))
    y = G.apply(Rule(rule=lambda inputs, gy: (G.broadcast_to(gy, (3, 2)), None)), a, 2.0)
    (da,) = G.grad(y, a, grad_output=G.constant(np.ones(2), g))
    run(g)
    np.testing.assert_allclose(da.value, [3.0, 3.0])


def test_lazy_rule_entries_are_built_only_for_inputs_that_need_them():
    built = []

    def rule(inputs, gy):
        a, b = inputs
        return (lambda: built.append("a") or gy * b), (lambda: built.append("b") or gy * a)

    g = G.Graph()
    a = G.scalar(g, G.Float64, name="a", value=3.0)
    b = G.scalar(g, G.Float64, name="b", value=4.0)
    y = G.apply(Rule(rule=rule), a, b)
    (da,) = G.grad(y, a)
    assert built == ["a"]
    G.grad(y, b)
    assert built == ["a", "b"]
    run(g)
    assert da.value == 4.0
