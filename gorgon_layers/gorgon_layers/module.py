"""Module: the base of every layer. A module owns named numpy arrays (parameters and
buffers) and submodules, recorded as they are assigned as attributes (so state-dict
names are attribute paths: `features.0.weight`). Called on a node, it binds its arrays to
input nodes of that node's graph (one node per array and graph, the very array, so a
solver's in-place update is seen by every graph) and builds its `forward` there.

Inside `forward`, a parameter or buffer attribute reads as its node in the graph being
built; outside, it reads as the numpy array.

Thread-safety: a model and its cached machines belong to one thread at a time (build,
train and predict from one thread, or guard the model with a lock).
"""

from __future__ import annotations

import functools
import inspect
import itertools
import threading
import weakref
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

import gorgon as G
from gorgon import Graph, Node

_building = threading.local()
_generations = itertools.count(1)
generation = [0]  # bumped whenever any module's arrays or submodules change


class Parameter:
    """Marks an array assigned to a module attribute as a trainable parameter
    (`self.scale = nn.Parameter(np.ones(8))`)."""

    def __init__(self, array: Any):
        self.array = array if isinstance(array, np.ndarray) else np.array(array)
        if self.array.dtype.kind != "f":
            raise G.ArgumentTypeError(f"nn.Parameter needs a float array, got {self.array.dtype}")


class Buffer:
    """Marks an array assigned to a module attribute as state that is saved but not trained
    (`self.running_mean = nn.Buffer(np.zeros(8))`)."""

    def __init__(self, array: Any):
        self.array = array if isinstance(array, np.ndarray) else np.array(array)


def _recording_init(init: Any) -> Any:
    """Wrap a module class's `__init__` so that the outermost call records its arguments:
    the architecture is the class name and these arguments, written as data by `save`."""

    @functools.wraps(init)
    def wrapped(self: Module, *args: Any, **kwargs: Any) -> None:
        if "_config" not in self.__dict__:
            object.__setattr__(self, "_config", (args, kwargs))
        init(self, *args, **kwargs)

    wrapped.__signature__ = inspect.signature(init)
    return wrapped


def blamed(error: G.GorgonError, module: Module) -> G.GorgonError:
    """The error with the innermost module that raised it named first (once)."""
    if getattr(error, "module_named", False) or module.describe() in str(error):
        error.module_named = True
        return error
    try:
        named = type(error)(f"{module.describe()}: {error}")
    except TypeError:
        return error
    named.module_named = True
    return named


