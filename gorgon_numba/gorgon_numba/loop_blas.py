"""What a compiled scan loop (gorgon_numba.loop) calls besides Numba kernels: numpy's own
CBLAS GEMM, copies between arrays of one to three axes, a matrix summed over its rows,
and `pointer`, which makes an address a pointer (the loop views each step's C-contiguous
arrays from their addresses).

The GEMM is the one numpy's matmul runs, with the thread count threadpoolctl sets:
numpy's BLAS library (found through threadpoolctl) exports `scipy_cblas_sgemm64_` and
`scipy_cblas_dgemm64_` (or `cblas_sgemm64_`, `cblas_dgemm64_`), the 64-bit-integer CBLAS
of numpy's wheels. Their addresses are given to LLVM under names of ours, so that the
compiled functions calling them are cached on disk like any kernel. Without such a
library `GEMMS` is empty and loops holding a matmul are declined.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Sequence
from typing import Any

import llvmlite.binding as llvm
import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from gorgon_numba.cache import file_version

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112
VERSION = file_version(__file__)  # in generated loops' sources
SYMBOLS = {"float32": "gorgon_numba_cblas_sgemm64", "float64": "gorgon_numba_cblas_dgemm64"}


def _numpy_blas_paths() -> list[str]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - a dependency of gorgon-numba
        return []
    return [info["filepath"] for info in threadpool_info()
            if info.get("user_api") == "blas" and "numpy" in info.get("filepath", "")]


def _register_symbols() -> set[str]:
    """Give LLVM numpy's 64-bit CBLAS sgemm and dgemm under SYMBOLS' names; the dtypes found."""
    found = set()
    for path in _numpy_blas_paths():
        library = ctypes.CDLL(path)
        for dtype, letter in (("float32", "s"), ("float64", "d")):
            for name in (f"scipy_cblas_{letter}gemm64_", f"cblas_{letter}gemm64_"):
                function = getattr(library, name, None)
                if function is not None and dtype not in found:
                    llvm.add_symbol(SYMBOLS[dtype], ctypes.cast(function, ctypes.c_void_p).value)
                    found.add(dtype)
    return found


def _signature(real: types.Type) -> types.Type:
    i = types.int64
    return types.void(types.intc, types.intc, types.intc, i, i, i, real, types.voidptr, i, types.voidptr, i,
                      real, types.voidptr, i)


_found = _register_symbols()
_sgemm = types.ExternalFunction(SYMBOLS["float32"], _signature(types.float32))
_dgemm = types.ExternalFunction(SYMBOLS["float64"], _signature(types.float64))


@numba.njit(nogil=True, cache=True)
def gemm32(a, b, out, trans_a, trans_b, m, n, k, lda, ldb, ldc):  # pragma: no cover - compiled by numba
    _sgemm(ROW_MAJOR, trans_a, trans_b, m, n, k, 1.0, a.ctypes, lda, b.ctypes, ldb, 0.0, out.ctypes, ldc)


@numba.njit(nogil=True, cache=True)
def gemm64(a, b, out, trans_a, trans_b, m, n, k, lda, ldb, ldc):  # pragma: no cover - compiled by numba
    _dgemm(ROW_MAJOR, trans_a, trans_b, m, n, k, 1.0, a.ctypes, lda, b.ctypes, ldb, 0.0, out.ctypes, ldc)


GEMMS = {dtype: name for dtype, name in (("float32", "gemm32"), ("float64", "gemm64")) if dtype in _found}
"""dtype -> the name of this module's GEMM for it, for the dtypes numpy's BLAS has."""


@intrinsic
def pointer(typingctx, address):  # pragma: no cover - runs at Numba's compile time
    """The uint64 `address` as a void pointer (for numba.carray)."""
    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], ir.IntType(8).as_pointer())
    return types.voidptr(types.uint64), codegen


def _operand(array: np.ndarray, transposed: bool) -> tuple[int, int] | None:
    """(CBLAS transpose flag, leading dimension) of a matrix read row-major, transposed
    when `transposed`: a row-major array as it is, a column-major one as its transpose;
    None for any other layout."""
    rows, cols = array.shape
    size = array.itemsize
    row_step, col_step = array.strides
    if (col_step == size or cols == 1) and row_step > 0 and (rows == 1 or row_step >= cols * size) \
            and row_step % size == 0:
        return (TRANS if transposed else NO_TRANS), max(row_step // size, cols, 1)
    if (row_step == size or rows == 1) and col_step > 0 and (cols == 1 or col_step >= rows * size) \
            and col_step % size == 0:
        return (NO_TRANS if transposed else TRANS), max(col_step // size, rows, 1)
    return None


def gemm_for(op: Any, arrays: Sequence[np.ndarray], out: np.ndarray) -> tuple[str, list[int]] | None:
    """The name of this module's GEMM computing matmul `op` of two matrices into `out`,
    and the numbers it takes after the arrays; None for other shapes, dtypes or layouts."""
    if len(arrays) != 2 or any(a.ndim != 2 for a in (*arrays, out)):
        return None
    a, b = arrays
    dtype = out.dtype.name
    if dtype not in GEMMS or a.dtype != out.dtype or b.dtype != out.dtype or out.size == 0 or a.size == 0:
        return None
    left, right = _operand(a, op.transpose_a), _operand(b, op.transpose_b)
    if left is None or right is None or out.strides[1] != out.itemsize:
        return None
    m, n = out.shape
    if out.strides[0] % out.itemsize or (m > 1 and out.strides[0] < n * out.itemsize):
        return None
    k = a.shape[0] if op.transpose_a else a.shape[1]
    return GEMMS[dtype], [left[0], right[0], m, n, k, left[1], right[1], max(out.strides[0] // out.itemsize, n)]


@numba.njit(nogil=True, cache=True)
def copy1(target, value):  # pragma: no cover - compiled by numba
    for i in range(target.shape[0]):
        target[i] = value[i]


@numba.njit(nogil=True, cache=True)
def copy2(target, value):  # pragma: no cover - compiled by numba
    for i in range(target.shape[0]):
        for j in range(target.shape[1]):
            target[i, j] = value[i, j]


@numba.njit(nogil=True, cache=True)
def copy3(target, value):  # pragma: no cover - compiled by numba
    for i in range(target.shape[0]):
        for j in range(target.shape[1]):
            for k in range(target.shape[2]):
                target[i, j, k] = value[i, j, k]


@numba.njit(nogil=True, cache=True)
def sum_rows(x, out):  # pragma: no cover - compiled by numba
    """out = x summed over axis 0, a row at a time in order, as numpy's sum over a
    matrix's rows adds them."""
    for j in range(out.shape[0]):
        out[j] = x[0, j]
    for i in range(1, x.shape[0]):
        for j in range(out.shape[0]):
            out[j] += x[i, j]


def sums_rows(op: Any, arrays: Sequence[np.ndarray], out: np.ndarray) -> bool:
    """Whether `op` is a sum over axis 0 of a float matrix with rows (a bias gradient
    summed over the batch inside a step), which `sum_rows` computes."""
    if op.name != "sum" or len(arrays) != 1 or tuple(op.params.get("axis") or ()) != (0,):
        return False
    (x,) = arrays
    return (not op.params.get("keepdims") and x.ndim == 2 and out.ndim == 1 and x.shape[0] > 0
            and x.dtype == out.dtype and out.dtype.name in ("float32", "float64"))


COPIES = {1: copy1, 2: copy2, 3: copy3}


def copy_into(ndim: int) -> Callable[..., None] | None:
    """This module's compiled copy between arrays of `ndim` axes (one to three), else None."""
    return COPIES.get(ndim)
