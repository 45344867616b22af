"""The LeNet training step (benchmarks/test_lenet.py) gives bit-identical results from
run to run, and whatever the conv plugin's thread count (GORGON_CONV_THREADS). Across
BLAS thread counts only the kernels that call BLAS's GEMM may differ: conv2d,
conv_transpose2d, conv2d_grad_weight and matmul. Their results do differ on this
machine's OpenBLAS, in the last bits (about 1e-4 absolute on LeNet's float32 GEMMs):
the same products summed in another order, as sgemm blocks its work per thread. Every
other kernel, given the same inputs, gives the same bits."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import gorgon as G

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.test_lenet import LEARNING_RATE, lenet_graph  # noqa: E402

GEMM_OPS = {"conv2d", "conv_transpose2d", "conv2d_grad_weight", "matmul"}


def trained(steps: int = 2, **machine_options) -> list[bytes]:
    """Loss, parameters and gradients, as bytes, after `steps` SGD steps from the benchmark's data."""
    g, params, loss = lenet_graph()
    grads = G.grad(loss, *params)
    machine = G.TapeMachine(g, **machine_options)
    solver = G.solvers.SGD(params=params, learning_rate=LEARNING_RATE)
    for _ in range(steps):
        machine.run_all()
        solver.step()
    return [node.value.tobytes() for node in (loss, *params, *grads)]


def test_the_lenet_step_is_bit_identical_from_run_to_run():
    assert trained() == trained()


def test_the_lenet_step_is_bit_identical_whatever_the_conv_thread_count(monkeypatch):
    results = []
    for count in ("1", "2", "3"):
        monkeypatch.setenv("GORGON_CONV_THREADS", count)
        results.append(trained())
    assert results[1] == results[0] and results[2] == results[0]


def test_across_blas_thread_counts_only_the_gemm_kernels_may_differ():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    g, params, loss = lenet_graph()
    G.grad(loss, *params)
    machine = G.TapeMachine(g)
    machine.run_all()
    differing, compared = set(), set()
    for ins, run_step in zip(machine._exec, machine._steps):
        inputs = [np.array(a, copy=True) for a in machine._inputs_of(ins)]
        run_step()
        op = ins.term.op
        outputs = []
        for threads in (1, 2):
            with threadpoolctl.threadpool_limits(threads, user_api="blas"):
                outputs.append(np.asarray(op.forward(*inputs)).tobytes())
        compared.add(op.name)
        if outputs[0] != outputs[1]:
            differing.add(op.name)
    assert GEMM_OPS <= compared and "max_pool2d_grad" in compared
    assert differing <= GEMM_OPS, f"non-GEMM kernels differ across BLAS thread counts: {differing - GEMM_OPS}"
