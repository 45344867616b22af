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
SUPPORTED = "bool, int8, int16, int32, int64, uint8, uint16, uint32, uint64, float32, float64"


def is_supported(dtype: np.dtype) -> bool:
    """Whether every op and both machines take `dtype`: bool, the integers, float32 and
    float64 (float16 and the extended floats are refused where a node is built, since
    not every kernel keeps them)."""
    return dtype.kind in "biu" or dtype in FLOATS


def as_dtype(dtype: Any) -> np.dtype:
    """Return `dtype` as a numpy dtype, or raise DtypeError for anything that is not a
    supported dtype (None included: numpy would read it as float64)."""
    expected = f"expected a dtype gorgon supports ({SUPPORTED})"
    if dtype is None:
        raise DtypeError(f"{expected}, got None")
    try:
        result = np.dtype(dtype)
    except TypeError as exc:
        raise DtypeError(f"{expected}, got {dtype!r}") from exc
    if not is_supported(result):
        raise DtypeError(f"{expected}, got {result}")
    return result

