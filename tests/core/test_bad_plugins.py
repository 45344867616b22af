"""Bad plugins, installed for real (fake distributions with entry points on sys.path): each
gets a PluginError that names its distribution, and every other plugin still works."""

import os
import subprocess
import sys

import numpy as np

import gorgon as G
from gorgon.errors import PluginError
from gorgon.registry import Registry

THIEF = '''
import numpy as np
import gorgon as G
from gorgon.infer import elementwise


class Add(G.Op):
    name = "add"

    def infer(self, x, y):
        return elementwise(self, x, y)

    def forward(self, x, y, out=None):
        return np.subtract(x, y, out=out)


@G.hookimpl
def register_ops(register):
    register(Add)
'''

NOT_AN_OP = '''
import gorgon as G


@G.hookimpl
def register_ops(register):
    register(len)
'''

REWRITES = '''
import gorgon as G


def never(term, ctx):
    """A rule that never applies."""
    return None


@G.hookimpl
def register_rewrites(register):
    register("never", never)
    register("never", never)
    register("not_a_rule", 42)
'''


def still_works(reg: Registry) -> None:
    """The core plugin's ops, through `reg`, build, run and differentiate."""
    g = G.Graph()
    x = G.vector(g, G.Float64, shape=(3,), name="x", value=np.array([1.0, 2.0, 3.0]))
    y = reg.function("sum")(reg.function("mul")(x, x))
    (dx,) = G.grad(y, x)
    G.TapeMachine(g).run_all()
    assert y.value == 14.0 and dx.value.tolist() == [2.0, 4.0, 6.0]


def test_a_plugin_raising_on_import_gets_a_plugin_error_naming_its_distribution(fake_plugin):
    module = fake_plugin("broken", "import numpy\nraise RuntimeError('boom at import')\n",
                         dist="gorgon-ops-broken", version="2.0")
    reg = Registry()
    reg.load()
    (failure,) = reg.plugins["broken"].failures
    assert isinstance(failure, PluginError) and isinstance(failure.__cause__, RuntimeError)
    assert str(failure).startswith("plugin 'broken' (gorgon-ops-broken) failed to load: "
                                   "RuntimeError: boom at import (at ")
    assert str(failure).endswith(f"{module}.py:2)")
    still_works(reg)


def test_an_op_name_already_taken_is_a_plugin_error_naming_both_distributions(fake_plugin):
    fake_plugin("thief", THIEF, dist="gorgon-ops-thief")
    reg = Registry()
    reg.load()
    (failure,) = reg.plugins["thief"].failures
    assert ("'add' is registered by two plugins: 'core' (gorgon-ops-core) and "
            "'thief' (gorgon-ops-thief)") in str(failure)
    assert reg.plugins["core"].failures == [failure]
    still_works(reg)


def test_registering_what_is_not_an_op_is_a_plugin_error_naming_the_distribution(fake_plugin):
    fake_plugin("notop", NOT_AN_OP, dist="gorgon-ops-notop")
    reg = Registry()
    reg.load()
    (failure,) = reg.plugins["notop"].failures
    assert str(failure) == ("plugin 'notop' (gorgon-ops-notop) registered <built-in function len>, "
                            "which is not a subclass of gorgon.Op")
    still_works(reg)


def test_register_rewrites_keeps_good_rules_and_names_the_distribution_of_bad_ones(fake_plugin):
    fake_plugin("rules", REWRITES, dist="gorgon-rules")
    reg = Registry()
    names = [name for name, _ in reg.rewrite_rules()]
    assert "never" not in names and "not_a_rule" not in names
    twice, not_callable = map(str, reg.plugins["rules"].failures)
    assert twice == "rewrite 'never' is registered twice by plugin 'rules' (gorgon-rules); it is not used"
    assert not_callable == ("plugin 'rules' (gorgon-rules) registered rewrite 'not_a_rule' as 42: "
                            "expected a callable rule")


def test_plugins_command_lists_every_failing_plugin_with_its_error(fake_plugin, tmp_path):
    fake_plugin("broken", "raise ImportError('no such dependency')\n", dist="gorgon-ops-broken")
    fake_plugin("thief", THIEF, dist="gorgon-ops-thief")
    fake_plugin("notop", NOT_AN_OP, dist="gorgon-ops-notop")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GORGON_")}
    env["PYTHONPATH"] = str(tmp_path)
    done = subprocess.run([sys.executable, "-m", "gorgon", "plugins"], capture_output=True,
                          text=True, env=env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    errors = [line for line in lines if line.startswith("  ERROR: ")]
    assert len(errors) == 4  # the op clash is an error of both plugins, core and thief
    for dist in ("gorgon-ops-broken", "gorgon-ops-thief", "gorgon-ops-notop"):
        assert any(f"({dist})" in line for line in errors), dist
    assert "broken: gorgon-ops-broken 0.1 (0 ops)" in lines
    assert any(line.startswith("  ops: ") and " mul " in line for line in lines)
    assert lines[-1].endswith("ops in all; 4 plugins with errors")
