"""gorgon: expression graphs for neural networks, after Gorgonia.

Build a graph, differentiate it symbolically (G.grad) or automatically (LispMachine),
and run it on the TapeMachine (compiled once, run many) or the LispMachine (dynamic).
Every op comes from a plugin and is reachable as `G.<name>` and `G.ops.<name>`.
"""

from typing import Any

from gorgon.compile import Program, compile
from gorgon.dtypes import Bool, Float32, Float64, Int32, Int64
from gorgon.errors import (ArgumentTypeError, ArgumentValueError, BindError, ConcurrentRunError, DtypeError, ExecutionError, GorgonError, GradError, InfError,
                           NaNError, NonDifferentiable, OpNotFound, PluginError, ShapeError)
from gorgon.function import function
from gorgon.grad import grad
from gorgon.graph import Graph
from gorgon.hookspecs import hookimpl
from gorgon.inputs import constant, let, matrix, scalar, tensor, vector
from gorgon.node import Node
from gorgon.op import Op, UfuncOp, apply
from gorgon.registry import PluginWarning, init, ops, registry, solvers
from gorgon.scan import ScanResult, scan
from gorgon.types import TensorType
from gorgon.vm import LispMachine, TapeMachine

__version__ = "0.1.0"

__all__ = [
    "ArgumentTypeError", "ArgumentValueError", "BindError", "Bool", "ConcurrentRunError", "DtypeError", "ExecutionError", "Float32", "Float64", "GorgonError",
    "GradError", "Graph", "InfError", "Int32", "Int64", "LispMachine", "NaNError", "Node",
    "NonDifferentiable", "Op", "OpNotFound", "PluginError", "PluginWarning", "Program", "ShapeError",
    "ScanResult", "TapeMachine", "TensorType", "UfuncOp", "apply", "compile", "constant", "function", "grad",
    "hookimpl", "init", "let", "matrix", "ops", "registry", "scalar", "solvers", "tensor",
    "vector",
]


def __getattr__(name: str) -> Any:
    """`G.<op name>`: every registered op, found through the plugin registry."""
    if name.startswith("__"):
        raise AttributeError(name)
    return registry.function(name)


def __dir__() -> list[str]:
    registry.load()
    return sorted(set(__all__) | set(registry.ops))
