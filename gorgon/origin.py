"""Where a node was built and where a kernel raised, as `file:line` for error messages.

A node's origin is the nearest caller outside gorgon, its plugins and libraries built on
it (modules named `gorgon_*`): the user's line. A node that gorgon's conformance kit or
`python -m gorgon` built has no user: its origin is then the plugin's line the kit went
through (the op's `call` or gradient rule), else where the op's kernel is defined.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import traceback
from types import FrameType
from typing import Any

_CORE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _folder(package: str) -> str | None:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        return None
    return os.path.dirname(os.path.abspath(spec.origin)) + os.sep


_LIBRARIES = tuple(f for f in (_CORE, _folder("numpy"), _folder("scipy")) if f)
USER, CORE, KIT, PLUGIN = "user", "core", "kit", "plugin"


def _kind(frame: FrameType) -> str:
    module = frame.f_globals.get("__name__", "")
    spec = frame.f_globals.get("__spec__")
    if module == "__main__" and spec is not None and spec.name == "gorgon.__main__":
        module = spec.name
    if module.startswith(("gorgon.testing", "gorgon.__main__")):
        return KIT
    if module == "gorgon" or module.startswith("gorgon."):
        return CORE
    if module.startswith("gorgon_"):
        return PLUGIN
    return USER


def _where(frame: FrameType) -> str:
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def defined_at(op: Any) -> str:
    """`file:line` of the op's own code: its kernel (`forward`), else its gradient rule,
    inference or call, from the most derived class defining one."""
    defined = (vars(cls).get(attr) for cls in type(op).__mro__
               for attr in ("forward", "vjp", "infer", "call"))
    codes = [getattr(getattr(f, "__func__", f), "__code__", None) for f in defined]
    code = next(c for c in codes if c is not None)  # Op itself defines them all
    return f"{code.co_filename}:{code.co_firstlineno}"


def user_origin(op: Any = None) -> str:
    """`file:line` of the nearest caller outside gorgon and its plugins; for a node the
    kit built, the outermost plugin line it went through, else where `op` is defined."""
    frame = sys._getframe(1)
    plugin = None
    while frame is not None:
        kind = _kind(frame)
        if kind == USER:
            return _where(frame)
        if kind == KIT:
            break
        if kind == PLUGIN:
            plugin = frame
        frame = frame.f_back
    if plugin is not None:
        return _where(plugin)
    if op is not None:
        return defined_at(op)
    return _where(frame) if frame is not None else "<unknown>"


def raised_at(exc: BaseException) -> str | None:
    """`file:line` of the innermost frame of `exc`'s traceback outside gorgon's core,
    numpy and scipy: the kernel's own line that raised; None when only those took part
    (a numpy ufunc the machine called directly)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if not os.path.abspath(f.filename).startswith(_LIBRARIES)]
    return f"{frames[-1].filename}:{frames[-1].lineno}" if frames else None
