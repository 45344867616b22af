"""Shared helpers of the core suite: whether an op is installed (fake plugin
distributions come from tests/conftest.py)."""

import pytest

from gorgon.registry import registry


def has_ops(*names: str) -> bool:
    """Whether every named op is registered by the installed plugins."""
    registry.load()
    return all(name in registry.ops for name in names)


@pytest.fixture
def needs_ops():
    """Call with op names: skips the test only when one of them is not registered yet."""

    def check(*names: str) -> None:
        missing = [name for name in names if not has_ops(name)]
        if missing:
            pytest.skip(f"ops not registered yet: {', '.join(missing)}")

    return check