class Module:
    """Subclass it, assign submodules, `nn.Parameter`s and `nn.Buffer`s as attributes in
    `__init__` (after `super().__init__()`), and write `forward(x)` with gorgon ops.
    `model(x)` on a node builds the module's nodes in x's graph."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = _recording_init(cls.__dict__["__init__"])

    def __init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "_parameters", {})
        set_(self, "_buffers", {})
        set_(self, "_modules", {})
        set_(self, "_nodes", weakref.WeakKeyDictionary())
        set_(self, "_graph", None)
        set_(self, "_path", "")
        set_(self, "_cache", {})
        set_(self, "training", True)
        if "_config" not in self.__dict__:
            set_(self, "_config", ((), {}))

    # attributes -----------------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before assigning "
                                 f"attribute {name!r}")
        kinds = {Parameter: self._parameters, Buffer: self._buffers, Module: self._modules}
        kept = next((table for kind, table in kinds.items() if isinstance(value, kind)), None)
        for table in kinds.values():
            if table is not kept:  # replacing keeps the entry's place (a Sequential's order)
                table.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value.array
        elif isinstance(value, Buffer):
            self._buffers[name] = value.array
        elif isinstance(value, Module):
            self._modules[name] = value
        else:
            object.__setattr__(self, name, value)
            return
        self.__dict__.pop(name, None)
        self._forget()

    def __getattr__(self, name: str) -> Any:
        tables = self.__dict__
        for kind in ("_parameters", "_buffers"):
            if name in tables.get(kind, ()):
                graph = tables["_graph"]
                return tables[kind][name] if graph is None else self.node(graph, name)
        if name in tables.get("_modules", ()):
            return tables["_modules"][name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def node(self, graph: Graph, name: str) -> Node:
        """The input node of `graph` bound to this module's parameter or buffer `name`
        (made once per graph; named by its path in the model)."""
        nodes = self._nodes.get(graph)
        if nodes is None:
            nodes = self._nodes[graph] = {}
        node = nodes.get(name)
        if node is None:
            object.__setattr__(self, "_used", True)
            array = self._parameters.get(name)
            if array is None:
                array = self._buffers[name]
            label = f"{self._path}.{name}" if self._path else name
            node = nodes[name] = G.tensor(graph, array.dtype, array.shape, name=label, value=array)
        return node

    def _forget(self) -> None:
        """Drop this module's graph bindings and cached machines (arrays were replaced, or
        the structure changed); a new generation makes every model rebuild the cached
        machines that may hold the old arrays."""
        if self._nodes or self._cache or self.__dict__.get("_used"):
            generation[0] = next(_generations)
        self._nodes.clear()
        self._cache.clear()

    # building -------------------------------------------------------------------------
    def forward(self, *inputs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no forward")

    def __call__(self, *inputs: Any, **options: Any) -> Any:
        first = inputs[0] if inputs else None
        if not isinstance(first, Node):
            raise G.ArgumentTypeError(f"{self.describe()}: call it on a gorgon node (got "
                                      f"{type(first).__name__}); use predict() for arrays")
        outermost = not getattr(_building, "depth", 0)
        if outermost:
            self.assign_paths()
            first.graph.training = self.training
        _building.depth = getattr(_building, "depth", 0) + 1
        previous = self._graph
        object.__setattr__(self, "_graph", first.graph)
        object.__setattr__(self, "_used", True)
        try:
            result = self.forward(*inputs, **options)
        except G.GorgonError as error:
            raise blamed(error, self) from error.__cause__
        finally:
            object.__setattr__(self, "_graph", previous)
            _building.depth -= 1
        recorder = getattr(_building, "recorder", None)
        if recorder is not None and not self._modules:
            recorder(self, inputs, result)
        return result

    def assign_paths(self, prefix: str = "") -> None:
        """Name this module and every submodule by its attribute path (`features.3`)."""
        object.__setattr__(self, "_path", prefix)
        for name, child in self._modules.items():
            child.assign_paths(f"{prefix}.{name}" if prefix else name)

    def describe(self) -> str:
        """`Linear 'features.3'`: the module's type and its path in the model."""
        return f"{type(self).__name__} {self._path!r}" if self._path else type(self).__name__

    def expect(self, x: Node, shape: tuple[int | None, ...], what: str) -> None:
        """Raise a ShapeError naming this module unless x's shape matches `shape` (None
        matches any size)."""
        if len(x.shape) != len(shape) or any(s is not None and s != d for s, d in zip(shape, x.shape)):
            wanted = "(" + ", ".join("N" if s is None and i == 0 else ("*" if s is None else str(s))
                                     for i, s in enumerate(shape)) + ")"
            raise G.ShapeError(f"{self.describe()}: expected {what} of shape {wanted}, got {x.name!r} "
                               f"of shape {x.shape} ({x.dtype})")

    # traversal ------------------------------------------------------------------------
    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator[Module]:
        return (module for _, module in self.named_modules())

    def children(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def _named(self, kind: str) -> Iterator[tuple[str, np.ndarray]]:
        seen: set[int] = set()
        for path, module in self.named_modules():
            for name, array in module.__dict__[kind].items():
                if id(array) not in seen:
                    seen.add(id(array))
                    yield (f"{path}.{name}" if path else name), array

    def named_parameters(self) -> Iterator[tuple[str, np.ndarray]]:
        """(path, array) of every parameter, in definition order (shared ones once)."""
        return self._named("_parameters")

    def parameters(self) -> list[np.ndarray]:
        return [array for _, array in self.named_parameters()]

    def named_buffers(self) -> Iterator[tuple[str, np.ndarray]]:
        return self._named("_buffers")

    def buffers(self) -> list[np.ndarray]:
        return [array for _, array in self.named_buffers()]

    def parameter_nodes(self, graph: Graph) -> list[Node]:
        """The parameter nodes of `graph` (after the model was called on one of its
        nodes), in the order of `named_parameters()`."""
        nodes, seen = [], set()
        for _, module in self.named_modules():
            for name, array in module._parameters.items():
                if id(array) not in seen:
                    seen.add(id(array))
                    nodes.append(module.node(graph, name))
        return nodes

    # state ----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Every parameter and buffer by path, as copies."""
        return {name: array.copy() for name, array in self._state_items()}

    def _state_items(self) -> list[tuple[str, np.ndarray]]:
        items = []
        for path, module in self.named_modules():
            for table in (module._parameters, module._buffers):
                items.extend(((f"{path}.{name}" if path else name), array) for name, array in table.items())
        return items

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> dict[str, list[str]]:
        """Copy `state` into the model's arrays in place. Everything is checked first: a
        state that does not fit raises one GorgonError listing every missing, unexpected
        and mis-shaped entry, and changes nothing. With `strict=False`, missing and
        unexpected entries are allowed (and returned); shapes must still match."""
        own = dict(self._state_items())
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        problems = []
        if strict and missing:
            problems.append(f"missing entries {missing}")
        if strict and unexpected:
            problems.append(f"unexpected entries {unexpected}")
        values = {}
        for name in [n for n in own if n in state]:
            value = np.asarray(state[name])
            if value.shape != own[name].shape:
                problems.append(f"{name!r} has shape {value.shape}, the model's is {own[name].shape}")
            elif not np.can_cast(value.dtype, own[name].dtype, "same_kind"):
                problems.append(f"{name!r} has dtype {value.dtype}, the model's is {own[name].dtype}")
            else:
                values[name] = value
        if problems:
            raise G.GorgonError(f"{type(self).__name__}.load_state_dict: the state does not fit, "
                                "nothing was changed: " + "; ".join(problems))
        for name, value in values.items():
            np.copyto(own[name], value, casting="same_kind")
        return {"missing": missing, "unexpected": unexpected}

    def to(self, dtype: Any) -> Module:
        """Convert every float parameter and buffer to `dtype` (new arrays: graphs and
        machines built before are dropped)."""
        dtype = np.dtype(dtype)
        for module in self.modules():
            for table in (module._parameters, module._buffers):
                for name, array in table.items():
                    if array.dtype.kind == "f":
                        table[name] = array.astype(dtype)
            module._forget()
        return self

    # modes ----------------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Training mode for this module and every submodule: a graph the model is then
        called on runs in that mode (dropout drops, batch norm uses and updates batch
        statistics). predict() and Trainer.evaluate always run in evaluation mode,
        Trainer.fit in training mode."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self) -> Module:
        return self.train(False)

    # using the model ------------------------------------------------------------------
    def predict(self, X: Any, batch_size: int = 256, machine: str = "tape") -> np.ndarray:
        """The model's output for every example of X (any number), in evaluation mode,
        `batch_size` at a time, on a machine cached per batch shape ("tape" or "lisp")."""
        from gorgon_layers.running import predict

        return predict(self, X, batch_size, machine)

    def summary(self, input_shape: tuple[int, ...], dtype: Any = np.float32, print_fn: Any = print) -> str:
        from gorgon_layers.summary import summary

        return summary(self, input_shape, dtype, print_fn)

    def save(self, path: Any) -> None:
        """Write the architecture and the weights to one safetensors file, atomically
        (`nn.load(path)` rebuilds the model)."""
        from gorgon_layers.saving import save

        save(self, path)

    def constructor_args(self) -> tuple[tuple, dict[str, Any]]:
        """The arguments that rebuild this module (those its constructor was called with;
        containers give their current children)."""
        return self._config

    def extra_repr(self) -> str:
        args, kwargs = self._config
        parts = [repr(a) for a in args if not isinstance(a, Module)]
        parts += [f"{k}={v!r}" for k, v in kwargs.items()]
        return ", ".join(parts)

    def __repr__(self) -> str:
        if not self._modules:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        for name, child in self._modules.items():
            lines += [f"  ({name}): " + repr(child).replace("\n", "\n  ")]
        return "\n".join(lines + [")"])
