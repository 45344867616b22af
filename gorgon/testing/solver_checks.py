"""The kit's check of solver update kernels: every `solver_<Name>` kernel a backend
registers against the solver's own rule, over five steps of three parameters (a matrix,
a vector, a 3-d array) whose gradients change as they move, in float64 and float32, with
the solver's variants (regularisation, clipping, Nesterov, weight decay): the parameters
and every state slot must agree within the kernel's tolerance (its `tolerance`
attribute, else BACKEND_TOLERANCE), and the kernel must be the one the solver used.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from gorgon.backends import SOLVER
from gorgon.graph import Graph
from gorgon.inputs import tensor
from gorgon.node import Node
from gorgon.registry import registry
from gorgon.testing.backend_checks import BACKEND_TOLERANCE
from gorgon.testing.report import ConformanceError

VARIANTS: dict[str, list[dict[str, Any]]] = {
    "SGD": [{"l2": 0.1, "l1": 0.01, "clip_value": 0.5}],
    "Momentum": [{"nesterov": True, "clip_norm": 1.0}],
    "AdamW": [{"weight_decay": 0.1}],
}
"""Options checked besides the defaults, per solver name."""
STEPS = 5
SHAPES = ((30, 40), (50,), (20, 3, 20))


class SolverCase(NamedTuple):
    """One backend's update kernel for one solver with some options."""

    solver: str
    backend: str
    options: tuple[tuple[str, Any], ...]

    @property
    def id(self) -> str:
        shown = ",".join(f"{k}={v}" for k, v in self.options)
        return f"{self.backend}-{self.solver}" + (f"[{shown}]" if shown else "")

    def run(self) -> None:
        check_solver(self.solver, self.backend, dict(self.options))


def solver_cases(backend: str | None = None) -> list[SolverCase]:
    """A case per registered solver kernel (of `backend`, or every backend) and variant."""
    registry.load()
    cases = []
    for op_name, name in sorted(registry.kernels):
        if not op_name.startswith(SOLVER) or (backend is not None and name != backend):
            continue
        solver = op_name[len(SOLVER):]
        for options in [{}, *VARIANTS.get(solver, [])]:
            cases.append(SolverCase(solver, name, tuple(sorted(options.items()))))
    return cases


def training_parameters(dtype: np.dtype, seed: int = 3) -> tuple[list[Node], Any]:
    """Three parameters of a cost whose gradients change as they move, and its machine."""
    import gorgon as G

    rng = np.random.default_rng(seed)
    g = Graph()
    nodes = [tensor(g, dtype, shape, name=f"p{i}", value=rng.standard_normal(shape).astype(dtype))
             for i, shape in enumerate(SHAPES)]
    cost = None
    for i, node in enumerate(nodes):
        term = G.sum(G.tanh(node * (1.0 + i)) * 3.0 + node * node * 0.5)
        cost = term if cost is None else cost + term
    G.grad(cost, *nodes)
    return nodes, G.TapeMachine(g)


def solver_steps(solver: str, options: dict[str, Any], dtype: np.dtype, backends: tuple[str, ...],
                 steps: int = STEPS) -> tuple[Any, list[np.ndarray]]:
    """The solver (named, with `options`, on `backends`) after `steps` training steps of
    training_parameters(dtype), and copies of the parameters' values."""
    import gorgon as G

    nodes, machine = training_parameters(dtype)
    made = getattr(G.solvers, solver)(params=nodes, learning_rate=0.05, backends=backends, **options)
    for _ in range(steps):
        machine.run_all()
        made.step()
    return made, [np.array(n.value) for n in nodes]


def check_solver(solver: str, backend: str, options: dict[str, Any] | None = None) -> None:
    """`backend`'s update kernel for `solver` (built with `options`) against the solver's
    own rule; ConformanceError naming the solver, the backend, the dtype and what differs."""
    options = options or {}
    for dtype in (np.dtype(np.float64), np.dtype(np.float32)):
        where = f"backend {backend!r}, update kernel of solver {solver} {options or ''} in {dtype}"
        theirs, got = solver_steps(solver, options, dtype, (backend,))
        if not all(k is not None and k[0] == backend for k in theirs.kernels):
            raise ConformanceError(f"{where}: the solver did not use the kernel for every C-contiguous "
                                   "parameter (the backend declined one, or it failed)", op=SOLVER + solver)
        tolerance = getattr(theirs.kernels[0][1], "tolerance", None) or BACKEND_TOLERANCE
        rtol, atol = tolerance.get(dtype.name, BACKEND_TOLERANCE["float64"])
        own, expected = solver_steps(solver, options, dtype, ("numpy",))
        pairs = [(f"parameter p{i}", a, b) for i, (a, b) in enumerate(zip(got, expected))]
        pairs += [(f"state {slot}[{i}]", a, b) for slot, arrays in own.state.items()
                  for i, (a, b) in enumerate(zip(theirs.state[slot], arrays))]
        for what, a, b in pairs:
            if not np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True):
                worst = float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))
                raise ConformanceError(f"{where}: {what} after {STEPS} steps differs from the solver's "
                                       f"own rule by up to {worst:.3g} (rtol={rtol}, atol={atol})",
                                       op=SOLVER + solver)
