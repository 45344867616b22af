"""G.function (traced once per signature, cached) and compiling a function of some
inputs to some outputs out of a bigger graph."""

import numpy as np
import pytest

import gorgon as G
from gorgon.errors import GorgonError


def test_a_function_is_traced_once_per_signature_and_returns_fresh_arrays():
    calls = []

    @G.function
    def predict(x, w, scale):
        calls.append(x.shape)
        return G.tanh(x @ w) * scale

    x, w = np.ones((2, 3)), np.full(3, 0.1)
    first = predict(x, w, 2.0)
    np.testing.assert_allclose(first, 2.0 * np.tanh(x @ w))
    second = predict(x * 2.0, w, 2.0)
    np.testing.assert_allclose(second, 2.0 * np.tanh((2.0 * x) @ w))
    assert calls == [(2, 3)] and first is not second
    np.testing.assert_allclose(first, 2.0 * np.tanh(x @ w))
    predict(np.ones((5, 3)), w, 2.0)
    predict(x, w, 3.0)
    predict(x.astype(np.float32), w.astype(np.float32), 2.0)
    assert len(predict.traces) == 4 and calls[1:] == [(5, 3), (2, 3), (2, 3)]


def test_a_function_with_several_outputs_on_either_machine_gives_the_same_values():
    def body(a, b):
        return a + b, G.sum(a * b)

    tape = G.function(body)
    lisp = G.function(body, machine=G.LispMachine, forward_only=True)
    a, b = np.arange(3.0), np.array([1.0, -1.0, 2.0])
    for result in (tape(a, b), lisp(a, b)):
        np.testing.assert_allclose(result[0], a + b)
        np.testing.assert_allclose(result[1], np.sum(a * b))


def test_a_function_must_return_nodes_of_its_graph_and_use_a_known_machine():
    with pytest.raises(GorgonError, match="must return nodes"):
        G.function(lambda x: 3.0)(np.ones(2))
    with pytest.raises(TypeError, match="machine must be"):
        G.function(lambda x: x, machine=object)


def test_compile_function_from_some_inputs_to_some_outputs():
    g = G.Graph()
    x = G.matrix(g, G.Float64, (4, 3), name="x", value=np.ones((4, 3)))
    w = G.matrix(g, G.Float64, (3, 2), name="w", value=np.full((3, 2), 0.5))
    labels = G.vector(g, G.Int64, 4, name="labels", value=np.zeros(4, np.int64))
    probabilities = G.sigmoid(x @ w)
    loss = G.mean(G.take(probabilities, labels, axis=1))
    G.grad(loss, w)
    program, _ = G.compile(g, outputs=[probabilities], inputs=[x, w])
    assert all(ins.term.name != "labels" for ins in program.instructions)
    with pytest.raises(GorgonError, match=r"also need the input nodes \['labels'\]"):
        G.compile(g, outputs=[loss], inputs=[x, w])
    with pytest.raises(GorgonError, match="must be input nodes"):
        G.TapeMachine(g, outputs=[probabilities], inputs=[probabilities])
    inference = G.TapeMachine(g, outputs=[probabilities], inputs=[x, w])
    inference.run_all()
    np.testing.assert_allclose(probabilities.value, 1 / (1 + np.exp(-1.5)))
