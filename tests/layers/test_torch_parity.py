"""Every layer against PyTorch with the same state dict: forward outputs, parameter
gradients and running statistics, in training and evaluation mode, float64 and float32."""

import numpy as np
import pytest

import gorgon as G
import gorgon_layers as nn

torch = pytest.importorskip("torch")
tnn = torch.nn

TOLERANCE = {np.float64: dict(rtol=1e-10, atol=1e-10), np.float32: dict(rtol=1e-5, atol=1e-5)}


def flat(result):
    """The nodes (or tensors) of a result that may nest tuples."""
    if isinstance(result, (tuple, list)):
        return [leaf for item in result for leaf in flat(item)]
    return [result]


def run_gorgon(model, x, weights, training):
    g = G.Graph()
    node = G.tensor(g, x.dtype, x.shape, name="x", value=x)
    outputs = flat(model(node))
    cost = sum(G.sum(out * G.constant(w.astype(out.dtype))) for out, w in zip(outputs, weights))
    params = model.parameter_nodes(g) + [node]
    grads = G.grad(cost, *params, allow_unused=True)
    machine = G.TapeMachine(g, training=training, keep=outputs)
    machine.run_all()
    names = [name for name, _ in model.named_parameters()] + ["input"]
    return [out.value.copy() for out in outputs], {n: d.value.copy() for n, d in zip(names, grads)}


def run_torch(module, x, weights, training):
    module.train(training)
    inputs = torch.from_numpy(x).requires_grad_(True)
    outputs = flat(module(inputs))
    cost = sum((out * torch.from_numpy(w.astype(x.dtype if x.dtype.kind == "f" else np.float64)
                                       ).to(out.dtype)).sum() for out, w in zip(outputs, weights))
    module.zero_grad()
    cost.backward()
    grads = {n: p.grad.numpy() for n, p in module.named_parameters()}
    return [out.detach().numpy() for out in outputs], {**grads, "input": inputs.grad.numpy()}


CASES = {
    "Linear": (lambda: nn.Linear(5, 3), lambda: tnn.Linear(5, 3), (4, 5)),
    "Linear3d": (lambda: nn.Linear(5, 3), lambda: tnn.Linear(5, 3), (2, 4, 5)),
    "Conv1d": (lambda: nn.Conv1d(3, 4, 3, stride=2, padding=1, dilation=1),
               lambda: tnn.Conv1d(3, 4, 3, stride=2, padding=1), (2, 3, 9)),
    "Conv2d": (lambda: nn.Conv2d(4, 6, 3, stride=1, padding=1, groups=2),
               lambda: tnn.Conv2d(4, 6, 3, stride=1, padding=1, groups=2), (2, 4, 5, 5)),
    "Conv2dDilated": (lambda: nn.Conv2d(2, 3, (3, 2), stride=(2, 1), padding=(1, 0), dilation=2),
                      lambda: tnn.Conv2d(2, 3, (3, 2), stride=(2, 1), padding=(1, 0), dilation=2), (2, 2, 7, 6)),
    "ConvTranspose2d": (lambda: nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1),
                        lambda: tnn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1),
                        (2, 3, 4, 4)),
    "BatchNorm1d": (lambda: nn.BatchNorm1d(4), lambda: tnn.BatchNorm1d(4), (6, 4)),
    "BatchNorm1dSeq": (lambda: nn.BatchNorm1d(4, momentum=0.3), lambda: tnn.BatchNorm1d(4, momentum=0.3), (3, 4, 5)),
    "BatchNorm2d": (lambda: nn.BatchNorm2d(3), lambda: tnn.BatchNorm2d(3), (2, 3, 4, 4)),
    "LayerNorm": (lambda: nn.LayerNorm(6), lambda: tnn.LayerNorm(6), (3, 4, 6)),
    "LayerNorm2": (lambda: nn.LayerNorm((4, 6)), lambda: tnn.LayerNorm((4, 6)), (3, 4, 6)),
    "GroupNorm": (lambda: nn.GroupNorm(2, 4), lambda: tnn.GroupNorm(2, 4), (3, 4, 3, 3)),
    "LSTM": (lambda: nn.LSTM(3, 5), lambda: tnn.LSTM(3, 5, batch_first=True), (2, 4, 3)),
    "LSTM2": (lambda: nn.LSTM(3, 4, num_layers=2), lambda: tnn.LSTM(3, 4, num_layers=2, batch_first=True),
              (2, 3, 3)),
    "GRU": (lambda: nn.GRU(3, 5), lambda: tnn.GRU(3, 5, batch_first=True), (2, 4, 3)),
    "GRU2": (lambda: nn.GRU(3, 4, num_layers=2), lambda: tnn.GRU(3, 4, num_layers=2, batch_first=True),
             (2, 3, 3)),
    "LSTMCell": (lambda: nn.LSTMCell(3, 5), lambda: tnn.LSTMCell(3, 5), (4, 3)),
    "GRUCell": (lambda: nn.GRUCell(3, 5), lambda: tnn.GRUCell(3, 5), (4, 3)),
    "MaxPool2d": (lambda: nn.MaxPool2d(2), lambda: tnn.MaxPool2d(2), (2, 3, 4, 6)),
    "AvgPool2d": (lambda: nn.AvgPool2d(3, stride=2, padding=1),
                  lambda: tnn.AvgPool2d(3, stride=2, padding=1), (2, 3, 5, 5)),
    "Flatten": (lambda: nn.Flatten(), lambda: tnn.Flatten(), (2, 3, 4)),
    "GlobalAvgPool2d": (lambda: nn.GlobalAvgPool2d(), lambda: tnn.Sequential(tnn.AdaptiveAvgPool2d(1), tnn.Flatten()),
                        (2, 3, 4, 5)),
    "ReLU": (lambda: nn.ReLU(), lambda: tnn.ReLU(), (3, 4)),
    "LeakyReLU": (lambda: nn.LeakyReLU(0.2), lambda: tnn.LeakyReLU(0.2), (3, 4)),
    "GELU": (lambda: nn.GELU(), lambda: tnn.GELU(), (3, 4)),
    "GELUtanh": (lambda: nn.GELU("tanh"), lambda: tnn.GELU("tanh"), (3, 4)),
    "SiLU": (lambda: nn.SiLU(), lambda: tnn.SiLU(), (3, 4)),
    "Sigmoid": (lambda: nn.Sigmoid(), lambda: tnn.Sigmoid(), (3, 4)),
    "Tanh": (lambda: nn.Tanh(), lambda: tnn.Tanh(), (3, 4)),
    "Softmax": (lambda: nn.Softmax(dim=1), lambda: tnn.Softmax(dim=1), (3, 4)),
    "Sequential": (lambda: nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16, 3)),
                   lambda: tnn.Sequential(tnn.Conv2d(2, 4, 3, padding=1), tnn.BatchNorm2d(4), tnn.ReLU(),
                                          tnn.MaxPool2d(2), tnn.Flatten(), tnn.Linear(16, 3)), (3, 2, 4, 4)),
}


