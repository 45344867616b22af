"""What both machines share: error context for failed kernels, NaN/Inf watching, tracing."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np

from gorgon.errors import ArgumentTypeError, ExecutionError, InfError, NaNError
from gorgon.node import Node
from gorgon.origin import raised_at

Tracer = Callable[[str], None]
logger = logging.getLogger("gorgon.vm")


def kernel_failure(node: Node, exc: BaseException, arrays: Sequence[np.ndarray],
                   what: str = "kernel") -> ExecutionError:
    """An ExecutionError naming the node, its op, its inputs' runtime shapes, where it was
    built and the line that raised in `what` (the op's kernel, or on the LispMachine its
    gradient rule)."""
    inputs = ", ".join(f"{p.name!r} {np.shape(a)} {getattr(a, 'dtype', type(a).__name__)}"
                       for p, a in zip(node.inputs, arrays))
    line = raised_at(exc)
    raised = f"; raised at {line}" if line else f"; raised in the {what} of {node.op.name}"
    failed = "failed" if what == "kernel" else f"{what} failed"
    return ExecutionError(f"node {node.name!r} (op {node.op}) {failed}: {type(exc).__name__}: {exc}; "
                          f"inputs: {inputs}; built at {node.origin}{raised}")


def check_finite(node: Node, value: np.ndarray, nan: bool, inf: bool, what: str = "value") -> None:
    """Raise NaNError/InfError naming `node` if its `what` holds a NaN/an infinity."""
    if value.dtype.kind not in "fc":
        return
    where = f"{what} of node {node.name!r} ({node.op or node.role}), built at {node.origin}"
    if nan and np.isnan(value).any():
        raise NaNError(f"NaN in the {where}")
    if inf and np.isinf(value).any():
        raise InfError(f"infinity in the {where}")


def make_tracer(trace: bool | Tracer | None) -> Tracer | None:
    """`trace=True` logs each instruction to the `gorgon.vm` logger; a callable gets each line."""
    if trace is None or trace is False:
        return None
    if trace is True:
        return lambda line: logger.info("%s", line)
    if callable(trace):
        return trace
    raise ArgumentTypeError(f"trace must be a bool or a callable taking a line, got {type(trace).__name__}")


def summary(value: np.ndarray) -> str:
    if value.size == 0 or value.dtype.kind not in "biuf":
        return f"{value.shape} {value.dtype}"
    return f"{value.shape} {value.dtype} min={value.min():.4g} max={value.max():.4g}"
