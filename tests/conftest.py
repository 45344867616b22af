"""Shared by every suite: fake plugin distributions on sys.path, and the example plugin
distribution installed into this interpreter."""

import importlib
import itertools
import json
import site
import subprocess
import sys
import sysconfig
import textwrap
from importlib import metadata
from pathlib import Path

import pytest

from gorgon.registry import registry

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "gorgon-ops-example"
INSTALL_EXAMPLE = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                   "--no-build-isolation", "--config-settings", "editable_mode=compat",
                   "--editable", str(EXAMPLE)]
_counter = itertools.count()


def installed_from(distribution: str) -> str | None:
    """The URL an installed distribution was installed from; None when it is not installed."""
    try:
        found = metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        return None
    return json.loads(found.read_text("direct_url.json") or "{}").get("url")


@pytest.fixture(scope="session")
def example_plugin() -> Path:
    """examples/gorgon-ops-example installed editable from this checkout (unless it already
    is), with --no-deps and no build isolation, so pip never asks the package index for
    anything. New interpreters see it; this one gets its path too."""
    if installed_from("gorgon-ops-example") != EXAMPLE.as_uri():
        done = subprocess.run(INSTALL_EXAMPLE, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        site.addsitedir(sysconfig.get_paths()["purelib"])
    return EXAMPLE


@pytest.fixture
def fake_plugin(tmp_path, monkeypatch):
    """Write a fake distribution (dist-info with an entry point in the group `gorgon`
    and its plugin module) into a directory on sys.path; return the module's name. The
    global registry loads first, so fake plugins only ever reach fresh registries."""
    registry.load()
    monkeypatch.delenv("GORGON_PLUGINS", raising=False)
    monkeypatch.delenv("GORGON_DISABLE_PLUGINS", raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))

    def make(entry: str, source: str, dist: str | None = None, version: str = "0.1") -> str:
        module = f"gorgon_fake_{entry}_{next(_counter)}"
        dist = dist or f"fake-{entry}"
        (tmp_path / f"{module}.py").write_text(textwrap.dedent(source))
        info = tmp_path / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        (info / "entry_points.txt").write_text(f"[gorgon]\n{entry} = {module}\n")
        importlib.invalidate_caches()
        return module

    return make


@pytest.fixture
def backend_plugin(monkeypatch):
    """`install(name, {op_name: make_kernel, ...})`: add a test plugin named `name` that
    registers those kernels under backend `name` (or `install(name, plugin)`: a plugin
    object of its own) to the global registry, with GORGON_BACKENDS unset and the
    backends' kernel cache cleared; the registry is reloaded afterwards."""
    import gorgon as G
    from gorgon import backends

    monkeypatch.delenv("GORGON_BACKENDS", raising=False)

    def install(name: str, kernels) -> None:
        class Plugin:
            @G.hookimpl
            def register_kernels(register):
                for op_name, make in kernels.items():
                    register(op_name, name, make)

        registry.add_plugin(Plugin if isinstance(kernels, dict) else kernels, name)
        backends.forget()

    yield install
    registry.reload()
