"""Models saved whole: one safetensors file holding the weights (the state dict) and,
in its metadata, the architecture as JSON (module types by registered name and their
constructor arguments). Loading runs no code from the file: it checks the header, parses
the architecture under size and depth limits, refuses unknown module types by name,
builds the modules with zero-memory placeholders, checks every name, shape and dtype
against the file, and only then fills in the weights. Saves are atomic."""

from __future__ import annotations

import json
import os
import struct
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save as safetensors_bytes

import gorgon as G
from gorgon_layers.init import placeholders
from gorgon_layers.module import Module

FORMAT = "gorgon_layers.model"
VERSION = "1"
MAX_HEADER = 64 * 2 ** 20     # bytes of safetensors header we accept
MAX_ARCHITECTURE = 2 ** 20    # bytes of architecture JSON
MAX_DEPTH = 64                # nesting of the architecture JSON
MAX_MODULES = 10_000

_registry: dict[str, type[Module]] = {}


def register(cls: type[Module]) -> type[Module]:
    """Make a Module subclass loadable by name (use as a class decorator). Its
    constructor arguments must be plain data (numbers, strings, lists, dicts, dtypes,
    modules)."""
    if not (isinstance(cls, type) and issubclass(cls, Module)):
        raise G.ArgumentTypeError(f"nn.register: expected a Module subclass, got {cls!r}")
    known = _registry.get(cls.__name__)
    if known is not None and known is not cls:
        raise G.ArgumentValueError(f"nn.register: another module type is registered as {cls.__name__!r}: "
                                   f"{known.__module__}.{known.__qualname__}")
    _registry[cls.__name__] = cls
    return cls


class ModelFileError(G.GorgonError, ValueError):
    """A model or weights file that cannot be read: corrupt, hostile or not fitting."""


# architecture as data -------------------------------------------------------------------
def _encode(value: Any, where: str) -> Any:
    if isinstance(value, Module):
        return {"module": architecture(value)}
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return {"dtype": np.dtype(value).name}
    if isinstance(value, (bool, str)) or value is None:
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_encode(v, where) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"dict": {k: _encode(v, where) for k, v in value.items()}}
    raise G.ArgumentTypeError(f"save: {where} has an argument that is not plain data: {value!r}")


def architecture(model: Module) -> dict[str, Any]:
    """The model as data: `{"type": name, "args": [...], "kwargs": {...}}`, nested."""
    cls = type(model)
    if _registry.get(cls.__name__) is not cls:
        raise G.ArgumentValueError(f"save: module type {cls.__name__} is not registered: decorate it "
                                   "with @nn.register so that nn.load can rebuild it")
    args, kwargs = model.constructor_args()
    where = f"{cls.__name__} {model._path!r}" if model._path else cls.__name__
    return {"type": cls.__name__, "args": [_encode(a, where) for a in args],
            "kwargs": {k: _encode(v, where) for k, v in kwargs.items()}}


def _depth(text: str) -> int:
    """The deepest nesting of brackets in JSON text (outside strings)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _decode(value: Any, count: list[int]) -> Any:
    if isinstance(value, list):
        return [_decode(v, count) for v in value]
    if isinstance(value, dict):
        if set(value) == {"module"}:
            return build(value["module"], count)
        if set(value) == {"dtype"} and value["dtype"] in ("float16", "float32", "float64"):
            return np.dtype(value["dtype"])
        if set(value) == {"dict"} and isinstance(value["dict"], dict):
            return {k: _decode(v, count) for k, v in value["dict"].items()}
        raise ModelFileError(f"nn.load: unexpected object in the architecture: {sorted(value)[:5]}")
    return value


def build(data: Any, count: list[int] | None = None) -> Module:
    """A module rebuilt from `architecture()` data; only registered types are made."""
    count = [0] if count is None else count
    count[0] += 1
    if count[0] > MAX_MODULES:
        raise ModelFileError(f"nn.load: the architecture has more than {MAX_MODULES} modules")
    if not (isinstance(data, dict) and set(data) == {"type", "args", "kwargs"}
            and isinstance(data["type"], str) and isinstance(data["args"], list)
            and isinstance(data["kwargs"], dict)):
        raise ModelFileError("nn.load: a module in the architecture is not {type, args, kwargs}")
    cls = _registry.get(data["type"])
    if cls is None:
        raise ModelFileError(f"nn.load: unknown module type {data['type'][:100]!r}: only registered "
                             "types are built (decorate custom modules with @nn.register)")
    args = _decode(data["args"], count)
    kwargs = {str(k): _decode(v, count) for k, v in data["kwargs"].items()}
    try:
        return cls(*args, **kwargs)
    except (TypeError, ValueError) as error:
        raise ModelFileError(f"nn.load: cannot build {data['type']} from the file's arguments: {error}") from error


# files ----------------------------------------------------------------------------------
def save(model: Module, path: str | os.PathLike) -> None:
    """Write the model (architecture and weights) to `path` atomically: a unique
    temporary file in the same folder, flushed and fsynced, then renamed."""
    text = json.dumps(architecture(model), separators=(",", ":"))
    metadata = {"format": FORMAT, "version": VERSION, "architecture": text}
    data = safetensors_bytes(model.state_dict(),
                             metadata=metadata)
    atomic_write(Path(path), data)


def atomic_write(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that readers see the old file or the new, never half."""
    handle, temporary = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def check_header(path: Path) -> None:
    """Refuse a file whose safetensors header length is impossible, before parsing it."""
    size = path.stat().st_size
    with open(path, "rb") as stream:
        head = stream.read(8)
    if len(head) < 8:
        raise ModelFileError(f"{path}: not a safetensors file ({size} bytes, shorter than its header length)")
    (length,) = struct.unpack("<Q", head)
    if length > MAX_HEADER or length > size - 8:
        raise ModelFileError(f"{path}: corrupt or truncated: header length {length} does not fit in a file of "
                             f"{size} bytes (limit {MAX_HEADER})")


