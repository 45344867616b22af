"""The main job draws its progress bar only on a terminal (tqdm), and the examples'
--help shows every default."""

import io
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True

def test_the_progress_bar_is_drawn_on_a_terminal_only(monkeypatch, capsys):
    pytest.importorskip("sklearn", reason="the examples extra installs scikit-learn")
    import digits_cnn

    digits_cnn.train(epochs=1, batch=32, limit=3)
    assert "batch" not in capsys.readouterr().err
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    digits_cnn.train(epochs=1, batch=32, limit=3)
    drawn = terminal.getvalue()
    assert "epoch 1" in drawn and "3/3" in drawn and "loss" in drawn and "\r" in drawn
    quiet = Terminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    digits_cnn.train(epochs=1, batch=32, limit=3, quiet=True)
    assert quiet.getvalue() == ""

@pytest.mark.parametrize("example, defaults", [
    ("digits_cnn", ["(default: 12)", "(default: 32)", "(default: digits_cnn.npz)"]),
    ("graph_picture", ["(default: graph.svg)"]),
])
def test_help_shows_the_defaults(example, defaults, capsys):
    if example == "digits_cnn":
        pytest.importorskip("sklearn", reason="the examples extra installs scikit-learn")
    module = __import__(example)
    with pytest.raises(SystemExit) as done:
        module.main(["--help"])
    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for default in defaults:
        assert default in text