def copy_weights(ours, theirs, dtype):
    ours.to(dtype)
    theirs.to(getattr(torch, np.dtype(dtype).name))
    state = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    ours.load_state_dict(state)
    return state


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_forward_and_gradients_equal_pytorch(case, training, dtype):
    make_ours, make_theirs, shape = CASES[case]
    torch.manual_seed(0)
    ours, theirs = make_ours(), make_theirs()
    copy_weights(ours, theirs, dtype)
    if not training:  # running statistics away from their initial values
        for name, buffer in theirs.named_buffers():
            if buffer.dtype.is_floating_point:
                buffer.uniform_(0.5, 1.5)
        ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    ours.train(training)
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(dtype)
    with torch.no_grad():
        weights = [rng.standard_normal(tuple(p.shape)) for p in flat(theirs.eval()(torch.from_numpy(x)))]
    expected, expected_grads = run_torch(theirs, x, weights, training)
    got, grads = run_gorgon(ours, x, weights, training)
    tolerance = TOLERANCE[dtype]
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, **tolerance)
    assert sorted(grads) == sorted(expected_grads)
    for name in grads:
        np.testing.assert_allclose(grads[name], expected_grads[name], err_msg=name, **tolerance)
    for name, buffer in theirs.named_buffers():  # running statistics moved the same way
        if name.endswith("num_batches_tracked"):  # counted by the Trainer, not by a graph
            continue
        np.testing.assert_allclose(ours.state_dict()[name], buffer.numpy(), err_msg=name, **tolerance)


def test_embedding_forward_and_gradient_equal_pytorch():
    torch.manual_seed(0)
    ours, theirs = nn.Embedding(7, 3), tnn.Embedding(7, 3)
    copy_weights(ours, theirs, np.float64)
    indices = np.array([[1, 3, 3], [6, 0, 1]], np.int64)
    weights = [np.random.default_rng(2).standard_normal((2, 3, 3))]
    g = G.Graph()
    node = G.tensor(g, G.Int64, indices.shape, value=indices)
    out = ours(node)
    (grad,) = G.grad(G.sum(out * G.constant(weights[0])), *ours.parameter_nodes(g))
    G.TapeMachine(g, keep=[out]).run_all()
    result = theirs(torch.from_numpy(indices))
    (result * torch.from_numpy(weights[0])).sum().backward()
    np.testing.assert_allclose(out.value, result.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(grad.value, theirs.weight.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "LSTMCell", "GRUCell"])
