"""The builder that plugins' ONNX mappings write into (see gorgon.hookspecs.register_onnx).

An emitter calls `add` for each ONNX node and `constant` for each constant; it never
touches onnx itself. Shapes with a dynamic (batch) axis are written by `shape`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NoReturn

import numpy as np
import onnx
from onnx import helper, numpy_helper

from gorgon import Node
from gorgon_onnx.errors import UnsupportedError

INT64_MAX = np.iinfo(np.int64).max


class Builder:
    """Collects the ONNX nodes and initializers of one export at one `opset`.

    `dynamic` maps a gorgon node to the positions of its dynamic (batch-sized) axes;
    empty for a plain graph export.
    """

    def __init__(self, opset: int, dynamic: dict[Node, tuple[int, ...]] | None = None):
        self.opset = opset
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.dynamic = dynamic or {}
        self.current: Node | None = None
        self.batch_input: str | None = None
        self._batch: str | None = None
        self._names: set[str] = set()
        self._constants: dict[tuple, str] = {}

    def fresh(self, hint: str) -> str:
        """A name no other value of the model has, built from `hint`."""
        base = "".join(c if c.isalnum() or c in "_." else "_" for c in hint) or "v"
        name, k = base, 0
        while name in self._names:
            k += 1
            name = f"{base}_{k}"
        self._names.add(name)
        return name

    def add(self, op_type: str, inputs: Sequence[str], outputs: int = 1, **attributes: Any) -> Any:
        """Add the ONNX node `op_type(*inputs)` with `attributes` (None values are left
        out; "" in `inputs` is an omitted optional input). Returns its output name, or a
        list of `outputs` names when that is more than one."""
        hint = self.current.name if self.current is not None else op_type
        names = [self.fresh(f"{hint}_{op_type}") for _ in range(outputs)]
        attrs = {k: v for k, v in attributes.items() if v is not None}
        self.nodes.append(helper.make_node(op_type, list(inputs), names, name=self.fresh(f"n_{hint}"),
                                           **attrs))
        return names[0] if outputs == 1 else names

    def constant(self, value: Any, dtype: Any = None) -> str:
        """A Constant node holding `value` (as `dtype` when given; imported again, it stays
        a constant, not a parameter); equal small constants are shared."""
        array = np.asarray(value, dtype=dtype)
        key = (array.dtype.str, array.shape, array.tobytes()) if array.size <= 64 else None
        if key is not None and key in self._constants:
            return self._constants[key]
        outer, self.current = self.current, None
        try:
            name = self.add("Constant", [], value=numpy_helper.from_array(np.array(array, order="C")))
        finally:
            self.current = outer
        if key is not None:
            self._constants[key] = name
        return name

    def ints(self, values: Sequence[int]) -> str:
        """A 1-D int64 constant (axes, shapes, pads)."""
        return self.constant(np.asarray(list(values), dtype=np.int64).reshape(-1))

    def scalar_like(self, value: float, node: Node) -> str:
        """A rank-0 constant of `node`'s dtype."""
        return self.constant(np.asarray(value, dtype=node.dtype))

    def dynamic_axes(self, node: Node) -> tuple[int, ...]:
        """The axes of `node` whose size follows the batch size (none for a plain export)."""
        return self.dynamic.get(node, ())

    def shape(self, node: Node, dynamic: int = -1) -> str:
        """`node.shape` as an int64 constant, with `dynamic` at each dynamic axis (-1 for
        Reshape, 1 for Expand); more than one dynamic axis is refused when `dynamic` is -1."""
        axes = self.dynamic_axes(node)
        if dynamic == -1 and len(axes) > 1:
            self.unsupported(f"a target shape with {len(axes)} batch-sized axes {axes}")
        return self.ints([dynamic if i in axes else d for i, d in enumerate(node.shape)])

    def batch_size(self) -> str:
        """A 1-D int64 tensor holding the run's batch size (the graph input's first axis)."""
        if self.batch_input is None:
            self.unsupported("a batch-sized value outside a dynamic-batch export")
        if self._batch is None:
            shape = self.add("Shape", [self.batch_input])
            self._batch = self.add("Slice", [shape, self.ints([0]), self.ints([1])])
        return self._batch

    def runtime_shape(self, node: Node) -> str:
        """`node.shape` computed when the model runs, its dynamic axes the batch size."""
        axes = self.dynamic_axes(node)
        parts = [self.batch_size() if i in axes else self.ints([d]) for i, d in enumerate(node.shape)]
        return self.add("Concat", parts, axis=0)

    def reduce(self, op_type: str, x: str, axes: Sequence[int], keepdims: bool) -> str:
        """A Reduce* node over `axes`: an attribute before opset 18 (ReduceSum: 13), an
        input from then on. No axes: the identity."""
        axes = [int(a) for a in axes]
        if not axes:
            return self.add("Identity", [x])
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.add(op_type, [x, self.ints(axes)], keepdims=int(keepdims))
        return self.add(op_type, [x], axes=axes, keepdims=int(keepdims))

    @staticmethod
    def dtype(dtype: Any) -> int:
        """The ONNX element type of a numpy dtype (for Cast's `to`)."""
        return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))

    def unsupported(self, reason: str) -> NoReturn:
        """Refuse to export the current node: ONNX at this opset cannot express it."""
        node = self.current
        if node is None:
            raise UnsupportedError(f"cannot export to ONNX opset {self.opset}: {reason}", [reason])
        what = f"node {node.name!r} ({node.op})" if node.op is not None else f"value {node.name!r}"
        raise UnsupportedError(f"cannot export {what} to ONNX opset {self.opset}: {reason}",
                               [node.op.name if node.op is not None else node.name])
