"""Checking at start that every rank trains the same model: the same parameters (names,
shapes, dtypes, count, order), the same solver with the same hyper-parameters, the same
graph (every node's op and parameters, shape, dtype, inputs and constant values) and the
same gradient buckets.

Every rank gathers a digest of every rank's signature through the watchdog (so a rank that
never arrives ends the job instead of hanging it); when the digests differ, the signatures
themselves are gathered and compared with rank 0's, so all ranks reach the same verdict
and raise the same error together (none is left waiting).
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Iterable
from typing import Any

from gorgon import Graph, Node
from gorgon_dist.errors import GraphMismatch
from gorgon_dist.watchdog import Watchdog
from gorgon_ops_nn import Solver

Signature = dict[str, Any]
# Constants with at most this many elements are compared (and shown) by value, others by digest.
SHOWN_VALUES = 8
GraphEntry = tuple[Any, ...]


def signature(params: dict[str, Node], solver: Solver | None, bucket_bytes: int | None = None) -> Signature:
    """What must agree across ranks: each parameter's name, shape and dtype in order, the
    solver's name and hyper-parameters (its plain settings, not its state), the graphs the
    parameters live in, and the bucket size."""
    described = [(name, node.shape, node.dtype.name) for name, node in params.items()]
    settings = None
    if solver is not None:
        state = {"steps", *solver.scalars}
        settings = (solver.name, sorted((key, value) for key, value in vars(solver).items()
                                        if key not in state and isinstance(value, (int, float, str, type(None)))))
    graphs = list(dict.fromkeys(node.graph for node in params.values()))
    return {"parameters": described, "solver": settings, "bucket_bytes": bucket_bytes,
            "graphs": [graph_signature(graph) for graph in graphs]}


def graph_signature(graph: Graph) -> list[GraphEntry]:
    """One entry per node, in the graph's order: its role, op (with parameters), shape,
    dtype, the positions of its inputs, whether G.grad built it, and for an input its name
    and for a constant a digest of its value. Node names of ops are left out (they may
    name the rank); input values are left out (rank 0's are broadcast)."""
    position = {node: index for index, node in enumerate(graph.nodes)}
    entries = []
    for node in graph.nodes:
        detail = None
        if node.role == "input":
            detail = node.name
        elif node.role == "constant":
            value = node.value
            detail = (repr(value.tolist()) if value.size <= SHOWN_VALUES
                      else "digest " + hashlib.blake2b(value.tobytes(), digest_size=8).hexdigest())
        entries.append((node.role, None if node.op is None else str(node.op), node.shape, node.dtype.name,
                        tuple(position[p] for p in node.inputs), node.is_grad, detail))
    return entries


def differences(reference: Signature, other: Signature) -> list[str]:
    """How `other` differs from `reference`, in words (empty when they agree)."""
    problems = []
    ours, theirs = reference["parameters"], other["parameters"]
    if len(ours) != len(theirs):
        problems.append(f"{len(theirs)} parameters instead of {len(ours)}")
    for position, (expected, got) in enumerate(zip(ours, theirs)):
        if expected != got:
            problems.append(f"parameter {position} is {describe(got)}, not {describe(expected)}")
    if reference["solver"] != other["solver"]:
        problems.append(f"solver {other['solver']} instead of {reference['solver']}")
    if reference.get("bucket_bytes") != other.get("bucket_bytes"):
        problems.append(f"bucket_bytes {other.get('bucket_bytes')} instead of {reference.get('bucket_bytes')}")
    if not problems:
        problems += graph_differences(reference.get("graphs", []), other.get("graphs", []))
    return problems


def graph_differences(ours: list[list[GraphEntry]], theirs: list[list[GraphEntry]]) -> list[str]:
    """The first place where each pair of graphs differs, in words."""
    if len(ours) != len(theirs):
        return [f"the parameters live in {len(theirs)} graphs instead of {len(ours)}"]
    problems = []
    for index, (mine, other) in enumerate(zip(ours, theirs)):
        where = f"graph {index}" if len(ours) > 1 else "the graph"
        for position, (expected, got) in enumerate(zip(mine, other)):
            if expected != got:
                problems.append(f"{where} differs at node {position}: {describe_node(got)} instead of "
                                f"{describe_node(expected)}")
                break
        else:
            if len(mine) != len(other):
                problems.append(f"{where} has {len(other)} nodes instead of {len(mine)}")
    return problems


def describe(entry: tuple[str, tuple[int, ...], str]) -> str:
    name, shape, dtype = entry
    return f"{name!r} {shape} {dtype}"


def describe_node(entry: GraphEntry) -> str:
    role, op, shape, dtype, inputs, is_grad, detail = entry
    what = op if op is not None else f"{role} {detail}"
    inputs_text = f" of nodes {list(inputs)}" if inputs else ""
    return f"{what}{inputs_text} -> {shape} {dtype}" + (" (gradient)" if is_grad else "")


def digest(value: Signature) -> bytes:
    """A fixed-size digest of a signature."""
    return hashlib.blake2b(pickle.dumps(value), digest_size=16).digest()


def check_same_model(dog: Watchdog, params: dict[str, Node], solver: Solver | None,
                     bucket_bytes: int | None = None) -> None:
    """Raise GraphMismatch on every rank unless all ranks' signatures equal rank 0's."""
    mine = signature(params, solver, bucket_bytes)
    digests = dog.allgather_bytes(digest(mine), "the start-up check that every rank trains the same model")
    if len(set(digests)) == 1:
        return
    signatures = dog.comm.allgather(mine)
    report = [f"rank {rank} differs from rank 0: " + "; ".join(problems)
              for rank, problems in enumerate(mismatches(signatures), start=1) if problems]
    raise GraphMismatch("the ranks do not train the same model: " + ". ".join(report))


def mismatches(signatures: Iterable[Signature]) -> list[list[str]]:
    """For every rank after the first, how its signature differs from rank 0's."""
    first, *rest = signatures
    return [differences(first, other) for other in rest]
