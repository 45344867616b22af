"""The plugin registry: discovers plugins through entry points and holds their ops.

Loading is lazy (on the first op asked for) so importing gorgon never fails because
of a plugin: a plugin that fails to import or to register is kept with its error,
its ops are absent, and every other plugin still loads. Two environment variables
choose plugins by entry-point name, as pytest's ``-p no:name`` does:
``GORGON_PLUGINS=core,nn`` loads only those, ``GORGON_DISABLE_PLUGINS=conv`` skips those.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from types import ModuleType
from typing import Any

import pluggy

from gorgon import hookspecs
from gorgon.errors import OpNotFound, PluginError
from gorgon.known_ops import provider_of
from gorgon.op import Op
from gorgon.signatures import op_doc, op_signature

GROUP = "gorgon"


@dataclass
class PluginInfo:
    """One plugin as loaded: where it came from, what it registered, what went wrong
    (`failures`: one PluginError per problem, each naming the plugin's distribution and
    chained to the exception that caused it)."""

    name: str
    distribution: str
    version: str
    ops: list[str] = field(default_factory=list)
    solvers: list[str] = field(default_factory=list)
    initializers: list[str] = field(default_factory=list)
    failures: list[PluginError] = field(default_factory=list)

    @property
    def label(self) -> str:
        """How errors name the plugin: `plugin 'nn' (gorgon-ops-nn)`."""
        return f"plugin {self.name!r} ({self.distribution})"

    @property
    def error(self) -> str | None:
        """Every failure on one line, or None when the plugin loaded cleanly."""
        if not self.failures:
            return None
        return "; ".join(f"PluginError: {failure}" for failure in self.failures)


def _env_names(variable: str) -> set[str] | None:
    raw = os.environ.get(variable)
    if raw is None:
        return None
    return {part.strip() for part in raw.split(",") if part.strip()}


class Registry:
    """Ops by name, from every plugin installed under the entry-point group."""

    def __init__(self, group: str = GROUP):
        self.group = group
        self._loaded = False
        self.plugins: dict[str, PluginInfo] = {}
        self.ops: dict[str, type[Op]] = {}
        self.owners: dict[str, str] = {}
        self.conflicts: dict[str, PluginError] = {}
        self.samples: dict[str, Callable[[], list]] = {}
        self.solvers: dict[str, type] = {}
        self.initializers: dict[str, Callable[..., Any]] = {}
        self.rewrites: dict[str, Callable[..., Any]] = {}
        self._functions: dict[str, Callable[..., Any]] = {}
        self._extra: list[tuple[str, ModuleType | object]] = []

    def reload(self) -> None:
        """Forget everything and discover the plugins again on next use."""
        self.__init__(self.group)

    def add_plugin(self, plugin: ModuleType | object, name: str) -> PluginInfo:
        """Register a plugin object directly (a module or any object with hookimpls)."""
        self._extra.append((name, plugin))
        if self._loaded:
            self._load_one(name, "(added at run time)", "", lambda: plugin)
        return self.plugins[name] if self._loaded else PluginInfo(name, "", "")

    def load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        only = _env_names("GORGON_PLUGINS")
        blocked = _env_names("GORGON_DISABLE_PLUGINS") or set()
        for ep in sorted(entry_points(group=self.group), key=lambda e: e.name):
            if (only is not None and ep.name not in only) or ep.name in blocked:
                continue
            dist, version = _distribution(ep)
            self._load_one(ep.name, dist, version, ep.load)
        for name, plugin in self._extra:
            self._load_one(name, "(added at run time)", "", lambda p=plugin: p)

    def _load_one(self, name: str, dist: str, version: str, loader: Callable[[], Any]) -> None:
        info = PluginInfo(name, dist, version)
        self.plugins[name] = info
        try:
            module = loader()
            manager = pluggy.PluginManager(hookspecs.PROJECT)
            manager.add_hookspecs(hookspecs)
            manager.register(module, name=name)
            manager.check_pending()
        except Exception as exc:  # a broken plugin must not break gorgon
            self._fail(info, _caused(info, "failed to load", exc))
            return
        for impl in manager.hook.register_ops.get_hookimpls():
            self._call_hook(info, impl.function, lambda op: self._register_op(info, op))
        for impl in manager.hook.register_samples.get_hookimpls():
            self._call_hook(info, impl.function, self._register_samples)
        for impl in manager.hook.register_solvers.get_hookimpls():
            self._call_hook(info, impl.function, lambda solver: self._register_solver(info, solver))
        for impl in manager.hook.register_rewrites.get_hookimpls():
            self._call_hook(info, impl.function,
                            lambda name, rule: self._register_rewrite(info, name, rule))
        for impl in manager.hook.register_initializers.get_hookimpls():
            self._call_hook(info, impl.function,
                            lambda name, factory: self._register_initializer(info, name, factory))

    def _call_hook(self, info: PluginInfo, hook: Callable, register: Callable) -> None:
        try:
            hook(register=register)
        except Exception as exc:  # a broken plugin must not break gorgon
            self._fail(info, _caused(info, f"failed in its hook {hook.__name__}", exc))

    def _register_op(self, info: PluginInfo, op: Any) -> None:
        if not (isinstance(op, type) and issubclass(op, Op)):
            self._fail(info, PluginError(f"{info.label} registered {op!r}, which is not a subclass "
                                         "of gorgon.Op"))
        elif not op.name.isidentifier():
            self._fail(info, PluginError(f"{info.label} registered {op.__name__} with invalid name "
                                         f"{op.name!r}"))
        elif op.name in self.owners:
            first = self.plugins[self.owners[op.name]]
            error = PluginError(
                f"op {op.name!r} is registered by two plugins: {first.name!r} ({first.distribution}) "
                f"and {info.name!r} ({info.distribution}); disable one with GORGON_DISABLE_PLUGINS")
            self.ops.pop(op.name, None)
            self.conflicts[op.name] = error
            self._fail(info, error)
        else:
            self.ops[op.name] = op
            self.owners[op.name] = info.name
            info.ops.append(op.name)

    def _claim(self, info: PluginInfo, kind: str, table: dict[str, Any], name: Any, thing: Any,
               valid: bool, expected: str) -> bool:
        """Record `thing` under `name` in `table`, or record why not: not `valid`
        (`expected` says what was), or the name already taken."""
        if not valid or not isinstance(name, str) or not name.isidentifier():
            self._fail(info, PluginError(f"{info.label} registered {kind} {name!r} as {thing!r}: "
                                         f"expected {expected}"))
            return False
        if name in table:
            self._fail(info, PluginError(f"{kind} {name!r} is registered twice (again by "
                                         f"{info.label})"))
            return False
        table[name] = thing
        return True

    def _register_solver(self, info: PluginInfo, solver: Any) -> None:
        name = getattr(solver, "name", None)
        if self._claim(info, "solver", self.solvers, name, solver, isinstance(solver, type),
                       "a class with a `name`"):
            info.solvers.append(name)

    def _register_initializer(self, info: PluginInfo, name: str, factory: Any) -> None:
        if self._claim(info, "initialiser", self.initializers, name, factory, callable(factory),
                       "a callable factory"):
            info.initializers.append(name)

    def _register_rewrite(self, info: PluginInfo, name: str, rule: Any) -> None:
        self._claim(info, "rewrite", self.rewrites, name, rule, callable(rule), "a callable rule")

    def rewrite_rules(self) -> list[tuple[str, Callable[..., Any]]]:
        """Every registered rewrite rule, by name."""
        self.load()
        return list(self.rewrites.items())

    def _lookup(self, kind: str, table: dict[str, Any], name: str) -> Any:
        self.load()
        try:
            return table[name]
        except KeyError:
            raise OpNotFound(f"no installed plugin registers {kind} named {name!r}") from None

    def solver(self, name: str) -> type:
        """The solver class registered under `name`."""
        return self._lookup("a solver", self.solvers, name)

    def initializer(self, name: str) -> Callable[..., Any]:
        """The initialiser factory registered under `name`."""
        return self._lookup("an initialiser", self.initializers, name)

    @staticmethod
    def _fail(info: PluginInfo, error: PluginError) -> None:
        info.failures.append(error)

    def _register_samples(self, op_name: str, factory: Callable[[], list]) -> None:
        self.samples[op_name] = factory

    def op(self, name: str) -> type[Op]:
        """The op class registered under `name`."""
        self.load()
        if name in self.conflicts:
            raise self.conflicts[name]
        try:
            return self.ops[name]
        except KeyError:
            raise OpNotFound(self._not_found(name)) from None

    def function(self, name: str) -> Callable[..., Any]:
        """The public function `G.<name>`: builds a node of that op."""
        fn = self._functions.get(name)
        if fn is None:
            fn = _public_function(self.op(name))
            self._functions[name] = fn
        return fn

    def _not_found(self, name: str) -> str:
        message = f"no installed plugin registers an op named {name!r}"
        provider = provider_of(name)
        if provider is not None:
            message += f" (it comes with the distribution {provider}: install it)"
        failed = [p for p in self.plugins.values() if p.error]
        if failed:
            message += "; plugins that failed to load: " + ", ".join(
                f"{p.name!r} ({p.distribution}): {p.error}" for p in failed)
        return message

    def errors(self) -> list[str]:
        """Every load error, one line per plugin."""
        self.load()
        return [f"{p.name} ({p.distribution}): {p.error}" for p in self.plugins.values() if p.error]


def _public_function(op: type[Op]) -> Callable[..., Any]:
    """`G.<name>`: the op's `call`, plus `name=` to name the node it builds (a named node
    stays readable after a TapeMachine run, whatever the compile passes do)."""
    build = op.call

    def function(*args: Any, name: str | None = None, **params: Any) -> Any:
        node = build(*args, **params)
        if name is not None:
            node.name = name
            node.named = True
        return node

    function.__name__ = function.__qualname__ = op.name
    function.__doc__ = op_doc(op)
    function.__signature__ = op_signature(op)
    function.__module__ = op.__module__
    function.op = op
    return function


def _caused(info: PluginInfo, what: str, exc: Exception) -> PluginError:
    """A PluginError naming the plugin, its distribution and where in its code `exc` was
    raised, chained to `exc`."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    error = PluginError(f"{info.label} {what}: {type(exc).__name__}: {exc}{where}")
    error.__cause__ = exc
    return error


def _distribution(ep: EntryPoint) -> tuple[str, str]:
    dist = ep.dist
    if dist is None:
        return "(unknown distribution)", ""
    return dist.metadata["Name"], dist.version


registry = Registry()


class OpNamespace:
    """`G.ops`: every registered op as an attribute."""

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("__"):
            raise AttributeError(name)
        return registry.function(name)

    def __dir__(self) -> list[str]:
        registry.load()
        return sorted(registry.ops)


ops = OpNamespace()


class _Namespace:
    """`G.solvers` and `G.init`: registered solvers and initialisers as attributes."""

    def __init__(self, lookup: Callable[[str], Any], table: Callable[[], dict]):
        self._lookup = lookup
        self._table = table

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._lookup(name)

    def __dir__(self) -> list[str]:
        registry.load()
        return sorted(self._table())


solvers = _Namespace(registry.solver, lambda: registry.solvers)
init = _Namespace(registry.initializer, lambda: registry.initializers)
