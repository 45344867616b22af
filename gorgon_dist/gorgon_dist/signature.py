"""Checking at start that every rank trains the same model: the same parameters (names,
shapes, dtypes, count, order) and the same solver with the same hyper-parameters.

Every rank gathers every rank's signature and compares it with rank 0's, so all ranks
reach the same verdict and raise the same error together (none is left waiting).
"""

from __future__ import annotations

from typing import Any

from mpi4py import MPI

from gorgon import Node
from gorgon_dist.errors import GraphMismatch
from gorgon_ops_nn import Solver

Signature = dict[str, Any]


def signature(params: dict[str, Node], solver: Solver | None) -> Signature:
    """What must agree across ranks: each parameter's name, shape and dtype in order, and
    the solver's name and hyper-parameters (its plain settings, not its state)."""
    described = [(name, node.shape, node.dtype.name) for name, node in params.items()]
    settings = None
    if solver is not None:
        state = {"steps", *solver.scalars}
        settings = (solver.name, sorted((key, value) for key, value in vars(solver).items()
                                        if key not in state and isinstance(value, (int, float, str, type(None)))))
    return {"parameters": described, "solver": settings}


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
    return problems


def describe(entry: tuple[str, tuple[int, ...], str]) -> str:
    name, shape, dtype = entry
    return f"{name!r} {shape} {dtype}"


def check_same_model(comm: MPI.Comm, params: dict[str, Node], solver: Solver | None) -> None:
    """Raise GraphMismatch on every rank unless all ranks' signatures equal rank 0's."""
    signatures = comm.allgather(signature(params, solver))
    report = []
    for rank, other in enumerate(signatures[1:], start=1):
        problems = differences(signatures[0], other)
        if problems:
            report.append(f"rank {rank} differs from rank 0: " + "; ".join(problems))
    if report:
        raise GraphMismatch("the ranks do not train the same model: " + ". ".join(report))
