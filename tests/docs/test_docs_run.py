"""The docs cannot rot: every docs/*.md and the README run (their python blocks in
order, in a fresh interpreter and an empty directory, with the example plugin
installed), and the plugin guide shows every file of examples/gorgon-ops-example
exactly as it is."""

import subprocess
import sys
from pathlib import Path

import pytest

from doc_blocks import blocks, files

REPO = Path(__file__).resolve().parents[2]
DOCS = sorted((REPO / "docs").glob("*.md")) + [REPO / "README.md"]
GUIDE = REPO / "docs" / "writing-plugins.md"
RUNNER = Path(__file__).with_name("doc_blocks.py")
LANGUAGES = {"python", "bash", "toml", "text", "go"}
BUILD_OUTPUTS = {"__pycache__", ".pytest_cache", "build"}


def test_the_docs_are_there():
    assert {"writing-plugins.md", "from-gorgonia.md"} <= {doc.name for doc in DOCS}


@pytest.mark.parametrize("doc", DOCS, ids=[doc.name for doc in DOCS])
def test_doc_runs(doc, example_plugin, tmp_path):
    done = subprocess.run([sys.executable, str(RUNNER), str(doc)], cwd=tmp_path,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    count = sum(block.language == "python" for block in blocks(doc.read_text()))
    assert count > 0 and done.stdout.endswith(f"ran {count} python blocks\n")


@pytest.mark.parametrize("doc", DOCS, ids=[doc.name for doc in DOCS])
def test_every_block_names_its_language(doc):
    languages = [block.language for block in blocks(doc.read_text())]
    assert set(languages) <= LANGUAGES, f"tag every block with one of {sorted(LANGUAGES)}"


def example_files(root: Path) -> dict[str, str]:
    """The source files of the example plugin, by path, without build outputs."""
    found = {}
    for path in sorted(root.rglob("*")):
        parts = path.relative_to(root).parts
        if path.is_file() and not any(p in BUILD_OUTPUTS or p.endswith(".egg-info") for p in parts):
            found["/".join(parts)] = path.read_text()
    return found


def test_the_guide_shows_every_file_of_the_example_plugin_exactly():
    shown = files(blocks(GUIDE.read_text()))
    real = example_files(REPO / "examples" / "gorgon-ops-example")
    assert sorted(shown) == sorted(real)
    for path, text in real.items():
        assert shown[path] == text, f"{path} differs from what docs/writing-plugins.md shows"


def test_the_guide_shows_the_pyproject_the_example_uses():
    (toml,) = [block for block in blocks(GUIDE.read_text()) if block.language == "toml"]
    assert toml.path == "pyproject.toml"
    assert toml.text == (REPO / "examples" / "gorgon-ops-example" / "pyproject.toml").read_text()
    assert '[project.entry-points.gorgon]\nexample = "gorgon_ops_example.plugin"' in toml.text


def test_a_block_left_open_is_an_error():
    with pytest.raises(ValueError, match="line 2: a code block is never closed"):
        blocks("text\n```python\nx = 1\n")
