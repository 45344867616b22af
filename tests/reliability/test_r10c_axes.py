"""Issue 10, unclear errors: every axis parameter is checked when the node is built,
through the shared helpers of gorgon.infer, with a GorgonError naming the op, the axis
the user passed, the nodes and their shapes; shapes too big for int64 are refused."""

import numpy as np
import pytest

import gorgon as G
from gorgon.errors import ArgumentTypeError, GorgonError, ShapeError
from gorgon.infer import check_shape, integer, normalize_axes, normalize_axis, normalize_permutation


@pytest.fixture
def g():
    return G.Graph()


def nodes(g):
    return (G.matrix(g, G.Float64, (2, 3), name="m"), G.scalar(g, G.Float64, name="s"),
            G.vector(g, G.Float64, 3, name="v"))


BAD_AXES = [
    ("transpose(m, (2, 1))", lambda m, s, v: G.transpose(m, (2, 1)), ShapeError,
     r"transpose\{axes=\(2, 1\)\}: axes=\(2, 1\) are not a permutation of 2 dimensions; inputs: 'm' \(shape \(2, 3\)"),
    ("transpose(m, (0,))", lambda m, s, v: G.transpose(m, (0,)), ShapeError,
     r"transpose.*axes=\(0,\) are not a permutation.*'m' \(shape \(2, 3\)"),
    ("transpose(m, (0, 1.0))", lambda m, s, v: G.transpose(m, (0, 1.0)), ArgumentTypeError,
     r"transpose: axes must be an integer, got float 1.0; inputs: 'm' \(shape \(2, 3\)"),
    ("squeeze(scalar, 0)", lambda m, s, v: G.squeeze(s, 0), ShapeError,
     r"squeeze: axis 0 is out of range for 0 dimensions; inputs: 's' \(shape \(\), float64\)"),
    ("max(scalar, axis=0)", lambda m, s, v: G.max(s, axis=0), ShapeError,
     r"max: axis 0 is out of range for 0 dimensions; inputs: 's' \(shape \(\)"),
    ("sum(scalar, axis=0)", lambda m, s, v: G.sum(s, axis=0), ShapeError,
     r"sum: axis 0 is out of range for 0 dimensions; inputs: 's'"),
    ("sum(scalar, axis=-1)", lambda m, s, v: G.sum(s, axis=-1), ShapeError, r"sum: axis -1 is out of range"),
    ("sum(m, axis=1.5)", lambda m, s, v: G.sum(m, axis=1.5), ArgumentTypeError,
     r"sum: axis must be an integer or a sequence of integers, got float 1.5; inputs: 'm' \(shape \(2, 3\)"),
    ("sum(m, axis=(0, 1.5))", lambda m, s, v: G.sum(m, axis=(0, 1.5)), ArgumentTypeError,
     r"sum: axis must be an integer, got float 1.5"),
    ("sum(m, axis=True)", lambda m, s, v: G.sum(m, axis=True), ArgumentTypeError, r"sum: axis must be"),
    ("mean(v, axis=1)", lambda m, s, v: G.mean(v, axis=1), ShapeError,
     r"^mean: axis 1 is out of range for 1 dimension; inputs: 'v' \(shape \(3,\)"),
    ("prod(m, axis=(0, -2))", lambda m, s, v: G.prod(m, axis=(0, -2)), ShapeError,
     r"^prod: repeated axis in axis=\(0, -2\)"),
    ("argmax(m, axis=2)", lambda m, s, v: G.argmax(m, axis=2), ShapeError, r"^argmax: axis 2 is out of range"),
    ("argmin(m, axis='1')", lambda m, s, v: G.argmin(m, axis="1"), ArgumentTypeError,
     r"argmin: axis must be an integer, got str"),
    ("expand_dims(v, 2)", lambda m, s, v: G.expand_dims(v, 2), ShapeError,
     r"expand_dims\{axis=2\}: axis 2 is out of range for 2 dimensions of the result; inputs: 'v'"),
    ("expand_dims(v, 0.5)", lambda m, s, v: G.expand_dims(v, 0.5), ArgumentTypeError,
     r"expand_dims: axis must be an integer, got float"),
    ("flatten(m, 1.5)", lambda m, s, v: G.flatten(m, 1.5), ArgumentTypeError,
     r"flatten: start_axis must be an integer, got float"),
    ("concat([s, s])", lambda m, s, v: G.concat([s, s]), ShapeError,
     r"concat\{axis=0\}: axis 0 is out of range for 0 dimensions; inputs: 's'"),
    ("concat([m, m], axis=-3)", lambda m, s, v: G.concat([m, m], axis=-3), ShapeError,
     r"concat\{axis=-3\}: axis -3 is out of range.*'m'.*'m'"),
    ("stack([v, v], axis=-3)", lambda m, s, v: G.stack([v, v], axis=-3), ShapeError,
     r"stack\{axis=-3\}: axis -3 is out of range for 2 dimensions of the result"),
    ("softmax(m, axis=2)", lambda m, s, v: G.softmax(m, axis=2), ShapeError,
     r"softmax\{axis=2\}: axis 2 is out of range for 2 dimensions; inputs: 'm'"),
    ("log_softmax(m, axis=1.0)", lambda m, s, v: G.log_softmax(m, axis=1.0), ArgumentTypeError,
     r"log_softmax: axis must be an integer, got float"),
    ("logsumexp(s, axis=0)", lambda m, s, v: G.logsumexp(s, axis=0), ShapeError,
     r"logsumexp: axis 0 is out of range for 0 dimensions"),
    ("cumsum(m, axis=5)", lambda m, s, v: G.cumsum(m, axis=5), ShapeError,
     r"^cumsum: axis 5 is out of range for 2 dimensions; inputs: 'm'"),
    ("sort(m, axis=2)", lambda m, s, v: G.sort(m, axis=2), ShapeError, r"^sort: axis 2 is out of range"),
    ("gather(m, None, i)", lambda m, s, v: G.gather(m, None, np.zeros((2, 3), np.int64)), ArgumentTypeError,
     r"^gather: axis must be an integer, got NoneType None; inputs: 'm'"),
    ("norm(m, axis=(0, 0))", lambda m, s, v: G.norm(m, axis=(0, 0)), ShapeError,
     r"^norm: repeated axis in axis=\(0, 0\)"),
    ("reshape(m, (3, 2.0))", lambda m, s, v: G.reshape(m, (3, 2.0)), ArgumentTypeError,
     r"reshape: shape must be an integer, got float 2.0; inputs: 'm'"),
    ("broadcast_to(v, (2, 3.0))", lambda m, s, v: G.broadcast_to(v, (2, 3.0)), ArgumentTypeError,
     r"broadcast_to: shape must be an integer, got float"),
]


