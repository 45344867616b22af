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
    """Return `dtype` as a numpy dtype, or raise DtypeError for anything that is not a
    boolean, integer or float dtype (None included: numpy would read it as float64)."""
    expected = "expected a dtype (G.Float32, G.Float64, an integer or bool numpy dtype)"
    if dtype is None:
        raise DtypeError(f"{expected}, got None")
    try:
        result = np.dtype(dtype)
    except TypeError as exc:
        raise DtypeError(f"{expected}, got {dtype!r}") from exc
    if result.kind not in "biuf":
        raise DtypeError(f"{expected}, got {result}")
    return result

