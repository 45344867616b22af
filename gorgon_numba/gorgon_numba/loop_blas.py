"""What a compiled scan loop (gorgon_numba.loop) calls besides Numba kernels: numpy's own
CBLAS GEMM through ctypes (so a matmul in the loop runs exactly the BLAS numpy's matmul
runs, with the thread count threadpoolctl sets), and copies between arrays of one to
three axes."""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable, Sequence
from typing import Any

import numba
import numpy as np

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112
GEMMS = {"float32": "sgemm", "float64": "dgemm"}


@functools.lru_cache(maxsize=None)
def numpy_cblas(name: str) -> Any:
    """numpy's CBLAS function `cblas_<name>` (ctypes, argument types set), or None when
    numpy's BLAS cannot be found or exports no such symbol."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    paths = [info["filepath"] for info in threadpool_info()
             if info.get("user_api") == "blas" and "numpy" in info.get("filepath", "")]
    for path in paths:
        library = ctypes.CDLL(path)
        for prefix, suffix, integer in (("scipy_cblas_", "64_", ctypes.c_int64), ("cblas_", "64_", ctypes.c_int64),
                                        ("scipy_cblas_", "", ctypes.c_int), ("cblas_", "", ctypes.c_int)):
            function = getattr(library, f"{prefix}{name}{suffix}", None)
            if function is not None:
                real = ctypes.c_float if name.startswith("s") else ctypes.c_double
                function.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, integer, integer, integer, real,
                                     ctypes.c_void_p, integer, ctypes.c_void_p, integer, real, ctypes.c_void_p,
                                     integer]
                function.restype = None
                return function
    return None


@functools.lru_cache(maxsize=None)
def _gemm(dtype: str) -> Callable[..., None] | None:
    function = numpy_cblas(GEMMS[dtype])
    if function is None:
        return None

    @numba.njit(nogil=True, cache=False)
    def gemm(a, b, out, trans_a, trans_b, m, n, k, lda, ldb, ldc):  # pragma: no cover - compiled by numba
        function(ROW_MAJOR, trans_a, trans_b, m, n, k, 1.0, a.ctypes.data, lda, b.ctypes.data, ldb, 0.0,
                 out.ctypes.data, ldc)

    return gemm


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


def gemm_for(op: Any, arrays: Sequence[np.ndarray], out: np.ndarray) -> tuple[Callable[..., None], list[int]] | None:
    """The compiled GEMM computing matmul `op` of two matrices into `out`, and the numbers
    it takes after the arrays; None for other shapes, dtypes or layouts."""
    if len(arrays) != 2 or any(a.ndim != 2 for a in (*arrays, out)):
        return None
    a, b = arrays
    dtype = out.dtype.name
    if dtype not in GEMMS or a.dtype != out.dtype or b.dtype != out.dtype or out.size == 0 or a.size == 0:
        return None
    gemm = _gemm(dtype)
    left, right = _operand(a, op.transpose_a), _operand(b, op.transpose_b)
    if gemm is None or left is None or right is None or out.strides[1] != out.itemsize:
        return None
    m, n = out.shape
    k = a.shape[0] if op.transpose_a else a.shape[1]
    ldc = max(out.strides[0] // out.itemsize, n)
    if out.strides[0] % out.itemsize or (m > 1 and out.strides[0] < n * out.itemsize):
        return None
    return gemm, [left[0], right[0], m, n, k, left[1], right[1], ldc]


@numba.njit(nogil=True, cache=True)
def _copy1(target, value):  # pragma: no cover - compiled by numba
    for i in range(target.shape[0]):
        target[i] = value[i]


@numba.njit(nogil=True, cache=True)
def _copy2(target, value):  # pragma: no cover - compiled by numba
    for i in range(target.shape[0]):
        for j in range(target.shape[1]):
            target[i, j] = value[i, j]


@numba.njit(nogil=True, cache=True)
def _copy3(target, value):  # pragma: no cover - compiled by numba
    for i in range(target.shape[0]):
        for j in range(target.shape[1]):
            for k in range(target.shape[2]):
                target[i, j, k] = value[i, j, k]


COPIES = {1: _copy1, 2: _copy2, 3: _copy3}


def copy_into(ndim: int) -> Callable[..., None] | None:
    """A compiled copy between arrays of `ndim` axes (one to three), else None."""
    return COPIES.get(ndim)
