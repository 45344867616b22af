"""Kernel backends: other kernels for registered ops, which plugins register per backend
name (the `register_kernels` hook), and which machines choose in order of preference.

`numpy` is every op's own kernel and always the last resort: an op falls back to it
when no preferred backend has a kernel for it, when a backend's `make_kernel` declines
the input types (returns None) or fails to compile (raises), and when a backend kernel
raises at run time on inputs the numpy kernel accepts. Each such failure is reported
once per op and backend (a BackendWarning naming the op, the backend and the reason),
and the failing kernel is not used again. Impure ops always run their numpy kernel;
mode-dependent ones too, unless the backend's `make_kernel` has `modes = True`: its
kernels then take `training=` (`kernel(*arrays, out, training=...)`, and `bind` too).

A machine's preference is its `backends=` argument, else the environment variable
GORGON_BACKENDS (`GORGON_BACKENDS=numba,numpy`), else numpy alone.
"""

from __future__ import annotations

import functools
import os
import threading
import warnings
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any

import numpy as np

from gorgon.errors import ArgumentTypeError, ArgumentValueError
from gorgon.op import Op, kernel, step
from gorgon.types import TensorType

NUMPY = "numpy"
ENV = "GORGON_BACKENDS"
Kernel = Callable[..., Any]


class BackendWarning(UserWarning):
    """A backend kernel that failed (to compile, or at run time) and was replaced by the
    op's numpy kernel, or a backend preference naming a backend nobody registers."""


_lock = threading.Lock()
_kernels: dict[tuple, Kernel | None] = {}
_broken: set[tuple[Op | str, str]] = set()
_reported: set[tuple[str, str]] = set()
failures: list[str] = []  # every reported failure, in order, for inspection


def check_backends(backends: Iterable[str] | str | None) -> tuple[str, ...]:
    """The backend preference: `backends` (a sequence of names), else GORGON_BACKENDS,
    else ("numpy",); numpy is appended when missing (every op can fall back to it)."""
    if backends is None:
        raw = os.environ.get(ENV, "")
        chosen = tuple(part.strip() for part in raw.split(",") if part.strip()) or (NUMPY,)
    elif isinstance(backends, str) or not isinstance(backends, Iterable):
        raise ArgumentTypeError(f"backends must be a sequence of backend names such as "
                                f"('numba', 'numpy'), got {backends!r}")
    else:
        chosen = tuple(backends)
    for name in chosen:
        if not isinstance(name, str) or not name.isidentifier():
            raise ArgumentValueError(f"backends: {name!r} is not a backend name (an identifier "
                                     f"such as 'numba'), in {chosen!r}")
    if NUMPY not in chosen:
        chosen += (NUMPY,)
    _warn_unknown(chosen)
    return chosen


def _warn_unknown(chosen: tuple[str, ...]) -> None:
    from gorgon.registry import registry

    known = registry.backends()
    for name in chosen:
        if name != NUMPY and name not in known and ("", name) not in _reported:
            _reported.add(("", name))
            warnings.warn(f"backend {name!r} has no kernels registered (installed backends: "
                          f"{', '.join(sorted(known | {NUMPY}))}): its ops run on the next backend",
                          BackendWarning, stacklevel=4)


def _say_once(broken: Hashable | None, said: Hashable, message: str) -> None:
    """Mark `broken` as not to be used again (when given) and warn `message` once per
    `said` (a BackendWarning, also kept in `failures`), pointing at the reporter's caller."""
    with _lock:
        if broken is not None:
            _broken.add(broken)
        if said in _reported:
            return
        _reported.add(said)
        failures.append(message)
    warnings.warn(message, BackendWarning, stacklevel=4)


def report(op: Op, backend: str, reason: str) -> None:
    """Say once per op and backend that `backend`'s kernel for `op` is replaced by numpy
    (and stop using it for that op)."""
    _say_once((op, backend), (str(op), backend),
              f"op {op}: the {backend} kernel {reason}; using the numpy kernel instead")


def usable(op: Op, make: Callable[..., Any] | None = None) -> bool:
    """Whether a backend may replace the op's kernel: pure, and mode independent unless
    `make` (the backend's kernel maker) takes the mode (`make.modes`)."""
    return op.pure and (not op.mode_dependent or bool(getattr(make, "modes", False)))


def find_kernel(op: Op, inputs: Sequence[TensorType], output: TensorType,
                backends: Sequence[str]) -> tuple[str, Kernel] | None:
    """The first preferred backend's kernel for `op` on these types, as (backend, kernel),
    or None when numpy comes first or no preferred backend has one that accepts them.
    Kernels are made once per op, types and backend."""
    if not op.pure:
        return None
    from gorgon.registry import registry

    types = tuple((t.shape, np.dtype(t.dtype).str) for t in (*inputs, output))
    for backend in backends:
        if backend == NUMPY:
            return None
        make = registry.kernel_maker(op.name, backend)
        if make is None or (op, backend) in _broken or not usable(op, make):
            continue
        key = (op, types, backend)
        with _lock:
            cached = key in _kernels
            made = _kernels.get(key)
        if not cached:
            try:
                made = make(op, tuple(inputs), output)
            except Exception as exc:  # a backend must never break a machine
                report(op, backend, f"failed to compile ({type(exc).__name__}: {exc})")
                continue
            if made is not None and not callable(made):
                report(op, backend, f"is {made!r}, not callable")
                continue
            with _lock:
                _kernels[key] = made
        if made is not None:
            return backend, made
    return None


SOLVER = "solver_"  # solver update kernels register as "solver_<Name>", e.g. "solver_Adam"


