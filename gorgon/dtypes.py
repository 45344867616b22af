"""Dtypes: numpy dtypes under Gorgonia-like names, and the rules for mixing them."""

from typing import Any

import numpy as np

from gorgon.errors import DtypeError

Float32 = np.dtype(np.float32)
Float64 = np.dtype(np.float64)
Int32 = np.dtype(np.int32)
Int64 = np.dtype(np.int64)
Bool = np.dtype(np.bool_)

FLOATS = (Float32, Float64)


def as_dtype(dtype: Any) -> np.dtype:
    """Return `dtype` as a numpy dtype, or raise DtypeError for anything not a dtype."""
    try:
        return np.dtype(dtype)
    except TypeError as exc:
        raise DtypeError(f"expected a dtype (G.Float32, G.Float64, a numpy dtype), got {dtype!r}") from exc


def is_float(dtype: np.dtype) -> bool:
    return dtype.kind == "f"


def is_integer(dtype: np.dtype) -> bool:
    return dtype.kind in "iu"
