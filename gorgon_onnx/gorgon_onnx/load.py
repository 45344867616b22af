"""Import: an ONNX model becomes an ordinary gorgon graph.

Float initializers become trainable input nodes holding their values (`parameters`);
batch norm's running statistics become input nodes too (`buffers`). Values known when
the model is loaded (Constant, Shape, integer initializers and whatever is computed
from them alone) are folded: they stay numpy arrays and never become nodes unless an op
reads them as tensors. The graph starts in evaluation mode, as ONNX describes a model;
`model.graph.train()` turns on dropout and batch statistics for fine-tuning.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
from onnx import helper
from onnx.reference import ReferenceEvaluator

import gorgon as G
from gorgon import Node
from gorgon_onnx.errors import OnnxError, UnsupportedError
from gorgon_onnx.importers import TABLE
from gorgon_onnx.reader import read

FOLDABLE_LIMIT = 1 << 16
FOLDED_LIMIT = 1 << 24


@dataclass
class Initializer:
    """An initializer as read: a parameter node once an op reads it as a tensor."""

    name: str
    array: np.ndarray


@dataclass
class OnnxModel:
    """An imported model: `graph`, its `inputs` and `outputs` by ONNX name,
    `parameters` (trainable initializers) and `buffers` (batch norm statistics)."""

    graph: G.Graph
    inputs: dict[str, Node]
    outputs: dict[str, Node]
    parameters: dict[str, Node] = field(default_factory=dict)
    buffers: dict[str, Node] = field(default_factory=dict)
    opset: int = 0

    def run(self, feeds: Mapping[str, Any], machine: str = "tape") -> dict[str, np.ndarray]:
        """Bind `feeds` (by input name), run the graph on the "tape" or "lisp" machine
        and return a copy of every output by name."""
        for name, value in feeds.items():
            if name not in self.inputs:
                raise G.ArgumentValueError(f"run: the model has no input {name!r}; its inputs are "
                                           f"{sorted(self.inputs)}")
            G.let(self.inputs[name], np.asarray(value, dtype=self.inputs[name].dtype))
        vm = G.TapeMachine(self.graph) if machine == "tape" else G.LispMachine(self.graph)
        vm.run_all()
        result = {name: np.array(node.value) for name, node in self.outputs.items()}
        vm.reset()
        return result


class Context:
    """What an importer sees: the graph being built, each ONNX node's attributes, and
    conversions of its arguments (nodes, folded arrays or initializers)."""

    def __init__(self, graph: G.Graph, opset: int):
        self.graph = graph
        self.opset = opset
        self.parameters: dict[str, Node] = {}
        self.buffers: dict[str, Node] = {}
        self.onnx_node: onnx.NodeProto | None = None

    def where(self) -> str:
        return f"{self.onnx_node.op_type} node {self.onnx_node.name!r}"

    def attr(self, name: str, default: Any = None) -> Any:
        for attribute in self.onnx_node.attribute:
            if attribute.name == name:
                value = helper.get_attribute_value(attribute)
                return value.decode() if isinstance(value, bytes) else value
        return default

    def tensor(self, value: Any) -> Node:
        """The argument as a node: an initializer becomes a parameter (floats) or a
        constant, a folded array a constant."""
        if isinstance(value, Node):
            return value
        if isinstance(value, Initializer):
            if value.array.dtype.kind != "f":
                return G.constant(value.array, self.graph)
            if value.name not in self.parameters:
                self.parameters[value.name] = G.tensor(self.graph, value.array.dtype, value.array.shape,
                                                       name=value.name, value=value.array.copy())
            return self.parameters[value.name]
        return G.constant(np.asarray(value), self.graph)

    def buffer(self, value: Any, name: str) -> Node:
        """A batch norm statistic `name`: an input node (written to in training mode),
        kept in `buffers`, not in `parameters`."""
        if isinstance(value, Node):
            return value
        array = value.array if isinstance(value, Initializer) else np.asarray(value)
        if name not in self.buffers:
            self.buffers[name] = G.tensor(self.graph, array.dtype, array.shape, name=name,
                                          value=array.copy())
        return self.buffers[name]

    def static(self, value: Any, what: str) -> np.ndarray:
        """The argument's value, which must be known when the model is loaded."""
        if isinstance(value, Initializer):
            return value.array
        if isinstance(value, Node) or value is None:
            raise UnsupportedError(f"{self.where()}: its {what} must be known when the model is "
                                   "loaded (a constant or an initializer), not computed at run time",
                                   [(self.onnx_node.op_type, self.onnx_node.name)])
        return np.asarray(value)

    def fail(self, reason: str) -> None:
        raise UnsupportedError(f"{self.where()}: {reason}",
                               [(self.onnx_node.op_type, self.onnx_node.name)])


def _dims(info: onnx.ValueInfoProto, shapes: Mapping[str, Sequence[int]]) -> tuple[int, ...]:
    if info.name in shapes:
        return tuple(int(d) for d in shapes[info.name])
    if not info.type.tensor_type.HasField("shape"):
        raise OnnxError(f"input {info.name!r} has no shape in the file; give it: "
                        f"load(path, shapes={{{info.name!r}: (...)}})")
    dims = []
    for i, dim in enumerate(info.type.tensor_type.shape.dim):
        if not dim.HasField("dim_value"):
            label = dim.dim_param or "unnamed"
            raise OnnxError(f"input {info.name!r} has a symbolic dimension {label!r} (axis {i}); give "
                            f"its shape: load(path, shapes={{{info.name!r}: (...)}})")
        dims.append(dim.dim_value)
    return tuple(dims)


