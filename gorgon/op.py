"""The op protocol, and `apply`, which turns an op and its inputs into a node.

An op, written once in a plugin, carries side by side:
- `name` and parameters (hashable, shown as `sum{axis=(0,),keepdims=False}`);
- `infer(*inputs)`: the output TensorType, raising ShapeError/DtypeError naming the
  op and the input nodes when the inputs do not fit (helpers in `gorgon.infer`);
- `forward(*arrays, out=None)`: the kernel on numpy arrays; when `out` is given it
  writes every element of it and returns it. `inplace = i` declares that `out` may be
  the i-th input itself;
- `is_view` and `view(*arrays)`: an op whose result is a view of its first input that
  depends on that input's layout only (numpy basic indexing) says so; the TapeMachine's
  `view` pass then binds the node's register once to `view(...)` of the input's array
  instead of copying into a buffer each run (`forward` still computes it with `out=`).
  `view_layout` says which layouts it views: "any" (the default: any input, and the
  view may not be C-contiguous: a transpose, a slice), "keeps" (any input, and a
  C-contiguous one stays so: squeeze), "contiguous" (only a C-contiguous input, and the
  view is C-contiguous: reshape); the pass makes the latter a view only of a buffer the
  program allocates, reached through views that keep contiguity, else it copies;
- `vjp(inputs, output, grad_output)`: the gradient rule, written with gorgon ops, one
  entry per input: a node, None (no gradient flows there), or a zero-argument callable
  that builds the node, called only when that input needs a gradient. The engine sums it back over
  broadcast axes and checks its shape and dtype, so rules stay short.
- `nested`: the op's kernel runs other ops' kernels (a scan runs its body's program),
  so it takes the machine's backend preference as `forward(..., backends=...)` and runs
  them on the same backends;
- `blocks(*input_types)`: for an op whose result is its inputs side by side (concat),
  per input the view op that takes that input's block out of an array of the result's
  shape; None (the default) for any other op. The passes move elementwise work into the
  blocks so that it fuses with what computes them;
- `elementwise`: each output element depends only on the input elements at the same
  (broadcast) position, and the op is pure (UfuncOp says so); `reduction`: the op reduces
  its one input over the axes `self.axis` (`keepdims` kept). The `fuse` pass joins such
  ops into one fused node when a kernel backend can generate its kernel.
- `workspace(*input_types)`: optional, the scratch arrays the kernel needs beyond `out`,
  as `(shape, dtype)` pairs (none by default). An op that declares some receives them as
  `forward(*arrays, out=..., work=(...))`: the TapeMachine allocates them once per
  instruction when it prepares its steps, so a steady-state run allocates nothing; a
  kernel called with `work=None` (the LispMachine, a direct call) makes its own. A kernel
  may leave anything in them and must not read what a previous call left;
- `flops(inputs, output)`: optional, the floating-point operations of one call given
  the input and output TensorTypes (a multiply-add counts 2), or None (the default)
  for an op that does not say; the profiler reports GFLOP/s from it.
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np

from gorgon.errors import ArgumentTypeError, GorgonError, NonDifferentiable
from gorgon.graph import Graph
from gorgon.infer import check_size
from gorgon.node import CONSTANT, OPERATION, Node
from gorgon.types import TensorType


class Op:
    """Base class of every op. Subclasses set `name` and implement infer/forward/vjp."""

    name: ClassVar[str] = ""
    differentiable: ClassVar[bool] = True
    inplace: ClassVar[int | None] = None
    pure: ClassVar[bool] = True
    mode_dependent: ClassVar[bool] = False
    updates: ClassVar[tuple[int, ...]] = ()
    ufunc: ClassVar[Callable[..., Any] | None] = None
    positional_out: ClassVar[bool] = False
    is_view: ClassVar[bool] = False
    view_layout: ClassVar[str] = "any"
    nested: ClassVar[bool] = False
    elementwise: ClassVar[bool] = False
    reduction: ClassVar[bool] = False

    def __init__(self, **params: Any):
        for key, value in params.items():
            setattr(self, key, value)
        self.params = params
        self._key = (type(self), tuple(sorted(params.items())))
        try:
            self._hash = hash(self._key)
        except TypeError as exc:
            raise GorgonError(f"{self.name}: parameters must be hashable, got {params!r}") from exc

    @classmethod
    def call(cls, *args: Any, **params: Any) -> Node:
        """Build a node: `G.<name>(*args, **params)` lands here. Ops whose public call takes
        non-node arguments (a shape, a list of nodes) override this and call `apply`."""
        return apply(cls(**params), *args)

    def infer(self, *inputs: Node) -> TensorType:
        raise NotImplementedError(f"op {self.name} has no inference")

    def forward(self, *arrays: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        raise NotImplementedError(f"op {self.name} has no kernel")

    def view(self, *arrays: np.ndarray) -> np.ndarray:
        """For an op with `is_view`: its result as a numpy view of `arrays[0]`, the same
        view whatever values that array holds (so it can be made once and read each run)."""
        raise NotImplementedError(f"op {self.name} declares no view")

    def vjp(self, inputs: Sequence[Node], output: Node, grad_output: Node) -> Sequence[Node | None]:
        raise NonDifferentiable(f"op {self} has no gradient (needed by node {output.name!r})")

    def blocks(self, *inputs: TensorType) -> list[Op] | None:
        """For an op that joins its inputs side by side: per input, the view op taking its
        block out of an array of the result's shape; None (the default) otherwise."""
        return None

    def workspace(self, *inputs: TensorType) -> tuple[tuple[tuple[int, ...], np.dtype], ...]:
        """The scratch arrays `(shape, dtype)` that `forward` takes as `work=` for inputs of
        these types; () (the default) for a kernel that needs none and takes no `work`."""
        return ()

    def flops(self, inputs: Sequence[TensorType], output: TensorType) -> int | None:
        """The floating-point operations of one call on these input and output types (a
        multiply-add counts 2), or None when the op does not declare a count."""
        return None

    def get_state(self) -> Any:
        """The op's own state that a run changes, which a failed run puts back with
        `set_state` (asked of impure ops only). By default the state of the op's
        `generator` (a numpy Generator) when it has one, else None."""
        generator = getattr(self, "generator", None)
        return None if generator is None else generator.bit_generator.state

    def set_state(self, state: Any) -> None:
        """Put back a state `get_state` returned."""
        if state is not None:
            self.generator.bit_generator.state = state

    def __eq__(self, other: object) -> bool:
        if not self.pure:
            return self is other
        return isinstance(other, Op) and self._key == other._key

    def __hash__(self) -> int:
        return self._hash if self.pure else id(self)

    def __str__(self) -> str:
        if not self.params:
            return self.name
        inner = ",".join(f"{k}={_show(v)}" for k, v in sorted(self.params.items()))
        return f"{self.name}{{{inner}}}"

    def __repr__(self) -> str:
        return f"<op {self}>"


