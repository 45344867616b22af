"""TapeMachine.memory(): buffers, bytes, sharing, lifetimes, the peak, the picture."""

import numpy as np
import pytest

import gorgon as G
from gorgon.compile import EXEC


def chain(readable="lean"):
    """x -> exp -> sin -> cos -> sum, whose middle buffers the passes may share."""
    g = G.Graph()
    x = G.vector(g, G.Float64, 1000, name="x", value=np.linspace(0, 1, 1000))
    a = G.exp(x)
    b = G.sin(a)
    c = G.cos(b)
    total = G.sum(c, name="total")
    return g, G.TapeMachine(g, readable=readable)


def test_buffers_bytes_and_total_match_the_program():
    g, m = chain("all")
    plan = m.memory()
    assert plan.total == m.program.buffer_bytes
    assert len(plan.buffers) == sum(1 for ins in m.program.instructions if ins.kind == "alloc")
    assert sorted(b.bytes for b in plan.buffers) == [8, 8000, 8000, 8000]
    assert all(b.kept for b in plan.buffers)
    assert plan.peak == plan.total


def test_shared_buffers_list_every_node_and_live_from_first_write_to_last_read():
    g, m = chain("lean")
    plan = m.memory()
    shared = [b for b in plan.buffers if len(b.nodes) > 1]
    assert shared, str(m.program)
    instructions = m.program.instructions
    for b in plan.buffers:
        writers = [i for i, ins in enumerate(instructions) if ins.kind == EXEC and ins.out == b.register]
        readers = [i for i, ins in enumerate(instructions) if b.register in ins.args]
        assert b.nodes == tuple(instructions[i].term.name for i in writers)
        assert b.first == writers[0]
        assert b.last == (len(instructions) - 1 if b.kept else max(writers + readers))
    total = next(b for b in plan.buffers if b.nodes[-1] == "total")
    assert total.kept and total.last == len(instructions) - 1
    assert plan.peak <= plan.total
    live = plan.live()
    assert len(live) == len(instructions) and max(live) == plan.peak and live[plan.peak_at] == plan.peak


def test_lean_sharing_lowers_the_peak_below_the_default():
    g, lean = chain("lean")
    _, full = chain("all")
    assert lean.memory().total < full.memory().total
    assert lean.memory().peak <= full.memory().peak


def test_view_keeps_its_base_alive():
    g = G.Graph()
    x = G.matrix(g, G.Float64, (4, 5), name="x", value=np.ones((4, 5)))
    e = G.exp(x)
    t = G.transpose(e)
    y = G.sum(G.sin(t), name="y")
    m = G.TapeMachine(g, readable="lean")
    plan = m.memory()
    instructions = m.program.instructions
    views = [i for i, ins in enumerate(instructions) if ins.kind == "view"]
    if not views:
        pytest.skip("this transpose is not compiled as a view")
    view = instructions[views[0]]
    base = next(b for b in plan.buffers if b.register == view.args[0])
    readers = [i for i, ins in enumerate(instructions) if view.out in ins.args]
    assert base.last >= max(readers)


def test_table_names_every_buffer_and_the_peak():
    g, m = chain("lean")
    plan = m.memory()
    text = str(plan)
    assert text.startswith(f"memory: {len(plan.buffers)} buffers, {plan.total} bytes allocated, peak {plan.peak}")
    for b in plan.buffers:
        assert f"r{b.register}" in text


def test_draw_saves_a_picture(tmp_path):
    pytest.importorskip("matplotlib")
    g, m = chain("lean")
    path = tmp_path / "plan.png"
    figure = m.memory().draw(path)
    assert path.stat().st_size > 1000
    assert len(figure.axes) == 2


def test_draw_without_matplotlib_says_what_to_install(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    g, m = chain("lean")
    with pytest.raises(G.GorgonError, match="matplotlib"):
        m.memory().draw()
