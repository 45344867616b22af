"""Tracing on both machines, and the training/evaluation mode that ops may follow."""

import logging

import numpy as np
import pytest

import gorgon as G
from gorgon.infer import elementwise

MACHINES = [G.TapeMachine, G.LispMachine]


def traced_graph():
    g = G.Graph()
    x = G.vector(g, G.Float64, (2,), name="x", value=np.array([1.0, 2.0]))
    y = G.exp(x * 2.0)
    return g, y


@pytest.mark.parametrize("machine", MACHINES)
def test_a_trace_callable_gets_one_line_per_executed_op(machine):
    g, y = traced_graph()
    lines: list[str] = []
    machine(g, trace=lines.append).run_all()
    assert len(lines) == 2
    assert "mul" in lines[0] and "exp" in lines[1]
    assert lines[1].endswith(f"(2,) float64 min={np.exp(2.0):.4g} max={np.exp(4.0):.4g}")


@pytest.mark.parametrize("machine", MACHINES)
def test_trace_true_logs_to_the_gorgon_vm_logger(machine, caplog):
    g, y = traced_graph()
    with caplog.at_level(logging.INFO, logger="gorgon.vm"):
        machine(g, trace=True).run_all()
    records = [r for r in caplog.records if r.name == "gorgon.vm"]
    assert len(records) == 2 and "exp" in records[1].getMessage()


@pytest.mark.parametrize("machine", MACHINES)
def test_trace_must_be_a_bool_or_a_callable(machine):
    g, y = traced_graph()
    with pytest.raises(TypeError, match="trace must be a bool or a callable"):
        machine(g, trace="yes")
    assert machine(g, trace=False).tracer is None


def test_trace_summarises_empty_and_boolean_values():
    g = G.Graph()
    e = G.vector(g, G.Float64, (0,), name="e", value=np.zeros(0))
    b = G.vector(g, G.Float64, (2,), name="b", value=np.array([1.0, 2.0]))
    G.exp(e)
    G.gt(b, 1.5)
    lines: list[str] = []
    G.TapeMachine(g, trace=lines.append).run_all()
    assert lines[0].endswith("= (0,) float64") and lines[1].endswith("(2,) bool min=0 max=1")


class Noisy(G.Op):
    """Adds 1 in training mode, nothing in evaluation mode."""

    name = "test_noisy"
    mode_dependent = True

    def infer(self, x):
        return elementwise(self, x)

    def forward(self, x, out=None, training=True):
        return np.add(x, 1.0 if training else 0.0, out=out)

    def vjp(self, inputs, output, gy):
        return (gy,)


@pytest.mark.parametrize("machine", MACHINES)
def test_mode_follows_the_graph_unless_the_machine_fixes_it(machine):
    g = G.Graph()
    x = G.scalar(g, G.Float64, name="x", value=1.0)
    y = G.apply(Noisy(), x)
    m = machine(g)
    assert m.mode is True
    m.run_all()
    assert y.value == 2.0
    g.eval()
    m.run_all()
    assert y.value == 1.0 and m.mode is False
    m.train()
    m.run_all()
    assert y.value == 2.0
    assert m.eval() is m and g.train() is g
    m.run_all()
    assert y.value == 1.0
    machine(g, training=False).run_all()
    assert y.value == 1.0


class NoisyGrad(Noisy):
    """Like Noisy, but its gradient goes through Noisy too: `gy` in training mode,
    `gy - 1` in evaluation mode."""

    name = "test_noisy_grad"

    def vjp(self, inputs, output, gy):
        return (G.apply(Noisy(), gy) - 1.0,)


@pytest.mark.parametrize("training, expected", [(True, 1.0), (False, 0.0)])
def test_gradients_follow_the_machine_mode_on_both_machines(training, expected):
    g = G.Graph()
    x = G.scalar(g, G.Float64, name="x", value=1.0)
    y = G.apply(NoisyGrad(), x)
    G.LispMachine(g, training=training).run_all()
    assert x.grad == expected
    (dx,) = G.grad(y, x)
    G.TapeMachine(g, training=training).run_all()
    assert dx.value == expected
