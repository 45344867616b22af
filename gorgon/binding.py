"""How a value becomes the array bound to an input node (`G.let`, `value=`, `init=`).

One rule for every array-like that carries a dtype of its own (a numpy array or scalar,
a torch tensor, anything with `__array__` or `__dlpack__`): its dtype must be the node's,
exactly; it is bound without a copy where it can be. Plain Python values (numbers,
nested lists and tuples) carry no dtype: they are converted to the node's dtype, and a
value the dtype cannot hold is an error: an integer out of the integer dtype's range, a
finite float that would become infinite, a float into an integer node, a non-boolean
into a boolean node.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gorgon.errors import BindError, DtypeError, ShapeError


def as_value(label: str, shape: tuple[int, ...], dtype: np.dtype, value: Any) -> np.ndarray:
    """`value` as the array to bind to input `label` of `shape` and `dtype`, or a
    DtypeError/ShapeError/BindError saying why it cannot be."""
    if _has_own_dtype(value):
        array = _from_array_like(label, value)
        if array.dtype != dtype:
            raise DtypeError(f"G.let: {label} is {dtype}, got a {array.dtype} {_kind(value)} "
                             f"(convert it with .astype({dtype.name}))")
    else:
        array = _convert(label, dtype, value)
    if array.shape != shape:
        raise ShapeError(f"G.let: {label} has shape {shape}, got a value of shape {array.shape}")
    return array


def _has_own_dtype(value: Any) -> bool:
    return (isinstance(value, (np.ndarray, np.generic)) or hasattr(value, "__array__")
            or hasattr(value, "__dlpack__") or hasattr(value, "__array_interface__"))


def _kind(value: Any) -> str:
    return "array" if isinstance(value, (np.ndarray, np.generic)) else type(value).__name__


def _from_array_like(label: str, value: Any) -> np.ndarray:
    """The array-like as a numpy array of its own dtype (sharing memory where it can)."""
    if isinstance(value, (np.ndarray, np.generic)):
        return np.asarray(value)
    try:
        if hasattr(value, "__array__") or hasattr(value, "__array_interface__"):
            array = np.asarray(value)
        else:
            array = np.from_dlpack(value)
    except (TypeError, ValueError, RuntimeError, BufferError) as exc:
        raise BindError(f"G.let: cannot read {type(value).__name__} as an array for {label}: {exc}") from exc
    if array.dtype.kind not in "biuf":
        raise DtypeError(f"G.let: cannot bind a {type(value).__name__} of dtype {array.dtype} to {label}")
    return array


def _convert(label: str, dtype: np.dtype, value: Any) -> np.ndarray:
    """Plain Python numbers (possibly nested in lists) converted to `dtype`, refusing what
    `dtype` cannot hold."""
    try:
        probe = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise DtypeError(f"G.let: cannot bind {type(value).__name__} {_short(value)} to {label}: "
                         f"{exc}") from exc
    kind = probe.dtype.kind
    if kind in "uO" or (kind == "f" and probe.size and np.abs(probe).max() >= 2.0**53):
        # numpy reads integers beyond int64 as floats or objects: keep them exact
        exact = np.array(value, dtype=object)
        if exact.shape == probe.shape:
            kind = _numbers_kind(exact) or kind
            if kind == "i" or probe.dtype == object:
                probe = exact
    if kind not in "biuf":
        raise DtypeError(f"G.let: cannot bind {type(value).__name__} {_short(value)} to {label}")
    if dtype.kind == "b" and kind != "b":
        raise DtypeError(f"G.let: {label} is bool; got {_short(value)}, which is not all booleans")
    if kind == "f" and dtype.kind in "biu":
        raise DtypeError(f"G.let: {label} is {dtype}; got floats {_short(value)}")
    if dtype.kind in "iu" and probe.size:
        info = np.iinfo(dtype)
        low, high = int(probe.min()), int(probe.max())
        if low < info.min or high > info.max:
            bad = high if high > info.max else low
            raise DtypeError(f"G.let: {label} is {dtype}, which holds {info.min} to {info.max}; "
                             f"got {bad}, which overflows it")
    if dtype.kind != "f":
        return probe.astype(dtype)
    largest = f"G.let: {label} is {dtype}, whose largest value is {np.finfo(dtype).max}"
    try:
        with np.errstate(over="ignore"):
            array = probe.astype(dtype)
            wide = probe.astype(np.float64)
    except OverflowError:
        raise DtypeError(f"{largest}; got an integer too large for any float") from None
    overflowed = np.isinf(array) & ~np.isinf(wide)
    if overflowed.any():
        raise DtypeError(f"{largest}; got {wide[overflowed].flat[0]}, which overflows it")
    return array


def _numbers_kind(exact: np.ndarray) -> str | None:
    """"i" when every element is a Python integer, "f" when every one is an integer or a
    float (one at least), None otherwise."""
    if exact.size == 0 or not all(isinstance(v, (int, float, np.integer, np.floating)) for v in exact.flat):
        return None
    return "i" if all(isinstance(v, (int, np.integer)) for v in exact.flat) else "f"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