def test_recurrent_layers_with_an_initial_state_equal_pytorch(kind):
    torch.manual_seed(0)
    sequence = kind in ("LSTM", "GRU")
    ours = getattr(nn, kind)(3, 4, **({"num_layers": 2} if sequence else {}))
    theirs = getattr(tnn, kind)(3, 4, **({"num_layers": 2, "batch_first": True} if sequence else {}))
    copy_weights(ours, theirs, np.float64)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 5, 3) if sequence else (2, 3))
    state_shape = (2, 2, 4) if sequence else (2, 4)
    h0, c0 = rng.standard_normal(state_shape), rng.standard_normal(state_shape)
    g = G.Graph()
    nodes = [G.tensor(g, G.Float64, a.shape, value=a) for a in (x, h0, c0)]
    with_cell_state = kind.startswith("LSTM")
    result = ours(nodes[0], (nodes[1], nodes[2]) if with_cell_state else nodes[1])
    outputs = flat(result)
    weights = [rng.standard_normal(o.shape) for o in outputs]
    cost = sum(G.sum(o * G.constant(w)) for o, w in zip(outputs, weights))
    grads = G.grad(cost, *ours.parameter_nodes(g), nodes[1])
    G.TapeMachine(g, keep=outputs).run_all()
    inputs = [torch.from_numpy(a).requires_grad_(True) for a in (x, h0, c0)]
    expected = flat(theirs(inputs[0], (inputs[1], inputs[2]) if with_cell_state else inputs[1]))
    sum((e * torch.from_numpy(w)).sum() for e, w in zip(expected, weights)).backward()
    for got, want in zip(outputs, expected):
        np.testing.assert_allclose(got.value, want.detach().numpy(), rtol=1e-10, atol=1e-12)
    wanted = [p.grad.numpy() for _, p in theirs.named_parameters()] + [inputs[1].grad.numpy()]
    for got, want in zip(grads, wanted):
        np.testing.assert_allclose(got.value, want, rtol=1e-10, atol=1e-12)


def test_recurrent_options_that_are_not_supported_are_refused():
    with pytest.raises(G.ArgumentValueError, match="only bias=True and batch_first=True"):
        nn.LSTM(3, 4, batch_first=False)
    with pytest.raises(G.ArgumentValueError, match="only bias=True"):
        nn.GRUCell(3, 4, bias=False)
    g = G.Graph()
    x = G.tensor(g, G.Float64, (2, 5, 3))
    with pytest.raises(G.ShapeError, match=r"GRU: expected a state \(num_layers, N, hidden_size\)"):
        nn.GRU(3, 4).to(np.float64)(x, G.tensor(g, G.Float64, (1, 3, 4)))


@pytest.mark.parametrize("make_ours, make_theirs, shape", [
    (lambda: nn.BatchNorm1d(4, affine=False), lambda: tnn.BatchNorm1d(4, affine=False), (6, 4)),
    (lambda: nn.LayerNorm(4, elementwise_affine=False), lambda: tnn.LayerNorm(4, elementwise_affine=False), (3, 4)),
    (lambda: nn.GroupNorm(2, 4, affine=False), lambda: tnn.GroupNorm(2, 4, affine=False), (3, 4, 5)),
    (lambda: nn.Linear(4, 2, bias=False), lambda: tnn.Linear(4, 2, bias=False), (3, 4))])
def test_layers_without_affine_parameters_or_bias_equal_pytorch(make_ours, make_theirs, shape):
    ours, theirs = make_ours(), make_theirs()
    copy_weights(ours, theirs, np.float64)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = np.random.default_rng(0).standard_normal(shape)
    weights = [np.random.default_rng(1).standard_normal(shape[:-1] + (2,) if shape == (3, 4) and
                                                        isinstance(ours, nn.Linear) else shape)]
    got, grads = run_gorgon(ours, x, weights, True)
    expected, expected_grads = run_torch(theirs, x, weights, True)
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-10, atol=1e-10)
    for name in expected_grads:
        np.testing.assert_allclose(grads[name], expected_grads[name], rtol=1e-10, atol=1e-10)


def test_dropout_is_the_identity_in_evaluation_and_drops_with_scaling_in_training():
    x = np.random.default_rng(0).standard_normal((50, 40)) + 3.0
    weights = [np.ones((50, 40))]
    layer = nn.Dropout(0.25, seed=1)
    out, grads = run_gorgon(layer.eval(), x, weights, False)
    np.testing.assert_array_equal(out[0], tnn.Dropout(0.25).eval()(torch.from_numpy(x)).numpy())
    np.testing.assert_array_equal(grads["input"], np.ones_like(x))
    out, grads = run_gorgon(layer.train(), x, weights, True)
    kept = out[0] != 0
    np.testing.assert_allclose(out[0][kept], x[kept] / 0.75, rtol=1e-12)
    np.testing.assert_allclose(grads["input"], kept / 0.75, rtol=1e-12)  # the gradient uses the same mask
    assert 0.7 < kept.mean() < 0.8
