"""The plugin registry: discovers plugins through entry points and holds their ops.

Loading is lazy (on the first op asked for) so importing gorgon never fails because
of a plugin: a plugin that fails to import or to register is kept with its error,
its ops are absent, and every other plugin still loads. Two environment variables
choose plugins by entry-point name, as pytest's ``-p no:name`` does:
``GORGON_PLUGINS=core,nn`` loads only those, ``GORGON_DISABLE_PLUGINS=conv`` skips those.
A name no installed plugin has, or an empty ``GORGON_PLUGINS``, is reported (a
PluginWarning, and in every OpNotFound), and an op of a plugin left out says which
variable left it out.

Loading is safe from any number of threads: the first use loads under a lock, and every
other thread waits for it. A name (of an op, solver, initialiser or rewrite) registered
twice is refused, with an error naming both plugins. A plugin that raises anything at
import or in a hook (SystemExit included; only KeyboardInterrupt passes) gets a
PluginError, and a rewrite rule that raises or returns something other than an equivalent
node is dropped and reported as its plugin's failure, naming the rule.
"""

from __future__ import annotations

import os
import threading
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from types import ModuleType
from typing import Any

import pluggy

from gorgon import hookspecs
from gorgon.errors import OpNotFound, PluginError
from gorgon.graph import graph_in
from gorgon.known_ops import provider_of
from gorgon.node import Node
from gorgon.op import Op
from gorgon.signatures import op_doc, op_signature

GROUP = "gorgon"
PASSING = (KeyboardInterrupt, GeneratorExit)  # what a plugin may raise through gorgon
LISTS = {"op": "ops", "solver": "solvers", "initialiser": "initializers"}
ARTICLES = {"solver": "a solver", "initialiser": "an initialiser"}


