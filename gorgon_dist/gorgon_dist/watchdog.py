"""Collective calls that always end: each one completes, or the job ends within a
timeout with a message naming the rank at fault.

A blocking MPI collective waits forever for a rank that never calls it: one that returned
early, called `sys.exit(0)`, or ran one step fewer than the others. gorgon_dist starts
every collective as a non-blocking request and waits for it here, while also listening
on point-to-point messages (tags of their own, so they never mix with the collectives):

- a rank that leaves (its process exits, however it exits) first tells every other rank
  how many collectives it took part in; a rank waiting in a later collective then knows
  who left and ends the job at once, naming it;
- a rank that waits longer than `timeout` seconds asks the others where they are, and
  ends the job naming each rank that did not answer (it is stuck, or busy outside
  gorgon_dist's collectives) and where each of the others waits.

The job is ended through `gorgon_dist.faults.abort`, as when a rank raises. There is one
watchdog per communicator, shared by everything that uses it.
"""

from __future__ import annotations

import atexit
import os
import pickle
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from mpi4py import MPI

from gorgon_dist.errors import DistError
from gorgon_dist.faults import abort

TIMEOUT_VARIABLE = "GORGON_DIST_TIMEOUT"
DEFAULT_TIMEOUT = 300.0
# Point-to-point tags of the watchdog's own messages (the collectives use none).
DEPARTED, WHERE, HERE = 0x67D1, 0x67D2, 0x67D3
# How long a rank that timed out waits for the others to say where they are.
ANSWER_SECONDS = 1.0
LONGEST_PAUSE = 1e-3
# Polls before a waiting rank starts to sleep between them (a collective usually ends soon).
SPINS = 200

_watchdogs: dict[int, Watchdog] = {}


def default_timeout() -> float:
    """`GORGON_DIST_TIMEOUT` (seconds) when set, else 300."""
    text = os.environ.get(TIMEOUT_VARIABLE)
    if text is None:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        raise DistError(f"{TIMEOUT_VARIABLE}={text!r} is not a number of seconds") from None
    return check_timeout(seconds)


def check_timeout(seconds: float) -> float:
    """`seconds` if it is a usable timeout, else a DistError."""
    if not isinstance(seconds, (int, float)) or not seconds > 0:
        raise DistError(f"the collective timeout must be a positive number of seconds, got {seconds!r}")
    return float(seconds)


def watchdog(comm: MPI.Comm, timeout: float | None = None) -> Watchdog:
    """The watchdog of `comm` (made on first use); `timeout`, when given, becomes its
    timeout."""
    key = comm.py2f()
    dog = _watchdogs.get(key)
    if dog is None:
        dog = _watchdogs[key] = Watchdog(comm, default_timeout())
        if not _watchdogs.keys() - {key}:
            atexit.register(_depart_all)
    if timeout is not None:
        dog.timeout = check_timeout(timeout)
    return dog


def _depart_all() -> None:
    for dog in list(_watchdogs.values()):
        dog.depart()


