"""examples/char_rnn_scan.py: the char-LSTM written with G.scan trains on the
TapeMachine over sequences of changing length, each scan body compiled once; its loss
equals char_rnn.py's unrolled loss for the same parameters."""

import sys
from pathlib import Path

import numpy as np

import gorgon as G

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))

import char_rnn  # noqa: E402
import char_rnn_scan  # noqa: E402


def test_loss_falls_over_changing_lengths_with_bodies_compiled_once():
    lines = []
    model, before, after = char_rnn_scan.train(steps=50, batch=8, hidden=32, log=lines.append)
    assert after < before - 0.5
    assert len(model.machines) > 5
    assert char_rnn_scan.body_compiles(model) == [1, 1, 1, 1]
    assert lines and "lengths so far" in lines[0]


def test_scan_loss_and_gradients_equal_the_unrolled_example():
    text = char_rnn.TEXT.read_text()
    vocabulary = "".join(sorted(set(text)))
    scanned, unrolled = char_rnn_scan.ScanLSTM(vocabulary, hidden=8), char_rnn.CharLSTM(vocabulary, hidden=8)
    windows = char_rnn.batches(scanned.encode(text), np.random.default_rng(3), 4, (6, 7))
    machine, params, loss = scan_result = scanned.machine(windows)
    machine.run_all()
    g, p, expected = unrolled.loss_graph(windows)
    grads = G.grad(expected, *p.values())
    G.TapeMachine(g).run_all()
    np.testing.assert_allclose(loss.value, expected.value, rtol=1e-12)
    for name, grad in zip(p, grads):
        np.testing.assert_allclose(params[name].grad, grad.value, rtol=1e-9, atol=1e-12)
    assert scan_result[0] is scanned.machine(windows)[0]