def _static(value: Any) -> bool:
    if isinstance(value, Initializer):
        return value.array.dtype.kind != "f"
    return value is None or isinstance(value, np.ndarray)


def _folded_size(node: onnx.NodeProto, arrays: list[np.ndarray | None]) -> int:
    """How many elements folding `node` makes, for the operators that can make many from
    little (ConstantOfShape, Expand, Tile, Range); 0 for the others."""
    try:
        if node.op_type == "ConstantOfShape":
            return math.prod(int(d) for d in arrays[0])
        if node.op_type == "Expand":
            return math.prod(np.broadcast_shapes(arrays[0].shape, tuple(int(d) for d in arrays[1])))
        if node.op_type == "Tile":
            return arrays[0].size * math.prod(int(r) for r in arrays[1])
        if node.op_type == "Range":
            start, limit, delta = (float(a) for a in arrays)
            return max(math.ceil((limit - start) / delta), 0) if delta else 0
    except (ValueError, TypeError, OverflowError) as exc:
        raise OnnxError(f"{node.op_type} node {node.name!r}: its inputs do not fit it ({exc})") from None
    return 0


def _fold(node: onnx.NodeProto, args: list[Any], opset: int) -> list[np.ndarray]:
    """Run one node on known arrays with onnx's reference evaluator."""
    arrays = [a.array if isinstance(a, Initializer) else a for a in args]
    size = _folded_size(node, arrays)
    if size > FOLDED_LIMIT:
        raise OnnxError(f"{node.op_type} node {node.name!r} would make a constant of {size} elements "
                        f"when folded (at most {FOLDED_LIMIT}); refused")
    names = [f"in{i}" if a is not None else "" for i, a in enumerate(arrays)]
    inputs = [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
              for n, a in zip(names, arrays) if a is not None]
    outputs = [helper.make_empty_tensor_value_info(f"out{i}") for i in range(len(node.output))]
    copy = helper.make_node(node.op_type, names, [o.name for o in outputs], domain=node.domain)
    copy.attribute.extend(node.attribute)
    graph = helper.make_graph([copy], "fold", inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    feeds = {n: a for n, a in zip(names, arrays) if a is not None}
    return [np.asarray(v) for v in ReferenceEvaluator(model).run(None, feeds)]


def _key(node: onnx.NodeProto) -> str:
    """The node's entry in the import table: its op type, prefixed by its domain unless
    that is the default one."""
    return node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"


def _unsupported(nodes: Sequence[onnx.NodeProto], initializers: Mapping[str, np.ndarray]) -> None:
    """Every node with no importer fails the import at once, except nodes that will be
    folded (all inputs known at load time), which onnx's reference evaluator runs."""
    known = {name for name, array in initializers.items() if array.dtype.kind != "f"} | {""}
    missing = []
    for node in nodes:
        folded = node.op_type in ("Constant", "Shape", "Size") or (
            node.input and all(name in known for name in node.input))
        if folded:
            known.update(node.output)
        elif _key(node) not in TABLE:
            missing.append((node.op_type, node.name))
    if missing:
        listed = ", ".join(f"{op} ({name!r})" for op, name in missing)
        raise UnsupportedError(f"cannot import: {len(missing)} node(s) with unsupported operators: "
                               f"{listed}", missing)


def load(path: str | os.PathLike, shapes: Mapping[str, Sequence[int]] | None = None) -> OnnxModel:
    """Import the ONNX model at `path` (see the module's docstring). `shapes` gives the
    shape of inputs with symbolic dimensions (a dynamic batch axis, say)."""
    checked = read(path)
    _unsupported(checked.nodes, checked.initializers)
    graph = G.Graph()
    graph.eval()
    ctx = Context(graph, checked.opset)
    env: dict[str, Any] = {"": None}
    env.update({name: Initializer(name, array) for name, array in checked.initializers.items()})
    inputs = {}
    for info in checked.model.graph.input:
        if info.name in checked.initializers:
            continue
        elem = info.type.tensor_type.elem_type
        inputs[info.name] = G.tensor(graph, helper.tensor_dtype_to_np_dtype(elem), _dims(info, shapes or {}),
                                     name=info.name)
        env[info.name] = inputs[info.name]
    for node in checked.nodes:
        ctx.onnx_node = node
        args = [env[name] for name in node.input]
        if node.op_type != "Constant" and all(_static(a) for a in args) and any(
                a is not None for a in args) and _small(args):
            results = _fold(node, args, checked.opset)
        else:
            results = TABLE[_key(node)](ctx, *args)
            results = list(results) if isinstance(results, (list, tuple)) else [results]
        for name, value in zip(node.output, results):
            if name:
                env[name] = value
    outputs = {info.name: ctx.tensor(env[info.name]) for info in checked.model.graph.output}
    return OnnxModel(graph, inputs, outputs, ctx.parameters, ctx.buffers, checked.opset)


def _small(args: list[Any]) -> bool:
    arrays = [a.array if isinstance(a, Initializer) else a for a in args if a is not None]
    return sum(a.size for a in arrays) <= FOLDABLE_LIMIT
