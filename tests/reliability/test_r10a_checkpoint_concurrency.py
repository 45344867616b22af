"""Checkpoint saves from several real processes at once, killed at random (seeded) moments,
with a process loading meanwhile: the file is always the old one or one new complete one,
every load sees one whole file, and no save that finished reports an error."""

import multiprocessing
import os
import random
import signal
import threading
import time
import traceback
from pathlib import Path

import numpy as np
import pytest

import gorgon as G
from gorgon_ops_nn.checkpoint import load, save

SIZE = 200_000  # 1.6 MB per parameter: a save takes long enough to be killed inside
fork = multiprocessing.get_context("fork")


def params(tag: float = 0.0) -> list:
    g = G.Graph()
    w = G.vector(g, G.Float64, SIZE, name="w", value=np.full(SIZE, tag))
    b = G.vector(g, G.Float64, 7, name="b", value=np.full(7, tag))
    return [w, b]


def tag_of(nodes: list) -> float:
    """The one tag every element of every parameter holds (a file written whole)."""
    values = np.concatenate([node.value for node in nodes])
    assert np.all(values == values[0]), "a parameter mixes two saves"
    return float(values[0])


def writer(path: str, number: int, log: str) -> None:
    nodes = params()
    try:
        for step in range(1, 1_000_000):
            tag = number * 1_000_000 + step
            for node in nodes:
                node.value.fill(tag)
            save(path, nodes)
    except BaseException:
        Path(log).write_text(traceback.format_exc())
        raise


def reader(path: str, log: str, stop: float) -> None:
    nodes = params()
    loads = 0
    try:
        while time.monotonic() < stop:
            load(path, nodes)
            tag_of(nodes)
            loads += 1
        Path(log).write_text(f"ok {loads}")
    except BaseException:
        Path(log).write_text(traceback.format_exc())


@pytest.mark.parametrize("trial", range(4))
def test_concurrent_saves_killed_at_random_leave_one_whole_file(tmp_path, trial):
    chance = random.Random(1000 + trial)
    path = str(tmp_path / "model.npz")
    save(path, params(tag=-1.0))
    writers = [fork.Process(target=writer, args=(path, n, str(tmp_path / f"writer{n}.log")))
               for n in range(1, 4)]
    reading = fork.Process(target=reader, args=(path, str(tmp_path / "reader.log"),
                                                time.monotonic() + 0.9))
    for process in [*writers, reading]:
        process.start()
    deadline = time.monotonic() + 0.6
    for process in writers:
        time.sleep(max(0.0, min(chance.uniform(0.05, 0.3), deadline - time.monotonic())))
        os.kill(process.pid, signal.SIGKILL)
    for process in [*writers, reading]:
        process.join(timeout=30)
        assert process.exitcode is not None, "a process hung"
    for n in range(1, 4):
        log = tmp_path / f"writer{n}.log"
        assert not log.exists(), log.read_text()
    outcome = (tmp_path / "reader.log").read_text()
    assert outcome.startswith("ok "), outcome
    assert int(outcome.split()[1]) > 0
    survivors = params()
    load(path, survivors)
    tag = tag_of(survivors)
    assert tag == -1.0 or (1 <= tag // 1_000_000 <= 3 and tag % 1_000_000 >= 1)


def test_a_save_leaves_no_temporary_file_and_a_plain_file_mode(tmp_path):
    path = tmp_path / "model.npz"
    save(path, params(1.0))
    save(path, params(2.0))
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask
    nodes = params()
    load(path, nodes)
    assert tag_of(nodes) == 2.0


def test_a_save_that_fails_midway_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    save(path, params(1.0))

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(OSError, match="disk full"):
        save(path, params(2.0))
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]
    nodes = params()
    load(path, nodes)
    assert tag_of(nodes) == 1.0


def test_saves_and_loads_from_several_threads_see_only_whole_files(tmp_path):
    path = str(tmp_path / "model.npz")
    save(path, params(tag=-1.0))
    errors, tags = [], []
    start = threading.Barrier(5)

    def saving(number: int) -> None:
        nodes = params()
        start.wait()
        try:
            for step in range(1, 9):
                for node in nodes:
                    node.value.fill(number * 1_000_000 + step)
                save(path, nodes)
        except Exception as exc:  # collected: the assertion below shows them
            errors.append(exc)

    def loading() -> None:
        nodes = params()
        start.wait()
        try:
            for _ in range(12):
                load(path, nodes)
                tags.append(tag_of(nodes))
        except Exception as exc:  # collected: the assertion below shows them
            errors.append(exc)

    threads = [threading.Thread(target=saving, args=(n,)) for n in range(1, 5)]
    threads.append(threading.Thread(target=loading))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == [] and len(tags) == 12
    final = params()
    load(path, final)
    assert tag_of(final) % 1_000_000 == 8
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]
