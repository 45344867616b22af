"""The Module API: parameters, buffers, state-dict names as PyTorch's, load_state_dict
checking everything first, train/eval, summary, custom modules, errors naming the module."""

import numpy as np
import pytest

import gorgon as G
import gorgon_layers as nn


@nn.register
class Residual(nn.Module):
    """A residual block: conv, batch norm, ReLU, conv, batch norm, plus the input."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x):
        h = G.relu(self.bn1(self.conv1(x)))
        return G.relu(x + self.bn2(self.conv2(h)))


class Scaled(nn.Module):
    """A custom parameter read as a node inside forward."""

    def __init__(self, width: int):
        super().__init__()
        self.scale = nn.Parameter(np.full(width, 2.0, np.float32))
        self.offset = nn.Buffer(np.ones(width, np.float32))

    def forward(self, x):
        assert isinstance(self.scale, G.Node)
        return x * self.scale + self.offset


def model():
    nn.seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), Residual(4), nn.Flatten(), nn.Linear(64, 3))


def test_state_dict_names_follow_pytorch():
    names = list(model().state_dict())
    assert names[:2] == ["0.weight", "0.bias"]
    assert "1.conv1.weight" in names and "1.bn1.running_mean" in names and "1.bn1.num_batches_tracked" in names
    assert "1.conv1.bias" not in names and names[-2:] == ["3.weight", "3.bias"]
    assert model()[3].weight.shape == (3, 64)  # Linear is (out, in)


def test_parameters_and_buffers():
    m = model()
    named = dict(m.named_parameters())
    assert list(named) == ["0.weight", "0.bias", "1.conv1.weight", "1.bn1.weight", "1.bn1.bias",
                           "1.conv2.weight", "1.bn2.weight", "1.bn2.bias", "3.weight", "3.bias"]
    assert all(a is b for a, b in zip(m.parameters(), named.values()))
    assert [n for n, _ in m.named_buffers()] == [f"1.bn{i}.{b}" for i in (1, 2)
                                                 for b in ("running_mean", "running_var", "num_batches_tracked")]
    assert len(m.buffers()) == 6


def test_a_shared_module_counts_its_parameters_once():
    layer = nn.Linear(3, 3)
    m = nn.Sequential(layer, nn.ReLU(), layer)
    assert len(m.parameters()) == 2
    g = G.Graph()
    out = m(G.tensor(g, G.Float32, (2, 3), value=np.ones((2, 3), np.float32)))
    assert out.shape == (2, 3) and len(m.parameter_nodes(g)) == 2


def test_custom_parameter_is_a_node_in_forward_and_an_array_outside():
    m = Scaled(3)
    assert isinstance(m.scale, np.ndarray)
    g = G.Graph()
    out = m(G.tensor(g, G.Float32, (2, 3), value=np.ones((2, 3), np.float32)))
    G.TapeMachine(g).run_all()
    np.testing.assert_array_equal(out.value, np.full((2, 3), 3.0))
    assert [n.name for n in m.parameter_nodes(g)] == ["scale"]


def test_load_state_dict_lists_every_problem_and_changes_nothing():
    m = model()
    before = m.state_dict()
    bad = dict(before)
    del bad["0.bias"]
    bad["extra.weight"] = np.zeros(2)
    bad["3.weight"] = np.zeros((64, 3))
    bad["0.weight"] = np.full(before["0.weight"].shape, 7.0)  # would fit
    with pytest.raises(G.GorgonError) as error:
        m.load_state_dict(bad)
    message = str(error.value)
    assert "missing entries ['0.bias']" in message and "unexpected entries ['extra.weight']" in message
    assert "'3.weight' has shape (64, 3), the model's is (3, 64)" in message
    for name, value in m.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_load_state_dict_not_strict_and_dtype_checked():
    m = model()
    result = m.load_state_dict({"3.bias": np.ones(3)}, strict=False)
    np.testing.assert_array_equal(m[3].bias, np.ones(3))
    assert "0.weight" in result["missing"] and result["unexpected"] == []
    bn = nn.BatchNorm1d(2)
    state = bn.state_dict()
    with pytest.raises(G.GorgonError, match="'num_batches_tracked' has dtype float64, the model's is int64"):
        bn.load_state_dict({**state, "num_batches_tracked": np.array(1.5), "running_mean": np.ones(2)})
    np.testing.assert_array_equal(bn.running_mean, np.zeros(2))


def test_load_state_dict_writes_in_place_so_built_graphs_see_it():
    m = nn.Linear(2, 1)
    g = G.Graph()
    out = m(G.tensor(g, G.Float32, (1, 2), value=np.ones((1, 2), np.float32)))
    machine = G.TapeMachine(g)
    m.load_state_dict({"weight": np.array([[1.0, 2.0]]), "bias": np.array([0.5])})
    machine.run_all()
    assert out.value[0, 0] == pytest.approx(3.5)


def test_train_and_eval_set_every_module_and_the_graph_mode():
    m = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    m.eval()
    assert not any(module.training for module in m.modules())
    g = G.Graph()
    x = np.ones((4, 2), np.float32)
    out = m(G.tensor(g, G.Float32, (4, 2), value=x))
    G.TapeMachine(g).run_all()
    assert not g.training
    np.testing.assert_allclose(out.value, m.predict(x), rtol=1e-6)
    assert m.train() is m and all(module.training for module in m.modules())


def test_summary_table_has_shapes_params_and_flops():
    lines = []
    text = model().summary((1, 4, 4), print_fn=lines.append)
    assert lines == [text]
    assert "0 (Conv2d)" in text and "(1, 4, 4, 4)" in text and "1.conv1 (Conv2d)" in text
    conv_flops = 2 * 1 * 9 * 4 * 16
    assert f"{conv_flops:,}" in text
    total = sum(p.size for p in model().parameters())
    assert text.splitlines()[-1].split()[1] == f"{total:,}"


def test_a_wrong_input_shape_names_the_module_path_and_both_shapes():
    m = nn.Sequential(nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(100, 3)))
    g = G.Graph()
    x = G.tensor(g, G.Float32, (2, 1, 8, 8), name="images")
    with pytest.raises(G.ShapeError, match=r"Linear '0\.3': expected .*\(N, 100\), got 'flatten\d+' of "
                                          r"shape \(2, 144\)"):
        m(x)
    with pytest.raises(G.ShapeError, match=r"Conv2d '0\.0': expected an NCHW batch of shape \(N, 1, \*, \*\), "
                                          r"got 'images2?' of shape \(2, 3, 8, 8\)|Conv2d '0\.0'"):
        m(G.tensor(g, G.Float32, (2, 3, 8, 8), name="images2"))


@pytest.mark.parametrize("layer, shape, dtype", [
    (nn.BatchNorm2d(3), (2, 4, 5, 5), np.float32), (nn.LayerNorm(4), (2, 5), np.float32),
    (nn.GroupNorm(2, 4), (2, 3, 5), np.float32), (nn.LSTM(3, 4), (2, 5, 2), np.float32),
    (nn.GRU(3, 4), (2, 3), np.float32), (nn.LSTMCell(3, 4), (2, 4), np.float32),
    (nn.MaxPool2d(2), (2, 3, 4), np.float32), (nn.Flatten(2), (2, 3), np.float32),
    (nn.Embedding(5, 2), (2, 3), np.float32), (nn.Conv1d(2, 3, 3), (2, 3, 7), np.float32)])
def test_every_layer_refuses_a_wrong_input(layer, shape, dtype):
    g = G.Graph()
    with pytest.raises(G.GorgonError, match=type(layer).__name__):
        layer(G.tensor(g, dtype, shape, name="x"))


def test_constructor_arguments_are_checked():
    with pytest.raises(G.ArgumentValueError, match="Linear: in_features"):
        nn.Linear(0, 3)
    with pytest.raises(G.ArgumentTypeError, match="Conv2d: kernel_size"):
        nn.Conv2d(1, 2, 2.5)
    with pytest.raises(G.ArgumentValueError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(G.ArgumentValueError, match="Dropout: p"):
        nn.Dropout(1.0)
    with pytest.raises(G.ArgumentTypeError, match="Linear: dtype"):
        nn.Linear(2, 2, dtype=np.int32)
    with pytest.raises(G.ArgumentTypeError, match="Sequential: item 1"):
        nn.Sequential(nn.ReLU(), "relu")
    with pytest.raises(G.ArgumentTypeError, match="call it on a gorgon node"):
        nn.ReLU()(np.ones(3))
    with pytest.raises(AttributeError, match=r"call super\(\)\.__init__\(\) before"):
        class Broken(nn.Module):
            def __init__(self):
                self.layer = nn.ReLU()
        Broken()


def test_to_converts_and_rebuilds():
    m = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    x = np.random.default_rng(0).standard_normal((4, 3))
    single = m.predict(x.astype(np.float32))
    m.to(np.float64)
    assert all(p.dtype == np.float64 for p in m.parameters()) and m[1].num_batches_tracked.dtype == np.int64
    np.testing.assert_allclose(m.predict(x), single, rtol=1e-5)
    assert m.predict(x).dtype == np.float64


def test_repr_shows_the_tree():
    text = repr(model())
    assert text.startswith("Sequential(") and "(1): Residual(" in text and "Linear(64, 3)" in text


def test_an_op_error_inside_a_module_names_the_innermost_module():
    m = nn.Sequential(nn.Linear(3, 3), nn.Sequential(nn.ReLU(), nn.Linear(3, 2)))
    g = G.Graph()
    with pytest.raises(G.DtypeError, match=r"^Linear '0': .*matmul") as error:
        m(G.tensor(g, G.Float64, (2, 3), name="x64"))
    assert str(error.value).count("Linear '") == 1


def test_summary_of_a_sequence_model_with_integer_input():
    model = nn.Sequential(nn.Embedding(6, 4), nn.GRU(4, 8))
    text = model.summary((5,), dtype=np.int64, print_fn=None)
    assert "0 (Embedding)  (1, 5, 4)" in text and "(1, 5, 8), (1, 1, 8)" in text
    assert f"{2 * 5 * 3 * 8 * (4 + 8):,}" in text  # the GRU's multiply-adds over 5 steps
