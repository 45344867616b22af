"""embedding: rows picked by integer indices; the gradient adds up repeated indices."""

import numpy as np
import pytest

import gorgon as G
from nn_helpers import MACHINES, run

rng = np.random.default_rng(6)
WEIGHT = rng.standard_normal((5, 3))
INDICES = np.array([[0, 4, 4], [2, 4, 0]])


def embedding_graph(indices=INDICES):
    g = G.Graph()
    w = G.matrix(g, G.Float64, WEIGHT.shape, name="weight", value=WEIGHT.copy())
    i = G.tensor(g, G.Int64, indices.shape, name="indices", value=indices)
    return g, w, G.embedding(i, w)


def test_lookup_picks_rows():
    g, w, y = embedding_graph()
    G.TapeMachine(g, outputs=[y]).run_all()
    assert y.shape == (2, 3, 3)
    np.testing.assert_array_equal(y.value, WEIGHT[INDICES])


@pytest.mark.parametrize("machine", MACHINES)
def test_gradient_accumulates_repeated_indices(machine):
    g, w, y = embedding_graph()
    gy = rng.standard_normal(y.shape)
    (dw,) = run(machine, g, G.sum(y * gy), [w])
    expected = np.zeros_like(WEIGHT)
    for (a, b), row in np.ndenumerate(INDICES):
        expected[row] += gy[a, b]
    np.testing.assert_allclose(dw, expected, rtol=1e-12)
    np.testing.assert_allclose(dw[4], gy[0, 1] + gy[0, 2] + gy[1, 1])


@pytest.mark.parametrize("bad", [5, -1])
def test_an_index_out_of_range_fails_at_run_time(bad):
    g, _, y = embedding_graph(np.array([0, bad]))
    with pytest.raises(G.ExecutionError, match=r"embedding.*indices must lie in \[0, 5\)"):
        G.TapeMachine(g, outputs=[y]).run_all()


def test_indices_must_be_integers():
    g, w, _ = embedding_graph()
    floats = G.vector(g, G.Float64, 2, name="floats")
    with pytest.raises(G.DtypeError, match=r"embedding.*integer input.*'floats'"):
        G.embedding(floats, w)
