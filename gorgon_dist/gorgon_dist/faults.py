"""Stopping the whole job when one rank fails, instead of leaving the others waiting.

Without this, a rank that raises exits (or waits in MPI's finalisation) while the other
ranks wait in their next collective call forever. `run` prints which rank failed and why,
then aborts every rank of the job through MPI.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Callable
from typing import NoReturn, TypeVar

from mpi4py import MPI

from gorgon_dist.supervise import LAUNCHED, REPORTED

T = TypeVar("T")
# How long a failing rank lets mpiexec forward its report before aborting the job.
FORWARDING_SECONDS = 0.5


def run(main: Callable[[], T], comm: MPI.Comm | None = None) -> T:
    """Call this rank's `main()` and return its result. If it raises (or exits with a
    non-zero status), print `gorgon_dist: rank N of M failed: <error>` and the traceback to
    standard error, and abort the job: every rank stops, and mpiexec exits non-zero
    (status 86, `supervise.REPORTED`)."""
    comm = MPI.COMM_WORLD if comm is None else comm
    try:
        return main()
    except SystemExit as exc:
        if exc.code in (None, 0):
            raise
        abort(comm, f"exited with status {exc.code}", exc)
    except BaseException as exc:  # noqa: BLE001 - whatever stops this rank must stop the job
        abort(comm, f"{type(exc).__name__}: {exc}", exc)


def abort(comm: MPI.Comm, reason: str, exc: BaseException) -> NoReturn:
    """Report this rank's failure on standard error and abort the whole job.

    Under the launcher (`python -m gorgon_dist`) the rank just exits: its launcher exits
    non-zero after it and mpiexec stops the job, with the report already passed on.
    Otherwise MPI_Abort stops the job under any process manager; it waits a moment first,
    because mpiexec stops forwarding output as soon as it hears of the abort."""
    report = "".join(traceback.format_exception(exc))
    sys.stdout.flush()
    sys.stderr.write(f"gorgon_dist: rank {comm.rank} of {comm.size} failed: {reason}\n{report}")
    sys.stderr.flush()
    if os.environ.get(LAUNCHED) != "1":
        time.sleep(FORWARDING_SECONDS)
        comm.Abort(REPORTED)
    os._exit(REPORTED)
