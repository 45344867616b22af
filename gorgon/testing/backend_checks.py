"""The kit's check of backend kernels: every kernel a backend registers, against the op's
own numpy kernel on the op's samples, in float64 and float32, through `kernel(*arrays,
out)` with `out` full of garbage (it must write every element), through `bind`, and on
both machines with that backend preferred, a mode-dependent op's kernel in training and
in evaluation mode. The backend's fused-kernel generator is
checked on every elementwise op it says it fuses, one op per fused kernel, the same way.

Tolerances are per backend kernel: its `tolerance` attribute, else BACKEND_TOLERANCE.
"""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import numpy as np

from gorgon.backends import BackendWarning, find_kernel
from gorgon.node import Node
from gorgon.registry import registry
from gorgon.testing.build import build, recast
from gorgon.testing.kit import load_samples
from gorgon.testing.report import ConformanceError, Mismatch, Skip
from gorgon.testing.samples import Sample, describe_args
from gorgon.testing.target import resolve
from gorgon.types import TensorType

BACKEND_TOLERANCE = {"float32": (1e-4, 1e-5), "float64": (1e-10, 1e-12)}
FUSED = "fused"


class BackendCase(NamedTuple):
    """One backend kernel of one op, checked on all its samples by `run()` (which
    returns how many sample cases it checked and raises ConformanceError on a mismatch)."""

    op: str
    backend: str
    fused: bool

    @property
    def id(self) -> str:
        return f"{self.backend}-{'fused-' if self.fused else ''}{self.op}"

    def run(self) -> int:
        return check_backend(self.op, self.backend, self.fused)


def backend_cases(backend: str | None = None) -> list[BackendCase]:
    """A case per registered backend kernel (of `backend`, or every backend), and per
    elementwise op with samples for each backend that registers a fused generator."""
    registry.load()
    cases = []
    for (op_name, name) in sorted(registry.kernels):
        if backend is not None and name != backend:
            continue
        if op_name == FUSED:
            cases += [BackendCase(op, name, True) for op in sorted(registry.ops)
                      if (registry.ops[op].elementwise or registry.ops[op].reduction)
                      and op in registry.samples]
        elif op_name in registry.ops:
            cases.append(BackendCase(op_name, name, False))
    return cases


def _tolerance(kernel: Any, dtype: np.dtype) -> tuple[float, float]:
    table = getattr(kernel, "tolerance", None) or BACKEND_TOLERANCE
    return table.get(np.dtype(dtype).name, BACKEND_TOLERANCE["float64"])


def _kernel_for(node: Node, backend: str, fused: bool) -> Any:
    inputs = [TensorType(p.shape, p.dtype) for p in node.inputs]
    output = TensorType(node.shape, node.dtype)
    op = node.op
    if fused:
        from gorgon.passes.fuse import FusedOp, Step

        step = Step(op, tuple(range(len(inputs))), node.shape, node.dtype.str)
        op = FusedOp(steps=(step,), backend=backend)
    found = find_kernel(op, inputs, output, (backend,))
    return None if found is None else found[1]


def _compare(what: str, got: np.ndarray, expected: np.ndarray, tolerance: tuple[float, float]) -> None:
    rtol, atol = tolerance
    if got.shape != expected.shape or got.dtype != expected.dtype:
        raise Mismatch(f"{what}: got {got.shape} {got.dtype}, the numpy kernel {expected.shape} "
                       f"{expected.dtype}")
    if not np.allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True):
        worst = np.max(np.abs(got.astype(np.float64) - expected.astype(np.float64)))
        raise Mismatch(f"{what}: differs from the numpy kernel by up to {worst:.3g} "
                       f"(rtol={rtol}, atol={atol})")


def _one(node: Node, backend: str, fused: bool) -> bool:
    """Check one built sample (a mode-dependent op's kernel in training and in evaluation
    mode); False when the backend declines it."""
    kernel = _kernel_for(node, backend, fused)
    if kernel is None:
        return False
    for training in ((True, False) if node.op.mode_dependent else (None,)):
        _in_mode(node, kernel, backend, fused, training)
    return True


def _in_mode(node: Node, kernel: Any, backend: str, fused: bool, training: bool | None) -> None:
    """The kernel against the numpy kernel in one mode (None: the op has none)."""
    from gorgon.vm import LispMachine, TapeMachine

    mode = {} if training is None else {"training": training}
    where = "" if training is None else f" (training={training})"
    arrays = [np.array(p.value) for p in node.inputs]
    expected = np.asarray(node.op.forward(*[a.copy() for a in arrays], **mode))
    tolerance = _tolerance(kernel, node.dtype)
    for garbage in (np.nan, 1e30):
        out = np.full(node.shape, garbage).astype(node.dtype)
        result = kernel(*[a.copy() for a in arrays], out, **mode)
        if result is not out:
            raise Mismatch(f"the {backend} kernel returned {type(result).__name__}, not its out array")
        _compare(f"kernel(..., out) with out full of {garbage}{where}", out, expected, tolerance)
    bind = getattr(kernel, "bind", None)
    if bind is not None:
        out = np.full(node.shape, np.nan).astype(node.dtype)
        bound = bind(*[a.copy() for a in arrays], out, **mode)
        if bound is not None:
            bound()
            _compare(f"bind(...)(){where}", out, expected, tolerance)
    if not fused:
        for machine in (TapeMachine(node.graph, outputs=[node], backends=(backend,), training=training),
                        LispMachine(node.graph, outputs=[node], forward_only=True, backends=(backend,),
                                    training=training)):
            updated = [node.inputs[i] for i in node.op.updates]
            before = [np.array(p.value) for p in updated]
            machine.run_all()
            _compare(f"{type(machine).__name__}(backends=({backend!r},)){where}", np.asarray(node.value),
                     expected, tolerance)
            for p, value in zip(updated, before):
                p.value[...] = value  # the run updated them (running statistics): as they were


def check_backend(op_name: str, backend: str, fused: bool = False) -> int:
    """Check `backend`'s kernel for `op_name` (its fused kernel of that op with `fused`)
    on every sample in float64 and float32; the number of sample cases it accepted.
    ConformanceError on a mismatch or a reported backend failure."""
    target = resolve(op_name)
    checked = 0
    for sample in load_samples(op_name):
        if not isinstance(sample, Sample):
            continue
        for case in (sample, recast(sample, np.float64, np.float32)[0]):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("error", BackendWarning)
                    checked += _one(build(target, case).output, backend, fused)
            except Skip:
                continue
            except (Mismatch, BackendWarning) as exc:
                label = case.label or describe_args(case.args, case.kwargs)
                kind = "fused kernel" if fused else "kernel"
                raise ConformanceError(f"backend {backend!r}, {kind} of op {op_name!r}, sample "
                                       f"{label}: {exc}", op=op_name) from exc
    return checked