def read_file(path: str | os.PathLike) -> tuple[dict[str, str], dict[str, np.ndarray]]:
    """(metadata, tensors) of a safetensors file, every failure a ModelFileError."""
    path = Path(path)
    check_header(path)
    try:
        with safe_open(str(path), framework="numpy") as stream:
            metadata = stream.metadata() or {}
            tensors = {name: stream.get_tensor(name) for name in stream.keys()}
    except (SafetensorError, ValueError, OSError) as error:
        raise ModelFileError(f"{path}: not a readable safetensors file: {error}") from error
    return metadata, tensors


def parse_architecture(path: Path, metadata: Mapping[str, str]) -> Any:
    if metadata.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a gorgon_layers model (no architecture in its metadata); "
                             "to read weights only, use nn.load_weights")
    if metadata.get("version") != VERSION:
        raise ModelFileError(f"{path}: model format version {metadata.get('version')!r}, expected {VERSION}")
    text = metadata.get("architecture", "")
    if len(text) > MAX_ARCHITECTURE:
        raise ModelFileError(f"{path}: architecture of {len(text)} bytes exceeds the limit {MAX_ARCHITECTURE}")
    if _depth(text) > MAX_DEPTH:
        raise ModelFileError(f"{path}: architecture nested deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(text)
    except ValueError as error:
        raise ModelFileError(f"{path}: the architecture is not valid JSON: {error}") from error


def load(path: str | os.PathLike) -> Module:
    """The model saved at `path`, rebuilt from its architecture with its weights."""
    path = Path(path)
    metadata, tensors = read_file(path)
    data = parse_architecture(path, metadata)
    with placeholders():
        model = build(data)
    fill(model, tensors, str(path))
    return model


def fill(model: Module, tensors: Mapping[str, np.ndarray], source: str) -> None:
    """Give every placeholder of a freshly built model its array from `tensors`, after
    checking all of them (names, shapes, dtype kinds)."""
    slots = {}
    for path, module in model.named_modules():
        for table in (module._parameters, module._buffers):
            for name, array in table.items():
                slots[f"{path}.{name}" if path else name] = (table, name, array)
    problems = []
    missing, unexpected = sorted(set(slots) - set(tensors)), sorted(set(tensors) - set(slots))
    if missing:
        problems.append(f"missing entries {missing}")
    if unexpected:
        problems.append(f"unexpected entries {unexpected}")
    for key in sorted(set(slots) & set(tensors)):
        expected, got = slots[key][2], tensors[key]
        if got.shape != expected.shape:
            problems.append(f"{key!r} has shape {got.shape}, the architecture needs {expected.shape}")
        elif got.dtype.kind != expected.dtype.kind:
            problems.append(f"{key!r} has dtype {got.dtype}, the architecture needs {expected.dtype}")
    if problems:
        raise ModelFileError(f"nn.load: {source} does not fit its architecture: " + "; ".join(problems))
    for key, (table, name, _) in slots.items():
        table[name] = np.array(tensors[key])
    for module in model.modules():
        module._forget()


def load_weights(source: str | os.PathLike | Mapping[str, Any], model: Module | None = None,
                 strict: bool = True) -> dict[str, np.ndarray]:
    """The weights of a safetensors file (ours or PyTorch's
    `safetensors.torch.save_file(model.state_dict(), path)`) or of a mapping (numpy arrays
    or torch tensors) as a dict of numpy arrays; given a `model`, also loaded into it
    with `load_state_dict(strict=strict)`."""
    if isinstance(source, Mapping):
        weights = {str(k): as_numpy(v) for k, v in source.items()}
    else:
        _, weights = read_file(source)
    if model is not None:
        model.load_state_dict(weights, strict=strict)
    return weights


def as_numpy(value: Any) -> np.ndarray:
    """A numpy copy of an array or a tensor (anything with `.numpy()`, detached first)."""
    if hasattr(value, "detach"):
        value = value.detach()
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):
        value = value.numpy()
    return np.array(value)
