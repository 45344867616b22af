"""examples/char_rnn_scan.py: the char-LSTM written with G.scan trains on the
TapeMachine over sequences of changing length, one compiled program per batch size
(the scan's length a node), each scan body compiled once; its loss equals char_rnn.py's
unrolled loss for the same parameters."""

import sys
from pathlib import Path

import numpy as np
import pytest

import gorgon as G

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))

import char_rnn  # noqa: E402
import char_rnn_scan  # noqa: E402


def test_loss_falls_over_changing_lengths_with_bodies_compiled_once():
    lines = []
    model, before, after = char_rnn_scan.train(steps=50, batch=8, hidden=32, log=lines.append)
    assert after < before - 0.5
    assert sorted(model.machines) == [8, 32]  # the training batch and the held-out batch
    assert char_rnn_scan.body_compiles(model) == [1, 1, 1, 1]
    assert lines and "2 programs" in lines[0]


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
    program = machine.program
    longer = char_rnn.batches(scanned.encode(text), np.random.default_rng(4), 4, (11, 12))
    assert scanned.machine(longer)[0] is machine
    machine.run_all()
    assert machine.program is program
    g, p, expected = unrolled.loss_graph(longer)
    G.LispMachine(g, forward_only=True).run_all()
    np.testing.assert_allclose(loss.value, expected.value, rtol=1e-12)


def test_sequences_longer_than_the_capacity_are_refused():
    text = char_rnn.TEXT.read_text()
    model = char_rnn_scan.ScanLSTM("".join(sorted(set(text))), hidden=8, capacity=5)
    windows = char_rnn.batches(model.encode(text), np.random.default_rng(0), 2, (6, 7))
    with pytest.raises(ValueError, match="6 steps do not fit capacity=5"):
        model.machine(windows)
