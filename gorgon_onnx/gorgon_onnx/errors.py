"""The errors of gorgon_onnx: all GorgonErrors, and ValueErrors for bad input."""

from __future__ import annotations

from gorgon import GorgonError


class OnnxError(GorgonError, ValueError):
    """A model file that cannot be read or trusted: the message names the problem."""


class UnsupportedError(OnnxError):
    """An import or export that cannot be done; `items` lists every culprit at once:
    (op type, node name) pairs on import, gorgon op names on export."""

    def __init__(self, message: str, items: list):
        super().__init__(message)
        self.items = items
