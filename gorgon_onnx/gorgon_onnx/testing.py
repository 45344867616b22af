"""The conformance kit's ONNX check: for an op that declares an ONNX mapping, each of its
samples (in float32) exported as a one-op model and run in onnxruntime must equal the
op's own kernel run by gorgon (evaluation mode, as exported models run).

`check_onnx(op_name)` returns one `OnnxCheck` per sample; it needs onnxruntime.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import gorgon as G
from gorgon.testing import Sample
from gorgon_onnx.errors import UnsupportedError
from gorgon_onnx.export import export

RTOL = 1e-4
ATOL = 1e-5


@dataclass
class OnnxCheck:
    """One sample's outcome: "ok", "mismatch" (with the largest difference) or
    "unsupported" (the mapping refused these parameters, saying why)."""

    op: str
    sample: str
    status: str
    message: str = ""


def _inputs(sample: Sample) -> tuple[G.Graph, list[Any], list[G.Node]]:
    """The sample's arguments for a fresh graph: float64 arrays become float32 input nodes."""
    graph = G.Graph()
    nodes: list[G.Node] = []

    def convert(value: Any) -> Any:
        if isinstance(value, list):
            return [convert(v) for v in value]
        if isinstance(value, G.Graph):
            return graph
        if isinstance(value, (np.ndarray, np.generic)):
            array = np.asarray(value)
            if array.dtype == np.float64:
                array = array.astype(np.float32)
            node = G.tensor(graph, array.dtype, array.shape, name=f"x{len(nodes)}", value=array)
            nodes.append(node)
            return node
        if value is np.float64 or (isinstance(value, np.dtype) and value == np.float64):
            return np.float32
        return value

    return graph, [convert(a) for a in sample.args], nodes


def _kwargs(sample: Sample) -> dict[str, Any]:
    """Keyword arguments as given, float64 arrays and dtypes made float32."""
    def convert(value: Any) -> Any:
        if isinstance(value, np.ndarray) and value.dtype == np.float64:
            return value.astype(np.float32)
        if value is np.float64 or (isinstance(value, np.dtype) and value == np.float64):
            return np.float32
        return value

    return {key: convert(value) for key, value in sample.kwargs.items()}


def _run_sample(op_name: str, sample: Sample, folder: Path) -> OnnxCheck:
    import onnxruntime

    label = sample.label or repr(sample)
    graph, args, nodes = _inputs(sample)
    graph.eval()
    output = G.registry.function(op_name)(*args, **_kwargs(sample))
    machine = G.TapeMachine(graph)
    machine.run_all()
    expected = np.array(output.value)
    machine.reset()
    path = folder / f"{op_name}.onnx"
    try:
        export(output, path, inputs=nodes)
    except UnsupportedError as exc:
        return OnnxCheck(op_name, label, "unsupported", str(exc))
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {item.name: np.asarray(node.value) for item, node in zip(session.get_inputs(), nodes)}
    (got,) = session.run(None, feeds)
    if got.shape != expected.shape or got.dtype != expected.dtype:
        return OnnxCheck(op_name, label, "mismatch", f"onnxruntime gave {got.dtype} {got.shape}, gorgon "
                                                     f"{expected.dtype} {expected.shape}")
    if not np.allclose(got, expected, rtol=RTOL, atol=ATOL, equal_nan=True):
        worst = float(np.max(np.abs(got.astype(np.float64) - expected)))
        return OnnxCheck(op_name, label, "mismatch", f"largest difference {worst:.3g}")
    return OnnxCheck(op_name, label, "ok")


def check_onnx(op_name: str) -> list[OnnxCheck]:
    """Run the ONNX check on every valid sample of `op_name` (which must have a mapping)."""
    if G.registry.onnx_mapping(op_name) is None:
        raise G.ArgumentValueError(f"check_onnx: op {op_name!r} declares no ONNX mapping")
    factory = G.registry.samples.get(op_name)
    if factory is None:
        raise G.ArgumentValueError(f"check_onnx: op {op_name!r} has no samples")
    samples = [s for s in factory() if isinstance(s, Sample)]
    with tempfile.TemporaryDirectory() as folder:
        return [_run_sample(op_name, sample, Path(folder)) for sample in samples]
