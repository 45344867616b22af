"""Export: the nodes some outputs need become an ONNX model.

Input nodes named in `inputs` (by default: every needed input with no value bound)
become graph inputs; other inputs with values (parameters) become initializers and
constants Constant nodes, so that an exported model imported again has the same
parameters; every op node is written by the ONNX mapping its plugin registered (hook
`register_onnx`); gorgon's loop, `G.scan`, is unrolled (gorgon_onnx.scan_export).
The model describes the graph in evaluation mode (dropout off, batch norm on running
statistics), as a deployed model runs.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

import gorgon as G
from gorgon import ArgumentTypeError, ArgumentValueError, BindError, Node
from gorgon_onnx.builder import Builder
from gorgon_onnx.errors import UnsupportedError
from gorgon_onnx.scan_export import CORE_OPS

OPSETS = range(13, 22)
DEFAULT_OPSET = 17
BATCH = "batch"


class _Emitter:
    """Writes each needed node once, on demand: an op's mapping reads `inputs[i]`, which
    writes input i first, so inputs a mapping does not use (dropout's mask) are never
    written. Ops without a mapping are collected, not raised one by one."""

    def __init__(self, builder: Builder, graph_inputs: Sequence[Node]):
        self.builder = builder
        self.names: dict[Node, str] = {}
        self.missing: dict[str, list[str]] = {}
        self.unbound: list[Node] = []
        for node in graph_inputs:
            self.names[node] = builder.fresh(node.name)

    def name(self, node: Node) -> str:
        if node in self.names:
            return self.names[node]
        if node.op is None:
            name = self._leaf(node)
        else:
            name = self._op(node)
        self.names[node] = name
        return name

    def _leaf(self, node: Node) -> str:
        if node.value is None:
            self.unbound.append(node)
            return self.builder.fresh(node.name)
        axes = self.builder.dynamic_axes(node)
        if axes:
            return self._batch_sized_leaf(node, axes)
        if node.role != "input":
            return self.builder.constant(node.value)
        name = self.builder.fresh(node.name)
        self.builder.initializers.append(numpy_helper.from_array(np.array(node.value, order="C"), name))
        return name

    def _batch_sized_leaf(self, node: Node, axes: tuple[int, ...]) -> str:
        """A constant with batch-sized axes (zeros for a first state, say): one slice
        along those axes, expanded to the run's batch size; it must not vary along them."""
        value = np.asarray(node.value)
        first = value[tuple(slice(0, 1) if i in axes else slice(None) for i in range(value.ndim))]
        builder = self.builder
        if not np.array_equal(np.broadcast_to(first, value.shape), value):
            outer, builder.current = builder.current, node
            try:
                builder.unsupported(f"leaf {node.name!r} varies along its batch-sized axes {axes}")
            finally:
                builder.current = outer
        return builder.add("Expand", [builder.constant(first), builder.runtime_shape(node)])

    def child(self, names: dict[Node, str]) -> _Emitter:
        """An emitter for another graph (a scan's body) with some nodes already named,
        writing into the same model and collecting into the same lists."""
        sub = _Emitter(self.builder, [])
        sub.missing, sub.unbound = self.missing, self.unbound
        sub.names.update(names)
        return sub

    def _op(self, node: Node) -> str:
        emit = G.registry.onnx_mapping(node.op.name)
        if emit is None and node.op.name in CORE_OPS:
            core = CORE_OPS[node.op.name]
            emit = lambda b, n, inputs: core(self, n, inputs)  # noqa: E731
        if emit is None:
            self.missing.setdefault(node.op.name, []).append(node.name)
            for source in node.inputs:
                self.name(source)
            return self.builder.fresh(node.name)
        inputs = _Inputs(self, node.inputs)
        outer = self.builder.current
        self.builder.current = node
        try:
            return emit(self.builder, node, inputs)
        finally:
            self.builder.current = outer


class _Inputs(Sequence):
    """The ONNX names of a node's inputs, each written when first read."""

    def __init__(self, emitter: _Emitter, nodes: Sequence[Node]):
        self._emitter = emitter
        self._nodes = nodes

    def __len__(self) -> int:
        return len(self._nodes)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[k] for k in range(len(self._nodes))[i]]
        outer = self._emitter.builder.current
        try:
            return self._emitter.name(self._nodes[i])
        finally:
            self._emitter.builder.current = outer


def _value_info(name: str, node: Node, dynamic: tuple[int, ...]) -> onnx.ValueInfoProto:
    dims = [BATCH if i in dynamic else d for i, d in enumerate(node.shape)]
    return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(node.dtype), dims)


def _as_nodes(value: Any, what: str) -> list[Node]:
    nodes = [value] if isinstance(value, Node) else list(value)
    for node in nodes:
        if not isinstance(node, Node):
            raise ArgumentTypeError(f"export: {what} must be gorgon nodes, got {type(node).__name__}")
    return nodes


