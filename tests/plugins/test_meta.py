"""Meta-tests: every hook a plugin can implement is documented and tested, and every op
of our own plugin distributions has conformance samples."""

import inspect
from importlib import metadata
from pathlib import Path

import pytest

from gorgon import hookspecs
from gorgon.registry import registry
from gorgon.testing import require_samples

TESTS = Path(__file__).resolve().parents[1]
GUIDE = TESTS.parent / "docs" / "writing-plugins.md"
HOOKS = sorted(name for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
               if hasattr(function, f"{hookspecs.PROJECT}_spec"))
OUR_PLUGINS = {"gorgon-ops-core": "core", "gorgon-ops-nn": "nn", "gorgon-ops-conv": "conv"}


def installed(distribution: str) -> bool:
    try:
        metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        return False
    return True


def test_the_hooks_are_found():
    assert {"register_ops", "register_samples"} <= set(HOOKS)


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented(hook):
    doc = inspect.getdoc(getattr(hookspecs, hook)) or ""
    assert "register(" in doc and len(doc.split()) >= 20, f"{hook}: say how to call register"
    assert f"`{hook}`" in GUIDE.read_text(), f"docs/writing-plugins.md does not mention {hook}"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_tested(hook):
    users = [path for path in TESTS.rglob("test_*.py")
             if path != Path(__file__).resolve() and f"def {hook}(" in path.read_text()]
    assert users, f"no test implements the hook {hook} in a plugin"


@pytest.mark.parametrize("distribution", sorted(OUR_PLUGINS))
def test_our_plugins_load_cleanly_and_every_op_has_samples(distribution):
    if not installed(distribution):
        pytest.skip(f"{distribution} is not installed")
    registry.load()
    info = registry.plugins[OUR_PLUGINS[distribution]]
    assert info.distribution == distribution and info.failures == []
    assert info.ops
    require_samples(info.ops)
