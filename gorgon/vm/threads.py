"""How many threads BLAS may use while a machine runs: `blas_threads=` on either
machine, else the environment variable GORGON_BLAS_THREADS, else BLAS's own setting
(left alone). OpenBLAS's threads spin while they wait, so on a machine whose cores are
busy with other processes two BLAS threads can run a conv net's GEMMs several times
slower than one; the limit is set (through threadpoolctl) when a run starts and put
back when it ends. BLAS's thread count is per process: machines running at once in
different threads share it."""

from __future__ import annotations

import contextlib
import functools
from typing import Any

from gorgon.errors import GorgonError
from gorgon.vm.arguments import positive_count

ENV = "GORGON_BLAS_THREADS"


def check_blas_threads(threads: int | None) -> int | None:
    """`threads`, else GORGON_BLAS_THREADS, as a positive int; None when neither is set."""
    return positive_count("blas_threads", threads, ENV)


@functools.lru_cache(maxsize=1)
def _controller() -> Any:
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        raise GorgonError("blas_threads / GORGON_BLAS_THREADS need threadpoolctl "
                          "(pip install threadpoolctl)") from None
    return ThreadpoolController()


def blas_libraries() -> list[Any]:
    """threadpoolctl's controllers of the BLAS libraries loaded (`set_num_threads(n)`
    on each is a few microseconds, for switching inside a run)."""
    return [library for library in _controller().lib_controllers if library.user_api == "blas"]


class BlasThreads:
    """A reusable context: BLAS limited to `threads` threads inside it."""

    def __init__(self, threads: int):
        self.threads = threads
        _controller()

    def __enter__(self) -> BlasThreads:
        self._limiter = _controller().limit(limits=self.threads, user_api="blas")
        return self

    def __exit__(self, *exc: object) -> None:
        self._limiter.restore_original_limits()


def blas_context(threads: int | None) -> contextlib.AbstractContextManager:
    """What a run enters: the BLAS limit, or a context that does nothing."""
    return contextlib.nullcontext() if threads is None else BlasThreads(threads)
