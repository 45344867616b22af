"""Bad input to G.scan: each a GorgonError naming the scan and the offending value, and
the graph left as it was."""

import numpy as np
import pytest

import gorgon as G


@pytest.fixture
def g():
    return G.Graph()


def nodes(g, steps=3):
    xs = G.tensor(g, G.Float64, (steps, 2), name="xs", value=np.ones((steps, 2)))
    h0 = G.vector(g, G.Float64, 2, name="h0", value=np.zeros(2))
    return xs, h0


def test_carried_state_changing_shape(g):
    xs, h0 = nodes(g)
    before = len(g)
    with pytest.raises(G.GorgonError, match=r"scan 'grow'.*carried state.*\(2, 2\).*'h0'.*shape \(2,\)"):
        G.scan(lambda h, x: (G.outer(h, x), None), sequences=xs, init=h0, name="grow")
    assert len(g) == before


def test_carried_state_changing_dtype(g):
    xs, h0 = nodes(g)
    with pytest.raises(G.GorgonError, match=r"scan 'to32'.*float32.*'h0'.*float64"):
        G.scan(lambda h, x: (G.cast(h + x, G.Float32), None), sequences=xs, init=h0, name="to32")


def test_sequences_of_different_lengths(g):
    xs, h0 = nodes(g)
    ys = G.tensor(g, G.Float64, (4, 2), name="ys", value=np.ones((4, 2)))
    with pytest.raises(G.ShapeError, match=r"scan 'pair'.*different lengths.*'xs' \(shape \(3, 2\).*'ys' \(shape \(4, 2\)"):
        G.scan(lambda h, x, y: (h + x + y, None), sequences=(xs, ys), init=h0, name="pair")


def test_length_that_disagrees_with_the_sequences(g):
    xs, h0 = nodes(g)
    with pytest.raises(G.ShapeError, match=r"scan 'step'.*length=5.*3 steps"):
        G.scan(lambda h, x: (h + x, None), sequences=xs, init=h0, length=5, name="step")


@pytest.mark.parametrize("length", [-1, 2.0, True])
def test_bad_length(g, length):
    _, h0 = nodes(g)
    with pytest.raises(G.ArgumentValueError, match=r"scan 'count'.*length"):
        G.scan(lambda h: (h, None), init=h0, length=length, name="count")


def test_no_sequence_and_no_length(g):
    _, h0 = nodes(g)
    with pytest.raises(G.ArgumentValueError, match=r"scan 'count'.*length="):
        G.scan(lambda h: (h, None), init=h0, name="count")


def test_step_returning_non_nodes(g):
    xs, h0 = nodes(g)
    with pytest.raises(G.GorgonError, match=r"scan 'numbers'.*ndarray.*carried state 0"):
        G.scan(lambda h, x: (np.zeros(2), None), sequences=xs, init=h0, name="numbers")
    with pytest.raises(G.GorgonError, match=r"scan 'numbers'.*str 'y'.*output 0"):
        G.scan(lambda h, x: (h, "y"), sequences=xs, init=h0, name="numbers")
    with pytest.raises(G.GorgonError, match=r"scan 'single'.*\(new_carry, outputs\).*Node"):
        G.scan(lambda h, x: h + x, sequences=xs, init=h0, name="single")


def test_step_returning_the_wrong_number_of_carries(g):
    xs, h0 = nodes(g)
    with pytest.raises(G.GorgonError, match=r"scan 'two'.*2 carried values for 1"):
        G.scan(lambda h, x: ((h, h), None), sequences=xs, init=(h0,), name="two")


def test_step_reading_a_node_of_the_outer_graph(g):
    xs, h0 = nodes(g)
    w = G.vector(g, G.Float64, 2, name="w", value=np.ones(2))
    with pytest.raises(G.GorgonError, match=r"scan 'closure'.*outer graph.*non_sequences"):
        G.scan(lambda h, x: (h * w, None), sequences=xs, init=h0, name="closure")
    with pytest.raises(G.GorgonError, match=r"scan 'leak'.*'w' of the outer graph"):
        G.scan(lambda h, x: (w, None), sequences=xs, init=h0, name="leak")


def test_scalar_sequence_and_mixed_float_dtypes(g):
    xs, h0 = nodes(g)
    s = G.scalar(g, G.Float64, name="s", value=1.0)
    with pytest.raises(G.ShapeError, match=r"scan 'flat'.*'s'.*scalar"):
        G.scan(lambda h, x: (h, None), sequences=s, init=h0, name="flat")
    with pytest.raises(G.DtypeError, match=r"scan 'mixed'.*share one dtype"):
        G.scan(lambda h, x: (h + x, G.cast(x, G.Float32)), sequences=xs, init=h0, name="mixed")


def test_argument_types(g):
    xs, h0 = nodes(g)
    with pytest.raises(G.ArgumentTypeError, match="step must be a function"):
        G.scan(3, sequences=xs, init=h0)
    with pytest.raises(G.ArgumentTypeError, match="reverse"):
        G.scan(lambda h, x: (h, None), sequences=xs, init=h0, reverse="yes")
    with pytest.raises(G.ArgumentValueError, match="at least one node"):
        G.scan(lambda h: (h, None), init=np.zeros(2), length=2)


def test_non_differentiable_body_fails_at_grad(g):
    xs, h0 = nodes(g)
    final, _ = G.scan(lambda h, x: (h + G.floor(x) * h, None), sequences=xs, init=h0, name="floors")
    G.TapeMachine(g).run_all()
    np.testing.assert_array_equal(final.value, np.zeros(2))
    before = len(g)
    with pytest.raises(G.NonDifferentiable, match=r"scan 'floors'.*node 'floor\d+': op floor has no gradient"):
        G.grad(G.sum(final), h0)
    assert len(g) == before + 1


def test_kernel_failure_inside_the_body_names_both_nodes(g):
    ids = G.tensor(g, G.Int64, (2,), name="ids", value=np.array([0, 5]))
    table = G.matrix(g, G.Float64, (3, 2), name="table", value=np.ones((3, 2)))
    h0 = G.vector(g, G.Float64, 2, name="h0", value=np.ones(2))
    final, _ = G.scan(lambda h, i, t: (h * t[i], None), sequences=ids, init=h0, non_sequences=table,
                      name="rows")
    machine = G.TapeMachine(g)
    with pytest.raises(G.ExecutionError, match=r"(?s)node 'scan\d+' \(op scan\{body=rows.*getitem"):
        machine.run_all()
    assert final.value is None


def test_watch_nan_sees_no_padding(g):
    xs, h0 = nodes(g)
    final, outs = G.scan(lambda h, x: (h + x, G.sum(h)), sequences=xs, init=h0, name="pad")
    G.TapeMachine(g, watch_nan=True).run_all()
    np.testing.assert_array_equal(final.value, [3.0, 3.0])
    np.testing.assert_array_equal(outs.value, [0.0, 2.0, 4.0])
