"""Graph pictures: the DOT text has a legend and labels the gradients G.grad returned
(`d cost / d wrt`); nodes and graphs draw themselves in Jupyter through Graphviz
(`_repr_svg_`), and return None without it so that the text repr shows."""

import numpy as np
import pytest

import gorgon as G
from gorgon.dot import graph_to_dot, node_to_dot, render, svg


def small_graph():
    g = G.Graph()
    x = G.vector(g, G.Float64, 3, name="x", value=np.ones(3))
    w = G.vector(g, G.Float64, 3, name="w", value=np.ones(3))
    hidden = G.tanh(x * w, name="hidden")
    loss = G.sum(hidden * hidden, name="loss")
    dw, dx = G.grad(loss, w, x)
    (ddx,) = G.grad(G.sum(dx, name="total"), x)
    return g, hidden, loss, dw, dx, ddx


def fake_graphviz(tmp_path, monkeypatch, script):
    program = tmp_path / "dot"
    program.write_text("#!/bin/sh\n" + script)
    program.chmod(0o755)
    monkeypatch.setattr("gorgon.dot.shutil.which", lambda name: str(program))


def test_the_dot_text_labels_every_returned_gradient_and_has_a_legend():
    g, hidden, loss, dw, dx, ddx = small_graph()
    dot = g.to_dot()
    assert f'n{dw.id} [label="d loss / d w\\n{dw.name}' in dot
    assert f'n{dx.id} [label="d loss / d x\\n{dx.name}' in dot
    assert f'n{ddx.id} [label="d total / d x\\n{ddx.name}' in dot
    assert "subgraph cluster_legend" in dot and "node G.grad built" in dot
    assert "cluster_legend" not in graph_to_dot(g, legend=False)


def test_a_nodes_picture_holds_only_what_it_depends_on():
    g, hidden, loss, dw, dx, ddx = small_graph()
    dot = node_to_dot(hidden)
    assert f"n{hidden.id} " in dot and "x\\ninput" in dot and "w\\ninput" in dot
    assert f"n{loss.id} " not in dot and "d loss" not in dot.split("cluster_legend")[0]


def test_without_graphviz_repr_svg_is_none_and_the_text_repr_remains(monkeypatch):
    monkeypatch.setattr("gorgon.dot.shutil.which", lambda name: None)
    g, hidden, *_ = small_graph()
    assert g._repr_svg_() is None and hidden._repr_svg_() is None
    assert render(g.to_dot(), "png") is None
    assert repr(hidden).startswith("<Node hidden: tanh (3,) float64")
    assert repr(g) == f"<Graph {len(g.nodes)} nodes>"


def test_with_graphviz_nodes_and_graphs_render_as_svg(tmp_path, monkeypatch):
    fake_graphviz(tmp_path, monkeypatch, 'echo "<svg format=$1>"; wc -l; echo "</svg>"\n')
    g, hidden, *_ = small_graph()
    picture = g._repr_svg_()
    assert picture.startswith("<svg format=-Tsvg>") and picture.rstrip().endswith("</svg>")
    lines = int(picture.splitlines()[1])
    assert lines == g.to_dot().count("\n")
    assert int(hidden._repr_svg_().splitlines()[1]) == node_to_dot(hidden).count("\n")
    assert render("digraph {}", "png").startswith(b"<svg format=-Tpng>")


def test_a_failing_graphviz_is_an_error_to_render_and_none_to_jupyter(tmp_path, monkeypatch):
    fake_graphviz(tmp_path, monkeypatch, 'echo "syntax error in line 1" >&2; exit 1\n')
    expected = "Graphviz could not render the graph as png: syntax error"
    with pytest.raises(G.GorgonError, match=expected):
        render("digraph {", "png")
    assert svg("digraph {") is None