class PluginWarning(UserWarning):
    """A plugin problem that does not stop gorgon: a plugin selection naming no installed
    plugin, or a rewrite rule dropped because it failed."""


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
    kernels: list[tuple[str, str]] = field(default_factory=list)
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
        self._lock = threading.RLock()
        self._reset()

    def _reset(self) -> None:
        self._loaded = False
        self._loading = False
        self.skipped: dict[str, tuple[str, str]] = {}
        self.selection_problems: list[str] = []
        self.claimed: dict[tuple[str, str], str] = {}
        self.conflicts: dict[tuple[str, str], PluginError] = {}
        self._rules: list[tuple[str, Callable[..., Any]]] = []
        self.plugins: dict[str, PluginInfo] = {}
        self.ops: dict[str, type[Op]] = {}
        self.samples: dict[str, Callable[[], list]] = {}
        self.solvers: dict[str, type] = {}
        self.initializers: dict[str, Callable[..., Any]] = {}
        self.rewrites: dict[str, Callable[..., Any]] = {}
        self.onnx: dict[str, Callable[..., Any]] = {}
        self.kernels: dict[tuple[str, str], Callable[..., Any]] = {}
        self._functions: dict[str, Callable[..., Any]] = {}
        self._extra: list[tuple[str, ModuleType | object]] = []

    def reload(self) -> None:
        """Forget everything and discover the plugins again on next use."""
        with self._lock:
            self._reset()

    def add_plugin(self, plugin: ModuleType | object, name: str) -> PluginInfo:
        """Register a plugin object directly (a module or any object with hookimpls)."""
        with self._lock:
            self._extra.append((name, plugin))
            if self._loaded:
                self._load_one(name, "(added at run time)", "", lambda: plugin)
            return self.plugins[name] if self._loaded else PluginInfo(name, "", "")

    def load(self) -> None:
        """Discover and load the selected plugins, once. Safe from any number of threads:
        the others wait until the first has loaded everything. A plugin's own use of the
        registry while it loads sees what is loaded so far."""
        if self._loaded:
            return
        with self._lock:
            if self._loaded or self._loading:
                return
            self._loading = True
            try:
                self._load_all()
            except BaseException:
                extra = self._extra
                self._reset()
                self._extra = extra
                raise
            self._loading = False
            self._loaded = True

    def _load_all(self) -> None:
        only = _env_names("GORGON_PLUGINS")
        blocked = _env_names("GORGON_DISABLE_PLUGINS") or set()
        found = sorted(entry_points(group=self.group), key=lambda e: e.name)
        self._check_selection(only, blocked, sorted({ep.name for ep in found}))
        for ep in found:
            dist, version = _distribution(ep)
            if ep.name in blocked:
                self.skipped[ep.name] = (dist, _selected_by("GORGON_DISABLE_PLUGINS", "disabled"))
            elif only is not None and ep.name not in only:
                self.skipped[ep.name] = (dist, _selected_by("GORGON_PLUGINS", "left out"))
            else:
                self._load_one(ep.name, dist, version, ep.load)
        for name, plugin in self._extra:
            self._load_one(name, "(added at run time)", "", lambda p=plugin: p)

    def _check_selection(self, only: set[str] | None, blocked: set[str], installed: list[str]) -> None:
        """Report selections that select nothing: an empty GORGON_PLUGINS, or names no
        installed plugin has."""
        listing = f"installed plugins: {', '.join(installed) or 'none'}"
        if only is not None and not only:
            self.selection_problems.append(
                f"GORGON_PLUGINS is set but empty, so no plugin is loaded ({listing}); "
                "unset it to load every plugin")
        for variable, names in (("GORGON_PLUGINS", only or set()), ("GORGON_DISABLE_PLUGINS", blocked)):
            unknown = sorted(names - set(installed))
            if unknown:
                self.selection_problems.append(
                    f"{variable}={os.environ[variable]!r} names {', '.join(map(repr, unknown))}, "
                    f"which no installed plugin is called ({listing})")
        for problem in self.selection_problems:
            warnings.warn(problem, PluginWarning, stacklevel=4)

    def _load_one(self, name: str, dist: str, version: str, loader: Callable[[], Any]) -> None:
        info = PluginInfo(name, dist, version)
        self.plugins[name] = info
        try:
            module = loader()
            manager = pluggy.PluginManager(hookspecs.PROJECT)
            manager.add_hookspecs(hookspecs)
            manager.register(module, name=name)
            manager.check_pending()
        except PASSING:
            raise
        except BaseException as exc:  # a broken plugin (even one calling sys.exit) must not break gorgon
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
        for impl in manager.hook.register_onnx.get_hookimpls():
            self._call_hook(info, impl.function, lambda name, emit: self._register_onnx(info, name, emit))
        for impl in manager.hook.register_kernels.get_hookimpls():
            self._call_hook(info, impl.function,
                            lambda name, backend, make: self._register_kernel(info, name, backend, make))

    def _call_hook(self, info: PluginInfo, hook: Callable, register: Callable) -> None:
        try:
            hook(register=register)
        except PASSING:
            raise
        except BaseException as exc:  # a broken plugin (even one calling sys.exit) must not break gorgon
            self._fail(info, _caused(info, f"failed in its hook {hook.__name__}", exc))

    def _register_op(self, info: PluginInfo, op: Any) -> None:
        if not (isinstance(op, type) and issubclass(op, Op)):
            self._fail(info, PluginError(f"{info.label} registered {op!r}, which is not a subclass "
                                         "of gorgon.Op"))
        elif not isinstance(op.name, str) or not op.name.isidentifier():
            self._fail(info, PluginError(f"{info.label} registered {op.__name__} with invalid name "
                                         f"{op.name!r}"))
        elif self._claim(info, "op", self.ops, op.name, op, True, "an op"):
            info.ops.append(op.name)

    def _claim(self, info: PluginInfo, kind: str, table: dict[Any, Any], name: Any, thing: Any,
               valid: bool, expected: str, key: Any = None) -> bool:
        """Record `thing` under `name` in `table`, or record why not: not `valid`
        (`expected` says what was), or the name already taken. A name registered twice is
        refused both times: it leaves the table, and asking for it raises the error,
        which names both plugins. `key` is the table's key when not `name` (a kernel's
        (op name, backend))."""
        if not valid or not isinstance(name, str) or not name.isidentifier():
            self._fail(info, PluginError(f"{info.label} registered {kind} {name!r} as {thing!r}: "
                                         f"expected {expected}"))
            return False
        key = name if key is None else key
        if (kind, key) in self.claimed:
            self._refuse(info, kind, table, key)
            return False
        self.claimed[kind, key] = info.name
        table[key] = thing
        return True

    def _refuse(self, info: PluginInfo, kind: str, table: dict[Any, Any], name: Any) -> None:
        """`name` is registered again, by `info`: neither registration is used, and both
        plugins get the error, which names them both."""
        first = self.plugins[self.claimed[kind, name]]
        who = (f"twice by {info.label}; it is not used" if first is info else
               f"by two plugins: {first.name!r} ({first.distribution}) and {info.name!r} "
               f"({info.distribution}); neither is used: disable one with GORGON_DISABLE_PLUGINS")
        error = PluginError(f"{kind} {name!r} is registered {who}")
        table.pop(name, None)
        if kind in LISTS and name in getattr(first, LISTS[kind]):
            getattr(first, LISTS[kind]).remove(name)
        if kind == "kernel" and name[::-1] in first.kernels:
            first.kernels.remove(name[::-1])
        if kind == "rewrite":
            self._rules = [(n, r) for n, r in self._rules if n != name]
        if (kind, name) not in self.conflicts and first is not info:
            self._fail(first, error)
        self.conflicts.setdefault((kind, name), error)
        self._fail(info, error)

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
        if self._claim(info, "rewrite", self.rewrites, name, rule, callable(rule), "a callable rule"):
            self._rules.append((name, self._guarded(info, name, rule)))

    def _guarded(self, info: PluginInfo, name: str, rule: Callable[..., Any]) -> Callable[..., Any]:
        """`rule`, such that raising, or returning what is not an equivalent term or node,
        drops it and reports the failure under its plugin: the rule then matches nothing."""

        def guarded(term: Any, context: Any) -> Any:
            try:
                result = rule(term, context)
            except PASSING:
                raise
            except BaseException as exc:
                self._drop_rule(info, name, _caused(info, f"failed in its rewrite rule {name!r}", exc))
                return None
            if result is None or result is term:
                return result
            problem = _wrong_rewrite(term, result)
            if problem is None:
                return result
            self._drop_rule(info, name, PluginError(f"{info.label} failed in its rewrite rule {name!r}: "
                                                    f"it {problem}"))
            return None

        guarded.__name__ = guarded.__qualname__ = name
        guarded.rule = rule
        return guarded

    def _drop_rule(self, info: PluginInfo, name: str, error: PluginError) -> None:
        """Stop using rewrite rule `name`, and report why (once)."""
        with self._lock:
            if not any(n == name for n, _ in self._rules):
                return
            self._rules = [(n, r) for n, r in self._rules if n != name]
            self._fail(info, error)
        warnings.warn(f"{error}; the rule is no longer used", PluginWarning, stacklevel=3)

    def _register_onnx(self, info: PluginInfo, name: str, emit: Any) -> None:
        self._claim(info, "ONNX mapping", self.onnx, name, emit, callable(emit),
                    "a callable emit(builder, node, inputs)")

    def _register_kernel(self, info: PluginInfo, op_name: str, backend: str, make: Any) -> None:
        if not (isinstance(backend, str) and backend.isidentifier()) or backend == "numpy":
            self._fail(info, PluginError(f"{info.label} registered a kernel for {op_name!r} under "
                                         f"backend {backend!r}: expected a backend name other "
                                         "than 'numpy'"))
        elif self._claim(info, "kernel", self.kernels, op_name, make, callable(make),
                         "a callable make_kernel(op, inputs, output)", (op_name, backend)):
            info.kernels.append((backend, op_name))

    def kernel_maker(self, op_name: str, backend: str) -> Callable[..., Any] | None:
        """The `make_kernel` that backend `backend` registered for op `op_name`, or None."""
        self.load()
        return self.kernels.get((op_name, backend))

    def backends(self) -> set[str]:
        """The names of the backends some loaded plugin registers kernels for."""
        self.load()
        return {backend for _, backend in self.kernels}

    def onnx_mapping(self, op_name: str) -> Callable[..., Any] | None:
        """The ONNX export mapping registered for the op `op_name`, or None."""
        self.load()
        return self.onnx.get(op_name)

    def rewrite_rules(self) -> list[tuple[str, Callable[..., Any]]]:
        """Every usable rewrite rule, by name, each guarded: a rule that fails is dropped
        and reported as its plugin's failure, and returns None (no match)."""
        self.load()
        return list(self._rules)

    def _lookup(self, kind: str, table: dict[str, Any], name: str) -> Any:
        self.load()
        conflict = self.conflicts.get((kind, name))
        if conflict is not None:
            raise conflict
        try:
            return table[name]
        except KeyError:
            raise OpNotFound(f"no installed plugin registers {ARTICLES[kind]} named {name!r}"
                             + self._selection_note()) from None

    def solver(self, name: str) -> type:
        """The solver class registered under `name`."""
        return self._lookup("solver", self.solvers, name)

    def initializer(self, name: str) -> Callable[..., Any]:
        """The initialiser factory registered under `name`."""
        return self._lookup("initialiser", self.initializers, name)

    @staticmethod
    def _fail(info: PluginInfo, error: PluginError) -> None:
        info.failures.append(error)

    def _register_samples(self, op_name: str, factory: Callable[[], list]) -> None:
        self.samples[op_name] = factory

    def op(self, name: str) -> type[Op]:
        """The op class registered under `name`."""
        self.load()
        conflict = self.conflicts.get(("op", name))
        if conflict is not None:
            raise conflict
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
        left_out = {dist: (plugin, reason) for plugin, (dist, reason) in self.skipped.items()}
        if provider in left_out:
            plugin, reason = left_out[provider]
            message += (f" (it comes with plugin {plugin!r} ({provider}), which is installed but "
                        f"{reason})")
        elif provider is not None:
            message += f" (it comes with the distribution {provider}: install it)"
        message += self._selection_note(listing=provider not in left_out)
        failed = [p for p in self.plugins.values() if p.error]
        if failed:
            message += "; plugins that failed to load: " + ", ".join(
                f"{p.name!r} ({p.distribution}): {p.error}" for p in failed)
        return message

    def _selection_note(self, listing: bool = True) -> str:
        """What the plugin selection got wrong, and (with `listing`) what it left out, for
        an error message."""
        note = "".join(f"; {problem}" for problem in self.selection_problems)
        if listing and self.skipped:
            note += "; plugins not loaded: " + ", ".join(
                f"{plugin!r} ({dist}, {reason})" for plugin, (dist, reason) in self.skipped.items())
        return note

    def errors(self) -> list[str]:
        """Every load error, one line per plugin, and every problem of the plugin selection."""
        self.load()
        return self.selection_problems + [f"{p.name} ({p.distribution}): {p.error}"
                                          for p in self.plugins.values() if p.error]


