"""`python -m gorgon plugins`: installed plugins, versions and ops, and load errors."""

import os
import subprocess
import sys

import pytest

import gorgon.__main__ as cli
from gorgon.registry import Registry


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gorgon", *args], capture_output=True, text=True,
                          env=dict(os.environ, **env))


def test_plugins_lists_the_installed_core_plugin_and_its_ops():
    done = run_cli("plugins")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("core: gorgon-ops-core "))
    ops_line = lines[header + 1]
    assert ops_line.strip().startswith("ops:")
    assert {"add", "mul", "tanh", "where"} <= set(ops_line.split())
    assert lines[-1].endswith("ops in all")


def test_plugins_with_every_plugin_disabled():
    done = run_cli("plugins", GORGON_PLUGINS="")
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert "core: gorgon-ops-core (not loaded: left out by GORGON_PLUGINS='')" in lines
    assert lines[-2].startswith("ERROR: GORGON_PLUGINS is set but empty, so no plugin is loaded "
                                "(installed plugins: ")
    assert lines[-1] == "0 ops in all"


def test_main_reports_a_broken_plugin(fake_plugin, monkeypatch, capsys):
    fake_plugin("broken", "raise ImportError('missing dependency')\n", dist="fake-broken")
    monkeypatch.setattr(cli, "registry", Registry())
    assert cli.main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "broken: fake-broken 0.1 (0 ops)" in out
    assert "  ERROR: plugin 'broken' (fake-broken) failed to load: ImportError: missing dependency" in out
    assert out.splitlines()[-1].endswith("ops in all; 1 plugin with errors")


def test_main_needs_a_command(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main([])
    assert info.value.code == 2
    assert "plugins" in capsys.readouterr().err


def test_main_with_no_plugin_installed(monkeypatch, capsys):
    monkeypatch.setattr(cli, "registry", Registry(group="gorgon_no_such_group"))
    assert cli.main(["plugins"]) == 0
    assert capsys.readouterr().out == "no gorgon plugins installed\n0 ops in all\n"
