"""What plugins register, as users reach it: `G.<name>`, `G.ops.<name>`, `G.solvers`,
`G.init` and `init=` by name."""

import sys
from importlib.metadata import EntryPoint

import numpy as np
import pytest

import gorgon as G
from gorgon.errors import OpNotFound, PluginError
from gorgon.registry import Registry, _distribution


def test_solvers_and_initializers_are_registered_and_checked(monkeypatch):
    monkeypatch.setenv("GORGON_PLUGINS", "")

    class Plugin:
        class SGD:
            name = "SGD"

        @G.hookimpl
        def register_solvers(self, register):
            register(self.SGD)
            register(self.SGD)
            register("not a class")

        @G.hookimpl
        def register_initializers(self, register):
            register("zeros", lambda: np.zeros)
            register("zeros", lambda: np.zeros)
            register("not valid", 3)

    reg = Registry()
    reg.add_plugin(Plugin(), "solving")
    with pytest.raises(PluginError, match="solver 'SGD' is registered twice by plugin 'solving'"):
        reg.solver("SGD")
    with pytest.raises(PluginError, match="initialiser 'zeros' is registered twice by plugin 'solving'"):
        reg.initializer("zeros")
    error = reg.plugins["solving"].error
    assert "solver 'SGD' is registered twice" in error and "'not a class'" in error
    assert "initialiser 'zeros' is registered twice" in error and "'not valid'" in error
    with pytest.raises(OpNotFound, match="solver named 'Adam'"):
        reg.solver("Adam")
    with pytest.raises(OpNotFound, match="initialiser named 'ones'"):
        reg.initializer("ones")


def test_solvers_and_initializers_namespaces():
    with pytest.raises(OpNotFound, match="solver named 'NoSuchSolver'"):
        G.solvers.NoSuchSolver
    with pytest.raises(OpNotFound, match="initialiser named 'no_such_init'"):
        G.init.no_such_init
    assert not hasattr(G.init, "__wrapped__")
    assert dir(G.solvers) == sorted(G.registry.solvers)
    assert dir(G.init) == sorted(G.registry.initializers)


def test_init_by_name_uses_a_registered_initializer(monkeypatch):
    monkeypatch.setenv("GORGON_PLUGINS", "")

    class Plugin:
        @G.hookimpl
        def register_initializers(self, register):
            register("filled", lambda fill=7.0: lambda shape, dtype: np.full(shape, fill, dtype))

    reg = Registry()
    reg.add_plugin(Plugin(), "inits")
    monkeypatch.setattr(sys.modules["gorgon.registry"], "registry", reg)
    g = G.Graph()
    x = G.vector(g, G.Float32, (2,), name="x", init="filled")
    assert x.value.tolist() == [7.0, 7.0] and x.value.dtype == G.Float32
    with pytest.raises(OpNotFound, match="'nope'"):
        G.vector(g, G.Float32, (2,), init="nope")
    assert len(g) == 1


def test_an_entry_point_without_distribution_is_labelled():
    assert _distribution(EntryPoint("loose", "loose_module", "gorgon")) == ("(unknown distribution)", "")


def test_every_op_is_reachable_as_g_name_and_g_ops_name():
    assert G.ops.add is G.add
    assert G.add.__name__ == "add" and G.add.op is G.registry.op("add")
    assert "add" in dir(G.ops) and "add" in dir(G) and "Graph" in dir(G)


def test_op_not_found_is_an_attribute_error():
    with pytest.raises(OpNotFound, match="'nosuch_op'"):
        G.ops.nosuch_op
    assert isinstance(OpNotFound("x"), AttributeError)
    assert not hasattr(G.ops, "nosuch_op")
    assert getattr(G, "nosuch_op", "fallback") == "fallback"
    assert not hasattr(G.ops, "__wrapped__") and not hasattr(G, "__wrapped__")
