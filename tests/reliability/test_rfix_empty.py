"""Empty batches in the ops added after the issue-10 sweep (einsum, tensordot, norm,
split and the other new core ops; the nn ops of issue 11): a 0-sized batch that numpy /
PyTorch accept works on both machines, values and gradients; what numpy refuses is
refused when the node is built, naming the op."""

import math
import re

import numpy as np
import pytest
from test_r10c_empty import MODULES, check_empty_batch, empty_batch_cases, run_both

import gorgon as G
from gorgon.registry import registry


def new_op_modules():
    registry.load()
    return {op.__module__ for op in registry.ops.values()
            if op.__module__.startswith(("gorgon_ops_core.", "gorgon_ops_nn.", "gorgon_ops_conv."))} - MODULES


# Samples whose indices point into the batch axis: with the batch empty they index
# nothing, which numpy refuses too; the run fails naming the node.
INDEXES_INTO_THE_BATCH = {"gather-axis 0", "scatter_add-axis 0", "take-repeated rows"}


@pytest.mark.parametrize("name, sample", empty_batch_cases(new_op_modules()))
def test_an_empty_batch_of_a_new_op_runs_on_both_machines_or_is_refused_at_build(request, name, sample):
    if request.node.callspec.id in INDEXES_INTO_THE_BATCH:
        with pytest.raises(G.ExecutionError, match=rf"node '{name}\d*' \(op {name}.*IndexError"):
            check_empty_batch(name, sample)
    else:
        check_empty_batch(name, sample)


def leaf(g, shape, name):
    return G.tensor(g, G.Float64, shape, name=name, value=np.ones(shape))


@pytest.mark.parametrize("subscripts, shapes, out", [
    ("bij,bjk->bik", [(0, 2, 3), (0, 3, 4)], (0, 2, 4)),
    ("ij,jk->ik", [(0, 3), (3, 4)], (0, 4)),
    ("ij,jk->ik", [(2, 0), (0, 4)], (2, 4)),
    ("bi,bi->b", [(0, 3), (1, 3)], (0,)),
])
def test_einsum_over_an_empty_batch(subscripts, shapes, out):
    def graph(g):
        xs = [leaf(g, s, f"x{i}") for i, s in enumerate(shapes)]
        return G.einsum(subscripts, *xs), xs

    for value, grads in run_both(graph):
        np.testing.assert_array_equal(value, np.einsum(subscripts, *[np.ones(s) for s in shapes]))
        assert value.shape == out and [d.shape for d in grads] == shapes
        for grad, shape in zip(grads, shapes):
            np.testing.assert_array_equal(grad, np.zeros(shape))  # nothing flows from an empty sum


@pytest.mark.parametrize("axes, shapes, out", [
    (1, [(0, 3), (3, 4)], (0, 4)),
    (1, [(2, 0), (0, 4)], (2, 4)),
    (2, [(0, 2, 3), (2, 3)], (0,)),
])
def test_tensordot_over_an_empty_batch(axes, shapes, out):
    def graph(g):
        a, b = (leaf(g, s, n) for s, n in zip(shapes, "ab"))
        return G.tensordot(a, b, axes=axes), [a, b]

    for value, (da, db) in run_both(graph):
        np.testing.assert_array_equal(value, np.tensordot(np.ones(shapes[0]), np.ones(shapes[1]), axes))
        assert value.shape == out and (da.shape, db.shape) == tuple(shapes)
        np.testing.assert_array_equal(db, np.zeros(shapes[1]))  # nothing flowed from an empty batch


@pytest.mark.parametrize("shape, ord, axis, empty_axis", [
    ((0,), -math.inf, None, 0),
    ((3, 0), -math.inf, 1, 1),
    ((0, 0), -math.inf, 1, 1),
    ((0, 3), -math.inf, None, 0),
    ((3, 0), -1, None, 1),
    ((2, 3, 0), -1, (1, 2), 2),
])
def test_a_norm_that_takes_a_minimum_of_nothing_is_refused_when_built(shape, ord, axis, empty_axis):
    with pytest.raises(ValueError):  # numpy refuses these at run time
        np.linalg.norm(np.zeros(shape), ord, axis)
    g = G.Graph()
    x = leaf(g, shape, "x")
    before = len(g.nodes)
    with pytest.raises(G.ShapeError, match=rf"norm.*takes a minimum over axis {empty_axis}, which is empty"
                                           rf".*'x' \(shape {re.escape(str(shape))}"):
        G.norm(x, ord=ord, axis=axis)
    assert len(g.nodes) == before


@pytest.mark.parametrize("shape, ord, axis", [
    ((0,), None, None), ((0,), 1, None), ((0,), math.inf, None), ((0,), 3, None),
    ((0, 3), -math.inf, 1), ((3, 0), -math.inf, None), ((0, 3), -1, None),
    ((0, 3), 1, None), ((3, 0), math.inf, None), ((0, 3), "fro", None),
])
def test_norms_of_empty_inputs_that_numpy_takes_run_on_both_machines(shape, ord, axis):
    def graph(g):
        x = leaf(g, shape, "x")
        return G.norm(x, ord=ord, axis=axis), [x]

    for value, (dx,) in run_both(graph):
        np.testing.assert_array_equal(value, np.linalg.norm(np.ones(shape), ord, axis))
        assert dx.shape == shape


def test_split_of_an_empty_axis_into_equal_pieces():
    def graph(g):
        x = leaf(g, (0, 4), "x")
        return G.concat(G.split(x, 2, axis=0), axis=1), [x]

    for value, (dx,) in run_both(graph):
        assert value.shape == (0, 8) and dx.shape == (0, 4)
    pieces = G.split(leaf(G.Graph(), (6, 2), "y"), 3)
    assert [p.shape for p in pieces] == [(2, 2)] * 3
