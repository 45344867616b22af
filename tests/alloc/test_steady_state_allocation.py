"""Scratch memory (`Op.workspace`) and steady-state TapeMachine steps that allocate no
array. numpy itself allocates an iteration buffer (up to its buffer size, 8192 elements)
in ufunc calls that broadcast or read strided views (a bias add, an LSTM's gate slices),
which no kernel can hand it; the whole-step bounds are therefore measured with numpy's
buffer size set small (`small_numpy_buffers`), so they count what gorgon's kernels and
machine allocate. The conv and pooling kernels (gorgon_ops_conv) still allocate their
column buffers, so LeNet is checked on its other ops only."""

from __future__ import annotations

import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import gorgon as G
import gorgon.testing as T
from gorgon.testing.report import ConformanceError
from gorgon_ops_nn.cross_entropy import CrossEntropy, CrossEntropyGrad

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import allocating_steps, peak_of, training_machine  # noqa: E402

CONV_OPS = {"conv2d", "conv_transpose2d", "conv2d_grad_weight", "max_pool2d", "max_pool2d_grad"}


@pytest.fixture
def small_numpy_buffers():
    """numpy's ufunc buffer size at 16 elements for the test (restored after)."""
    previous = np.setbufsize(16)
    yield
    np.setbufsize(previous)


class Scaled(G.Op):
    """`2 * x` through a declared scratch array of x's shape, recording the `work` it got."""

    name = "alloc_test_scaled"

    def __init__(self, **params):
        super().__init__(**params)
        self.seen = []

    def infer(self, x):
        return G.TensorType(x.shape, x.dtype)

    def workspace(self, x):
        return ((x.shape, x.dtype),)

    def forward(self, x, out=None, work=None):
        self.seen.append(work)
        scratch = np.empty_like(x) if work is None else work[0]
        np.multiply(x, 2.0, out=scratch)
        return np.copyto(out, scratch) or out if out is not None else scratch.copy()

    def vjp(self, inputs, output, gy):
        return (gy * 2.0,)


class ReadsStaleScratch(Scaled):
    """A broken kernel: adds what its scratch held before (garbage in the kit)."""

    def forward(self, x, out=None, work=None):
        scratch = np.zeros_like(x) if work is None else work[0]
        scratch += x * 2.0
        if out is None:
            return scratch.copy()
        np.copyto(out, scratch)
        return out


def scaled_graph(op):
    g = G.Graph()
    x = G.vector(g, G.Float64, 5, name="x", value=np.arange(5.0))
    return g, G.apply(op, x)


def test_the_tape_machine_allocates_a_declared_workspace_once_and_the_lisp_machine_none():
    op = Scaled()
    g, y = scaled_graph(op)
    machine = G.TapeMachine(g)
    machine.run_all()
    machine.run_all()
    first, second = op.seen
    assert first is second and first[0].shape == (5,) and first[0].dtype == np.float64
    np.testing.assert_array_equal(y.value, 2.0 * np.arange(5.0))
    op.seen.clear()
    G.LispMachine(g).run_all()
    assert op.seen == [None]
    np.testing.assert_array_equal(y.value, 2.0 * np.arange(5.0))


def test_the_kit_hands_a_garbage_workspace_and_catches_a_kernel_reading_it():
    samples = [T.Sample(np.arange(6.0).reshape(2, 3), label="matrix")]
    T.check_op(Scaled, samples=samples, checks=["out_kernel"])
    with pytest.raises(ConformanceError, match="out=buf"):
        T.check_op(ReadsStaleScratch, samples=samples, checks=["out_kernel"])


