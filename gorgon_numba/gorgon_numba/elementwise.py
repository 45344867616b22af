"""Standalone elementwise kernels (ops the fuse pass left alone, or all of them when
nothing fuses) over arrays' rows (row_layout), each the one-step fused kernel of
`fused.rows_source`:

- float32 exp, sigmoid and tanh, through vector_math's vectorised helpers, on any row
  layout (numpy's float32 exp and tanh are 2-4x slower here). Measured on (32, 384), the
  sigmoid slice of W4's gates (timeit minima): 14-16.5 us against numpy's 27-30 us.
- add, sub, mul and div of float arrays of one shape and dtype, where one array is
  strided (an LSTM's gate slice); where all are C-contiguous, numpy's own loop runs.

Other layouts (a stride inside the rows), dtypes and broadcasts are declined.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np

from gorgon import TensorType
from gorgon_numba.cache import load
from gorgon_numba.fused import TOLERANCE, rows_source
from gorgon_numba.row_layout import RowsKernel

TRANSCENDENTAL = ("exp", "sigmoid", "tanh")
ARITHMETIC = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide}


@dataclass(frozen=True)
class OneStep:
    """A standalone op as the only step of a fused kernel, over its inputs."""

    op: Any
    args: tuple[int, ...]
    dtype: str


def make_elementwise(op: Any, inputs: Sequence[TensorType], output: TensorType) -> RowsKernel | None:
    """The kernel of a float32 exp/sigmoid/tanh, or of an add/sub/mul/div of same-shape
    float arrays; None for anything else."""
    dtypes = {np.dtype(t.dtype).name for t in (*inputs, output)}
    if op.name in TRANSCENDENTAL:
        taken = len(inputs) == 1 and dtypes == {"float32"}
    else:
        taken = (op.name in ARITHMETIC and len(inputs) == 2 and len(dtypes) == 1
                 and dtypes <= {"float32", "float64"}
                 and all(tuple(t.shape) == tuple(output.shape) for t in inputs))
    if not taken:
        return None
    dtype = dtypes.pop()
    steps = (OneStep(op, tuple(range(len(inputs))), dtype),)
    text = rows_source(SimpleNamespace(steps=steps), [(True,)] * len(inputs), len(inputs), dtype)
    return RowsKernel(load(text).kernel, [True] * len(inputs), contiguous=ARITHMETIC.get(op.name),
                      tolerance=TOLERANCE)
