"""The errors gorgon_dist raises; all derive from gorgon's GorgonError."""

from gorgon.errors import GorgonError


class DistError(GorgonError):
    """Something went wrong across ranks; raised the same way on every rank."""


class GraphMismatch(DistError):
    """A rank's parameters or solver differ from rank 0's (found when training starts)."""


class OutOfSync(DistError):
    """A rank's parameters or solver state are no longer bit-identical to rank 0's."""
