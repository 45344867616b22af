"""Solver update kernels: SGD, Momentum (heavy ball or Nesterov), Adam and AdamW in one
pass over each parameter, its gradient and its state; numpy's rules make two (SGD) to
ten (Adam) passes through the work buffer. Registered as "solver_<Name>"; a solver built
with `backends=("numba", ...)` (or under GORGON_BACKENDS=numba) calls them in place of its
own rule. Hyper-parameters are read from the solver at each step (schedules change the
learning rate). Parameters that are not C-contiguous float32/float64 arrays keep the
solver's own rule. The arithmetic runs in float64 and rounds once per stored value."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numba
import numpy as np

import gorgon as G
from gorgon import TensorType

TOLERANCE = {"float32": (1e-5, 1e-6), "float64": (1e-12, 1e-14)}  # numpy rounds each pass in float32


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _sgd(w, g, rate):  # pragma: no cover - compiled by numba (checked in tests/backends)
    for i in range(w.size):
        w[i] -= rate * g[i]


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _momentum(w, g, velocity, rate, momentum, nesterov):  # pragma: no cover - compiled by numba
    for i in range(w.size):
        v = momentum * velocity[i] + g[i]
        velocity[i] = v
        w[i] -= rate * (g[i] + momentum * velocity[i] if nesterov else velocity[i])


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _adam(w, g, m, v, rate, beta1, beta2, eps, correction1, correction2, decay):  # pragma: no cover
    for i in range(w.size):
        if decay != 1.0:
            w[i] *= decay
        m[i] = beta1 * m[i] + (1.0 - beta1) * g[i]
        v[i] = beta2 * v[i] + (1.0 - beta2) * (g[i] * g[i])
        w[i] -= (rate / correction1) * (m[i] / (np.sqrt(v[i] / correction2) + eps))


def _flat(*arrays: np.ndarray) -> list[np.ndarray] | None:
    if not all(a.flags.c_contiguous for a in arrays):
        return None
    return [a.reshape(-1) for a in arrays]


def _sgd_step(solver: Any, index: int, value: np.ndarray, gradient: np.ndarray) -> None:
    flat = _flat(value, gradient)
    if flat is None:
        solver.update_one(index, value, gradient)
        return
    _sgd(*flat, solver.learning_rate)


def _momentum_step(solver: Any, index: int, value: np.ndarray, gradient: np.ndarray) -> None:
    flat = _flat(value, gradient, solver.state["velocity"][index])
    if flat is None:
        solver.update_one(index, value, gradient)
        return
    _momentum(*flat, solver.learning_rate, solver.momentum, solver.nesterov)


def _adam_step(solver: Any, index: int, value: np.ndarray, gradient: np.ndarray) -> None:
    flat = _flat(value, gradient, solver.state["m"][index], solver.state["v"][index])
    if flat is None:
        solver.update_one(index, value, gradient)
        return
    rate = solver.learning_rate
    decay = 1.0 - rate * getattr(solver, "weight_decay", 0.0)
    _adam(*flat, rate, solver.beta1, solver.beta2, solver.eps, 1.0 - solver.beta1 ** solver.steps,
          1.0 - solver.beta2 ** solver.steps, decay)


class SolverKernel:
    """One parameter's update: `kernel(solver, index, value, gradient)`."""

    tolerance = TOLERANCE

    def __init__(self, step: Callable[..., None]):
        self.step = step

    def __call__(self, solver: Any, index: int, value: np.ndarray, gradient: np.ndarray) -> None:
        self.step(solver, index, value, gradient)


def _maker(step: Callable[..., None]) -> Callable[..., SolverKernel | None]:
    def make(solver: Any, inputs: Sequence[TensorType], output: TensorType) -> SolverKernel | None:
        """The kernel, unless the solver's rule is not the registered solver's own (a
        subclass that changes it keeps its rule) or the dtype is not a float."""
        own = getattr(G.solvers, solver.name, None)
        if own is None or type(solver).update_one is not own.update_one:
            return None
        if np.dtype(output.dtype) not in (np.dtype(np.float32), np.dtype(np.float64)):
            return None
        return SolverKernel(step)

    return make


SOLVERS = {"SGD": _maker(_sgd_step), "Momentum": _maker(_momentum_step), "Adam": _maker(_adam_step),
           "AdamW": _maker(_adam_step)}
