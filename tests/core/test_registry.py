"""The plugin registry, over real entry points: fake distributions written to a
temporary directory on sys.path, discovered by a fresh `Registry()`."""

import os
import subprocess
import sys
import types

import pytest

import gorgon as G
from gorgon.errors import OpNotFound, PluginError
from gorgon.registry import Registry

TWICE = '''
import numpy as np
import gorgon as G
from gorgon.infer import elementwise


class Twice(G.Op):
    """2 * x."""

    name = "{name}"

    def infer(self, x):
        return elementwise(self, x, floats_only=True)

    def forward(self, x, out=None):
        return np.multiply(x, 2.0, out=out)

    def vjp(self, inputs, output, gy):
        return (gy * 2.0,)


@G.hookimpl
def register_ops(register):
    register(Twice)
'''


def twice_source(name: str = "twice") -> str:
    return TWICE.replace("{name}", name)


def test_good_plugin_is_discovered_and_its_op_runs(fake_plugin):
    fake_plugin("good", twice_source(), dist="fake-good", version="1.2")
    reg = Registry()
    reg.load()
    info = reg.plugins["good"]
    assert (info.distribution, info.version, info.ops, info.error) == ("fake-good", "1.2", ["twice"], None)
    assert "add" in reg.ops  # the installed gorgon_ops_core loads beside it
    assert reg.function("twice") is reg.function("twice")
    g = G.Graph()
    x = G.scalar(g, G.Float64, name="x", value=3.0)
    y = reg.function("twice")(x)
    (dx,) = G.grad(y, x)
    G.TapeMachine(g).run_all()
    assert (y.value, dx.value) == (6.0, 2.0)


def test_plugin_failing_at_import_is_recorded_and_others_load(fake_plugin):
    fake_plugin("good", twice_source())
    fake_plugin("broken", "raise RuntimeError('boom at import')\n", dist="fake-broken")
    reg = Registry()
    reg.load()
    assert "boom at import" in reg.plugins["broken"].error
    assert reg.plugins["broken"].ops == []
    assert "twice" in reg.ops and "add" in reg.ops
    with pytest.raises(OpNotFound) as info:
        reg.op("nosuch")
    message = str(info.value)
    assert "'nosuch'" in message and "'broken'" in message and "fake-broken" in message
    assert any("broken (fake-broken)" in line and "boom" in line for line in reg.errors())


def test_importing_gorgon_survives_a_broken_plugin(fake_plugin, tmp_path):
    fake_plugin("broken", "raise RuntimeError('boom at import')\n")
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    code = "import gorgon as G; print(G.add.__name__); print(G.registry.errors())"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("add\n") and "boom at import" in done.stdout


def test_one_op_name_from_two_plugins_is_an_error_naming_both(fake_plugin):
    fake_plugin("one", twice_source("twin"), dist="fake-one")
    fake_plugin("two", twice_source("twin"), dist="fake-two")
    reg = Registry()
    with pytest.raises(PluginError) as info:
        reg.op("twin")
    message = str(info.value)
    for part in ("'twin'", "'one'", "fake-one", "'two'", "fake-two"):
        assert part in message
    assert "twin" not in reg.ops
    assert reg.plugins["two"].error.startswith("PluginError")
    assert reg.op("add").name == "add"


def test_registering_what_is_not_an_op_is_recorded(fake_plugin):
    source = twice_source().replace("    register(Twice)", """    register(object)
    register(len)
    register(BadName)
    register(Twice)


class BadName(G.Op):
    name = "not an identifier"


@G.hookimpl
def register_samples(register):
    register("twice", list)""")
    fake_plugin("mixed", source)
    reg = Registry()
    reg.load()
    error = reg.plugins["mixed"].error
    assert "<class 'object'>" in error and "not a subclass of gorgon.Op" in error
    assert "len" in error and "'not an identifier'" in error
    assert reg.plugins["mixed"].ops == ["twice"]
    assert reg.samples["twice"]() == []


def test_a_hook_that_raises_or_a_wrong_hook_name_is_recorded(fake_plugin):
    fake_plugin("raising", '''
import gorgon as G


@G.hookimpl
def register_ops(register):
    raise ValueError("cannot register")
''')
    fake_plugin("misnamed", '''
import gorgon as G


@G.hookimpl
def register_opz(register):
    pass
''')
    reg = Registry()
    reg.load()
    assert "ValueError: cannot register" in reg.plugins["raising"].error
    assert "register_opz" in reg.plugins["misnamed"].error
    assert "add" in reg.ops


def test_gorgon_plugins_restricts_and_gorgon_disable_plugins_blocks(fake_plugin, monkeypatch):
    fake_plugin("good", twice_source())
    monkeypatch.setenv("GORGON_PLUGINS", " good , ")
    only = Registry()
    only.load()
    assert list(only.plugins) == ["good"] and "add" not in only.ops
    monkeypatch.delenv("GORGON_PLUGINS")
    monkeypatch.setenv("GORGON_DISABLE_PLUGINS", "good")
    blocked = Registry()
    blocked.load()
    assert "good" not in blocked.plugins and "add" in blocked.ops
    with pytest.raises(OpNotFound, match="'twice'"):
        blocked.op("twice")


def extra_module(name: str) -> types.ModuleType:
    module = types.ModuleType(f"extra_{name}")
    namespace: dict = {}
    exec(twice_source(name), namespace)
    module.register_ops = namespace["register_ops"]
    return module


def test_add_plugin_before_and_after_loading(monkeypatch):
    monkeypatch.setenv("GORGON_PLUGINS", "")
    reg = Registry()
    pending = reg.add_plugin(extra_module("early"), "early")
    assert pending.ops == [] and reg.ops == {}
    assert reg.op("early").name == "early"
    assert reg.plugins["early"].distribution == "(added at run time)"
    late = reg.add_plugin(extra_module("late"), "late")
    assert late.ops == ["late"] and reg.op("late").name == "late"
    reg.reload()
    assert reg.plugins == {} and reg.ops == {}


def test_op_not_found_names_the_distribution_that_provides_it(monkeypatch):
    monkeypatch.setenv("GORGON_PLUGINS", "none-at-all")
    fresh = Registry()
    with pytest.raises(OpNotFound, match="'conv2d'.*gorgon-ops-conv"):
        fresh.op("conv2d")
    with pytest.raises(OpNotFound) as info:
        fresh.op("no_such_op_anywhere")
    assert "distribution" not in str(info.value)
