"""`node[...]` follows numpy: values and gradients against numpy (hypothesis-generated
index expressions over random shapes), finite differences, PyTorch, both machines, and
the build-time errors."""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gorgon as G
from gorgon.testing import Sample, check_op

rng = np.random.default_rng(7)


@st.composite
def indexed(draw):
    """A random shape and a numpy index expression valid for it: an item per axis (ints,
    slices, integer arrays, masks over several axes), then either a run of items made one
    ellipsis or the list cut short, and Nones inserted."""
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=4)))
    items, axis = [], 0
    while axis < len(shape):
        kind = draw(st.sampled_from(["int", "slice", "array", "mask"]))
        size = shape[axis]
        span = 1
        if kind == "int":
            items.append(draw(st.integers(-size, size - 1)))
        elif kind == "slice":
            bound = st.none() | st.integers(-size - 1, size + 1)
            items.append(slice(draw(bound), draw(bound), draw(st.sampled_from([None, 1, 2, 3, -1, -2]))))
        elif kind == "array":
            dims = draw(st.lists(st.integers(1, 3), min_size=1, max_size=2))
            values = draw(st.lists(st.integers(-size, size - 1), min_size=int(np.prod(dims)),
                                   max_size=int(np.prod(dims))))
            items.append(np.array(values).reshape(dims))
        else:
            span = draw(st.integers(1, len(shape) - axis))
            count = int(np.prod(shape[axis:axis + span]))
            mask = np.array(draw(st.lists(st.booleans(), min_size=count, max_size=count)))
            items.append(mask.reshape(shape[axis:axis + span]))
        axis += span
    if draw(st.booleans()):
        start = draw(st.integers(0, len(items)))
        items[start:draw(st.integers(start, len(items)))] = [Ellipsis]
    else:
        items = items[:draw(st.integers(0, len(items)))]
    for _ in range(draw(st.integers(0, 2))):
        items.insert(draw(st.integers(0, len(items))), None)
    return shape, tuple(items)


def scatter(shape, index, g):
    expected = np.zeros(shape)
    np.add.at(expected, index, g)
    return expected


def run_both(graph, nodes):
    G.TapeMachine(graph).run_all()
    tape = [n.value.copy() for n in nodes]
    G.LispMachine(graph).run_all()
    return tape, [n.value.copy() for n in nodes]


@settings(max_examples=60, deadline=None)
@given(indexed())
def test_values_and_gradients_follow_numpy(case):
    shape, index = case
    xv = rng.standard_normal(shape)
    g = G.Graph()
    x = G.tensor(g, G.Float64, shape=shape, name="x", value=xv)
    try:
        expected = xv[index]
    except IndexError as exc:  # arrays that do not broadcast together: numpy's message, at build
        with pytest.raises(G.ShapeError, match=re.escape(str(exc).split(" with shapes")[0])):
            x[index]
        return
    y = x[index]
    assert y.shape == expected.shape
    weights = rng.standard_normal(expected.shape)
    (dx,) = G.grad(G.sum(y * weights), x)
    tape, lisp = run_both(g, [y, dx])
    for values in (tape, lisp):
        np.testing.assert_allclose(values[0], expected)
        np.testing.assert_allclose(values[1], scatter(shape, index, weights))


CASES = [
    ((4, 5, 6), ([0, 1, 2], slice(None), slice(None))),
    ((4, 5, 6), (3, slice(2, None), [1, 3])),
    ((4, 5, 6), ([1, 1, 3], slice(None), [0, 5, 5])),
    ((4, 5, 6), (slice(None, None, -2), [[0, 4], [4, 4]], None)),
    ((4, 5, 6), (Ellipsis, [-1, 0, -1])),
    ((3, 4), (np.array([[True, False, True, True]] * 3),)),
]


@pytest.mark.parametrize("shape, index", CASES)
def test_gradients_against_finite_differences_and_second_order(shape, index):
    sample = Sample(rng.standard_normal(shape), index, label=str(index))
    check_op("getitem", samples=[sample], checks=["gradient", "second_order", "lisp_agrees", "float32",
                                                  "out_kernel", "inference"])


# x[3, 2:, [1, 3]]: numpy counts the int as an advanced index (advanced axes first), torch
# as a basic one, so the shapes differ; numpy is the reference there.
TORCH_CASES = CASES[:1] + CASES[2:]


