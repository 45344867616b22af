"""Steady-state runs on the numba backend allocate no arrays: fused and row kernels
write into the machine's buffers (what tracemalloc sees is the dispatcher's few small
Python objects, well under one buffer)."""

import tracemalloc

import numpy as np
import pytest

pytest.importorskip("gorgon_numba")

import gorgon as G  # noqa: E402

from test_numba_backend import chain, mlp_block  # noqa: E402

SMALL = 4096  # bytes: less than any buffer of these programs


def peak_bytes(machine, runs=5):
    machine.run_all()
    machine.run_all()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(runs):
            machine.run_all()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("readable", ["lean", "all"])
def test_a_fused_chain_and_its_gradient_allocate_nothing(readable):
    g, x, cost = chain(30, True)
    assert peak_bytes(G.TapeMachine(g, backends=("numba",), readable=readable)) < SMALL


def test_the_block_allocates_nothing_where_numpy_layer_norm_does():
    g, y = mlp_block((256, 128), G.Float32)
    numba = peak_bytes(G.TapeMachine(g, outputs=[y], backends=("numba",), readable="lean"))
    numpy = peak_bytes(G.TapeMachine(g, outputs=[y], readable="lean"))
    assert numba < SMALL
    assert numpy >= 256 * 4  # numpy's layer norm: per-row statistics, at least


def test_g_function_takes_backends():
    @G.function(backends=("numba",))
    def block(x):
        return G.sum(G.tanh(x * 0.5) + 1.0)

    x = np.linspace(-1, 1, 7)
    np.testing.assert_allclose(block(x), np.sum(np.tanh(x * 0.5) + 1.0), rtol=1e-12)
    (trace,) = block.traces.values()
    assert trace.machine.program.op_count == 1


def test_pool_conv_transpose_and_cross_entropy_kernels_allocate_nothing():
    from gorgon import backends

    backends.forget()  # so that the kernels seen below are this machine's
    rng = np.random.default_rng(0)
    g = G.Graph()
    x = G.tensor(g, G.Float32, (8, 4, 12, 12), name="x", value=rng.standard_normal((8, 4, 12, 12), np.float32))
    w = G.tensor(g, G.Float32, (4, 3, 3, 3), name="w", value=rng.standard_normal((4, 3, 3, 3), np.float32))
    dense = G.matrix(g, G.Float32, (144, 10), name="dense", value=rng.standard_normal((144, 10), np.float32))
    labels = G.vector(g, G.Int64, 8, name="labels", value=rng.integers(0, 10, 8))
    pooled = G.max_pool2d(x, 2)
    loss = G.cross_entropy(G.flatten(pooled, 1) @ dense, labels)
    G.grad(loss, x)
    up = G.conv_transpose2d(x, w, stride=2)
    numba = G.TapeMachine(g, backends=("numba",))
    listing = str(numba.program)
    assert all(name in listing for name in ("max_pool2d_grad", "conv_transpose2d", "cross_entropy_grad"))
    assert peak_bytes(numba) < SMALL
    kinds = {type(k).__name__ for k in backends._kernels.values() if k is not None}
    assert {"PoolKernel", "ConvTransposeKernel", "LossKernel"} <= kinds
    assert peak_bytes(G.TapeMachine(g)) >= 8 * 4 * 12 * 12  # numpy's pool masks, at least
