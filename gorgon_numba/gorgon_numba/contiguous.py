"""The calling convention of gorgon-numba's whole-array kernels: a kernel's `bind(*arrays,
out)` gives a ready step on C-contiguous arrays (None when one is not, so the machine
keeps numpy's step); calling the kernel runs that step on contiguous copies of any
arrays, writing through a contiguous copy of `out` when it is not one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


class ContiguousKernel:
    """Base of the kernels that run on C-contiguous arrays only; subclasses define `bind`."""

    bind: Callable[..., Callable[[], None] | None]

    def __call__(self, *arrays: np.ndarray, **mode: Any) -> np.ndarray:
        *inputs, out = arrays
        target = out if out.flags.c_contiguous else np.empty(out.shape, out.dtype)
        self.bind(*[np.ascontiguousarray(a) for a in inputs], target, **mode)()
        if target is not out:
            out[...] = target
        return out
