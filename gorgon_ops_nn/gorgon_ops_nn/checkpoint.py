"""Saving and loading parameters, and a solver's state, as numpy `.npz` files.

Loading never runs code (nothing is unpickled) and checks everything first, from the
members' headers before reading any data: every name, shape, dtype and declared size, the
solver's state, and that each bound array is writeable. Only when all of it fits are the
arrays read and assigned; a failure while assigning puts back what was there, so a load
that fails changes nothing.

Saving writes a temporary file of its own in the target's folder, flushes and fsyncs it,
renames it over the target and fsyncs the folder: concurrent saves, and saves killed at
any moment, leave the old file or one new complete file. A load opens the file once, so a
file replaced meanwhile is read whole, old or new.

Layout: `param/<node name>` per parameter, `solver/<key>` per entry of the solver's
`state_dict()`, and `solver_name`.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping, Sequence

import numpy as np

import gorgon as G
from gorgon import Node
from gorgon.errors import ArgumentTypeError, BindError, GorgonError
from gorgon.inputs import unbind
from gorgon.types import describe
from gorgon_ops_nn.archive import Archive, Member, open_archive
from gorgon_ops_nn.solvers import Solver

PARAM = "param/"
SOLVER = "solver/"
SOLVER_NAME = "solver_name"

Params = Sequence[Node] | Mapping[str, Node]


def named(params: Params) -> dict[str, Node]:
    """Parameters by name: a mapping as given, a sequence by node name (names must differ)."""
    if isinstance(params, Mapping):
        pairs = list(params.items())
    elif isinstance(params, Sequence) and not isinstance(params, str):
        pairs = [(getattr(node, "name", repr(node)), node) for node in params]
    else:
        raise ArgumentTypeError("params must be a list of nodes or a dict of name -> node, "
                        f"got {type(params).__name__}")
    result: dict[str, Node] = {}
    for name, node in pairs:
        if not isinstance(node, Node):
            raise ArgumentTypeError(f"parameter {name}: expected a node, got {type(node).__name__}")
        if name in result:
            raise GorgonError(f"two parameters are named {name!r}; give them distinct names "
                              "or pass a dict of name -> node")
        result[name] = node
    return result


def save(path: str | os.PathLike, params: Params, solver: Solver | None = None) -> None:
    """Write every parameter's value (and the solver's state, when given) to the `.npz`
    file `path`, atomically: a unique temporary file in the same folder, fsynced, then
    renamed over `path`."""
    arrays = {}
    for name, node in named(params).items():
        if node.value is None:
            raise BindError(f"cannot save parameter {describe(node)}: it has no value")
        arrays[PARAM + name] = node.value
    if solver is not None:
        arrays.update({SOLVER + key: value for key, value in solver.state_dict().items()})
        arrays[SOLVER_NAME] = np.array(solver.name)
    target = os.path.abspath(os.fspath(path))
    folder, base = os.path.split(target)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{base}.", suffix=".partial", dir=folder)
    try:
        with os.fdopen(descriptor, "wb") as file:
            _make_readable(file.fileno())
            np.savez(file, **arrays)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _sync_folder(folder)


def _make_readable(descriptor: int) -> None:
    """Give the temporary file the mode a plain `open` would (mkstemp makes it 0600)."""
    if hasattr(os, "fchmod"):
        os.fchmod(descriptor, 0o666 & ~_UMASK)


def _sync_folder(folder: str) -> None:
    """fsync the folder, so the rename itself survives a crash (where the OS allows it)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def read(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Every array of the `.npz` file `path`, without unpickling anything (each member's
    declared size is checked against the archive before its data is read)."""
    with open_archive(path) as archive:
        return {key: archive.array(key) for key in archive.members}


def load(path: str | os.PathLike, params: Params, solver: Solver | None = None) -> None:
    """Load the parameters (and the solver's state, when given) saved by `save` into the
    nodes' bound arrays, in place. Every mismatch (a name the file lacks or the graph
    lacks, a shape, a dtype, a read-only array, the solver's kind or state) is reported
    together in one GorgonError before any data is read, and nothing is changed."""
    nodes = named(params)
    with open_archive(path) as archive:
        problems = archive_problems(archive, nodes, solver)
        if problems:
            raise GorgonError(f"cannot load {os.fspath(path)!r}: " + "; ".join(problems))
        stored = {name: archive.array(PARAM + name) for name in nodes}
        state = None
        if solver is not None:
            state = {key: archive.array(SOLVER + key) for key in solver.state_dict()}
    assign(nodes, stored, solver, state)


def assign(nodes: dict[str, Node], stored: dict[str, np.ndarray], solver: Solver | None,
           state: dict[str, np.ndarray] | None) -> None:
    """Copy `stored` into the nodes (binding those without a value) and `state` into the
    solver; if anything fails on the way, put every node and the solver back as they were."""
    before = {name: None if node.value is None else node.value.copy() for name, node in nodes.items()}
    solver_before = None if solver is None else solver.state_dict()
    try:
        for name, node in nodes.items():
            if before[name] is None:
                G.let(node, stored[name])
            else:
                np.copyto(node.value, stored[name])
        if solver is not None:
            solver.load_state_dict(state)
    except BaseException:
        for name, node in nodes.items():
            if before[name] is None:
                if node.value is not None:
                    unbind(node)
            else:
                np.copyto(node.value, before[name])
        if solver is not None:
            solver.load_state_dict(solver_before)
        raise


def archive_problems(archive: Archive, nodes: dict[str, Node], solver: Solver | None) -> list[str]:
    """Every way the archive does not fit the nodes and the solver, from the headers alone."""
    members = archive.members
    stray = sorted(key for key in members
                   if not key.startswith((PARAM, SOLVER)) and key != SOLVER_NAME)
    problems = [f"the file holds entries that are no parameter or solver state: {stray}"] if stray else []
    stored = {key[len(PARAM):]: member for key, member in members.items() if key.startswith(PARAM)}
    problems += param_problems(nodes, stored)
    if solver is not None:
        state = {key[len(SOLVER):]: member.placeholder() for key, member in members.items()
                 if key.startswith(SOLVER)}
        problems += solver_problems(solver, _solver_name(archive), state)
    return problems


def _solver_name(archive: Archive) -> str | None:
    member = archive.members.get(SOLVER_NAME)
    if member is None:
        return None
    if member.dtype.kind != "U" or member.shape != () or member.nbytes > 4096:
        return f"<{member.shape} {member.dtype} array>"
    return str(archive.array(SOLVER_NAME))


def param_problems(nodes: dict[str, Node], stored: Mapping[str, Member | np.ndarray]) -> list[str]:
    """Every way the stored parameters differ from the nodes: names, shapes, dtypes, and
    bound arrays that cannot be written."""
    problems = []
    missing = sorted(set(nodes) - set(stored))
    unexpected = sorted(set(stored) - set(nodes))
    if missing:
        problems.append(f"the file lacks parameters {missing}")
    if unexpected:
        problems.append(f"the file holds parameters the graph lacks: {unexpected}")
    for name in sorted(set(nodes) & set(stored)):
        node, value = nodes[name], stored[name]
        if value.shape != node.shape or value.dtype != node.dtype:
            problems.append(f"parameter {name!r} is {value.shape} {value.dtype} in the file, "
                            f"{node.shape} {node.dtype} in the graph")
    for name, node in nodes.items():
        if node.value is not None and not node.value.flags.writeable:
            problems.append(f"parameter {describe(node)} is bound to a read-only array")
    return problems


def solver_problems(solver: Solver, name: str | None, state: dict[str, np.ndarray]) -> list[str]:
    """Why the stored solver state cannot go into `solver`, if it cannot."""
    if name is None:
        return ["the file holds no solver state"]
    if name != solver.name:
        return [f"the file holds the state of solver {name}, not of {solver.name}"]
    try:
        solver.check_state(state)
    except GorgonError as exc:
        return [str(exc)]
    return []
