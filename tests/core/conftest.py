"""Shared helpers of the core suite: fake plugin distributions on sys.path, and a
helper that says whether an op is installed."""

import importlib
import itertools
import textwrap

import pytest

from gorgon.registry import registry

_counter = itertools.count()


def has_ops(*names: str) -> bool:
    """Whether every named op is registered by the installed plugins."""
    registry.load()
    return all(name in registry.ops for name in names)


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
def needs_ops():
    """Call with op names: skips the test only when one of them is not registered yet."""

    def check(*names: str) -> None:
        missing = [name for name in names if not has_ops(name)]
        if missing:
            pytest.skip(f"ops not registered yet: {', '.join(missing)}")

    return check
