"""Turns on gorgon's conformance kit for pytest: the `gorgon_conformance` marker."""

pytest_plugins = ["gorgon.testing.pytest_plugin"]
