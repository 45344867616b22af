"""gorgon_ops_conv.split: the batch split of the conv plugin's memory-bound work over
threads (GORGON_CONV_THREADS)."""

import threading

import pytest

import gorgon as G
from gorgon_ops_conv import split as S


@pytest.fixture
def threads(monkeypatch):
    """Set GORGON_CONV_THREADS and let any work, however small, be split."""
    monkeypatch.setattr(S, "MIN_PART", 1)

    def set_count(count):
        monkeypatch.setenv(S.ENV, str(count))

    return set_count


def test_the_count_is_one_unless_asked_for(monkeypatch):
    monkeypatch.delenv(S.ENV, raising=False)
    assert S.conv_threads() == 1
    seen = []
    S.split(64, lambda lo, hi: seen.append((lo, hi, threading.current_thread())), size=1 << 30)
    assert seen == [(0, 64, threading.current_thread())]
    monkeypatch.setenv(S.ENV, " 3 ")
    assert S.conv_threads() == 3


@pytest.mark.parametrize("text", ["0", "-2", "two", "1.5"])
def test_a_bad_count_is_an_argument_error_naming_the_variable(monkeypatch, text):
    monkeypatch.setenv(S.ENV, text)
    with pytest.raises(G.ArgumentValueError, match=f"GORGON_CONV_THREADS must be a positive integer, got '{text}'"):
        S.conv_threads()


@pytest.mark.parametrize("count, n", [(1, 5), (2, 5), (3, 7), (4, 2), (3, 1)])
def test_the_parts_cover_the_batch_once_each(threads, count, n):
    threads(count)
    seen = []
    together = threading.Barrier(min(count, n), timeout=10)

    def job(lo, hi):
        seen.append((lo, hi))
        together.wait()  # breaks (an error) unless every part runs at the same time

    S.split(n, job, size=n * 10)
    assert sorted(i for lo, hi in seen for i in range(lo, hi)) == list(range(n))
    assert len(seen) == min(count, n)


def test_work_too_small_for_two_parts_runs_whole_in_the_calling_thread(monkeypatch):
    monkeypatch.setenv(S.ENV, "4")
    seen = []
    S.split(64, lambda lo, hi: seen.append((lo, hi, threading.current_thread())), size=S.MIN_PART * 2 - 1)
    assert seen == [(0, 64, threading.current_thread())]
    seen.clear()
    S.split(64, lambda lo, hi: seen.append((lo, hi)), size=S.MIN_PART * 2)
    assert sorted(seen) == [(0, 32), (32, 64)]


def test_a_part_that_splits_again_runs_its_inner_work_in_its_own_thread(threads):
    threads(2)
    inner = []

    def outer(lo, hi):
        me = threading.current_thread()
        S.split(hi - lo, lambda a, b: inner.append((a, b, threading.current_thread() is me)), size=100)

    S.split(4, outer, size=100)
    assert sorted(inner) == [(0, 2, True), (0, 2, True)]


def test_an_error_in_a_part_is_raised_once_every_part_has_finished(threads):
    threads(3)
    finished = []

    def job(lo, hi):
        if lo == 0:
            raise ValueError("part 0 failed")
        threading.Event().wait(0.05)
        finished.append(lo)

    with pytest.raises(ValueError, match="part 0 failed"):
        S.split(6, job, size=100)
    assert sorted(finished) == [2, 4]
