"""What the losses share: the `reduction` parameter, and writing a scalar result."""

from __future__ import annotations

import numpy as np

from gorgon import ArgumentValueError, Node, Op
from gorgon.infer import shape_error

REDUCTIONS = ("mean", "sum")


def check_reduction(op_name: str, reduction: str) -> str:
    """`reduction` itself, or an ArgumentValueError naming the op and the choices."""
    if not isinstance(reduction, str) or reduction not in REDUCTIONS:
        raise ArgumentValueError(f"{op_name}: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    return reduction


def reduction_scale(op: Op, count: int) -> float:
    """The factor that turns a sum over `count` terms into the op's reduction."""
    return 1.0 / count if op.reduction == "mean" else 1.0


def require_nonempty(op: Op, *nodes: Node) -> None:
    """With reduction "mean", the first node must hold at least one element: a mean over
    nothing is undefined (PyTorch returns NaN); a sum over an empty batch is 0."""
    if nodes[0].size == 0 and op.reduction == "mean":
        raise shape_error(op, "needs a non-empty input for reduction 'mean' (a mean over nothing "
                          "is undefined; reduction='sum' gives 0)", *nodes)


def scalar_result(value: float | np.ndarray, dtype: np.dtype, out: np.ndarray | None) -> np.ndarray:
    """`value` as a 0-d array of `dtype`, written into `out` when given."""
    if out is None:
        return np.asarray(value, dtype=dtype)
    out[...] = value
    return out
