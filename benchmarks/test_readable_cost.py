"""What the readable-by-default TapeMachine costs: each of W1 forward+backward, W2, LeNet
and W4 as one training step with `readable="all"` (the default: every node the user
built stays readable) and with `readable="lean"` (the passes reuse all but outputs,
returned gradients, named and kept nodes). Time per step, and in `extra_info` the bytes
of the op buffers the program allocates (`program.buffer_bytes`, the machine's memory
beside the bound inputs)."""

import numpy as np
import pytest

import gorgon as G
from benchmarks import test_dispatch, test_lenet, test_lstm, test_mlp

READABLE = ["all", "lean"]


def w1_graph():
    g, x, cost = test_dispatch.chain(with_grad=False)
    return g, [x], cost


WORKLOADS = {
    "W1 forward+backward": (w1_graph, 1e-3),
    "W2 MLP step": (test_mlp.mlp_graph, test_mlp.LEARNING_RATE),
    "LeNet training step": (test_lenet.lenet_graph, test_lenet.LEARNING_RATE),
    "W4 LSTM step": (lambda: test_lstm.lstm_graph(test_lstm.data()), test_lstm.LEARNING_RATE),
}


def training_step(workload: str, readable: str):
    build, learning_rate = WORKLOADS[workload]
    g, params, loss = build()
    grads = G.grad(loss, *params)
    machine = G.TapeMachine(g, readable=readable)

    def step():
        machine.run_all()
        for param, grad in zip(params, grads):
            param.value[...] -= learning_rate * grad.value

    return step, machine, loss


@pytest.mark.parametrize("readable", READABLE)
@pytest.mark.parametrize("workload", sorted(WORKLOADS))
def test_readable_cost(benchmark, record, workload, readable):
    record(f"readable cost: {workload}", f"gorgon TapeMachine readable={readable}")
    step, machine, loss = training_step(workload, readable)
    program = machine.program
    benchmark.extra_info.update(readable=readable, cost_of=workload, ops=1,
                                buffer_bytes=program.buffer_bytes, program_ops=program.op_count)
    benchmark(step)
    assert np.isfinite(loss.value)
