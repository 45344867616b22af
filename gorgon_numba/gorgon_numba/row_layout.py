"""Arrays as rows of one stride, each row contiguous, read through one flat view from the
first element to the last: a C-contiguous array, or a column block of a wider matrix (an
LSTM's gate slices of its pre-activation). A loop over such rows indexes the flat view
with an unsigned, unit-stride index, which Numba vectorises (a 2-d strided view's index
does not)."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence

import numpy as np
from numpy.lib.stride_tricks import as_strided

Rows = tuple[np.ndarray, int, int, int]  # (flat view, rows, columns, row stride in elements)
KERNEL_PARAMETERS = "out, rows, cols, so"  # then a0, s0, a1, s1, ...: each input's view and row stride


def rows_of(array: np.ndarray) -> Rows | None:
    """(flat view, rows, columns, row stride in elements) when `array` is rows of one
    stride with contiguous rows: its trailing axes C-contiguous and its leading ones one
    stride apart; None otherwise."""
    itemsize = array.itemsize
    if array.size == 0 or array.flags.c_contiguous:
        return array.reshape(-1), 1, array.size, array.size
    shape, strides = array.shape, array.strides
    tail, expected = len(shape), itemsize
    while tail > 0 and (strides[tail - 1] == expected or shape[tail - 1] == 1):
        expected *= shape[tail - 1]
        tail -= 1
    lead = [(n, s) for n, s in zip(shape[:tail], strides[:tail]) if n != 1]
    cols = math.prod(shape[tail:])
    if len(lead) != 1 or lead[0][1] % itemsize or lead[0][1] < cols * itemsize:
        return None
    rows, stride = lead[0][0], lead[0][1] // itemsize
    return as_strided(array, shape=((rows - 1) * stride + cols,), strides=(itemsize,)), rows, cols, stride


def rows_like(arrays: Sequence[np.ndarray]) -> list[Rows] | None:
    """Each array as the same rows (a contiguous one cut like the others), or None when
    one is not rows of one stride or their rows differ."""
    forms = [rows_of(a) for a in arrays]
    if any(f is None for f in forms):
        return None
    shape = next(((f[1], f[2]) for f in forms if f[1] > 1), (forms[0][1], forms[0][2]))
    forms = [_as_rows(f, shape) for f in forms]
    return forms if all((f[1], f[2]) == shape for f in forms) else None


def _as_rows(form: Rows, rows_cols: tuple[int, int]) -> Rows:
    """A contiguous array's one row as the other array's rows, when they hold as many values."""
    flat, rows, cols, _ = form
    if rows == 1 and rows_cols[0] * rows_cols[1] == cols:
        return flat, rows_cols[0], rows_cols[1], rows_cols[1]
    return form


class RowsKernel:
    """A compiled elementwise loop `function(out, rows, cols, out_stride, a0, stride0, a1,
    ...)` over arrays' rows (rows_like), each input varying along the loop or a single
    value (`varies`); `bind` gives the TapeMachine's step."""

    def __init__(self, function: Callable[..., None], varies: Sequence[bool]):
        self.function, self.varies = function, list(varies)

    def bind(self, *arrays: np.ndarray) -> Callable[[], None] | None:
        """The loop over these arrays' rows, or None when one is not rows of one stride."""
        *inputs, out = arrays
        forms = rows_like([*(a for a, varies in zip(inputs, self.varies) if varies), out])
        if forms is None:
            return None
        *read, (target, rows, cols, out_stride) = forms
        found, args = iter(read), []
        for a, varies in zip(inputs, self.varies):
            flat, _, _, stride = next(found) if varies else (a.reshape(-1), 0, 0, 0)
            args += [flat, stride]
        return functools.partial(self.function, target, rows, cols, out_stride, *args)