@pytest.mark.parametrize("label, build, error, match", BAD_AXES, ids=[case[0] for case in BAD_AXES])
def test_a_bad_axis_fails_when_the_node_is_built_naming_op_axis_and_nodes(g, label, build, error, match):
    before = len(g.nodes)
    m, s, v = nodes(g)
    with pytest.raises(error, match=match) as caught:
        build(m, s, v)
    assert isinstance(caught.value, GorgonError)
    assert len(g.nodes) == before + 3


def test_the_message_shows_the_axis_the_user_passed_not_the_default(g):
    m, s, v = nodes(g)
    for build in (lambda: G.sum(v, axis=1), lambda: G.max(v, axis=1), lambda: G.squeeze(v, axis=1),
                  lambda: G.logsumexp(v, axis=1), lambda: G.argmax(v, axis=1)):
        with pytest.raises(ShapeError) as caught:
            build()
        assert "axis=None" not in str(caught.value) and "axis 1 is out of range" in str(caught.value)


def test_valid_axes_still_work(g):
    x = G.tensor(g, G.Float64, (2, 3, 4), name="x", value=np.arange(24.0).reshape(2, 3, 4))
    outs = [G.sum(x, axis=np.int64(-1)), G.sum(x, axis=[0, 2]), G.transpose(x, (-1, 0, 1)),
            G.max(x, axis=(np.int32(1),)), G.sum(G.sum(x), axis=()), G.expand_dims(x, -4),
            G.stack([x, x], axis=-1), G.concat([x, x], axis=-2)]
    G.TapeMachine(g).run_all()
    value = x.value
    expected = [value.sum(-1), value.sum((0, 2)), value.transpose(2, 0, 1), value.max(1), value.sum(),
                np.expand_dims(value, -4), np.stack([value, value], -1), np.concatenate([value, value], -2)]
    for out, want in zip(outs, expected):
        np.testing.assert_array_equal(out.value, want)


