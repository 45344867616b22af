"""Each example runs, small and fast, and does what its README line says."""

import numpy as np
import pytest

import char_rnn
import graph_picture
import linear_regression
import seed


def test_seed_example_prints_the_listing_and_equal_gradients_on_both_machines(capsys):
    seed.main()
    out = capsys.readouterr().out
    assert out.startswith("Program:") and "loadArg  x" in out
    tape = out.split("TapeMachine  dw:")[1].splitlines()[0]
    lisp = out.split("LispMachine  w.grad:")[1].splitlines()[0]
    assert np.allclose(np.array(tape.strip(" []").split(), float), np.array(lisp.strip(" []").split(), float))


@pytest.mark.parametrize("kind", ["tape", "lisp"])
def test_linear_regression_recovers_the_true_weights(kind):
    w, b, mse = linear_regression.fit(kind, steps=150)
    np.testing.assert_allclose(w, linear_regression.TRUE_W, atol=0.01)
    assert abs(b - linear_regression.TRUE_B) < 0.01 and mse < 1e-3


def test_iris_models_learn():
    pytest.importorskip("sklearn", reason="the examples extra installs scikit-learn")
    import iris

    loss, accuracy = iris.train(hidden=None, epochs=60)
    assert loss < 0.3 and accuracy >= 0.9
    loss, accuracy = iris.train(hidden=8, epochs=60)
    assert loss < 0.3 and accuracy >= 0.85


def test_char_rnn_loss_falls_over_graphs_of_changing_length():
    lines = []
    model, before, after = char_rnn.train(steps=40, batch=8, hidden=32, log=lines.append)
    assert after < before - 0.5
    text = model.sample("the ", 20)
    assert text.startswith("the ") and len(text) == 24
    assert set(text) <= set(model.vocabulary)


@pytest.mark.parametrize("machine, says", [("tape", "programs (one per batch size)"), ("lisp", "held-out loss")])
def test_char_rnn_runs_on_either_machine(capsys, machine, says):
    char_rnn.main(["--steps", "2", "--machine", machine])
    out = capsys.readouterr().out
    assert says in out and "sample: the " in out


def test_graph_picture_is_dot_text_or_a_rendered_file(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("gorgon.dot.shutil.which", lambda name: None)
    graph_picture.main(["--output", str(tmp_path / "g.png")])
    out = capsys.readouterr()
    assert out.out.startswith("digraph gorgon") and "cross_entropy" in out.out and "matmul" in out.out
    assert "d loss / d w" in out.out and "cluster_legend" in out.out
    assert "Graphviz's `dot` program is not installed" in out.err and "g.png was not written" in out.err
    assert not (tmp_path / "g.png").exists()


def test_graph_picture_renders_through_graphviz_when_it_is_there(tmp_path, capsys, monkeypatch):
    fake_dot = tmp_path / "dot"
    fake_dot.write_text('#!/bin/sh\n# stands in for Graphviz: -T<format>, DOT on stdin, the picture on stdout\n'
                        'echo "$1"; cat\n')
    fake_dot.chmod(0o755)
    monkeypatch.setattr("gorgon.dot.shutil.which", lambda name: str(fake_dot))
    output = tmp_path / "g.png"
    graph_picture.main(["--output", str(output)])
    assert capsys.readouterr().out.strip() == f"wrote {output}"
    assert output.read_text().startswith("-Tpng\ndigraph gorgon")


def test_digits_cnn_trains_saves_and_plots(tmp_path, capsys):
    pytest.importorskip("sklearn", reason="the examples extra installs scikit-learn")
    import digits_cnn
    from gorgon_ops_nn import load

    model, history, accuracy = digits_cnn.train(epochs=2, batch=32, limit=25)
    assert history[1]["loss"] < history[0]["loss"] and accuracy > 0.8
    path = tmp_path / "params.npz"
    digits_cnn.save(path, model.params)
    saved = [p.value.copy() for p in model.params]
    for p in model.params:
        p.value[...] = 0
    load(path, model.params)
    for p, value in zip(model.params, saved):
        np.testing.assert_array_equal(p.value, value)
    pytest.importorskip("matplotlib", reason="the examples extra installs matplotlib")
    digits_cnn.plot(history, tmp_path / "curve.png")
    assert (tmp_path / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_digits_cnn_command_line(tmp_path, capsys):
    pytest.importorskip("sklearn", reason="the examples extra installs scikit-learn")
    import digits_cnn

    digits_cnn.main(["--epochs", "1", "--save", str(tmp_path / "p.npz")])
    out = capsys.readouterr()
    assert "epoch  1" in out.out and "held-out test accuracy" in out.out
    assert "batch" not in out.err and (tmp_path / "p.npz").exists()  # no bar into a non-terminal
