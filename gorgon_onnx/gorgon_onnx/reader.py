"""Reading an ONNX file without trusting it: every check runs before anything is built.

Refused, each with an OnnxError naming the problem: a file that is not a parseable
ONNX model, an opset outside 13..21, a dimension too large, an initializer whose data
size disagrees with its shape, external data outside the model's folder, a node input
nothing defines, and a cycle. External data is read by this module only, from files
inside the model's folder.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from google.protobuf.message import DecodeError
from onnx import helper, numpy_helper

from gorgon_onnx.errors import OnnxError

OPSETS = range(13, 22)
MAX_DIM = 2**31 - 1
MAX_ELEMENTS = 2**34
TYPED_FIELDS = ("float_data", "int32_data", "int64_data", "double_data", "uint64_data")


@dataclass
class Checked:
    """A model that passed every check: its nodes in an order where each node comes
    after those it reads, and its initializers as numpy arrays."""

    model: onnx.ModelProto
    opset: int
    nodes: list[onnx.NodeProto]
    initializers: dict[str, np.ndarray]


def read(path: str | os.PathLike) -> Checked:
    """The model at `path`, checked (see the module's docstring)."""
    path = Path(path)
    if not path.is_file():
        raise OnnxError(f"no ONNX model file at {str(path)!r}")
    data = path.read_bytes()
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except (DecodeError, RuntimeWarning, ValueError) as exc:
        raise OnnxError(f"{path.name}: not an ONNX model, or a truncated one (protobuf: {exc})") from None
    if not model.HasField("graph") or not model.opset_import:
        raise OnnxError(f"{path.name}: not an ONNX model, or a truncated one (no graph or no opset "
                        f"in its {len(data)} bytes)")
    opset = _opset(path.name, model)
    graph = model.graph
    for info in [*graph.input, *graph.output, *graph.value_info]:
        _check_dims(path.name, f"value {info.name!r}", _value_dims(info))
    initializers = {t.name: _tensor(path, t) for t in graph.initializer}
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.TENSOR:
                _tensor(path, attribute.t, f"attribute {attribute.name!r} of node {node.name!r}")
            elif attribute.type == onnx.AttributeProto.GRAPH or attribute.graphs:
                raise OnnxError(f"{path.name}: node {node.name!r} ({node.op_type}) holds a subgraph; "
                                "control flow is not supported")
    nodes = _ordered(path.name, graph, set(initializers))
    return Checked(model, opset, nodes, initializers)


def _opset(name: str, model: onnx.ModelProto) -> int:
    versions = {entry.domain or "ai.onnx": entry.version for entry in model.opset_import}
    if "ai.onnx" not in versions:
        raise OnnxError(f"{name}: the model imports no version of the default ONNX opset")
    version = versions["ai.onnx"]
    if version > OPSETS.stop - 1:
        raise OnnxError(f"{name}: opset {version} is newer than supported (opsets "
                        f"{OPSETS.start} to {OPSETS.stop - 1})")
    if version < OPSETS.start:
        raise OnnxError(f"{name}: opset {version} is older than supported (opsets {OPSETS.start} to "
                        f"{OPSETS.stop - 1}); upgrade it with onnx.version_converter")
    return version


def _value_dims(info: onnx.ValueInfoProto) -> list[int]:
    if not info.type.HasField("tensor_type") or not info.type.tensor_type.HasField("shape"):
        return []
    return [d.dim_value for d in info.type.tensor_type.shape.dim if d.HasField("dim_value")]


def _check_dims(name: str, what: str, dims) -> None:
    for dim in dims:
        if dim < 0 or dim > MAX_DIM:
            raise OnnxError(f"{name}: {what} has dimension {dim}, outside 0..{MAX_DIM}")
    if math.prod(dims) > MAX_ELEMENTS:
        raise OnnxError(f"{name}: {what} has shape {list(dims)}: {math.prod(dims)} elements is too many")


def _tensor(path: Path, tensor: onnx.TensorProto, what: str | None = None) -> np.ndarray:
    what = what or f"initializer {tensor.name!r}"
    dims = list(tensor.dims)
    _check_dims(path.name, what, dims)
    count = math.prod(dims)
    if tensor.data_type in (onnx.TensorProto.STRING, onnx.TensorProto.UNDEFINED):
        raise OnnxError(f"{path.name}: {what} has unsupported element type "
                        f"{onnx.TensorProto.DataType.Name(tensor.data_type)}")
    dtype = helper.tensor_dtype_to_np_dtype(tensor.data_type)
    if tensor.data_location == onnx.TensorProto.EXTERNAL:
        raw = _external(path, tensor, what, count * dtype.itemsize)
        array = np.frombuffer(raw, dtype=dtype).reshape(dims)
        return array.copy()
    if tensor.HasField("raw_data"):
        size = len(tensor.raw_data)
        if size != count * dtype.itemsize:
            raise OnnxError(f"{path.name}: {what} has shape {dims} ({count} x {dtype} = "
                            f"{count * dtype.itemsize} bytes) but holds {size} bytes of data")
    else:
        held = max(len(getattr(tensor, f)) for f in TYPED_FIELDS)
        held = max(held, len(tensor.raw_data))
        if dtype.kind == "c":
            held //= 2
        if held != count:
            raise OnnxError(f"{path.name}: {what} has shape {dims} ({count} elements) but holds "
                            f"{held} values")
    return numpy_helper.to_array(tensor)


def _external(path: Path, tensor: onnx.TensorProto, what: str, expected: int) -> bytes:
    """The bytes of an external-data tensor, from a file inside the model's folder only."""
    info = {entry.key: entry.value for entry in tensor.external_data}
    location = info.get("location", "")
    folder = path.resolve().parent
    relative = Path(location)
    if not location or relative.is_absolute() or location.startswith(("/", "\\")) or ":" in location:
        raise OnnxError(f"{path.name}: {what} points at external data {location!r}: only relative "
                        "paths inside the model's folder are allowed")
    target = (folder / relative).resolve()
    if not target.is_relative_to(folder) or ".." in relative.parts:
        raise OnnxError(f"{path.name}: {what} points at external data {location!r}, outside the "
                        f"model's folder {str(folder)!r}; refused")
    if not target.is_file():
        raise OnnxError(f"{path.name}: {what}: external data file {location!r} is missing")
    offset = int(info.get("offset", 0) or 0)
    length = int(info["length"]) if info.get("length") else expected
    if length != expected:
        raise OnnxError(f"{path.name}: {what} has {expected} bytes by its shape but its external "
                        f"data length is {length}")
    with open(target, "rb") as handle:
        handle.seek(offset)
        data = handle.read(length)
    if len(data) != expected:
        raise OnnxError(f"{path.name}: {what}: external data file {location!r} holds {len(data)} "
                        f"bytes from offset {offset}, {expected} expected")
    return data


def _ordered(name: str, graph: onnx.GraphProto, initializers: set[str]) -> list[onnx.NodeProto]:
    """The nodes in dependency order (Kahn's algorithm); a cycle or an input nothing
    defines is an OnnxError naming the nodes."""
    defined = {i.name for i in graph.input} | initializers | {""}
    producer = {}
    for node in graph.node:
        for output in node.output:
            if output:
                producer[output] = node
    for node in graph.node:
        for value in node.input:
            if value not in defined and value not in producer:
                raise OnnxError(f"{name}: node {node.name!r} ({node.op_type}) reads {value!r}, which "
                                "no node, input or initializer defines")
    waiting = {id(node): sum(1 for v in node.input if v in producer and v not in defined)
               for node in graph.node}
    readers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for value in node.input:
            if value in producer and value not in defined:
                readers.setdefault(value, []).append(node)
    ready = [node for node in graph.node if waiting[id(node)] == 0]
    order = []
    while ready:
        node = ready.pop(0)
        order.append(node)
        for output in node.output:
            for reader in readers.get(output, []):
                waiting[id(reader)] -= 1
                if waiting[id(reader)] == 0:
                    ready.append(reader)
    if len(order) != len(graph.node):
        stuck = [f"{n.name!r} ({n.op_type})" for n in graph.node if waiting[id(n)] > 0]
        raise OnnxError(f"{name}: the graph has a cycle through the nodes {', '.join(stuck)}")
    for output in graph.output:
        if output.name not in producer and output.name not in defined:
            raise OnnxError(f"{name}: graph output {output.name!r} is never computed")
    return order
