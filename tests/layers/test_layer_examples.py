"""The gorgon_layers examples run, small and fast, and do what the README says."""

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
sys.path.insert(0, str(EXAMPLES))


def test_digits_layers_trains_reports_each_epoch_and_loads_back_in_a_fresh_process(tmp_path, capsys):
    pytest.importorskip("sklearn", reason="the examples extra installs scikit-learn")
    import digits_layers

    stream = io.StringIO()
    model, history, accuracy = digits_layers.train(epochs=3, stream=stream, limit=640)
    assert history["loss"][2] < history["loss"][1] < history["loss"][0] and accuracy > 0.6
    assert stream.getvalue().count("val_accuracy") == 3
    path = tmp_path / "digits.gorgon"
    model.save(path)
    fresh = subprocess.run([sys.executable, str(EXAMPLES / "digits_layers.py"), "--predict", str(path)],
                           check=True, capture_output=True, text=True).stdout
    expected = model.predict(digits_layers.load_digits()[2]).argmax(1)
    np.testing.assert_array_equal(np.array(fresh.split(), int), expected)


def test_digits_layers_command_line(tmp_path, capsys):
    pytest.importorskip("sklearn", reason="the examples extra installs scikit-learn")
    import digits_layers

    digits_layers.main(["--epochs", "1", "--save", str(tmp_path / "m.gorgon")])
    out = capsys.readouterr().out
    assert "total" in out and "epoch 1/1  loss" in out and "held-out test accuracy" in out
    assert (tmp_path / "m.gorgon").exists()
    digits_layers.main(["--predict", str(tmp_path / "m.gorgon")])
    assert len(capsys.readouterr().out.split()) == 360


def test_digits_resnet_learns_and_saves_its_custom_block(tmp_path):
    pytest.importorskip("sklearn", reason="the examples extra installs scikit-learn")
    import digits_resnet
    import gorgon_layers as nn

    model, history, accuracy = digits_resnet.train(epochs=4, channels=8, blocks=1, quiet=True, limit=640)
    assert history["loss"][3] < history["loss"][2] < history["loss"][1] < history["loss"][0] and accuracy > 0.4  # chance: 0.1
    model.save(tmp_path / "resnet.gorgon")
    loaded = nn.load(tmp_path / "resnet.gorgon")
    assert type(loaded[3]).__name__ == "ResidualBlock"
    x = digits_resnet.load_digits()[2][:20]
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_char_rnn_layers_learns_over_lengths_with_one_machine_each():
    import char_rnn_layers

    lines = []
    model, before, after = char_rnn_layers.train(steps=60, hidden=32, lengths=(6, 10), log=lines.append)
    assert after < before - 0.5 and len(lines) == 1
    assert {key[1][1] for key in model._cache if key[0] == "train"} == {6, 10}
    text = model.sample("the ", 10)
    assert text.startswith("the ") and len(text) == 14 and set(text) <= set(model.vocabulary)


def test_iris_trainer_fits_with_early_stopping_and_a_plateau_schedule(capsys):
    pytest.importorskip("sklearn", reason="the examples extra installs scikit-learn")
    import iris_trainer

    history, result = iris_trainer.train(epochs=60)
    assert result["accuracy"] >= 0.9 and history["loss"][-1] < history["loss"][0]
    iris_trainer.main(["--epochs", "3"])
    assert "3 epochs; validation loss" in capsys.readouterr().out