def logits_and_labels(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    logits = (rng.standard_normal(shape) * 4).astype(dtype)
    logits.flat[0] = np.inf if dtype == np.float64 else logits.flat[0]
    labels = rng.integers(0, shape[-1], shape[:-1])
    return logits, labels


def fresh_work(op, *arrays):
    return G.op.workspace(op, arrays)


@pytest.mark.parametrize("shape", [(7, 5), (3, 4, 6), (1, 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_with_its_workspace_is_bit_identical(shape, dtype, reduction):
    logits, labels = logits_and_labels(shape, dtype)
    forward = CrossEntropy(reduction=reduction)
    out = np.empty((), dtype)
    with np.errstate(invalid="ignore"):
        plain = forward.forward(logits, labels)
        assert forward.forward(logits, labels, out=out, work=fresh_work(forward, logits, labels)) is out
        np.testing.assert_array_equal(out, plain)
        gy = np.asarray(0.75, dtype)
        grad = CrossEntropyGrad(reduction=reduction)
        expected = grad.forward(logits, labels, gy)
        into = np.full(shape, np.nan, dtype)
        grad.forward(logits, labels, gy, out=into, work=fresh_work(grad, logits, labels, gy))
        np.testing.assert_array_equal(into, expected)
        strided = np.full(shape[:-1] + (2 * shape[-1],), np.nan, dtype)[..., ::2]
        grad.forward(logits, labels, gy, out=strided, work=fresh_work(grad, logits, labels, gy))
        np.testing.assert_array_equal(strided, expected)


def test_cross_entropy_declares_no_workspace_off_its_fast_path():
    logits = G.TensorType((4, 3), np.dtype(np.float32))
    labels = G.TensorType((4,), np.dtype(np.int64))
    assert CrossEntropy(reduction="none").workspace(logits, labels) == ()
    assert CrossEntropy(reduction="mean").workspace(logits, logits) == ()
    assert len(CrossEntropyGrad(reduction="mean").workspace(logits, logits, logits)) == 2


def steady_peak(machine) -> int:
    for _ in range(3):
        machine.run_all()
    tracemalloc.start()
    try:
        return max(peak_of(machine.run_all) for _ in range(3))
    finally:
        tracemalloc.stop()


def small_mlp(batch=64, sizes=(50, 40, 10)):
    rng = np.random.default_rng(1)
    g = G.Graph()
    h = G.matrix(g, G.Float32, (batch, sizes[0]), name="x",
                 value=rng.standard_normal((batch, sizes[0])).astype(np.float32))
    labels = G.vector(g, G.Int64, batch, name="labels", value=rng.integers(0, sizes[-1], batch))
    params = []
    for layer, (a, b) in enumerate(zip(sizes, sizes[1:])):
        w = G.matrix(g, G.Float32, (a, b), name=f"w{layer}",
                     value=(rng.standard_normal((a, b)) / np.sqrt(a)).astype(np.float32))
        params.append(w)
        params.append(G.vector(g, G.Float32, b, name=f"b{layer}", value=np.zeros(b, np.float32)))
        h = h @ w + params[-1]
        if layer < len(sizes) - 2:
            h = G.relu(h)
    loss = G.cross_entropy(h, labels)
    G.grad(loss, *params)
    return G.TapeMachine(g), batch * sizes[-1] * 4


def small_lstm(batch=16, hidden=32, inputs=6, steps=5):
    rng = np.random.default_rng(2)
    g = G.Graph()
    xs = G.tensor(g, G.Float32, (steps, batch, inputs), name="xs",
                  value=rng.standard_normal((steps, batch, inputs)).astype(np.float32))
    w = G.matrix(g, G.Float32, (inputs, 4 * hidden), name="w",
                 value=rng.standard_normal((inputs, 4 * hidden)).astype(np.float32) * 0.2)
    u = G.matrix(g, G.Float32, (hidden, 4 * hidden), name="u",
                 value=rng.standard_normal((hidden, 4 * hidden)).astype(np.float32) * 0.2)
    b = G.vector(g, G.Float32, 4 * hidden, name="b", value=np.zeros(4 * hidden, np.float32))
    h = c = G.constant(np.zeros((batch, hidden), np.float32), g)
    for t in range(steps):
        z = xs[t] @ w + h @ u + b
        gates = G.sigmoid(z[:, :3 * hidden])
        c = gates[:, hidden:2 * hidden] * c + gates[:, :hidden] * G.tanh(z[:, 3 * hidden:])
        h = gates[:, 2 * hidden:] * G.tanh(c)
    loss = G.mean(G.square(h))
    G.grad(loss, w, u, b)
    return G.TapeMachine(g), batch * hidden * 4


@pytest.mark.parametrize("build", [small_mlp, small_lstm], ids=["mlp", "lstm"])
def test_a_small_steady_state_step_allocates_less_than_its_smallest_batch_array(
        small_numpy_buffers, build):
    machine, smallest_batch_array = build()
    peak = steady_peak(machine)
    assert peak < smallest_batch_array, f"a steady-state step allocated {peak} bytes"


@pytest.mark.parametrize("which, smallest_batch_array", [("W2", 128 * 10 * 4), ("W4", 32 * 128 * 4)])
def test_benchmark_steps_allocate_less_than_their_smallest_batch_array(
        small_numpy_buffers, which, smallest_batch_array):
    machine, solver = training_machine(which)
    peak = steady_peak(machine)
    solver.step()
    tracemalloc.start()
    try:
        solver_peak = peak_of(solver.step)
    finally:
        tracemalloc.stop()
    assert peak < smallest_batch_array, f"a steady-state {which} run allocated {peak} bytes"
    assert solver_peak < smallest_batch_array, f"a {which} SGD step allocated {solver_peak} bytes"


def test_lenet_steps_outside_conv_and_pooling_allocate_no_array(small_numpy_buffers):
    machine, _ = training_machine("LeNet")
    for _ in range(2):
        machine.run_all()
    smallest_batch_array = 64 * 10 * 4
    heavy = [(text, peak) for _, text, peak in allocating_steps(machine, smallest_batch_array)
             if text.split("{")[0].split("(")[0] not in CONV_OPS]
    assert heavy == [], f"LeNet steps outside conv/pooling allocate: {heavy}"
