"""Compile a graph into a Program: a flat, topologically ordered list of instructions
over numbered registers. `str(program)` is the listing."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from gorgon.backends import check_backends
from gorgon.collector import gc_paused
from gorgon.errors import ArgumentTypeError, ArgumentValueError, GorgonError
from gorgon.grad import ancestors
from gorgon.graph import Graph
from gorgon.node import INPUT, OPERATION, Node
from gorgon.passes import PASSES, check_passes, optimize
from gorgon.passes.ir import Term

LOAD = "loadArg"
CONST = "const"
ALLOC = "alloc"
EXEC = "exec"
VIEW = "view"


@dataclass(frozen=True)
class Instruction:
    """One step: load an input, hold a constant, allocate a buffer, run an op, or bind a
    view of an input's register (once, when the machine prepares). `term` is what the
    compiler made of the graph node(s) it computes."""

    kind: str
    term: Term
    out: int
    args: tuple[int, ...] = ()
    flags: tuple[str, ...] = ()

    def __str__(self) -> str:
        term = self.term
        typ = f"{term.shape} {term.dtype}"
        if self.kind in (EXEC, VIEW):
            args = " ".join(f"r{a}" for a in self.args)
            text = f"{str(term.op):<24} {args} -> r{self.out}   ({term.name})"
        elif self.kind == ALLOC:
            text = f"{ALLOC:<24} r{self.out} {typ}"
        else:
            text = f"{self.kind:<8} {term.name:<15} -> r{self.out}   {typ}"
        flags = f"   [{', '.join(self.flags)}]" if self.flags else ""
        return f"{text}{flags}"


class Program:
    """What the TapeMachine runs: instructions, the register count, the graph version it
    was compiled from, and for each compiled node that cannot be read after a run, why.
    `len(program)` counts instructions, `program.op_count` the ops a run executes and
    `program.buffer_bytes` the memory of its buffers."""

    def __init__(self, graph: Graph, nodes: Sequence[Node], instructions: list[Instruction],
                 registers: int, passes: tuple[str, ...], unreadable: dict[Node, str]):
        self.graph = graph
        self.nodes = list(nodes)
        self.instructions = instructions
        self.registers = registers
        self.passes = passes
        self.unreadable = unreadable
        self.version = graph.version

    def __len__(self) -> int:
        """Every instruction: loads, constants, allocations and ops."""
        return len(self.instructions)

    @property
    def op_count(self) -> int:
        """How many ops one run executes (the `exec` instructions)."""
        return sum(1 for ins in self.instructions if ins.kind == EXEC)

    @property
    def buffer_bytes(self) -> int:
        """The bytes of the op output buffers a machine allocates for this program (the
        arrays bound to inputs, and constants, not counted): its memory after the passes."""
        return sum(int(np.prod(ins.term.shape)) * ins.term.dtype.itemsize
                   for ins in self.instructions if ins.kind == ALLOC)

    def __str__(self) -> str:
        head = (f"Program: {len(self.instructions)} instructions ({self.op_count} ops), "
                f"{self.registers} registers, {len(self.nodes)} nodes; "
                f"passes: {', '.join(self.passes) or 'none'}")
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
            raise ArgumentTypeError(f"outputs must be nodes, got {type(node).__name__}")
        if node.graph is not graph:
            raise ArgumentValueError(f"output {node.name!r} belongs to another graph")
    nodes = graph.nodes if outputs is None else ancestors(outputs)
    return forward_nodes(nodes) if forward_only else list(nodes)


READABLE = ("all", "lean")


def check_readable(readable: str) -> str:
    """`readable` must be "all" (every node user code built stays readable) or "lean"."""
    if readable not in READABLE:
        raise ArgumentValueError(f"readable must be one of {list(READABLE)}, got {readable!r}")
    return readable


def readable_roots(graph: Graph, nodes: Sequence[Node], outputs: Sequence[Node] | None,
                   keep: Iterable[Node], readable: str = "all") -> list[Node]:
    """The nodes whose values stay readable after a run: the outputs when given, else the
    graph's sinks, the gradients G.grad returned and their cost, and every op node built
    with a name; plus `keep`. With `readable="all"` also every compiled op node that user
    code built (outside G.grad) and every compiled node G.grad ever returned."""
    selected = set(nodes)
    if outputs is not None:
        roots = list(outputs)
    else:
        used = {p for node in nodes for p in node.inputs} | graph.bypassed
        roots = [n for n in nodes if n not in used or n.named]
        roots += [n for n in graph.grad_map.values() if n in selected]
        if graph.grad_cost in selected:
            roots.append(graph.grad_cost)
    if check_readable(readable) == "all":
        roots += [n for n in nodes if n.role == OPERATION and not n.is_grad]
        roots += [n for n in graph.grad_results if n in selected]
    roots += [n for n in keep if n in selected]
    return roots


def check_inputs(graph: Graph, nodes: Sequence[Node], inputs: Sequence[Node]) -> None:
    """Every input node the compiled nodes read must be among `inputs` (Gorgonia's
    CompileFunction: a program from these inputs to those outputs)."""
    for node in inputs:
        if not isinstance(node, Node) or node.graph is not graph or node.role != INPUT:
            raise ArgumentValueError(f"inputs must be input nodes of this graph, got {node!r}")
    missing = [n.name for n in nodes if n.role == INPUT and n not in set(inputs)]
    if missing:
        raise GorgonError(f"the outputs also need the input nodes {missing}, which are not among "
                          f"inputs={[n.name for n in inputs]}")


@gc_paused
def compile(graph: Graph, outputs: Sequence[Node] | None = None,  # noqa: A001 - Gorgonia's name
            forward_only: bool = False, passes: Iterable[str] = PASSES,
            keep: Iterable[Node] = (), inputs: Sequence[Node] | None = None,
            readable: str = "all", backends: Sequence[str] | None = None,
            ) -> tuple[Program, dict[Node, int]]:
    """Compile `graph` (or just what `outputs` need) into a Program and a map from each
    readable node to its register. `passes` chooses the compile passes (all by default;
    `()` for none); `keep` lists more nodes whose values must stay readable; `inputs`,
    when given, are the only input nodes the program may read (an error names any other
    it would need), as Gorgonia's CompileFunction. `readable="all"` (the default) keeps
    every node user code built and every node G.grad returned readable, so the passes
    share and overwrite only the buffers of nodes G.grad built on the way and of the
    passes' own terms; `readable="lean"` lets them reuse everything but the outputs (or
    sinks), the gradients G.grad last returned per `wrt`, named nodes and `keep`.
    `backends` (kernel backends in order of preference; default GORGON_BACKENDS, else
    numpy) is what the fuse pass makes fused kernels for."""
    if not isinstance(graph, Graph):
        raise ArgumentTypeError(f"G.compile needs a G.Graph, got {type(graph).__name__}")
    nodes = select(graph, outputs, forward_only)
    if inputs is not None:
        check_inputs(graph, nodes, inputs)
    passes = check_passes(passes)
    roots = readable_roots(graph, nodes, outputs, keep, readable)
    optimized = optimize(nodes, roots, passes, check_backends(backends))
    instructions: list[Instruction] = []
    register_of: dict[int, int] = {}
    buffer_register: dict[int, int] = {}
    last_writer: dict[int, Term] = {}
    registers = 0
    base_of: dict[int, Term] = {}
    for term in optimized.terms:
        flags = ("grad",) if term.is_grad else ()
        if term.role == OPERATION and VIEW in term.flags:
            base_of[id(term)] = base_of.get(id(term.inputs[0]), term.inputs[0])
            register = registers
            registers += 1
            args = tuple(register_of[id(p)] for p in term.inputs)
            instructions.append(Instruction(VIEW, term, register, args, flags + term.flags))
        elif term.role == OPERATION:
            register = buffer_register.get(term.buffer)
            if register is None:
                register = buffer_register[term.buffer] = registers
                registers += 1
                instructions.append(Instruction(ALLOC, term, register))
            last_writer[term.buffer] = term
            flags += term.flags + (() if term.op.pure else ("impure",))
            args = tuple(register_of[id(p)] for p in term.inputs)
            instructions.append(Instruction(EXEC, term, register, args, flags))
        else:
            register = registers
            registers += 1
            kind = LOAD if term.role == INPUT else CONST
            instructions.append(Instruction(kind, term, register, flags=flags))
        register_of[id(term)] = register
    locmap, unreadable = _locate(nodes, optimized.term_of, register_of, last_writer, base_of)
    return Program(graph, nodes, instructions, registers, passes, unreadable), locmap


def _locate(nodes: Sequence[Node], term_of: dict[Node, Term], register_of: dict[int, int],
            last_writer: dict[int, Term], base_of: dict[int, Term],
            ) -> tuple[dict[Node, int], dict[Node, str]]:
    """Each node's register when its value survives a run (a view's: when its base's
    does), else why it does not."""
    locmap: dict[Node, int] = {}
    unreadable: dict[Node, str] = {}
    for node in nodes:
        term = term_of[node]
        register = register_of.get(id(term))
        owner = base_of.get(id(term), term)
        if register is None:
            unreadable[node] = "the compiler removed it (no output needs it after the rewrites)"
        elif owner.role == OPERATION and last_writer[owner.buffer] is not owner:
            where = "its buffer" if owner is term else f"the buffer of {owner.name!r}, which it views,"
            unreadable[node] = (f"{where} r{register_of[id(owner)]} is reused later in the run "
                                f"(by {last_writer[owner.buffer].name!r})")
        else:
            locmap[node] = register
    return locmap, unreadable
