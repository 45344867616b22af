"""gorgon's conformance kit on every op of this plugin: one test per (op, check, sample)."""

import pytest


@pytest.mark.gorgon_conformance(plugin="example")
def test_conformance(gorgon_check):
    gorgon_check()
