"""The data-parallel examples, run as their docstrings say: two ranks print what one
process prints."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def without_rank_count(text: str) -> list[str]:
    return [line.rsplit("(", 1)[0].rstrip() for line in text.splitlines()]


def test_the_mlp_example_on_two_ranks_prints_what_one_process_prints(mpirun):
    script = EXAMPLES / "train_mlp_dist.py"
    alone = subprocess.run([sys.executable, str(script), "--epochs", "2"], capture_output=True, text=True,
                           timeout=60, check=False)
    pair = mpirun(2, script, "--epochs", "2", launcher=False)
    assert alone.returncode == 0 and pair.returncode == 0, alone.stderr + pair.stderr
    assert pair.stdout.splitlines()[-1].endswith("(2 ranks)")
    assert without_rank_count(pair.stdout) == without_rank_count(alone.stdout)
    assert len(alone.stdout.splitlines()) == 2


def test_the_digits_cnn_on_two_ranks_reaches_the_single_process_accuracy(mpirun):
    pytest.importorskip("sklearn", reason="the examples extra installs scikit-learn")
    sys.path.insert(0, str(EXAMPLES))
    import digits_cnn

    _, history, accuracy = digits_cnn.train(epochs=1, quiet=True)
    pair = mpirun(2, EXAMPLES / "digits_cnn_dist.py", "--epochs", "1")
    assert pair.returncode == 0, pair.stderr
    assert f"held-out test accuracy {accuracy:.2%} after 1 epochs on 2 ranks" in pair.stdout
    assert f"loss {history[0]['loss']:.4f}" in pair.stdout
