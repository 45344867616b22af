"""float32 exp, sigmoid and tanh on their own (not inside a fused kernel): one vectorised
loop of `vector_math`'s helpers over the array's rows.

The arrays are read as rows of one stride each (row_layout): a gate slice of an LSTM's
pre-activation through one flat view, so the loop's index is unsigned and unit-stride
and the loop vectorises. Other layouts and float64 are declined (numpy runs them).
Measured on (32, 384) float32, the sigmoid slice of W4's gates (timeit minima):
15.5-16.5 us against numpy's 27-30 us.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from gorgon import TensorType
from gorgon_numba import vector_math
from gorgon_numba.cache import load
from gorgon_numba.row_layout import rows_like, rows_of

TOLERANCE = {"float32": (2e-6, 1e-7)}  # a few ulp (vector_math)
HELPERS = {"exp": "exp32", "sigmoid": "sigmoid32", "tanh": "tanh32"}
SOURCE = """\
import numba
import numpy as np
from gorgon_numba.vector_math import {helper}  # vector_math {version}


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={{"contract"}})
def kernel(out, x, rows, cols, out_stride, x_stride):
    width = np.uint64(cols)
    for r in range(rows):
        o = np.uint64(r * out_stride)
        i = np.uint64(r * x_stride)
        for c in range(width):
            out[o + c] = {helper}(x[i + c])
"""


class UnaryKernel:
    """`kernel(x, out)`, and `bind` for the TapeMachine."""

    tolerance = TOLERANCE

    def __init__(self, run: Callable[..., None]):
        self.run = run

    def __call__(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        target = out if rows_of(out) is not None else np.empty(out.shape, out.dtype)
        step = self.bind(x if rows_of(x) is not None else np.ascontiguousarray(x), target)
        step()
        if target is not out:
            out[...] = target
        return out

    def bind(self, x: np.ndarray, out: np.ndarray) -> Callable[[], None] | None:
        """The loop over these arrays' rows, or None when either is not rows of one stride
        or their rows differ."""
        forms = rows_like([x, out])
        if forms is None:
            return None
        (flat, rows, cols, stride), (destination, _, _, out_stride) = forms
        run = self.run
        return lambda: run(destination, flat, rows, cols, out_stride, stride)


def make_unary(op: Any, inputs: Sequence[TensorType], output: TensorType) -> UnaryKernel | None:
    """exp, sigmoid or tanh of a float32 array; None for anything else."""
    helper = HELPERS.get(op.name)
    if helper is None or len(inputs) != 1 or {np.dtype(inputs[0].dtype), np.dtype(output.dtype)} != {np.dtype(np.float32)}:
        return None
    module = load(SOURCE.format(helper=helper, version=vector_math.VERSION))
    return UnaryKernel(module.kernel)
