"""Gradient rules on values, for the LispMachine: each op's rule is traced once per
(op, input types, needed inputs, mode) into a small compiled program, then replayed on
arrays at every backward pass, with no node built at run time."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gorgon.compile import CONST, EXEC, compile
from gorgon.grad import rule_gradients
from gorgon.graph import Graph
from gorgon.inputs import tensor
from gorgon.node import Node
from gorgon.op import Op, kernel

CACHE_LIMIT = 4096
PASSES = ("fold", "cse", "dce")


class VJPProgram:
    """One op's gradient rule, compiled for given input types; `run` replays it."""

    def __init__(self, op: Op, inputs: Sequence[Node], output: Node, needed: tuple[bool, ...],
                 training: bool):
        graph = Graph()
        graph.training = training
        xs = [tensor(graph, p.dtype, p.shape, name=f"x{i}") for i, p in enumerate(inputs)]
        y = tensor(graph, output.dtype, output.shape, name="y")
        gy = tensor(graph, output.dtype, output.shape, name="gy")
        grads = rule_gradients(op, output.name, xs, y, gy, needed)
        program, locmap = compile(graph, outputs=[g for g in grads if g is not None], passes=PASSES)
        self.template: list[object] = [None] * program.registers
        self.steps = []
        for ins in program.instructions:
            if ins.kind == CONST:
                self.template[ins.out] = ins.term.value
            elif ins.kind == EXEC:
                fn = ins.term.op.ufunc or kernel(ins.term.op, training)
                self.steps.append((fn, ins.args, ins.out))
        self.loads = [(locmap[node], position) for position, node in enumerate(xs + [y, gy])
                      if node in locmap]
        self.results = [None if g is None else locmap[g] for g in grads]

    def run(self, arrays: Sequence[np.ndarray]) -> list[np.ndarray | None]:
        """The gradients for `arrays` = input values, then output value, then its adjoint."""
        slots = self.template.copy()
        for slot, position in self.loads:
            slots[slot] = arrays[position]
        for fn, args, out in self.steps:
            slots[out] = fn(*[slots[a] for a in args])
        return [None if r is None else slots[r] for r in self.results]


_cache: dict[tuple, VJPProgram] = {}


def vjp_program(node: Node, needed: tuple[bool, ...], training: bool) -> VJPProgram:
    """The compiled gradient rule for `node`'s op and input types (cached)."""
    key = (node.op, tuple((p.shape, p.dtype.str) for p in node.inputs), needed, training)
    program = _cache.get(key)
    if program is None:
        if len(_cache) >= CACHE_LIMIT:
            _cache.clear()
        program = _cache[key] = VJPProgram(node.op, node.inputs, node, needed, training)
    return program
