"""Saving and loading parameters, and a solver's state, as numpy `.npz` files.

Files are read with `allow_pickle=False`, so loading one never runs code. Loading checks
everything first (every name, shape and dtype, and the solver's state) and assigns only
when all of it fits: a file that does not match the graph changes nothing.

Layout: `param/<node name>` per parameter, `solver/<key>` per entry of the solver's
`state_dict()`, and `solver_name`.
"""

from __future__ import annotations

import contextlib
import os
import zipfile
from collections.abc import Mapping, Sequence

import numpy as np

import gorgon as G
from gorgon import Node
from gorgon.errors import BindError, GorgonError
from gorgon.types import describe
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
        raise TypeError("params must be a list of nodes or a dict of name -> node, "
                        f"got {type(params).__name__}")
    result: dict[str, Node] = {}
    for name, node in pairs:
        if not isinstance(node, Node):
            raise TypeError(f"parameter {name}: expected a node, got {type(node).__name__}")
        if name in result:
            raise GorgonError(f"two parameters are named {name!r}; give them distinct names "
                              "or pass a dict of name -> node")
        result[name] = node
    return result


def save(path: str | os.PathLike, params: Params, solver: Solver | None = None) -> None:
    """Write every parameter's value (and the solver's state, when given) to the `.npz`
    file `path`, replacing it only once the new file is complete."""
    arrays = {}
    for name, node in named(params).items():
        if node.value is None:
            raise BindError(f"cannot save parameter {describe(node)}: it has no value")
        arrays[PARAM + name] = node.value
    if solver is not None:
        arrays.update({SOLVER + key: value for key, value in solver.state_dict().items()})
        arrays[SOLVER_NAME] = np.array(solver.name)
    temporary = f"{os.fspath(path)}.partial"
    try:
        with open(temporary, "wb") as file:
            np.savez(file, **arrays)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def read(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Every array of the `.npz` file `path`, without unpickling anything."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise GorgonError(f"cannot read parameters from {os.fspath(path)!r}: {exc}") from exc


def load(path: str | os.PathLike, params: Params, solver: Solver | None = None) -> None:
    """Load the parameters (and the solver's state, when given) saved by `save` into the
    nodes' bound arrays, in place. Every mismatch (a name the file lacks or the graph
    lacks, a shape, a dtype, the solver's kind or state) is reported together in one
    GorgonError, and nothing is changed."""
    nodes = named(params)
    arrays = read(path)
    stored = {key[len(PARAM):]: value for key, value in arrays.items() if key.startswith(PARAM)}
    problems = param_problems(nodes, stored)
    state = {key[len(SOLVER):]: value for key, value in arrays.items() if key.startswith(SOLVER)}
    if solver is not None:
        problems += solver_problems(solver, arrays.get(SOLVER_NAME), state)
    if problems:
        raise GorgonError(f"cannot load {os.fspath(path)!r}: " + "; ".join(problems))
    for name, node in nodes.items():
        if node.value is None:
            G.let(node, stored[name])
        else:
            np.copyto(node.value, stored[name])
    if solver is not None:
        solver.load_state_dict(state)


def param_problems(nodes: dict[str, Node], stored: dict[str, np.ndarray]) -> list[str]:
    """Every way the stored parameters differ from the nodes: names, shapes, dtypes."""
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
    return problems


def solver_problems(solver: Solver, name: np.ndarray | None, state: dict[str, np.ndarray]) -> list[str]:
    """Why the stored solver state cannot go into `solver`, if it cannot."""
    if name is None:
        return ["the file holds no solver state"]
    if str(name) != solver.name:
        return [f"the file holds the state of solver {name}, not of {solver.name}"]
    try:
        solver.check_state(state)
    except GorgonError as exc:
        return [str(exc)]
    return []
