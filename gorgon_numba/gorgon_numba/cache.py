"""Generated kernel sources as modules on disk, so that Numba's cache (`cache=True`)
keeps their machine code for the next process.

The folder is GORGON_NUMBA_CACHE when set, else ~/.cache/gorgon-numba; when it is not
writable, a folder of the user's own under the system's temporary directory. Each source
is written once (atomically) under a name made from its hash, and imported from there.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tempfile
import threading
from pathlib import Path
from types import ModuleType

ENV = "GORGON_NUMBA_CACHE"
_lock = threading.Lock()
_modules: dict[str, ModuleType] = {}


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK | os.X_OK)


def cache_dir() -> Path:
    """The folder generated kernels live in (made when missing)."""
    chosen = os.environ.get(ENV)
    folder = Path(chosen) if chosen else Path.home() / ".cache" / "gorgon-numba"
    if _writable(folder):
        return folder
    fallback = Path(tempfile.gettempdir()) / f"gorgon-numba-{os.getuid() if hasattr(os, 'getuid') else 'user'}"
    if not _writable(fallback):
        raise OSError(f"gorgon-numba: neither {folder} nor {fallback} is a writable folder for "
                      f"compiled kernels; set {ENV} to one")
    return fallback


def file_version(path: str) -> str:
    """A short hash of a helper module's file, which the generated sources that import it
    hold, so that an edited helper makes new modules rather than reuse machine code cached
    with the old one (vector_math computes its own the same way, kept as it is so that its
    kernels' cached machine code stays valid)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def load(source: str) -> ModuleType:
    """The module of `source`, written to the cache folder the first time and imported."""
    digest = hashlib.sha256(source.encode()).hexdigest()[:24]
    with _lock:
        module = _modules.get(digest)
        if module is not None:
            return module
        path = cache_dir() / f"kernel_{digest}.py"
        if not path.exists() or path.read_text() != source:
            fd, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "w") as handle:
                handle.write(source)
            os.replace(temporary, path)
        spec = importlib.util.spec_from_file_location(f"gorgon_numba_kernel_{digest}", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # numba's cache finds a kernel's globals by module name
        spec.loader.exec_module(module)
        _modules[digest] = module
        return module
