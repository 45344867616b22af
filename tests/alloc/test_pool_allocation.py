"""LeNet's 2x2 max-pool steps allocate no array in a steady-state TapeMachine run: the
gradient's masks and row maxima live in its declared workspace. Measured with the conv
plugin in one thread (GORGON_CONV_THREADS=1): numpy's iteration buffers in other threads
keep numpy's own size, which `small_numpy_buffers` cannot set there."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import allocating_steps, training_machine  # noqa: E402


@pytest.fixture
def one_thread_small_buffers(monkeypatch):
    monkeypatch.setenv("GORGON_CONV_THREADS", "1")
    previous = np.setbufsize(16)
    yield
    np.setbufsize(previous)


def test_lenet_max_pool_steps_allocate_less_than_their_smallest_array(one_thread_small_buffers):
    machine, _ = training_machine("LeNet")
    for _ in range(2):
        machine.run_all()
    pool_steps = {}
    for index, ins in enumerate(machine._exec):
        if ins.term.op.name in ("max_pool2d", "max_pool2d_grad"):
            arrays = [*machine._inputs_of(ins)]
            pool_steps[index] = min(a.nbytes for a in arrays) // 2
    assert len(pool_steps) == 4
    heavy = [(text, peak) for index, text, peak in allocating_steps(machine, 0)
             if index in pool_steps and peak >= pool_steps[index]]
    assert heavy == [], f"max-pool steps allocate arrays: {heavy}"