def test_the_shared_helpers_take_an_op_or_a_name(g):
    v = G.vector(g, G.Float64, 3, name="v")
    assert normalize_axes("any", v, None) == (0,)
    assert normalize_axis("any", v, -1) == 0 and normalize_axis("any", v, -2, new=True) == 0
    assert normalize_permutation("any", G.matrix(g, G.Float64, (2, 2), name="q"), [-1, 0]) == (1, 0)
    assert integer("any", "k", np.int16(3)) == 3
    with pytest.raises(ArgumentTypeError, match="any: k must be an integer, got bool True"):
        integer("any", "k", True)
    assert check_shape("any", np.int64(5), np.float64) == (5,)


OVERFLOWING = [
    ("G.tensor((2**40, 2**40))", lambda g: G.tensor(g, G.Float64, (2 ** 40, 2 ** 40), name="big"),
     r"input 'big': shape \(1099511627776, 1099511627776\) has \d+ elements of float64, more than a 64-bit"),
    ("G.tensor((2**32, 2**32))", lambda g: G.tensor(g, G.Float32, (2 ** 32, 2 ** 32)), "more than a 64-bit"),
    ("G.tensor((2**62, 4)) bytes", lambda g: G.tensor(g, G.Float64, (2 ** 61, 4)), "more than a 64-bit"),
    ("reshape (0,) -> (2**32, 2**32)",
     lambda g: G.reshape(G.tensor(g, G.Float64, (0,), name="e"), (2 ** 32, 2 ** 32)),
     r"reshape.*cannot reshape 0 elements into \(4294967296, 4294967296\); inputs: 'e' \(shape \(0,\)"),
    ("broadcast_to (2**32, 2**32)",
     lambda g: G.broadcast_to(G.tensor(g, G.Float64, (1, 1), name="one"), (2 ** 32, 2 ** 32)),
     r"broadcast_to.*more than a 64-bit size can count; inputs: 'one'"),
    ("outer of two huge vectors",
     lambda g: G.outer(G.tensor(g, G.Float64, (2 ** 33,), name="a"), G.tensor(g, G.Float64, (2 ** 33,), name="b")),
     r"outer: shape \(8589934592, 8589934592\) has .* elements of float64, more than a 64-bit size can count; "
     r"inputs: 'a'.*'b'"),
    ("uniform((2**40, 2**40))", lambda g: G.uniform(g, (2 ** 40, 2 ** 40)), r"uniform: shape .* more than a 64-bit"),
]


@pytest.mark.parametrize("label, build, match", OVERFLOWING, ids=[case[0] for case in OVERFLOWING])
def test_a_shape_whose_size_overflows_int64_is_refused(g, label, build, match):
    with pytest.raises(ShapeError, match=match):
        build(g)


def test_an_empty_shape_with_huge_dimensions_is_fine(g):
    e = G.tensor(g, G.Float64, (0,), name="e", value=np.zeros(0))
    r = G.reshape(e, (2 ** 40, 0, 2 ** 20))
    assert r.shape == (2 ** 40, 0, 2 ** 20) and r.size == 0
