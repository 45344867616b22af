"""G.scan: a loop as one node holding a body graph, built once from a step function,
compiled once, run for any number of steps; its gradient is a reverse scan.

Layering: scan is core graph machinery. The scan node is an ordinary op whose kernel
runs its own compiled body (a TapeMachine over the body graph), so neither machine
knows anything new; its several results are views of one packed value (see
`gorgon.scan.ops`). See docs/scan.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from gorgon.errors import ArgumentTypeError, ArgumentValueError, GorgonError, ShapeError
from gorgon.graph import Graph
from gorgon.inputs import tensor
from gorgon.node import Node
from gorgon.op import _kind, apply, lift
from gorgon.scan.body import Body
from gorgon.scan.ops import Scan, check_length_node, part
from gorgon.types import describe

CACHE_LIMIT = 256
_bodies: dict[tuple, Body] = {}


class ScanResult:
    """What G.scan returns: `final` (the carried state after the last step) and
    `outputs` (each per-step output stacked along a new axis 0), each a node when the
    step gave one node and a tuple when it gave a tuple; `final, outputs = G.scan(...)`
    unpacks it. `node` is the scan node itself."""

    def __init__(self, node: Node, final: Node | tuple[Node, ...], outputs: Node | tuple[Node, ...] | None):
        self.node, self.final, self.outputs = node, final, outputs

    def __iter__(self) -> Iterator[Any]:
        return iter((self.final, self.outputs))

    def __repr__(self) -> str:
        return f"<ScanResult of {self.node.name}: final={self.final!r} outputs={self.outputs!r}>"


def scan(step: Callable[..., Any], sequences: Any = (), init: Any = (), non_sequences: Any = (),
         length: int | Node | None = None, reverse: bool = False, name: str | None = None) -> ScanResult:
    """Loop `step` over the sequences' axis 0: `step(*carry, *slices, *non_sequences)`
    returns `(new_carry, outputs)` (Theano's scan, JAX's lax.scan). `init` is the
    carried state (a node, or a tuple of nodes), `sequences` are sliced one step at a
    time, `non_sequences` are read whole by every step; `length` is the trip count when
    there is no sequence, or an integer scalar node: the number of steps each run takes,
    read at run time (at most the sequences' axis 0; the stacked outputs' rows after it
    are zeros), so one compiled program runs every length; `reverse=True` runs from the
    last slice to the first (outputs stay in the sequences' order). The body is traced
    once per step function and body types, and compiled once.
    """
    if not callable(step):
        raise ArgumentTypeError(f"G.scan: step must be a function of nodes, got {_kind(step)}")
    label = name if name is not None else getattr(step, "__name__", "scan")
    if not isinstance(label, str):
        raise ArgumentTypeError(f"G.scan: name must be a string, got {_kind(label)}")
    if not isinstance(reverse, bool):
        raise ArgumentTypeError(f"scan {label!r}: reverse must be True or False, got {_kind(reverse)}")
    one_carry, init = _as_tuple(init)
    _, sequences = _as_tuple(sequences)
    _, non_sequences = _as_tuple(non_sequences)
    graph = _graph_of(label, init + sequences + non_sequences)
    if isinstance(length, Node):
        return graph.atomic(lambda: _build_dynamic(step, label, graph, init, one_carry, sequences,
                                                   non_sequences, length, reverse))
    return graph.atomic(lambda: _build(step, label, graph, init, one_carry, sequences,
                                       non_sequences, length, reverse))


def _build_dynamic(step: Callable[..., Any], label: str, graph: Graph, init: tuple, one_carry: bool,
                   sequences: tuple, non_sequences: tuple, length: Node, reverse: bool) -> ScanResult:
    """A scan whose trip count is the value of `length` at run time."""
    if length.graph is not graph:
        raise ArgumentValueError(f"scan {label!r}: length {describe(length)} belongs to another graph")
    check_length_node(label, length)
    if not sequences:
        raise ArgumentValueError(f"scan {label!r}: a length node needs sequences (their axis 0 is the "
                                 "most steps a run may take); without any give length= an int")
    return _build(step, label, graph, init, one_carry, sequences, non_sequences, None, reverse, length)


def _build(step: Callable[..., Any], label: str, graph: Graph, init: tuple, one_carry: bool,
           sequences: tuple, non_sequences: tuple, length: int | None, reverse: bool,
           trip: Node | None = None) -> ScanResult:
    init, sequences, non_sequences = (lift(group, graph) for group in (init, sequences, non_sequences))
    steps = _check_length(label, sequences, length)
    body = _body(step, label, init, sequences, non_sequences)
    # a graph in evaluation mode is for inference: its scans store no residuals (a
    # gradient taken anyway runs the loop once more, storing them)
    op = Scan(body, reverse, None if sequences else steps, store=graph.training, dynamic=trip is not None)
    node = apply(op, *init, *sequences, *non_sequences, *(() if trip is None else (trip,)), graph=graph)
    outputs = tuple(part(node, j) for j in range(body.n_user))
    final = tuple(part(node, op.stacked + i) for i in range(len(body.carries)))
    shown_outputs = outputs[0] if body.single_output else (outputs if body.n_user else None)
    return ScanResult(node, final[0] if one_carry else final, shown_outputs)


def _as_tuple(value: Any) -> tuple[bool, tuple]:
    if isinstance(value, (tuple, list)):
        return False, tuple(value)
    return True, (value,)


def _graph_of(label: str, values: Sequence[Any]) -> Graph:
    for value in values:
        if isinstance(value, Node):
            return value.graph
    raise ArgumentValueError(f"scan {label!r}: needs at least one node among init, sequences "
                             "and non_sequences to know its graph")


def _check_length(label: str, sequences: Sequence[Node], length: Any) -> int:
    if length is not None and (isinstance(length, bool) or not isinstance(length, int) or length < 0):
        raise ArgumentValueError(f"scan {label!r}: length must be an int >= 0 or None, got {length!r}")
    for node in sequences:
        if node.ndim == 0:
            raise ShapeError(f"scan {label!r}: sequence {describe(node)} is a scalar; sequences are "
                             "sliced along axis 0")
    lengths = {node.shape[0] for node in sequences}
    if len(lengths) > 1:
        shown = ", ".join(describe(n) for n in sequences)
        raise ShapeError(f"scan {label!r}: the sequences have different lengths along axis 0: {shown}")
    if not sequences:
        if length is None:
            raise ArgumentValueError(f"scan {label!r}: give length= when there is no sequence")
        return length
    steps = lengths.pop()
    if length is not None and length != steps:
        raise ShapeError(f"scan {label!r}: length={length} but the sequences have {steps} steps")
    return steps


def _body(step: Callable[..., Any], label: str, init: Sequence[Node], sequences: Sequence[Node],
          params: Sequence[Node]) -> Body:
    """The body for these types, traced from `step` (or found: one per step function)."""
    types = tuple((n.shape, n.dtype.str) for n in init), tuple((n.shape[1:], n.dtype.str) for n in sequences), \
        tuple((n.shape, n.dtype.str) for n in params)
    try:
        key: tuple | None = (step, label, types)
        hash(key)
    except TypeError:
        key = None
    body = None if key is None else _bodies.get(key)
    if body is None:
        body = _trace(step, label, init, sequences, params)
        if key is not None:
            if len(_bodies) >= CACHE_LIMIT:
                _bodies.clear()
            _bodies[key] = body
    return body


def _trace(step: Callable[..., Any], label: str, init: Sequence[Node], sequences: Sequence[Node],
           params: Sequence[Node]) -> Body:
    graph = Graph()
    carries = [tensor(graph, n.dtype, n.shape, name=n.name) for n in init]
    slices = [tensor(graph, n.dtype, n.shape[1:], name=f"{n.name}_t") for n in sequences]
    holders = [tensor(graph, n.dtype, n.shape, name=n.name) for n in params]
    try:
        result = step(*carries, *slices, *holders)
    except GorgonError as exc:
        if "another graph" in str(exc):
            raise GorgonError(f"scan {label!r}: the step used a node of the outer graph ({exc}); "
                              "pass the nodes a step reads as non_sequences") from exc
        raise type(exc)(f"scan {label!r}, building its step on slices "
                        f"{[f'{n.shape} {n.dtype}' for n in slices]}: {exc}") from exc
    if not (isinstance(result, tuple) and len(result) == 2):
        raise GorgonError(f"scan {label!r}: the step must return (new_carry, outputs), got {_kind(result)}")
    new, outputs = result
    single_carry = len(init) == 1 and not isinstance(new, (tuple, list))
    new = (new,) if single_carry else tuple(new) if isinstance(new, (tuple, list)) else (new,)
    if len(new) != len(init):
        raise GorgonError(f"scan {label!r}: the step returned {len(new)} carried values for "
                          f"{len(init)} in init")
    single_output = outputs is not None and not isinstance(outputs, (tuple, list))
    outputs = () if outputs is None else (outputs,) if single_output else tuple(outputs)
    for what, values in (("carried state", new), ("output", outputs)):
        for index, value in enumerate(values):
            if not isinstance(value, Node):
                raise GorgonError(f"scan {label!r}: the step returned {_kind(value)} as {what} "
                                  f"{index}; a step returns nodes built from its arguments")
            if value.graph is not graph:
                raise GorgonError(f"scan {label!r}: the step returned node {value.name!r} of the outer "
                                  f"graph as {what} {index}; pass it as a non-sequence")
    body = Body(label, graph, carries, slices, holders, new, outputs)
    body.single_output = single_output
    return body
