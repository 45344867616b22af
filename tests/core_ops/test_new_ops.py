"""The ops added for issue 11 item 4, against numpy (values) and PyTorch (gradients), on
both machines; the conformance kit covers finite differences and second order."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gorgon as G

rng = np.random.default_rng(11)


def evaluate(build, *values, wrt=True):
    """(value, gradients of sum(out * W)) of `build(*nodes)` on the TapeMachine, checked
    equal on the LispMachine; W is returned too."""
    g = G.Graph()
    nodes = [G.tensor(g, v.dtype, v.shape, name=f"x{i}", value=v) for i, v in enumerate(values)]
    out = build(*nodes)
    floats = [n for n in nodes if n.dtype.kind == "f"] if wrt else []
    weights = rng.standard_normal(out.shape)
    grads = G.grad(G.sum(out * weights), *floats) if floats else []
    G.TapeMachine(g).run_all()
    value, tape_grads = out.value.copy(), [d.value.copy() for d in grads]
    G.LispMachine(g).run_all()
    np.testing.assert_allclose(out.value, value, rtol=1e-12)
    for d, t in zip(grads, tape_grads):
        np.testing.assert_allclose(d.value, t, rtol=1e-12)
    return value, tape_grads, weights


def torch_grads(fn, values, weights):
    torch = pytest.importorskip("torch")
    tensors = [torch.tensor(v, requires_grad=v.dtype.kind == "f") for v in values]
    out = fn(torch, *tensors)
    (out * torch.tensor(weights)).sum().backward()
    return out.detach().numpy(), [t.grad.numpy() for t in tensors if t.requires_grad]


EINSUMS = [
    ("ij,jk->ik", [(3, 4), (4, 2)]), ("ij,jk", [(3, 4), (4, 2)]), ("ii->i", [(3, 3)]), ("ii", [(3, 3)]),
    ("iij,jk->ik", [(2, 2, 3), (3, 4)]), ("...ij,...jk->...ik", [(2, 3, 4), (4, 5)]),
    ("ba,ca", [(3, 4), (2, 4)]), ("Ab,bC", [(2, 3), (3, 4)]), ("ijk->", [(2, 3, 4)]),
    ("bi,bj->bij", [(2, 3), (2, 4)]), ("i...,i->...", [(3, 2, 2), (3,)]),
]


@pytest.mark.parametrize("subscripts, shapes", EINSUMS)
def test_einsum_against_numpy_and_torch(subscripts, shapes):
    values = [rng.standard_normal(s) for s in shapes]
    value, grads, weights = evaluate(lambda *xs: G.einsum(subscripts, *xs), *values)
    np.testing.assert_allclose(value, np.einsum(subscripts, *values), rtol=1e-12)
    expected, torch_g = torch_grads(lambda t, *xs: t.einsum(subscripts, *xs), values, weights)
    np.testing.assert_allclose(value, expected, rtol=1e-10)
    for mine, theirs in zip(grads, torch_g):
        np.testing.assert_allclose(mine, theirs, rtol=1e-10)


@pytest.mark.parametrize("shapes, axes", [
    ([(3, 4, 5), (4, 5, 2)], 2), ([(3, 4), (4, 2)], 1), ([(3,), (4,)], 0),
    ([(3, 4, 5), (5, 3, 2)], ([0, 2], [1, 0])),
])
def test_tensordot_against_numpy_and_torch(shapes, axes):
    values = [rng.standard_normal(s) for s in shapes]
    value, grads, weights = evaluate(lambda a, b: G.tensordot(a, b, axes), *values)
    np.testing.assert_allclose(value, np.tensordot(*values, axes), rtol=1e-12)
    _, torch_g = torch_grads(lambda t, a, b: t.tensordot(a, b, dims=axes), values, weights)
    for mine, theirs in zip(grads, torch_g):
        np.testing.assert_allclose(mine, theirs, rtol=1e-10)


def test_split_returns_one_node_per_piece_and_the_gradient_puts_each_back():
    xv = rng.standard_normal((2, 7))
    g = G.Graph()
    x = G.matrix(g, G.Float64, (2, 7), name="x", value=xv)
    pieces = G.split(x, [2, 5], axis=1)
    assert [p.shape for p in pieces] == [(2, 2), (2, 3), (2, 2)]
    cost = G.sum(pieces[0]) + 2.0 * G.sum(pieces[2])
    (dx,) = G.grad(cost, x)
    G.TapeMachine(g).run_all()
    for piece, expected in zip(pieces, np.split(xv, [2, 5], axis=1)):
        np.testing.assert_array_equal(piece.value, expected)
    np.testing.assert_array_equal(dx.value, np.repeat([[1.0, 1, 0, 0, 0, 2, 2]], 2, axis=0))
    assert len(G.split(x, 2, axis=0)) == 2
    assert [p.name for p in G.split(x, 7, axis=1, name="col")][:2] == ["col_0", "col_1"]


@pytest.mark.parametrize("build, reference, torch_fn", [
    (lambda x: G.repeat(x, [2, 0, 3, 1], axis=1), lambda v: np.repeat(v, [2, 0, 3, 1], axis=1),
     lambda t, x: t.repeat_interleave(x, t.tensor([2, 0, 3, 1]), dim=1)),
    (lambda x: G.repeat(x, 2), lambda v: np.repeat(v, 2), lambda t, x: t.repeat_interleave(x.flatten(), 2)),
    (lambda x: G.tile(x, (2, 1, 3)), lambda v: np.tile(v, (2, 1, 3)), lambda t, x: t.tile(x, (2, 1, 3))),
    (lambda x: G.pad(x, ((1, 2), (3, 0)), value=0.5), lambda v: np.pad(v, ((1, 2), (3, 0)), constant_values=0.5),
     lambda t, x: t.nn.functional.pad(x, (3, 0, 1, 2), value=0.5)),
    (lambda x: G.pad(x, ((1, 1), (2, 2)), mode="reflect"), lambda v: np.pad(v, ((1, 1), (2, 2)), mode="reflect"),
     lambda t, x: t.nn.functional.pad(x[None], (2, 2, 1, 1), mode="reflect")[0]),
    (lambda x: G.pad(x, ((2, 1), (1, 3)), mode="edge"), lambda v: np.pad(v, ((2, 1), (1, 3)), mode="edge"),
     lambda t, x: t.nn.functional.pad(x[None], (1, 3, 2, 1), mode="replicate")[0]),
    (lambda x: G.cumsum(x, axis=1), lambda v: np.cumsum(v, axis=1), lambda t, x: t.cumsum(x, 1)),
    (lambda x: G.cumsum(x, axis=0, reverse=True), lambda v: np.flip(np.cumsum(np.flip(v, 0), 0), 0),
     lambda t, x: t.flip(t.cumsum(t.flip(x, (0,)), 0), (0,))),
    (lambda x: G.cumprod(x, axis=1), lambda v: np.cumprod(v, axis=1), lambda t, x: t.cumprod(x, 1)),
    (lambda x: G.trace(x), lambda v: np.trace(v), lambda t, x: t.trace(x)),
    (lambda x: G.diag(x, 1), lambda v: np.diag(v, 1), lambda t, x: t.diag(x, 1)),
    (lambda x: G.sort(x, axis=1, descending=True), lambda v: -np.sort(-v, axis=1),
     lambda t, x: t.sort(x, 1, descending=True).values),
    (lambda x: G.topk(x, 2, axis=0), lambda v: -np.sort(-v, axis=0)[:2],
     lambda t, x: t.topk(x, 2, dim=0).values),
    (lambda x: G.topk(x, 2, largest=False), lambda v: np.sort(v, axis=-1)[:, :2],
     lambda t, x: t.topk(x, 2, largest=False).values),
    (lambda x: G.norm(x), lambda v: np.linalg.norm(v), lambda t, x: t.linalg.norm(x)),
    (lambda x: G.norm(x, 1), lambda v: np.linalg.norm(v, 1), lambda t, x: t.linalg.matrix_norm(x, 1)),
    (lambda x: G.norm(x, np.inf, axis=1), lambda v: np.linalg.norm(v, np.inf, axis=1),
     lambda t, x: t.linalg.vector_norm(x, float("inf"), dim=1)),
    (lambda x: G.norm(x, 2), lambda v: np.linalg.norm(v, 2), lambda t, x: t.linalg.matrix_norm(x, 2)),
    (lambda x: G.norm(x, -1), lambda v: np.linalg.norm(v, -1), lambda t, x: t.linalg.matrix_norm(x, -1)),
    (lambda x: G.norm(x, np.inf), lambda v: np.linalg.norm(v, np.inf),
     lambda t, x: t.linalg.matrix_norm(x, float("inf"))),
    (lambda x: G.norm(x, -np.inf, keepdims=True), lambda v: np.linalg.norm(v, -np.inf, keepdims=True),
     lambda t, x: t.linalg.matrix_norm(x, float("-inf"), keepdim=True)),
    (lambda x: G.norm(x, 3, axis=0), lambda v: np.linalg.norm(v, 3, axis=0),
     lambda t, x: t.linalg.vector_norm(x, 3, dim=0)),
    (lambda x: G.norm(x, -np.inf, axis=-1), lambda v: np.linalg.norm(v, -np.inf, axis=-1),
     lambda t, x: t.linalg.vector_norm(x, float("-inf"), dim=-1)),
    (lambda x: G.pad(x, ((2, 1), (3, 3)), mode="wrap"), lambda v: np.pad(v, ((2, 1), (3, 3)), mode="wrap"),
     lambda t, x: t.nn.functional.pad(x[None], (3, 3, 2, 1), mode="circular")[0]),
    (lambda x: G.norm(x, "nuc"), lambda v: np.linalg.norm(v, "nuc"), lambda t, x: t.linalg.matrix_norm(x, "nuc")),
    (lambda x: G.log2(G.abs(x) + 1.0), lambda v: np.log2(np.abs(v) + 1), lambda t, x: t.log2(x.abs() + 1)),
    (lambda x: G.log10(G.abs(x) + 1.0), lambda v: np.log10(np.abs(v) + 1), lambda t, x: t.log10(x.abs() + 1)),
    (lambda x: G.exp2(x), np.exp2, lambda t, x: t.exp2(x)),
])
def test_against_numpy_and_torch(build, reference, torch_fn):
    xv = rng.standard_normal((3, 4))
    value, (dx,), weights = evaluate(build, xv)
    np.testing.assert_allclose(value, reference(xv), rtol=1e-12)
    expected, (torch_dx,) = torch_grads(torch_fn, [xv], weights)
    np.testing.assert_allclose(value, expected, rtol=1e-10)
    np.testing.assert_allclose(dx, torch_dx, rtol=1e-9, atol=1e-12)


def test_diag_of_a_vector_and_of_a_wide_matrix():
    v, m = rng.standard_normal(3), rng.standard_normal((3, 5))
    for build, value, reference in [(lambda x: G.diag(x, -2), v, np.diag(v, -2)),
                                    (lambda x: G.diag(x, 2), m, np.diag(m, 2))]:
        out, (dx,), weights = evaluate(build, value)
        np.testing.assert_array_equal(out, reference)
        expected = np.diag(weights, -2) if value.ndim == 1 else np.zeros_like(m)
        if value.ndim == 2:
            expected[np.arange(3), np.arange(2, 5)] = weights
        np.testing.assert_allclose(dx, expected)


def test_cumprod_gradient_with_zeros_matches_torch():
    xv = np.array([[2.0, 0.0, 3.0, 0.0, 5.0], [1.5, -2.0, 0.0, 4.0, 1.0]])
    for reverse in (False, True):
        value, (dx,), weights = evaluate(lambda x: G.cumprod(x, axis=1, reverse=reverse), xv)
        flip = (lambda t, x: t.flip(t.cumprod(t.flip(x, (1,)), 1), (1,))) if reverse else \
            (lambda t, x: t.cumprod(x, 1))
        expected, (torch_dx,) = torch_grads(flip, [xv], weights)
        np.testing.assert_allclose(value, expected)
        np.testing.assert_allclose(dx, torch_dx, rtol=1e-12)
        assert np.all(np.isfinite(dx))


def test_gather_and_scatter_add_against_torch():
    xv, srcv = rng.standard_normal((3, 4)), rng.standard_normal((3, 2))
    index = np.array([[0, 0], [3, 1], [2, 2]])
    value, (dx,), weights = evaluate(lambda x: G.gather(x, 1, index), xv)
    expected, (torch_dx,) = torch_grads(lambda t, x: t.gather(x, 1, t.tensor(index)), [xv], weights)
    np.testing.assert_allclose(value, expected)
    np.testing.assert_allclose(dx, torch_dx)
    value, grads, weights = evaluate(lambda x, s: G.scatter_add(x, 1, index, s), xv, srcv)
    expected, torch_g = torch_grads(lambda t, x, s: x.scatter_add(1, t.tensor(index), s), [xv, srcv], weights)
    np.testing.assert_allclose(value, expected)
    for mine, theirs in zip(grads, torch_g):
        np.testing.assert_allclose(mine, theirs)


def test_argsort_and_topk_indices_are_stable():
    xv = np.array([[1.0, 3.0, 3.0, 2.0, 3.0]])
    value, _, _ = evaluate(lambda x: G.argsort(x, descending=True), xv, wrt=False)
    np.testing.assert_array_equal(value, [[1, 2, 4, 3, 0]])
    value, _, _ = evaluate(lambda x: G.argsort(x), xv, wrt=False)
    np.testing.assert_array_equal(value, np.argsort(xv, kind="stable"))
    value, _, _ = evaluate(lambda x: G.topk_indices(x, 2), xv, wrt=False)
    np.testing.assert_array_equal(value, [[1, 2]])


def test_rounding_has_values_but_no_gradient():
    xv = np.array([-1.5, -0.5, 0.5, 1.49, 2.5])
    for name, reference in [("ceil", np.ceil), ("floor", np.floor), ("round", np.round)]:
        value, _, _ = evaluate(getattr(G, name), xv, wrt=False)
        np.testing.assert_array_equal(value, reference(xv))
        g = G.Graph()
        x = G.vector(g, G.Float64, 5, name="x")
        with pytest.raises(G.NonDifferentiable):
            G.grad(G.sum(getattr(G, name)(x)), x)


@st.composite
def einsum_cases(draw):
    """Random subscripts over letters a-e (repeats within an operand allowed), one to
    three operands, implicit or explicit output, sometimes an ellipsis; with shapes."""
    sizes = {c: draw(st.integers(1, 3)) for c in "abcde"}
    ellipsis = draw(st.lists(st.integers(1, 3), max_size=2)) if draw(st.booleans()) else None
    terms, shapes = [], []
    for _ in range(draw(st.integers(1, 3))):
        letters = draw(st.lists(st.sampled_from("abcde"), max_size=3))
        with_ellipsis = ellipsis is not None and draw(st.booleans())
        own = ellipsis[len(ellipsis) - draw(st.integers(0, len(ellipsis))):] if with_ellipsis else []
        terms.append(("..." if with_ellipsis else "") + "".join(letters))
        shapes.append(tuple(own) + tuple(sizes[c] for c in letters))
    used = sorted(set("".join(terms)) - {"."})
    if draw(st.booleans()):
        return ",".join(terms), shapes
    output = draw(st.lists(st.sampled_from(used), unique=True)) if used else []
    dots = "..." if any("..." in t for t in terms) else ""
    return ",".join(terms) + "->" + dots + "".join(draw(st.permutations(output))), shapes


@settings(max_examples=40, deadline=None)
@given(einsum_cases())
def test_random_einsums_against_numpy_and_torch(case):
    subscripts, shapes = case
    values = [rng.standard_normal(s) for s in shapes]
    value, grads, weights = evaluate(lambda *xs: G.einsum(subscripts, *xs), *values)
    np.testing.assert_allclose(value, np.einsum(subscripts, *values), rtol=1e-10, atol=1e-12)
    expected, torch_g = torch_grads(lambda t, *xs: t.einsum(subscripts, *xs), values, weights)
    np.testing.assert_allclose(value, expected, rtol=1e-10, atol=1e-12)
    for mine, theirs in zip(grads, torch_g):
        np.testing.assert_allclose(mine, theirs, rtol=1e-10, atol=1e-12)
