"""Where in the user's code a node was built: the first stack frame outside gorgon and its plugins."""

import sys


def user_origin() -> str:
    """`file:line` of the nearest caller whose module is not gorgon or a gorgon plugin."""
    frame = sys._getframe(1)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if not module.startswith("gorgon"):
            return f"{frame.f_code.co_filename}:{frame.f_lineno}"
        frame = frame.f_back
    return "<unknown>"
