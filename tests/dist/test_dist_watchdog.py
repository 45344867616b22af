"""The watchdog's decisions, on a stand-in communicator: a collective that completes, a
rank that left before or after the call this one waits in, a timeout that names the
silent ranks, and the departure handshake. (The real jobs are in test_dist_faults.py.)"""

from __future__ import annotations

import pytest
from mpi4py import MPI

from gorgon_dist import DistError
from gorgon_dist.watchdog import DEPARTED, HERE, WHERE, Watchdog, check_timeout, default_timeout, watchdog


class Ended(Exception):
    """What the stand-in `end_job` raises, so a test sees the reason."""


def end_job(reason: str) -> None:
    raise Ended(reason)


class Request:
    """Completes at its `polls`-th Test (never when None)."""

    def __init__(self, polls: int | None):
        self.polls, self.tested = polls, 0

    def Test(self) -> bool:  # noqa: N802 - MPI's name
        self.tested += 1
        return self.polls is not None and self.tested >= self.polls


class Comm:
    """Rank `rank` of `size`, with an inbox of (source, tag, message) and ranks that
    answer WHERE with a place."""

    def __init__(self, rank: int, size: int, answers: dict[int, tuple[int, str]] | None = None):
        self.rank, self.size = rank, size
        self.inbox: list[tuple[int, int, object]] = []
        self.sent: list[tuple[int, int, object]] = []
        self.answers = answers or {}

    def Iprobe(self, source: int, tag: int, status: MPI.Status) -> bool:  # noqa: N802
        for sender, kind, _ in self.inbox:
            if kind == tag:
                status.Set_source(sender)
                return True
        return False

    def recv(self, source: int, tag: int) -> object:
        for index, (sender, kind, message) in enumerate(self.inbox):
            if sender == source and kind == tag:
                del self.inbox[index]
                return message
        raise AssertionError("nothing to receive")

    def send(self, message: object, dest: int, tag: int) -> None:
        self.sent.append((dest, tag, message))
        if tag == WHERE and dest in self.answers:
            self.inbox.append((dest, HERE, self.answers[dest]))


def dog(comm: Comm, timeout: float = 5.0) -> Watchdog:
    return Watchdog(comm, timeout, end_job)  # type: ignore[arg-type]


def test_a_collective_that_completes_is_counted():
    watched = dog(Comm(0, 2))
    watched.wait(Request(1), "first")
    watched.wait(Request(500), "second")
    assert watched.calls == 2


def test_a_rank_that_left_before_this_call_ends_the_job_naming_it():
    comm = Comm(0, 2)
    watched = dog(comm)
    watched.calls = 4
    comm.inbox.append((1, DEPARTED, (3, "the gradient allreduce of step 2")))
    with pytest.raises(Ended, match=r"^rank 1 of 2 left the job after 3 collective calls \(its last: the gradient "
                                    r"allreduce of step 2\), while rank 0 waits in call 5, the sync check"):
        watched.wait(Request(None), "the sync check")


def test_a_rank_that_left_after_taking_part_is_no_fault():
    comm = Comm(0, 2)
    watched = dog(comm)
    comm.inbox.append((1, DEPARTED, (1, "its last")))
    watched.wait(Request(400), "the only call")
    assert watched.departed == {1: (1, "its last")}


def test_a_timeout_names_the_silent_ranks_and_where_the_others_wait():
    comm = Comm(0, 3, answers={1: (2, "the gradient allreduce of step 2")})
    watched = dog(comm, timeout=0.01)
    watched.calls = 2
    with pytest.raises(Ended) as ended:
        watched.wait(Request(None), "the gradient allreduce of step 3")
    assert str(ended.value) == (
        "rank 0 of 3 waited 0.01 s in call 3, the gradient allreduce of step 3, and ranks [2] never came "
        "(stuck, or busy outside gorgon_dist's collectives); rank 1 waits in call 2, the gradient allreduce "
        "of step 2. Set the limit with DataParallel(timeout=...) or GORGON_DIST_TIMEOUT")


def test_a_waiting_rank_answers_where_it_is():
    comm = Comm(1, 2)
    watched = dog(comm)
    comm.inbox.append((0, WHERE, None))
    watched.wait(Request(300), "the sync check")
    assert comm.sent == [(0, HERE, (1, "the sync check"))]


def test_departure_waits_for_every_rank_and_compares_their_calls():
    comm = Comm(0, 3)
    watched = dog(comm)
    watched.calls = 7
    comm.inbox += [(1, DEPARTED, (7, "x")), (2, DEPARTED, (7, "y"))]
    watched.depart()
    assert [(dest, tag) for dest, tag, _ in comm.sent] == [(1, DEPARTED), (2, DEPARTED)]
    comm = Comm(0, 2)
    watched = dog(comm)
    watched.calls = 7
    comm.inbox.append((1, DEPARTED, (6, "x")))
    with pytest.raises(Ended, match="rank 1 finished after 6 collective calls and rank 0 after 7: the ranks did "
                                    "not run the same number of steps"):
        watched.depart()


def test_departure_gives_up_on_ranks_that_never_finish():
    watched = dog(Comm(0, 3), timeout=0.01)
    with pytest.raises(Ended, match=r"rank 0 of 3 finished after 0 collective calls, but ranks \[1, 2\] did not "
                                    r"finish within 0.01 s"):
        watched.depart()


def test_the_timeout_comes_from_the_argument_or_the_environment(monkeypatch):
    monkeypatch.delenv("GORGON_DIST_TIMEOUT", raising=False)
    assert default_timeout() == 300.0
    monkeypatch.setenv("GORGON_DIST_TIMEOUT", "12.5")
    assert default_timeout() == 12.5
    monkeypatch.setenv("GORGON_DIST_TIMEOUT", "soon")
    with pytest.raises(DistError, match="GORGON_DIST_TIMEOUT='soon' is not a number of seconds"):
        default_timeout()
    for bad in (0, -1.0, "5"):
        with pytest.raises(DistError, match="the collective timeout must be a positive number of seconds"):
            check_timeout(bad)  # type: ignore[arg-type]
    monkeypatch.delenv("GORGON_DIST_TIMEOUT")
    assert watchdog(MPI.COMM_SELF, 7.0).timeout == 7.0


def test_one_rank_collectives_go_through_the_real_communicator():
    import numpy as np

    watched = watchdog(MPI.COMM_SELF)
    assert watched.allgather_bytes(b"abc", "gather") == [b"abc"]
    assert watched.bcast_object({"a": 1}, "bcast") == {"a": 1}
    array = np.arange(3.0)
    watched.allreduce_sum(array, "sum")
    assert array.tolist() == [0.0, 1.0, 2.0]
    watched.depart()
