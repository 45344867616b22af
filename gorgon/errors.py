"""The error family: every error gorgon raises on purpose derives from GorgonError."""


class GorgonError(Exception):
    """Base of every error gorgon raises on purpose."""


class ShapeError(GorgonError, ValueError):
    """A node's inputs have shapes its op cannot take."""


class DtypeError(GorgonError, TypeError):
    """A node's inputs have dtypes its op cannot take, or dtypes that do not match."""


class OpNotFound(GorgonError, AttributeError):
    """No installed plugin registers an op of that name."""


class PluginError(GorgonError):
    """A plugin failed to load, or registered something wrong."""


class NonDifferentiable(GorgonError):
    """A gradient was asked through an op that has none."""


class GradError(GorgonError):
    """A gradient cannot be built: wrong cost, unreachable wrt, bad rule."""


class ExecutionError(GorgonError):
    """A kernel failed at run time; the message names the node, op and inputs."""


class NaNError(ExecutionError):
    """A watched run produced a NaN; the message names the first node that did."""


class InfError(ExecutionError):
    """A watched run produced an infinity; the message names the first node that did."""


class BindError(GorgonError, ValueError):
    """A value cannot be bound to a node, or a node has no value where one is needed."""


class ArgumentTypeError(GorgonError, TypeError):
    """A function or op got an argument of the wrong kind (`except TypeError` still catches it)."""


class ArgumentValueError(GorgonError, ValueError):
    """A function or op got an argument with a value it cannot take (`except ValueError` still
    catches it)."""


class ConcurrentRunError(GorgonError, RuntimeError):
    """A machine was run from a second thread while another thread was running it."""
