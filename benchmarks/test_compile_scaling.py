"""Compile scaling: the time to build a graph, differentiate it and compile it, for
graphs of 1k, 4k, 16k and 64k nodes; the report fits the growth exponent. As smoke
tests (benchmark timing disabled) only the smallest size runs."""

import numpy as np
import pytest

import gorgon as G

SIZES = [1_000, 4_000, 16_000, 64_000]


def build_grad_compile(nodes: int) -> G.Program:
    g = G.Graph()
    x = G.vector(g, G.Float64, 8, name="x", value=np.zeros(8))
    w = G.vector(g, G.Float64, 8, name="w", value=np.ones(8))
    h = x
    while len(g.nodes) < nodes // 2:
        h = G.tanh(h * w + 0.5)
    cost = G.sum(h)
    G.grad(cost, x, w)
    program, _ = G.compile(g)
    return program


@pytest.mark.parametrize("nodes", SIZES)
def test_compile_scaling(benchmark, record, nodes):
    if benchmark.disabled and nodes > SIZES[0]:
        pytest.skip("large sizes run only when benchmarking (--benchmark-enable)")
    record("compile scaling", f"gorgon build+grad+compile {nodes} nodes", nodes)
    benchmark.extra_info["nodes"] = nodes
    program = benchmark.pedantic(build_grad_compile, args=(nodes,), rounds=3, iterations=1)
    assert len(program.nodes) >= nodes // 2