@pytest.mark.parametrize("shape, index", TORCH_CASES)
def test_gradients_against_torch(shape, index):
    torch = pytest.importorskip("torch")
    xv = rng.standard_normal(shape)
    xt = torch.tensor(xv, requires_grad=True)
    torch_index = tuple(torch.tensor(i) if isinstance(i, (list, np.ndarray)) else i for i in index)
    if any(isinstance(i, slice) and (i.step or 1) < 0 for i in index):
        flipped = xt.flip(0)
        torch_index = (slice(None, None, 2),) + torch_index[1:]
        yt = flipped[torch_index]
    else:
        yt = xt[torch_index]
    weights = rng.standard_normal(tuple(yt.shape))
    (yt * torch.tensor(weights)).sum().backward()
    g = G.Graph()
    x = G.tensor(g, G.Float64, shape=shape, name="x", value=xv)
    y = x[index]
    (dx,) = G.grad(G.sum(y * weights), x)
    G.TapeMachine(g).run_all()
    np.testing.assert_allclose(y.value, yt.detach().numpy())
    np.testing.assert_allclose(dx.value, xt.grad.numpy())


def test_integer_nodes_index_any_axis_on_both_machines():
    xv = rng.standard_normal((3, 4, 5))
    iv, jv = np.array([0, 3, 3, -1]), np.array([[1], [4]])
    g = G.Graph()
    x = G.tensor(g, G.Float64, shape=(3, 4, 5), name="x", value=xv)
    i = G.vector(g, G.Int64, shape=(4,), name="i", value=iv)
    j = G.matrix(g, G.Int64, shape=(2, 1), name="j", value=jv)
    y = x[:, i, j]
    (dx,) = G.grad(G.sum(G.square(y)), x)
    tape, lisp = run_both(g, [y, dx])
    for values in (tape, lisp):
        np.testing.assert_allclose(values[0], xv[:, iv, jv])
        np.testing.assert_allclose(values[1], scatter(xv.shape, (slice(None), iv, jv), 2 * xv[:, iv, jv]))
    G.let(i, np.array([0, 9, 0, 0]))
    with pytest.raises(G.ExecutionError, match="out of bounds"):
        G.TapeMachine(g).run_all()


def test_a_repeated_index_scatters_and_sums_in_the_rewritten_add():
    xv = rng.standard_normal((5, 3))
    g = G.Graph()
    x = G.matrix(g, G.Float64, shape=(5, 3), name="x", value=xv)
    cost = G.sum(x[[0, 0, 2]] * 2.0) + G.sum(x[:, [1, 1]]) + G.sum(x[1:3])
    (dx,) = G.grad(cost, x)
    machine = G.TapeMachine(g)
    machine.run_all()
    expected = np.zeros((5, 3))
    expected[0] += 4
    expected[2] += 2
    expected[:, 1] += 2
    expected[1:3] += 1
    np.testing.assert_allclose(dx.value, expected)
    assert "getitem_add" in str(machine.program)


@pytest.mark.parametrize("index, error, match", [
    ((9,), G.ShapeError, "out of bounds for axis 0 with size 4"),
    ((0, [7]), G.ShapeError, "out of bounds for axis 1 with size 5"),
    ((0, 0, 0, 0), G.ShapeError, "too many indices"),
    ((slice(None, None, 0),), G.ArgumentValueError, "step cannot be zero"),
    ((1.5,), G.ArgumentTypeError, "unsupported index 1.5"),
    (([0.5],), G.ArgumentTypeError, "must hold integers or booleans"),
    ((slice(1.0, 2),), G.ArgumentTypeError, "start must be an int"),
    ((Ellipsis, Ellipsis), G.ArgumentValueError, "single ellipsis"),
    ((np.ones((4, 4), bool),), G.ShapeError, "boolean index did not match"),
    ((True,), G.ArgumentTypeError, "scalar boolean"),
    (("a",), G.ArgumentTypeError, "unsupported index"),
])
def test_bad_indices_fail_when_the_node_is_built(index, error, match):
    g = G.Graph()
    x = G.tensor(g, G.Float64, shape=(4, 5, 6), name="x")
    before = len(g.nodes)
    with pytest.raises(error, match=match):
        x[index]
    assert len(g.nodes) == before


def test_node_masks_and_float_nodes_are_refused():
    g = G.Graph()
    x = G.matrix(g, G.Float64, shape=(2, 3), name="x")
    f = G.vector(g, G.Float64, shape=(2,), name="f")
    with pytest.raises(G.ArgumentTypeError, match="would depend on its values"):
        x[G.gt(x, 0.0)]
    with pytest.raises(G.ArgumentTypeError, match="'f' is float64"):
        x[f]


def test_the_listing_shows_the_index():
    g = G.Graph()
    x = G.tensor(g, G.Float64, shape=(4, 5, 6), name="x")
    assert str(x[3, 2:, [1, 3]].op) == "getitem[3, 2:, #0]"
    assert str(x[..., None, ::-2].op) == "getitem[..., None, ::-2]"
    (dx,) = G.grad(G.sum(x[[0, 0], 1:]), x)
    assert str(dx.op) == "getitem_grad[#0, 1:]{shape=(4, 5, 6)}"
    assert str(G.getitem_add(x, x[0, 1:], (1, slice(1, None))).op) == "getitem_add[1, 1:]"
