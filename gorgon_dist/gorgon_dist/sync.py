"""Checking that every rank holds bit-identical parameters and solver state.

Each rank hashes the bytes of its parameters and of its solver's state; the digests are
gathered (through the watchdog) and compared with rank 0's, so every rank reaches the same
verdict.
"""

from __future__ import annotations

import hashlib

from gorgon import Node
from gorgon_dist.errors import OutOfSync
from gorgon_dist.watchdog import Watchdog
from gorgon_ops_nn import Solver


def digest(params: dict[str, Node], solver: Solver | None) -> str:
    """A hash of every parameter's bytes (and the solver's state), in order."""
    hasher = hashlib.blake2b(digest_size=16)
    for name, node in params.items():
        hasher.update(name.encode())
        hasher.update(node.value.tobytes())
    if solver is not None:
        for key, value in sorted(solver.state_dict().items()):
            hasher.update(key.encode())
            hasher.update(value.tobytes())
    return hasher.hexdigest()


def check_in_sync(dog: Watchdog, params: dict[str, Node], solver: Solver | None) -> None:
    """Raise OutOfSync on every rank unless every rank's parameters and solver state are
    bit-identical to rank 0's."""
    digests = dog.allgather_bytes(digest(params, solver).encode(), "the check that the ranks are in sync")
    differing = [rank for rank, value in enumerate(digests) if value != digests[0]]
    if differing:
        raise OutOfSync(f"ranks {differing} hold parameters or solver state that differ from "
                        f"rank 0's (of {len(digests)} ranks)")
