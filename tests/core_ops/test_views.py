"""Basic slices on the TapeMachine are views of their base's buffer (the `view` pass), as
numpy's are, and the buffer passes treat a view as a use of its base: no op writes in
place over a base a live view reads, no later term reuses its buffer, and a readable view
keeps its base."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gorgon as G
from gorgon import Op, TensorType

rng = np.random.default_rng(5)


def machine(g, **options):
    m = G.TapeMachine(g, **options)
    m.run_all()
    return m


def flags_of(m, node):
    return [ins.flags for ins in m.program.instructions if ins.term.node is node][0]


def test_a_slice_reads_its_base_without_a_copy():
    xv = rng.standard_normal((4, 5))
    g = G.Graph()
    x = G.matrix(g, G.Float64, (4, 5), name="x", value=xv)
    h = G.tanh(x)
    v = h[1:3, ::2]
    w = x[0]
    pieces = G.split(h, [1, 3], axis=1)
    m = machine(g)
    assert "view" in flags_of(m, v) and "view" in flags_of(m, pieces[1])
    assert np.shares_memory(v.value, h.value) and np.shares_memory(w.value, xv)
    assert np.shares_memory(pieces[2].value, h.value)
    np.testing.assert_array_equal(v.value, np.tanh(xv)[1:3, ::2])
    np.testing.assert_array_equal(pieces[1].value, np.tanh(xv)[:, 1:3])
    allocs = [ins for ins in m.program.instructions if ins.kind == "alloc"]
    assert [ins.term.node for ins in allocs] == [h]
    assert "getitem[1:3, ::2]" in str(m.program) and "[view]" in str(m.program)


def test_a_scalar_slice_is_a_zero_dimensional_view():
    g = G.Graph()
    x = G.vector(g, G.Float64, 3, name="x", value=np.arange(3.0))
    y = G.exp(x)[2]
    machine(g)
    assert y.value.shape == () and y.value == np.exp(2.0)


def test_without_the_view_pass_slices_are_copies():
    xv = rng.standard_normal((4, 5))
    g = G.Graph()
    x = G.matrix(g, G.Float64, (4, 5), name="x", value=xv)
    h = G.tanh(x)
    v = h[1:3]
    passes = [p for p in G.TapeMachine(g).passes if p != "view"]
    machine(g, passes=passes)
    assert not np.shares_memory(v.value, h.value)
    np.testing.assert_array_equal(v.value, np.tanh(xv)[1:3])


def test_an_advanced_index_is_computed_not_viewed():
    g = G.Graph()
    x = G.matrix(g, G.Float64, (4, 5), name="x", value=rng.standard_normal((4, 5)))
    h = G.tanh(x)
    y = h[[0, 0, 1]]
    m = machine(g)
    assert "view" not in flags_of(m, y) and not np.shares_memory(y.value, h.value)


def lean_and_reference(build, shape=(4, 6)):
    """The value of `build(x)`'s result on a lean TapeMachine (every pass free to reuse)
    and on one compiled without passes."""
    xv = rng.standard_normal(shape)
    results = []
    for options in ({"readable": "lean"}, {"passes": ()}):
        g = G.Graph()
        x = G.matrix(g, G.Float64, shape, name="x", value=xv)
        out = build(x)
        machine(g, outputs=[out], **options)
        results.append(out.value.copy())
    return results


@pytest.mark.parametrize("build", [
    # neg could write over a in place at a's last direct use, but the view v reads a later
    lambda x: (lambda a: G.neg(a)[:2] + a[2:] * 2.0)(G.exp(x)),
    lambda x: (lambda a: (lambda v: G.sum(G.neg(a)) + G.sum(v))(a[:, 1:3]))(G.exp(x)),
    # an elementwise op must not write in place over a while reading a view of a
    lambda x: (lambda a: a + a[::-1])(G.exp(x)),
    lambda x: (lambda a: a[::-1] + a)(G.exp(x)),
    lambda x: (lambda a: G.relu(a[::-1, ::-1]) * a)(G.sin(x)),
    # a's buffer must not be shared with sin(x) while the view of a lives
    lambda x: (lambda a, v: G.sin(x) * 3.0 + G.sum(v))(*(lambda a: (a, a[1:, :2]))(G.exp(x))),
    # views of views
    lambda x: (lambda a: G.neg(a)[1:][::2] + a[1:][::2][:, ::-1])(G.exp(x)),
    # getitem_add over a base that a view reads
    lambda x: (lambda a: G.getitem_add(a, a[1:2] * 1.0, (slice(0, 1),)) + a)(G.exp(x)),
])
def test_buffer_passes_respect_views(build):
    lean, reference = lean_and_reference(build)
    np.testing.assert_allclose(lean, reference, rtol=1e-12)


def test_a_readable_view_keeps_its_base_buffer():
    xv = rng.standard_normal((4, 6))
    g = G.Graph()
    x = G.matrix(g, G.Float64, (4, 6), name="x", value=xv)
    a = G.exp(x)
    v = G.getitem(a, (slice(1, 3),), name="v")
    out = G.sum(G.neg(a)) + G.sum(G.sin(x))
    m = machine(g, readable="lean")
    np.testing.assert_allclose(v.value, np.exp(xv)[1:3])
    np.testing.assert_allclose(out.value, -np.exp(xv).sum() + np.sin(xv).sum())
    assert "inplace" not in flags_of(m, out.inputs[0].inputs[0])


def test_a_view_whose_base_is_reused_says_so():
    g = G.Graph()
    x = G.matrix(g, G.Float64, (4, 6), name="x", value=rng.standard_normal((4, 6)))
    a = G.exp(x)
    v = a[1:3]
    total = G.sum(v)
    G.sum(G.neg(a) + total)
    m = machine(g, readable="lean")
    assert "inplace" in flags_of(m, g.nodes[-3])
    with pytest.raises(G.GorgonError, match="which it views"):
        v.value


def test_a_view_of_an_input_follows_its_binding():
    g = G.Graph()
    x = G.vector(g, G.Float64, 4, name="x", value=np.arange(4.0))
    v = x[1:3]
    m = machine(g)
    np.testing.assert_array_equal(v.value, [1.0, 2.0])
    G.let(x, np.arange(4.0) * 10)
    m.run_all()
    np.testing.assert_array_equal(v.value, [10.0, 20.0])


class Bump(Op):
    """A test op that updates its first input in place (as running statistics are)."""

    name = "test_bump"
    updates = (0,)

    def infer(self, x, y):
        return TensorType(y.shape, y.dtype)

    def forward(self, x, y, out=None):
        x += 1.0
        out = np.empty(y.shape, y.dtype) if out is None else out
        np.copyto(out, y)
        return out


def test_an_updated_array_is_never_viewed():
    g = G.Graph()
    state = G.vector(g, G.Float64, 3, name="state", value=np.zeros(3))
    before = state[0:2]
    after = G.apply(Bump(), state, before)
    m = machine(g)
    assert "view" not in flags_of(m, before)
    np.testing.assert_array_equal(after.value, [0.0, 0.0])
    np.testing.assert_array_equal(state.value, [1.0, 1.0, 1.0])


def test_gradients_through_views_on_both_machines():
    xv = rng.standard_normal((4, 6))
    g = G.Graph()
    x = G.matrix(g, G.Float64, (4, 6), name="x", value=xv)
    a = G.tanh(x)
    gates = G.split(a, 3, axis=1)
    cost = G.sum(G.sigmoid(gates[0]) * G.tanh(gates[1]) + gates[2][:, ::-1] * a[:, :2])
    (dx,) = G.grad(cost, x)
    machine(g, readable="lean")
    tape = dx.value.copy()
    machine(g, passes=())
    np.testing.assert_allclose(tape, dx.value, rtol=1e-12)
    G.LispMachine(g).run_all()
    np.testing.assert_allclose(tape, dx.value, rtol=1e-12)


class CopyingView(Op):
    """Declares a view but copies: the kit must refuse it."""

    name = "test_copying_view"
    is_view = True

    def infer(self, x):
        return TensorType(x.shape, x.dtype)

    def forward(self, x, out=None):
        return np.copy(x) if out is None else np.copyto(out, x) or out

    def view(self, x):
        return x.copy()

    def vjp(self, inputs, output, gy):
        return (gy,)


def test_the_kit_refuses_a_view_that_copies():
    from gorgon.testing import ConformanceError, Sample, check_op

    with pytest.raises(ConformanceError, match="does not share its first input's memory"):
        check_op(CopyingView, samples=[Sample(rng.standard_normal((2, 3)))], checks=["out_kernel"])


REVERSALS = [(slice(None, None, -1),), (slice(None), slice(None, None, -1)), (slice(None, None, -1),) * 2]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["view", "neg", "tanh", "add", "mul", "scatter"]),
                          st.integers(0, 100), st.integers(0, 100), st.integers(0, 2)),
                min_size=1, max_size=14),
       st.lists(st.integers(0, 100), min_size=1, max_size=4))
def test_random_graphs_of_views_and_in_place_ops_agree_with_no_passes(steps, outputs):
    xv = rng.standard_normal((6, 6))
    results = []
    for options in ({"readable": "lean"}, {}, {"passes": ()}):
        g = G.Graph()
        nodes = [G.matrix(g, G.Float64, (6, 6), name="x", value=xv)]
        for kind, i, j, k in steps:
            a, b = nodes[i % len(nodes)], nodes[j % len(nodes)]
            if kind == "view":
                nodes.append(a[REVERSALS[k]])
            elif kind in ("neg", "tanh"):
                nodes.append(getattr(G, kind)(a))
            elif kind == "scatter":
                nodes.append(G.getitem_add(a, b[k:k + 2] * 0.5, (slice(0, 2),)))
            else:
                nodes.append(getattr(G, kind)(a, b))
        out = G.sum(G.stack([nodes[o % len(nodes)] for o in outputs]))
        machine(g, outputs=[out], **options)
        results.append(out.value.copy())
    np.testing.assert_allclose(results[0], results[2], rtol=1e-12)
    np.testing.assert_allclose(results[1], results[2], rtol=1e-12)
