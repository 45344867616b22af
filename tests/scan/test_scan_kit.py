"""The conformance kit on functions built with G.scan (its scan, scan_part and
scan_cotangent nodes), also one whose length is a node: inference, out= against the
allocating kernel, gradients against finite differences in float64, the float32 path,
both machines agreeing, second order, and bad input rejected at build."""

import numpy as np
import pytest

import gorgon as G
from gorgon.testing import ErrorSample, Sample, check_op


def _step(h, x, w):
    h_new = G.tanh(h @ w + x)
    return h_new, G.sin(h_new) * x


def rnn_final(h0, xs, w):
    """The last state of a tanh RNN."""
    return G.scan(_step, sequences=xs, init=h0, non_sequences=w, name="rnn_final").final


def rnn_outputs(h0, xs, w):
    """Its per-step outputs, scanned from the end."""
    return G.scan(_step, sequences=xs, init=h0, non_sequences=w, reverse=True, name="rnn_outputs").outputs


def _pair(a, b, x, y, w):
    return (a * G.cos(x) + b @ w, b * y + 0.5 * a), a * b


def pair_sum(a0, b0, xs, ys, w):
    """Two carried states and two sequences: the sum of both finals and the outputs."""
    (a, b), out = G.scan(_pair, sequences=(xs, ys), init=(a0, b0), non_sequences=w)
    return G.sum(out, axis=0) + a + b


RNG = np.random.default_rng(0)


@pytest.mark.parametrize("function", [rnn_final, rnn_outputs])
def test_rnn_scans_pass_the_kit(function):
    samples = [Sample(RNG.standard_normal((2, 3)), RNG.standard_normal((4, 2, 3)), RNG.standard_normal((3, 3)) * 0.5),
               Sample(RNG.standard_normal((1, 3)), RNG.standard_normal((1, 1, 3)), RNG.standard_normal((3, 3)) * 0.5,
                      label="one step"),
               ErrorSample(np.zeros((2, 3)), np.zeros((4, 2, 5)), np.zeros((3, 3)), error=G.GorgonError,
                           match="building its step on slices")]
    results = check_op(function, samples)
    assert {r.check for r in results} >= {"inference", "out_kernel", "gradient", "lisp_agrees",
                                          "float32", "second_order", "errors"}


def test_two_carries_two_sequences_pass_the_kit():
    samples = [Sample(RNG.standard_normal(3), RNG.standard_normal(3), RNG.standard_normal((5, 3)),
                      RNG.standard_normal((5, 3)), RNG.standard_normal((3, 3)) * 0.3)]
    results = check_op(pair_sum, samples)
    assert all(r.status == "passed" for r in results if r.check != "errors")


def rnn_prefix(h0, xs, w, n):
    """The last state and the outputs of a tanh RNN over the first n rows of xs."""
    result = G.scan(_step, sequences=xs, init=h0, non_sequences=w, length=n, name="rnn_prefix")
    return G.sum(result.outputs, axis=0) + result.final


def test_a_scan_with_a_length_node_passes_the_kit():
    samples = [Sample(RNG.standard_normal((2, 3)), RNG.standard_normal((5, 2, 3)), RNG.standard_normal((3, 3)) * 0.5,
                      np.array(3)),
               Sample(RNG.standard_normal((2, 3)), RNG.standard_normal((5, 2, 3)), RNG.standard_normal((3, 3)) * 0.5,
                      np.array(0), label="no step"),
               ErrorSample(np.zeros((2, 3)), np.zeros((5, 2, 3)), np.zeros((3, 3)), np.array(1.5),
                           error=G.ShapeError, match="integer scalar")]
    results = check_op(rnn_prefix, samples)
    assert {r.check for r in results} >= {"inference", "out_kernel", "gradient", "lisp_agrees", "float32",
                                          "second_order", "errors"}
    assert all(r.status == "passed" for r in results), [r for r in results if r.status != "passed"]