def _needed_inputs(outputs: Sequence[Node]) -> list[Node]:
    seen, found, stack = set(), [], list(outputs)
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if node.role == "input" and node.value is None:
            found.append(node)
        stack.extend(node.inputs)
    return sorted(found, key=lambda n: n.id)


def _output_name(builder: Builder, node: Node, name: str, taken: list[str]) -> str:
    """The graph output's name: the node's own name where that is free (a leaf or a
    repeated output goes through an Identity)."""
    if node.op is None or name in taken:
        return builder.add("Identity", [name])
    wanted = builder.fresh(node.name)
    for proto in builder.nodes:
        proto.input[:] = [wanted if v == name else v for v in proto.input]
        proto.output[:] = [wanted if v == name else v for v in proto.output]
    return wanted


def build_model(outputs: Any, inputs: Any = None, opset: int | None = None,
                dynamic: dict[Node, tuple[int, ...]] | None = None) -> onnx.ModelProto:
    """The checked ONNX model computing `outputs` from `inputs` (see `export`)."""
    opset = DEFAULT_OPSET if opset is None else opset
    if opset not in OPSETS:
        raise ArgumentValueError(f"export: opset {opset} is not supported; choose one of "
                                 f"{OPSETS.start}..{OPSETS.stop - 1}")
    outs = _as_nodes(outputs, "outputs")
    ins = _needed_inputs(outs) if inputs is None else _as_nodes(inputs, "inputs")
    dynamic = dynamic or {}
    builder = Builder(opset, dynamic)
    emitter = _Emitter(builder, ins)
    batched = [node for node in ins if 0 in dynamic.get(node, ())]
    builder.batch_input = emitter.names[batched[0]] if batched else None
    graph = outs[0].graph
    mode = graph.training
    graph.eval()
    try:
        out_names = [emitter.name(node) for node in outs]
    finally:
        graph.training = mode
    if emitter.missing:
        listed = ", ".join(f"{op} (nodes {', '.join(repr(n) for n in names)})"
                           for op, names in sorted(emitter.missing.items()))
        raise UnsupportedError(f"cannot export: no ONNX mapping for the ops {listed}; the plugin "
                               "defining an op registers its mapping with the hook register_onnx",
                               sorted(emitter.missing))
    if emitter.unbound:
        raise BindError("export: the inputs " + ", ".join(repr(n.name) for n in emitter.unbound)
                        + " have no value and are not among the graph inputs; bind them (G.let) "
                        "or pass them in inputs=")
    final: list[str] = []
    renamed: dict[str, str] = {}
    for node, name in zip(outs, out_names):
        name = renamed.get(name, name)
        final.append(_output_name(builder, node, name, final))
        renamed.setdefault(name, final[-1])
    graph_proto = helper.make_graph(
        builder.nodes, "gorgon", [_value_info(emitter.names[n], n, dynamic.get(n, ())) for n in ins],
        [_value_info(name, n, dynamic.get(n, ())) for n, name in zip(outs, final)], builder.initializers)
    opsets = [helper.make_opsetid("", opset)]
    model = helper.make_model(graph_proto, opset_imports=opsets, producer_name="gorgon",
                              ir_version=helper.find_min_ir_version_for(opsets))
    onnx.checker.check_model(model, full_check=True)
    return model


def save(model: onnx.ModelProto, path: str | os.PathLike) -> Path:
    """Write `model` atomically: a temporary file beside `path`, synced, then renamed."""
    target = Path(path)
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(model.SerializeToString())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        os.unlink(temporary)
        raise
    return target


def export(outputs: Any, path: str | os.PathLike, inputs: Any = None, opset: int | None = None,
           input_shape: Sequence[int] | None = None) -> onnx.ModelProto:
    """Write the ONNX model computing `outputs` (a node or a list of nodes) to `path` and
    return it. `inputs` lists the input nodes that become graph inputs (default: every
    needed input with no value bound); every other needed input must hold a value and
    becomes an initializer, constants become Constant nodes. `opset` is 13 to 21
    (default 17).

    A gorgon_layers model exports as `export(model, path, input_shape=(C, H, W))`: its
    graph input has a dynamic batch axis. The file passes
    `onnx.checker.check_model(full_check=True)`; an op without an ONNX mapping fails the
    export, naming every such op."""
    if not isinstance(outputs, (Node, list, tuple)):
        from gorgon_onnx.layers_export import model_graph

        outputs, inputs, dynamic = model_graph(outputs, input_shape)
        model = build_model(outputs, inputs, opset, dynamic)
    else:
        if input_shape is not None:
            raise ArgumentValueError("export: input_shape= is for gorgon_layers models; a graph's "
                                     "nodes already have their shapes")
        model = build_model(outputs, inputs, opset)
    save(model, path)
    return model
