"""The LeNet training step with one BLAS thread (TapeMachine(blas_threads=1)) beside
PyTorch with one thread, in the same run as the two-thread cases of test_lenet.py: on
a machine whose cores other processes keep busy, spinning BLAS threads cost more than
they give."""

import numpy as np

from benchmarks.test_lenet import tape_step, torch_step


def test_lenet_tape_one_blas_thread(benchmark, record):
    record("LeNet training step", "gorgon TapeMachine, blas_threads=1")
    step, loss = tape_step(blas_threads=1)
    benchmark(step)
    assert np.isfinite(loss.value)


def test_lenet_torch_one_thread(benchmark, record, torch):
    record("LeNet training step", "torch eager, 1 thread")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert torch.isfinite(benchmark(torch_step(torch)))
    finally:
        torch.set_num_threads(threads)