def _public_function(op: type[Op]) -> Callable[..., Any]:
    """`G.<name>`: the op's `call`, plus `name=` to name the node it builds (a named node
    stays readable after a TapeMachine run, whatever the compile passes do; a call that
    builds a list of nodes, as split does, names them name_0, name_1, ...). A call that
    raises leaves its graph as it was (no half-built node)."""
    build = op.call

    def function(*args: Any, name: str | None = None, **params: Any) -> Any:
        graph = graph_in(args, params)
        if graph is None:
            node = build(*args, **params)
        else:
            node = graph.atomic(lambda: build(*args, **params))
        if name is not None:
            for i, part in enumerate(node if isinstance(node, list) else [node]):
                part.name = name if part is node else f"{name}_{i}"
                part.named = True
        return node

    function.__name__ = function.__qualname__ = op.name
    function.__doc__ = op_doc(op)
    function.__signature__ = op_signature(op)
    function.__module__ = op.__module__
    function.op = op
    return function


def _selected_by(variable: str, verb: str) -> str:
    """`disabled by GORGON_DISABLE_PLUGINS='conv'`."""
    return f"{verb} by {variable}={os.environ[variable]!r}"


def _wrong_rewrite(term: Any, result: Any) -> str | None:
    """Why `result` cannot stand for `term` (a term in the compiler, a node at build time),
    or None when it can."""
    from gorgon.passes.ir import Term

    kind = Term if isinstance(term, Term) else Node
    if not isinstance(result, kind):
        return f"returned {type(result).__name__} {result!r} for {term.op}, not a {kind.__name__.lower()}"
    if result.shape != term.shape or result.dtype != term.dtype:
        return (f"turned {term.op} {term.shape} {term.dtype} into {result.op or result.role} "
                f"{result.shape} {result.dtype}")
    return None


def _caused(info: PluginInfo, what: str, exc: BaseException) -> PluginError:
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
