"""Slices read as views on the TapeMachine (the `view` pass) against the same programs
with the slices copied (every pass but `view`): the W4 LSTM step, whose gates are column
slices, and a wide matrix split into four column blocks that are summed."""

import numpy as np

import gorgon as G
from benchmarks.test_lstm import data, lstm_graph, sgd
from gorgon.passes import PASSES

COPYING = tuple(p for p in PASSES if p != "view")
ROWS, COLUMNS = 512, 2048


def blocks_graph():
    g = G.Graph()
    x = G.matrix(g, G.Float32, (ROWS, COLUMNS), name="x",
                 value=np.random.default_rng(0).standard_normal((ROWS, COLUMNS)).astype(np.float32))
    h = G.tanh(x)
    width = COLUMNS // 4
    total = G.sum(h[:, :width])
    for k in range(1, 4):
        total = total + G.sum(h[:, k * width:(k + 1) * width])
    return g, total


def run_blocks(benchmark, passes):
    g, total = blocks_graph()
    machine = G.TapeMachine(g, passes=passes)
    benchmark(machine.run_all)
    assert np.isfinite(total.value)


def test_blocks_views(benchmark, record):
    record("Four column blocks of a 512x2048 matrix", "slices as views")
    run_blocks(benchmark, PASSES)


def test_blocks_copies(benchmark, record):
    record("Four column blocks of a 512x2048 matrix", "slices copied")
    run_blocks(benchmark, COPYING)


def run_lstm(benchmark, passes):
    g, params, loss = lstm_graph(data())
    G.grad(loss, *params)
    machine = G.TapeMachine(g, passes=passes)

    def step():
        machine.run_all()
        sgd(params)

    benchmark(step)
    assert np.isfinite(loss.value)


def test_w4_views(benchmark, record):
    record("W4 LSTM step, slices as views or copies", "slices as views")
    run_lstm(benchmark, PASSES)


def test_w4_copies(benchmark, record):
    record("W4 LSTM step, slices as views or copies", "slices copied")
    run_lstm(benchmark, COPYING)