def solver_kernel(solver: Any, param: TensorType, backends: Sequence[str]) -> tuple[str, Kernel] | None:
    """The first preferred backend's update kernel for one parameter of `solver` (of
    `param`'s type), as (backend, kernel), or None (numpy first, or no backend has one,
    or each declines it, or fails to make it: reported like an op's kernel). A solver
    calls `kernel(solver, index, value, gradient)` in place of its own update rule; the
    kernel reads the solver's hyper-parameters and state at that call."""
    from gorgon.registry import registry

    name = SOLVER + solver.name
    for backend in backends:
        if backend == NUMPY:
            return None
        make = registry.kernel_maker(name, backend)
        if make is None or (name, backend) in _broken:
            continue
        try:
            made = make(solver, (param,), param)
        except Exception as exc:  # a backend must never break a solver
            report_solver(name, backend, f"failed to compile ({type(exc).__name__}: {exc})")
            continue
        if made is not None:
            return backend, made
    return None


def report_solver(name: str, backend: str, reason: str) -> None:
    """Say once that `backend`'s update kernel for solver `name` is replaced by the
    solver's own rule (and stop using it)."""
    _say_once((name, backend), (name, backend),
              f"{name}: the {backend} update kernel {reason}; using the solver's own rule instead")


def types_of(arrays: Sequence[np.ndarray]) -> tuple[TensorType, ...]:
    return tuple(TensorType(np.shape(a), np.asarray(a).dtype) for a in arrays)


def report_loop(body: str, backend: str | None, reason: str) -> None:
    """Say once per scan body and backend that `backend`'s compiled loop of its steps is
    replaced by running them from Python."""
    _say_once(None, ("scan loop", body, backend),
              f"scan body {body}: the {backend} loop {reason}; running its steps from Python instead")


class Fallback:
    """What a TapeMachine step on a backend kernel falls back to: the numpy step. `recover`
    runs it after the backend raised; when numpy succeeds the backend is reported and the
    numpy step is what the machine runs from then on."""

    def __init__(self, op: Op, backend: str, numpy_step: Callable[[], Any]):
        self.op = op
        self.backend = backend
        self.numpy_step = numpy_step

    def recover(self, exc: BaseException) -> Callable[[], Any]:
        """Run the numpy step (its exception, if any, is the op's real failure) and return it."""
        self.numpy_step()
        report(self.op, self.backend, f"raised at run time ({type(exc).__name__}: {exc})")
        return self.numpy_step


def tape_step(op: Op, arrays: Sequence[np.ndarray], out: np.ndarray, training: bool,
              backends: Sequence[str]) -> tuple[Callable[[], Any], Fallback | None]:
    """A ready-to-call TapeMachine step computing `op(*arrays)` into `out` on the first
    preferred backend that has a kernel, with its numpy fallback (None on numpy). A kernel
    with a `bind(*arrays, out)` method is bound once (it may return None to decline)."""
    numpy_step = step(op, arrays, out, training, backends)
    found = find_kernel(op, types_of(arrays), TensorType(out.shape, out.dtype), backends)
    if found is None:
        return numpy_step, None
    backend, made = found
    bind = getattr(made, "bind", None)
    mode = {"training": training} if op.mode_dependent else {}
    fast = functools.partial(made, *arrays, out, **mode) if bind is None else bind(*arrays, out, **mode)
    if fast is None:
        return numpy_step, None
    updated = [arrays[i] for i in op.updates if arrays[i] is not None]
    return (undoing(fast, updated) if updated else fast), Fallback(op, backend, numpy_step)


def undoing(fast: Callable[[], Any], updated: Sequence[np.ndarray]) -> Callable[[], Any]:
    """`fast` (a backend step of an op that updates `updated` in place: batch norm's
    running statistics), putting those arrays back when it raises, so the numpy fallback
    updates them once. The backups are allocated here, once."""
    backups = [np.empty_like(array) for array in updated]

    def run() -> Any:
        for backup, array in zip(backups, updated):
            np.copyto(backup, array)
        try:
            return fast()
        except BaseException:
            for backup, array in zip(backups, updated):
                np.copyto(array, backup)
            raise

    return run


def lisp_kernel(op: Op, inputs: Sequence[TensorType], output: TensorType, training: bool,
                backends: Sequence[str]) -> Kernel:
    """The LispMachine's kernel for `op`: `run(*arrays) -> array`, on the first preferred
    backend that has one (into a fresh array), else the op's own (allocating) kernel."""
    own = op.ufunc or kernel(op, training, backends)
    found = find_kernel(op, inputs, output, backends)
    if found is None:
        return own
    backend, made = found
    shape, dtype = output.shape, output.dtype
    current = [made]
    mode = {"training": training} if op.mode_dependent else {}

    def run(*arrays: np.ndarray) -> np.ndarray:
        chosen = current[0]
        if chosen is not None:
            updated = [(arrays[i], arrays[i].copy()) for i in op.updates if arrays[i] is not None]
            try:
                return chosen(*arrays, np.empty(shape, dtype), **mode)
            except Exception as exc:
                for array, before in updated:
                    np.copyto(array, before)
                result = own(*arrays)
                current[0] = None
                report(op, backend, f"raised at run time ({type(exc).__name__}: {exc})")
                return result
        return own(*arrays)

    return run


def forget() -> None:
    """Forget every made kernel and every reported failure (tests, and after plugins reload)."""
    with _lock:
        _kernels.clear()
        _broken.clear()
        _reported.clear()
        failures.clear()