def kernel(op: Op, training: bool, backends: Sequence[str] | None = None) -> Callable[..., np.ndarray]:
    """The op's forward kernel, with the mode bound when the op depends on it, and the
    backend preference when it is `nested` and `backends` is given."""
    bound: dict[str, Any] = {"training": training} if op.mode_dependent else {}
    if op.nested and backends is not None:
        bound["backends"] = tuple(backends)
    return functools.partial(op.forward, **bound) if bound else op.forward


def workspace(op: Op, arrays: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
    """Fresh scratch arrays for `op` on these input arrays, as its `workspace` declares."""
    types = [TensorType(a.shape, a.dtype) for a in arrays]
    return tuple(np.empty(shape, dtype) for shape, dtype in op.workspace(*types))


def step(op: Op, arrays: Sequence[np.ndarray], out: np.ndarray, training: bool,
         backends: Sequence[str] | None = None) -> Callable[[], Any]:
    """A ready-to-call step computing `op(*arrays)` into `out`: the op's numpy ufunc
    called directly (positional `out`, the fastest call numpy has) when it declares
    one, else its kernel, given its workspace (allocated here, once) when it declares one
    (a `nested` op's kernel gets `backends`)."""
    work = workspace(op, arrays)
    if work:
        return functools.partial(kernel(op, training, backends), *arrays, out=out, work=work)
    if op.ufunc is not None and op.positional_out:
        return functools.partial(op.ufunc, *arrays, out)
    return functools.partial(op.ufunc or kernel(op, training, backends), *arrays, out=out)


class UfuncOp(Op):
    """An op whose kernel is one numpy ufunc (`ufunc`); the TapeMachine calls it directly,
    passing `out` positionally unless `positional_out` is False (numpy deprecates that for
    np.maximum and np.minimum)."""

    positional_out: ClassVar[bool] = True
    elementwise: ClassVar[bool] = True

    def forward(self, *arrays: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return self.ufunc(*arrays, out=out)

    def flops(self, inputs: Sequence[TensorType], output: TensorType) -> int:
        """One operation per output element."""
        return int(np.prod(output.shape, dtype=np.int64))


def _show(value: Any) -> str:
    if isinstance(value, np.dtype):
        return str(value)
    return repr(value) if isinstance(value, str) else str(value)


def graph_of(args: Sequence[Any]) -> Graph | None:
    for arg in args:
        if isinstance(arg, Node):
            return arg.graph
    return None


def constant(value: Any, graph: Graph, dtype: Any = None, name: str | None = None) -> Node:
    """A constant node in `graph` holding `value` (converted to `dtype` when given)."""
    array = np.array(value, dtype=dtype)
    node = Node(graph, CONSTANT, array.shape, array.dtype, name=name)
    array.flags.writeable = False
    node._value = array
    return node


def weak_dtype(value: Any, nodes: Sequence[Node]) -> np.dtype | None:
    """The dtype a Python scalar takes beside `nodes` (numpy 2 / JAX weak typing): the
    dtype of the first float node, else of the first integer node; a float scalar beside
    integers only is float64."""
    for kinds in ("f", "iu"):
        for node in nodes:
            if node.dtype.kind in kinds:
                like = node.dtype
                if like.kind in "iu" and not isinstance(value, (bool, numbers.Integral)):
                    return np.dtype(np.float64)
                return like
    return None


def lift(args: Sequence[Any], graph: Graph) -> tuple[Node, ...]:
    """Turn every argument into a node of `graph`: Python scalars become weakly typed
    constants, numpy arrays and numpy scalars constants of their own dtype. A Python float among integer
    nodes only makes the result float64, as in numpy 2: the integer nodes are cast."""
    nodes = [a for a in args if isinstance(a, Node)]
    for node in nodes:
        if node.graph is not graph:
            raise GorgonError(f"node {node.name!r} belongs to another graph than {nodes[0].name!r}")
    promote = (any(isinstance(a, float) and not isinstance(a, np.generic) for a in args)
               and not any(n.dtype.kind == "f" for n in nodes))
    lifted = []
    for arg in args:
        if isinstance(arg, Node):
            lifted.append(_to_float64(arg) if promote and arg.dtype.kind in "iu" else arg)
        elif hasattr(arg, "node_in"):
            lifted.append(arg.node_in(graph))
        elif isinstance(arg, (np.ndarray, np.generic, list, tuple)):
            lifted.append(constant(arg, graph))
        elif isinstance(arg, (bool, int, float)):
            lifted.append(constant(arg, graph, weak_dtype(arg, nodes)))
        else:
            raise ArgumentTypeError(f"cannot use {_kind(arg)} as a node{_beside(nodes)}: pass a node, "
                                    "a numpy array or a Python number; wrap another array-like in "
                                    "G.constant(value) (a torch tensor: G.constant(t.detach().numpy()))")
    return tuple(lifted)


def _kind(arg: Any) -> str:
    """What `arg` is, for an error: `str 'a'`, `a torch.Tensor of shape (3,)`."""
    kind = type(arg)
    if kind.__module__ == "builtins":
        text = repr(arg)
        return f"{kind.__name__} {text if len(text) <= 40 else text[:37] + '...'}"
    shape = getattr(arg, "shape", None)
    return f"a {kind.__module__}.{kind.__qualname__}" + (f" of shape {tuple(shape)}" if shape is not None else "")


def _beside(nodes: Sequence[Node]) -> str:
    return f" (beside {', '.join(repr(n.name) for n in nodes)})" if nodes else ""


def _to_float64(node: Node) -> Node:
    from gorgon.registry import registry

    return registry.function("cast")(node, np.float64)


def apply(op: Op, *args: Any, graph: Graph | None = None) -> Node:
    """Build the node `op(*args)`: lift the arguments and infer the output type, where a
    wrong input fails, naming the op and the nodes, and leaving the graph as it was. When
    a registered rewrite rule has a stable form for it (log(sigmoid(x)) -> -softplus(-x)),
    that form is built instead."""
    if graph is None:
        graph = graph_of(args)
    if graph is None:
        raise GorgonError(f"{op.name}: needs at least one node among its inputs to know its graph")
    return graph.atomic(lambda: _build(op, args, graph))


def _build(op: Op, args: Sequence[Any], graph: Graph) -> Node:
    inputs = lift(args, graph)
    out_type = op.infer(*inputs)
    check_size(op, out_type.shape, out_type.dtype, *inputs)
    from gorgon.passes.rewrite import stable_form

    stable = stable_form(graph, op, inputs, out_type)
    if stable is not None:
        return stable
    return Node(graph, OPERATION, out_type.shape, out_type.dtype, op=op, inputs=inputs)
