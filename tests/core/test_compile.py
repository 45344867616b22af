"""G.compile: the Program listing, forward_only and outputs=."""

import re

import numpy as np
import pytest

import gorgon as G
from gorgon.errors import GorgonError


def small_graph():
    g = G.Graph()
    x = G.vector(g, G.Float64, (2,), name="x")
    c = G.constant(2.0, g, name="two")
    y = G.tanh(x * c)
    z = G.exp(x)
    (dx,) = G.grad(y, x, grad_output=G.constant(np.ones(2), g, name="seed"))
    return g, x, c, y, z, dx


def test_compile_returns_a_program_and_a_register_per_node():
    g, x, c, y, z, dx = small_graph()
    program, locmap = G.compile(g, passes=())
    assert isinstance(program, G.Program)
    assert set(locmap) == set(g.nodes)
    assert sorted(locmap.values()) == list(range(len(g.nodes))) == list(range(program.registers))
    assert program.nodes == g.nodes and program.version == g.version
    exec_count = sum(1 for node in g.nodes if node.op is not None)
    assert len(program) == len(g.nodes) + exec_count


def test_the_listing_shows_loads_constants_allocations_and_ops_with_registers():
    g, x, c, y, z, dx = small_graph()
    program, locmap = G.compile(g, passes=())
    text = str(program)
    lines = text.splitlines()
    ops = sum(1 for node in g.nodes if node.op is not None)
    assert lines[0] == (f"Program: {len(program)} instructions ({ops} ops), {program.registers} "
                        f"registers, {len(g.nodes)} nodes; passes: none")
    assert re.search(rf"^\s*0  loadArg  x\s+-> r{locmap[x]}\s+\(2,\) float64$", text, re.M)
    assert re.search(rf"const\s+two\s+-> r{locmap[c]}\s+\(\) float64$", text, re.M)
    assert re.search(rf"alloc\s+r{locmap[y]} \(2,\) float64$", text, re.M)
    mul = y.inputs[0]
    assert re.search(rf"mul\s+r{locmap[x]} r{locmap[c]} -> r{locmap[mul]}\s+\({mul.name}\)$", text, re.M)
    assert re.search(rf"tanh\s+r{locmap[mul]} -> r{locmap[y]}\s+\({y.name}\)$", text, re.M)
    assert re.search(rf"-> r{locmap[dx]}\s+\({dx.name}\)\s+\[grad\]$", text, re.M)
    assert re.search(r"const\s+seed\s+-> r\d+\s+\(2,\) float64$", text, re.M)


def test_forward_only_leaves_out_gradient_nodes():
    g, x, c, y, z, dx = small_graph()
    program, locmap = G.compile(g, forward_only=True)
    assert dx not in locmap and y in locmap and z in locmap
    assert all(not node.is_grad for node in program.nodes)
    assert "[grad]" not in str(program)


def test_outputs_compiles_only_what_they_need():
    g, x, c, y, z, dx = small_graph()
    program, locmap = G.compile(g, outputs=[z])
    assert set(locmap) == {x, z}
    assert [ins.kind for ins in program.instructions] == ["loadArg", "alloc", "exec"]


def test_impure_ops_are_flagged(needs_ops):
    needs_ops("uniform")
    g = G.Graph()
    noise = G.uniform(g, (2,))
    program, _ = G.compile(g)
    assert not noise.op.pure
    assert "impure" in str(program)


def test_outputs_must_be_nodes_of_the_graph():
    g, x, c, y, z, dx = small_graph()
    with pytest.raises(GorgonError, match=f"output '{y.name}' belongs to another graph"):
        G.compile(G.Graph(), outputs=[y])
    with pytest.raises(TypeError, match="outputs must be nodes, got float"):
        G.TapeMachine(g, outputs=[3.0])
    with pytest.raises(TypeError, match="needs a G.Graph, got list"):
        G.compile([y])
