"""G.function: a Python function that builds a graph from its inputs, traced once per
signature (the shapes and dtypes of its array arguments, and the values of the others)
into a cached machine, then called like a numpy function."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from gorgon.errors import ArgumentTypeError, GorgonError
from gorgon.graph import Graph
from gorgon.inputs import tensor
from gorgon.node import Node
from gorgon.vm import LispMachine, TapeMachine


class Traced:
    """One trace: the graph, its argument nodes, its output nodes, and the machine. A
    call holds the trace's lock from copying the arguments in to copying the results
    out, so calls from several threads each get their own answer."""

    def __init__(self, fn: Callable[..., Any], args: tuple, machine: type, options: dict[str, Any]):
        self.graph = Graph()
        self.nodes: list[Node | None] = []
        call_args = []
        for position, arg in enumerate(args):
            if isinstance(arg, np.ndarray):
                node = tensor(self.graph, arg.dtype, arg.shape, name=f"arg{position}", value=arg.copy())
                self.nodes.append(node)
                call_args.append(node)
            else:
                self.nodes.append(None)
                call_args.append(arg)
        result = fn(*call_args)
        self.single = not isinstance(result, (tuple, list))
        self.outputs = [result] if self.single else list(result)
        for output in self.outputs:
            if not isinstance(output, Node) or output.graph is not self.graph:
                raise GorgonError(f"G.function: {fn.__name__} must return nodes of the graph it was "
                                  f"given, got {output!r}")
        if machine is TapeMachine:
            options = {"outputs": self.outputs, "readable": "lean", **options}
        else:
            options = {"outputs": self.outputs, **options}
        self.machine = machine(self.graph, **options)
        self.lock = threading.Lock()

    def __call__(self, args: tuple) -> np.ndarray | tuple[np.ndarray, ...]:
        with self.lock:
            for node, arg in zip(self.nodes, args):
                if node is not None:
                    np.copyto(node.value, arg)
            self.machine.run_all()
            values = tuple(np.array(output.value) for output in self.outputs)
        return values[0] if self.single else values


def _signature(args: tuple) -> tuple:
    return tuple((a.shape, a.dtype.str) if isinstance(a, np.ndarray) else ("value", a) for a in args)


def function(fn: Callable[..., Any] | None = None, *, machine: type = TapeMachine,
             **options: Any) -> Callable[..., Any]:
    """Decorate `fn(*nodes) -> node or tuple of nodes` into a function of numpy arrays.

    Each new signature (shapes and dtypes of the array arguments; other arguments by
    value, so they must be hashable) traces `fn` once into a graph and a machine
    (`machine=G.TapeMachine` by default, with `readable="lean"` as only the results are
    read, or `G.LispMachine`; `options` go to it); later
    calls with that signature copy the arrays into the trace's inputs (no re-binding, no
    recompiling) and run. Results are fresh arrays.
    `decorated.traces` holds the cache.

    Thread-safe: each signature is traced once, and calls with one signature from several
    threads take turns on its machine (each gets its own results).
    """
    if fn is None:
        return functools.partial(function, machine=machine, **options)
    if machine not in (TapeMachine, LispMachine):
        raise ArgumentTypeError(f"G.function: machine must be G.TapeMachine or G.LispMachine, "
                                f"got {machine!r}")
    traces: dict[tuple, Traced] = {}
    tracing = threading.Lock()

    @functools.wraps(fn)
    def call(*args: Any) -> Any:
        args = tuple(np.asarray(a) if isinstance(a, (list, np.generic)) else a for a in args)
        key = _signature(args)
        traced = traces.get(key)
        if traced is None:
            with tracing:
                traced = traces.get(key)
                if traced is None:
                    traced = traces[key] = Traced(fn, args, machine, options)
        return traced(args)

    call.traces = traces
    return call
