"""Saving and loading a data-parallel job's parameters and solver state.

Rank 0 alone reads or writes the file (gorgon_ops_nn's `.npz` checkpoint format), so the
ranks need no shared file system to save, and a loaded checkpoint reaches the other ranks
by broadcast. Rank 0's success or failure is broadcast too: a failure raises the same
error on every rank instead of leaving the others waiting.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from gorgon import Node
from gorgon_dist.errors import DistError
from gorgon_dist.watchdog import Watchdog
from gorgon_ops_nn import Solver, load, save


def on_rank_zero(dog: Watchdog, action: Callable[[], None], what: str) -> None:
    """Run `action` on rank 0 only; raise DistError on every rank if it failed there."""
    error = None
    if dog.comm.rank == 0:
        try:
            action()
        except Exception as exc:  # noqa: BLE001 - any failure must reach every rank
            error = f"{type(exc).__name__}: {exc}"
    error = dog.bcast_object(error, f"rank 0's answer {what}")
    if error is not None:
        raise DistError(f"rank 0 failed {what}: {error}")


def save_checkpoint(dog: Watchdog, path: str | os.PathLike, params: dict[str, Node],
                    solver: Solver | None) -> None:
    """Rank 0 writes `params` (and the solver's state) to `path`; every rank returns
    once the file is complete."""
    on_rank_zero(dog, lambda: save(path, params, solver), f"to save {os.fspath(path)!r}")


def load_checkpoint(dog: Watchdog, path: str | os.PathLike, params: dict[str, Node],
                    solver: Solver | None) -> None:
    """Rank 0 reads `path` into `params` (and the solver); the caller then broadcasts
    them to the other ranks."""
    on_rank_zero(dog, lambda: load(path, params, solver), f"to load {os.fspath(path)!r}")
