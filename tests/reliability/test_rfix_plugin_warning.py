"""`G.PluginWarning` is public: exported by gorgon, in its __all__, a UserWarning, the very
class the registry warns with, and named in the README's error list."""

import warnings
from pathlib import Path

import pytest

import gorgon as G
from gorgon.registry import PluginWarning, Registry

README = Path(__file__).resolve().parents[2] / "README.md"


def test_plugin_warning_is_exported_and_documented():
    assert "PluginWarning" in G.__all__
    assert G.PluginWarning is PluginWarning and issubclass(G.PluginWarning, UserWarning)
    assert not issubclass(G.PluginWarning, G.GorgonError)
    assert "`G.PluginWarning`" in README.read_text()


def test_a_selection_that_selects_nothing_warns_with_g_plugin_warning(monkeypatch):
    monkeypatch.setenv("GORGON_PLUGINS", "cor")
    with pytest.warns(G.PluginWarning, match="GORGON_PLUGINS='cor' names 'cor'"):
        Registry().load()
    with warnings.catch_warnings():
        warnings.simplefilter("error", G.PluginWarning)
        monkeypatch.delenv("GORGON_PLUGINS")
        Registry().load()
