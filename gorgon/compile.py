"""Compile a graph into a Program: a flat, topologically ordered list of instructions
over numbered registers. `str(program)` is the listing."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gorgon.errors import GorgonError
from gorgon.grad import ancestors
from gorgon.graph import Graph
from gorgon.node import CONSTANT, INPUT, Node

LOAD = "loadArg"
CONST = "const"
ALLOC = "alloc"
EXEC = "exec"


@dataclass(frozen=True)
class Instruction:
    """One step: load an input, hold a constant, allocate a buffer, or run an op."""

    kind: str
    node: Node
    out: int
    args: tuple[int, ...] = ()
    flags: tuple[str, ...] = ()

    def __str__(self) -> str:
        node = self.node
        typ = f"{node.shape} {node.dtype}"
        if self.kind == EXEC:
            args = " ".join(f"r{a}" for a in self.args)
            text = f"{str(node.op):<24} {args} -> r{self.out}"
        elif self.kind == ALLOC:
            text = f"{ALLOC:<24} r{self.out} {typ}"
        else:
            text = f"{self.kind:<8} {node.name:<15} -> r{self.out}   {typ}"
        flags = f"   [{', '.join(self.flags)}]" if self.flags else ""
        return f"{text}{flags}"


class Program:
    """What the TapeMachine runs: instructions, the register count, and the graph
    version it was compiled from."""

    def __init__(self, graph: Graph, nodes: Sequence[Node], instructions: list[Instruction],
                 registers: int):
        self.graph = graph
        self.nodes = list(nodes)
        self.instructions = instructions
        self.registers = registers
        self.version = graph.version

    def __len__(self) -> int:
        return len(self.instructions)

    def __str__(self) -> str:
        head = (f"Program: {len(self.instructions)} instructions, {self.registers} registers, "
                f"{len(self.nodes)} nodes")
        lines = [head] + [f"{i:4d}  {ins}" for i, ins in enumerate(self.instructions)]
        return "\n".join(lines) + "\n"


def forward_nodes(nodes: Iterable[Node]) -> list[Node]:
    """The nodes that do not depend on any gradient node (what a forward-only run runs)."""
    backward: set[Node] = set()
    kept = []
    for node in nodes:
        if node.is_grad or any(p in backward for p in node.inputs):
            backward.add(node)
        else:
            kept.append(node)
    return kept


def select(graph: Graph, outputs: Sequence[Node] | None, forward_only: bool) -> list[Node]:
    """The nodes to compile: the whole graph or what `outputs` need, less the gradient
    nodes when `forward_only`."""
    for node in outputs or ():
        if not isinstance(node, Node):
            raise TypeError(f"outputs must be nodes, got {type(node).__name__}")
        if node.graph is not graph:
            raise GorgonError(f"output {node.name!r} belongs to another graph")
    nodes = graph.nodes if outputs is None else ancestors(outputs)
    return forward_nodes(nodes) if forward_only else list(nodes)


def compile(graph: Graph, outputs: Sequence[Node] | None = None,  # noqa: A001 - Gorgonia's name
            forward_only: bool = False) -> tuple[Program, dict[Node, int]]:
    """Compile `graph` (or just what `outputs` need) into a Program and a map from each
    node to its register."""
    if not isinstance(graph, Graph):
        raise TypeError(f"G.compile needs a G.Graph, got {type(graph).__name__}")
    nodes = select(graph, outputs, forward_only)
    instructions: list[Instruction] = []
    locmap: dict[Node, int] = {}
    for node in nodes:
        register = len(locmap)
        locmap[node] = register
        flags = ("grad",) if node.is_grad else ()
        if node.role == INPUT:
            instructions.append(Instruction(LOAD, node, register, flags=flags))
        elif node.role == CONSTANT:
            instructions.append(Instruction(CONST, node, register, flags=flags))
        else:
            if not node.op.pure:
                flags += ("impure",)
            instructions.append(Instruction(ALLOC, node, register))
            args = tuple(locmap[p] for p in node.inputs)
            instructions.append(Instruction(EXEC, node, register, args, flags))
    return Program(graph, nodes, instructions, len(locmap)), locmap
