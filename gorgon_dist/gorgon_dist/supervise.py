"""The rank launcher: `mpiexec -n N python -m gorgon_dist script.py [args...]`.

mpiexec starts this small process for each rank; it runs the script as a child process
(which is the MPI rank) and waits. A rank that dies without a Python error (killed by a
signal, `os._exit`, a crash in native code) cannot say so itself; its launcher names it,
`gorgon_dist: rank N of M died: ...`, and exits non-zero, on which mpiexec stops every
other rank. This module must not start MPI itself.

It also keeps the ranks on one machine from fighting over its cores: unless the user set
a thread count (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS), each rank's
BLAS gets the machine's cores divided by the ranks running on it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence

# The file descriptor over which MPICH's mpiexec (hydra) talks to the rank.
PMI_FD = "PMI_FD"
RANK_VARIABLES = ("PMI_RANK", "OMPI_COMM_WORLD_RANK")
SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE")
LOCAL_SIZE_VARIABLES = ("MPI_LOCALNRANKS", "OMPI_COMM_WORLD_LOCAL_SIZE")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
# The exit status of a rank that reported its own failure (gorgon_dist.run): no more to say.
REPORTED = 86
# Set to "1" in the environment of a rank started by this launcher.
LAUNCHED = "GORGON_DIST_LAUNCHED"


def first_of(names: Sequence[str], default: str) -> str:
    """The first of these environment variables that is set (the rank or the job size,
    named differently by each MPI), else `default` (outside mpiexec: one rank)."""
    return next((os.environ[name] for name in names if name in os.environ), default)


def rank_environment() -> dict[str, str]:
    """This process's environment for the rank: marked as launched, with OMP_NUM_THREADS
    set to this rank's share of the cores when no thread count is set."""
    environment = {**os.environ, LAUNCHED: "1"}
    if not any(name in environment for name in THREAD_VARIABLES):
        local_ranks = max(1, int(first_of(LOCAL_SIZE_VARIABLES, "1")))
        environment["OMP_NUM_THREADS"] = str(max(1, len(os.sched_getaffinity(0)) // local_ranks))
    return environment


def describe_exit(code: int) -> str:
    """A child's exit status in words."""
    if code < 0:
        return f"killed by signal {signal.Signals(-code).name}"
    return f"exited with status {code}"


def supervise(command: Sequence[str]) -> int:
    """Run `python <command>` as this rank and return the exit status to pass on, after
    naming the rank on standard error when it died."""
    passed = (int(os.environ[PMI_FD]),) if PMI_FD in os.environ else ()
    child = subprocess.Popen([sys.executable, *command], pass_fds=passed, env=rank_environment())
    for forwarded in (signal.SIGINT, signal.SIGTERM):
        signal.signal(forwarded, lambda number, frame: child.send_signal(number))
    code = child.wait()
    if code in (0, REPORTED):
        return code
    sys.stderr.write(f"gorgon_dist: rank {first_of(RANK_VARIABLES, '0')} of {first_of(SIZE_VARIABLES, '1')} "
                     f"died: {describe_exit(code)}\n")
    sys.stderr.flush()
    return code if code > 0 else 128 - code


def main(argv: Sequence[str]) -> int:
    """`python -m gorgon_dist script.py [args...]`."""
    if not argv or argv[0] in ("-h", "--help"):
        sys.stderr.write("usage: mpiexec -n N python -m gorgon_dist script.py [args...]\n")
        return 2
    return supervise(argv)
