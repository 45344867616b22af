"""Memory-bound kernels (max_pool2d and its gradient) split along the batch over a few
threads: numpy releases the GIL inside copies and ufuncs, so the parts run on several
cores at once. Each part computes whole images exactly as one thread would, so results
are bit-identical whatever the thread count.

The count is GORGON_CONV_THREADS, 1 (everything in the calling thread) when unset. Run
alone, LeNet's pooling kernels ran 1.5x faster on two threads; inside the LeNet step,
on a 2-core machine shared with other processes, interleaved runs showed no gain (a
part waits for a busy core's time slice, as gorgon-numba's parallel loops measured
there too). So splitting is asked for, not assumed. The pooling kernels call no BLAS, so these threads and
BLAS's take turns on the cores rather than oversubscribing them. Small work runs in the
calling thread: handing a part to a thread costs tens of microseconds. (The
convolutions' im2col/col2im copies, split the same way, ran faster alone but made the
whole conv kernels slower between their GEMMs, so they stay whole.)"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from gorgon import ArgumentValueError

ENV = "GORGON_CONV_THREADS"
MIN_PART = 1 << 15
"""Elements a part must touch for a thread hand-off to pay."""

_lock = threading.Lock()
_local = threading.local()
_pool: ThreadPoolExecutor | None = None
_workers = 0


def conv_threads() -> int:
    """How many threads the conv plugin's kernels split their work over."""
    text = os.environ.get(ENV, "").strip()
    if not text:
        return 1
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise ArgumentValueError(f"{ENV} must be a positive integer, got {text!r}")
    return count


def _executor(workers: int) -> ThreadPoolExecutor:
    global _pool, _workers
    with _lock:
        if _pool is None or _workers < workers:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool, _workers = ThreadPoolExecutor(workers, thread_name_prefix="gorgon-conv"), workers
        return _pool


def _forget_pool() -> None:
    """In a forked child the parent's threads are gone: start a new pool when needed."""
    global _pool, _workers
    _pool, _workers = None, 0


os.register_at_fork(after_in_child=_forget_pool)


def _run_part(job: Callable[[int, int], None], lo: int, hi: int) -> None:
    _local.inside = True
    try:
        job(lo, hi)
    finally:
        _local.inside = False


def split(n: int, job: Callable[[int, int], None], size: int) -> None:
    """Run `job(lo, hi)` over batch slices that cover range(n), in parallel when the work
    (`size` elements touched in all) is large enough; every part has finished when this
    returns, and the first part's error, if any, is raised then."""
    parts = min(conv_threads(), n, size // MIN_PART) if not getattr(_local, "inside", False) else 1
    if parts <= 1:
        job(0, n)
        return
    bounds = [n * k // parts for k in range(parts + 1)]
    pool = _executor(parts - 1)
    futures = [pool.submit(_run_part, job, bounds[k], bounds[k + 1]) for k in range(1, parts)]
    error: BaseException | None = None
    try:
        _run_part(job, bounds[0], bounds[1])
    except BaseException as exc:  # noqa: BLE001 - re-raised once every part has stopped
        error = exc
    for future in futures:
        exc = future.exception()
        error = error or exc
    if error is not None:
        raise error