class Watchdog:
    """Waits for the collectives on one communicator (see the module's docstring)."""

    def __init__(self, comm: MPI.Comm, timeout: float, end_job: Callable[[str], None] | None = None):
        self.comm = comm
        self.timeout = timeout
        self.calls = 0
        self.departed: dict[int, tuple[int, str]] = {}
        self.end_job = end_job or self._abort
        self._where = "not yet in a collective"

    def wait(self, request: MPI.Request, what: str) -> None:
        """Wait until `request` (this rank's part of the collective `what`) completes."""
        self.calls += 1
        if request.Test():
            return
        self._where = what
        deadline = time.monotonic() + self.timeout
        polls, pause = 0, 1e-5
        while not request.Test():
            polls += 1
            if polls < SPINS:
                continue
            self._listen()
            self._check_departures(what)
            if time.monotonic() > deadline:
                self._timed_out(what)
            time.sleep(pause)
            pause = min(LONGEST_PAUSE, 2 * pause)

    def allreduce_sum(self, array: np.ndarray, what: str) -> None:
        """Sum `array` over the ranks, in place."""
        self.wait(self.comm.Iallreduce(MPI.IN_PLACE, array, op=MPI.SUM), what)

    def bcast(self, array: np.ndarray, what: str, root: int = 0) -> None:
        """Make `array` root's on every rank, in place."""
        self.wait(self.comm.Ibcast(array, root=root), what)

    def allgather_bytes(self, data: bytes, what: str) -> list[bytes]:
        """Every rank's `data` (all of one length), in rank order."""
        mine = np.frombuffer(data, np.uint8)
        every = np.empty((self.comm.size, mine.size), np.uint8)
        self.wait(self.comm.Iallgather(mine, every), what)
        return [row.tobytes() for row in every]

    def bcast_object(self, value: Any, what: str, root: int = 0) -> Any:
        """Root's `value` on every rank (pickled: the ranks of one job trust each other)."""
        data = pickle.dumps(value) if self.comm.rank == root else b""
        length = np.array([len(data)], np.int64)
        self.bcast(length, what, root)
        buffer = np.frombuffer(data, np.uint8).copy() if self.comm.rank == root else np.empty(int(length[0]), np.uint8)
        self.bcast(buffer, what, root)
        return value if self.comm.rank == root else pickle.loads(buffer.tobytes())  # noqa: S301 - rank 0 of this job

    def depart(self) -> None:
        """Tell every other rank that this one leaves, then wait (up to the timeout) until
        every other rank has left too, having taken part in as many collectives."""
        if self.comm.size == 1 or MPI.Is_finalized():
            return
        me = self.comm.rank
        for rank in self._others():
            self.comm.send((self.calls, self._where), dest=rank, tag=DEPARTED)
        self._where = f"leaving the job after {self.calls} collective calls"
        deadline = time.monotonic() + self.timeout
        while len(self.departed) < self.comm.size - 1:
            self._listen()
            if time.monotonic() > deadline:
                missing = sorted(set(self._others()) - set(self.departed))
                self.end_job(f"rank {me} of {self.comm.size} finished after {self.calls} collective "
                             f"calls, but ranks {missing} did not finish within {self.timeout:g} s")
                return
            time.sleep(LONGEST_PAUSE)
        for rank, (calls, _) in sorted(self.departed.items()):
            if calls != self.calls:
                self.end_job(f"rank {rank} finished after {calls} collective calls and rank {me} after "
                             f"{self.calls}: the ranks did not run the same number of steps")
                return

    def _others(self) -> list[int]:
        return [rank for rank in range(self.comm.size) if rank != self.comm.rank]

    def _listen(self) -> None:
        """Take in departures and answer questions about where this rank is."""
        status = MPI.Status()
        while self.comm.Iprobe(source=MPI.ANY_SOURCE, tag=DEPARTED, status=status):
            self.departed[status.Get_source()] = self.comm.recv(source=status.Get_source(), tag=DEPARTED)
        while self.comm.Iprobe(source=MPI.ANY_SOURCE, tag=WHERE, status=status):
            asker = status.Get_source()
            self.comm.recv(source=asker, tag=WHERE)
            self.comm.send((self.calls, self._where), dest=asker, tag=HERE)

    def _check_departures(self, what: str) -> None:
        """End the job if a rank left before taking part in the collective this one waits in
        (a rank that left after taking part is fine: its data is on its way)."""
        for rank, (calls, where) in sorted(self.departed.items()):
            if calls < self.calls:
                self.end_job(f"rank {rank} of {self.comm.size} left the job after {calls} collective "
                             f"calls (its last: {where}), while rank {self.comm.rank} waits in call "
                             f"{self.calls}, {what}: the ranks did not run the same steps")

    def _timed_out(self, what: str) -> None:
        """Ask the other ranks where they are, then end the job saying who did not come."""
        asked = [rank for rank in self._others() if rank not in self.departed]
        for rank in asked:
            self.comm.send(None, dest=rank, tag=WHERE)
        answers: dict[int, tuple[int, str]] = {}
        status = MPI.Status()
        deadline = time.monotonic() + ANSWER_SECONDS
        while len(answers) < len(asked) and time.monotonic() < deadline:
            self._listen()
            if self.comm.Iprobe(source=MPI.ANY_SOURCE, tag=HERE, status=status):
                answers[status.Get_source()] = self.comm.recv(source=status.Get_source(), tag=HERE)
            else:
                time.sleep(LONGEST_PAUSE)
        silent = [rank for rank in asked if rank not in answers]
        places = "; ".join(f"rank {rank} waits in call {calls}, {where}"
                           for rank, (calls, where) in sorted(answers.items()))
        self.end_job(f"rank {self.comm.rank} of {self.comm.size} waited {self.timeout:g} s in call "
                     f"{self.calls}, {what}, and ranks {silent} never came (stuck, or busy outside "
                     f"gorgon_dist's collectives)" + (f"; {places}" if places else "")
                     + f". Set the limit with DataParallel(timeout=...) or {TIMEOUT_VARIABLE}")

    def _abort(self, reason: str) -> None:
        abort(self.comm, reason, DistError(reason))
