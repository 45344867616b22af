"""gorgon_dist: data-parallel training of gorgon graphs across processes and machines on
MPI (mpi4py).

    trainer = gorgon_dist.DataParallel(params, solver)   # checks and broadcasts
    G.let(x, gorgon_dist.shard(global_x, trainer.rank, trainer.size))
    machine.run_all(); trainer.step()                    # averaged gradients, one step

Run a script's main under `gorgon_dist.run(main)` so that a rank that raises stops the
whole job, and launch it as `mpiexec -n N python -m gorgon_dist script.py` so that a rank
that dies is named too.

Names are imported on first use: importing the package starts no MPI, so the launcher
(`python -m gorgon_dist`) can run before MPI does, in the process that starts the rank.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gorgon_dist.errors import DistError, GraphMismatch, OutOfSync
    from gorgon_dist.faults import run
    from gorgon_dist.sharding import local_batch_size, shard
    from gorgon_dist.trainer import DataParallel

__version__ = "0.1.0"

MODULES = {
    "DataParallel": "gorgon_dist.trainer",
    "DistError": "gorgon_dist.errors",
    "GraphMismatch": "gorgon_dist.errors",
    "OutOfSync": "gorgon_dist.errors",
    "local_batch_size": "gorgon_dist.sharding",
    "run": "gorgon_dist.faults",
    "shard": "gorgon_dist.sharding",
}

__all__ = ["DataParallel", "DistError", "GraphMismatch", "OutOfSync", "local_batch_size", "run", "shard"]


def __getattr__(name: str) -> Any:
    if name not in MODULES:
        raise AttributeError(f"module 'gorgon_dist' has no attribute {name!r}")
    return getattr(importlib.import_module(MODULES[name]), name)
