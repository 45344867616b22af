"""Issue 10, empty batches: a 0-sized batch that numpy / PyTorch accept works on both
machines (values and gradients); what they refuse is refused when the node is built."""

import warnings

import numpy as np
import pytest

import gorgon as G
from gorgon.registry import registry
from gorgon.testing.build import build
from gorgon.testing.samples import Sample
from gorgon.testing.target import resolve

# The op modules this sweep covers: the core, nn and conv plugins' original op files
# (and the 1-D convolution and pooling, which share the NCHW checks).
MODULES = {
    "gorgon_ops_core.arithmetic", "gorgon_ops_core.unary", "gorgon_ops_core.compare",
    "gorgon_ops_core.linalg", "gorgon_ops_core.reduce", "gorgon_ops_core.shape",
    "gorgon_ops_nn.activations", "gorgon_ops_nn.softmax", "gorgon_ops_nn.cross_entropy",
    "gorgon_ops_nn.losses", "gorgon_ops_nn.dropout", "gorgon_ops_nn.batch_norm",
    "gorgon_ops_nn.batch_norm_grad", "gorgon_ops_nn.layer_norm", "gorgon_ops_nn.embedding",
    "gorgon_ops_nn.mode_switch", "gorgon_ops_conv.im2col", "gorgon_ops_conv.conv",
    "gorgon_ops_conv.conv_transpose", "gorgon_ops_conv.maxpool", "gorgon_ops_conv.avgpool",
    "gorgon_ops_conv.upsample", "gorgon_ops_conv.conv1d", "gorgon_ops_conv.pool1d",
}


def emptied(value, lead):
    """Arrays whose first dimension is `lead` with that dimension made 0."""
    if isinstance(value, list):
        return [emptied(v, lead) for v in value]
    if isinstance(value, np.ndarray) and value.ndim >= 1 and value.shape[0] == lead:
        return np.zeros((0,) + value.shape[1:], value.dtype)
    return value


def empty_batch_cases(modules=MODULES):
    """Every sample of the ops defined in `modules`, its batch made empty."""
    registry.load()
    cases = []
    for name, op in sorted(registry.ops.items()):
        if op.__module__ not in modules or name not in registry.samples:
            continue
        for sample in registry.samples[name]():
            if not isinstance(sample, Sample):
                continue
            arrays = [a for a in sample.args if isinstance(a, np.ndarray) and a.ndim >= 1]
            arrays += [a for arg in sample.args if isinstance(arg, list) for a in arg
                       if isinstance(a, np.ndarray) and a.ndim >= 1]
            if arrays:
                lead = arrays[0].shape[0]
                args = tuple(emptied(a, lead) for a in sample.args)
                kwargs = {k: emptied(v, lead) for k, v in sample.kwargs.items()}
                cases.append(pytest.param(name, Sample(*args, wrt=sample.wrt, **kwargs),
                                          id=f"{name}-{sample.label or len(cases)}"))
    return cases


@pytest.mark.parametrize("name, sample", empty_batch_cases())
def test_an_empty_batch_runs_on_both_machines_or_is_refused_at_build(name, sample):
    check_empty_batch(name, sample)


def check_empty_batch(name, sample):
    """The op on `sample` is refused when built, naming it, or runs on both machines
    with the same values and finite gradients of the inputs' shapes."""
    try:
        built = build(resolve(name), sample)
    except G.GorgonError as exc:
        assert name in str(exc), f"unclear refusal: {exc}"
        return
    output = built.output
    differentiable = output.op.differentiable and output.dtype.kind == "f" and built.wrt
    grads = G.grad(G.sum(output), *built.wrt) if differentiable else []
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        G.TapeMachine(built.graph).run_all()
        tape_value = output.value.copy()
        tape_grads = [g.value.copy() for g in grads]
        G.LispMachine(built.graph, cost=G.sum(output) if differentiable else None, wrt=built.wrt or None,
                      outputs=[output], forward_only=not differentiable).run_all()
    assert tape_value.shape == output.shape
    np.testing.assert_array_equal(output.value, tape_value)
    for node, grad in zip(built.wrt if differentiable else [], tape_grads):
        assert grad.shape == node.shape and np.all(np.isfinite(grad))
        np.testing.assert_allclose(node.grad, grad)


def run_both(build_graph):
    """Values and gradients (of sum(output)) from the TapeMachine and the LispMachine."""
    results = []
    for lisp in (False, True):
        g = G.Graph()
        output, wrt = build_graph(g)
        cost = G.sum(output)
        if lisp:
            G.LispMachine(g, cost=cost, wrt=wrt, outputs=[output]).run_all()
            results.append((output.value.copy(), [w.grad.copy() for w in wrt]))
        else:
            grads = G.grad(cost, *wrt)
            G.TapeMachine(g).run_all()
            results.append((output.value.copy(), [d.value.copy() for d in grads]))
    return results


def test_flatten_of_an_empty_batch():
    def graph(g):
        x = G.tensor(g, G.Float64, (0, 3, 4), name="x", value=np.zeros((0, 3, 4)))
        return G.flatten(x, 1), [x]

    for value, (dx,) in run_both(graph):
        assert value.shape == (0, 12) and dx.shape == (0, 3, 4)
    g = G.Graph()
    assert G.flatten(G.tensor(g, G.Float64, (0, 3, 4), name="x")).shape == (0,)


def test_col2im_and_im2col_of_an_empty_batch():
    def graph(g):
        cols = G.tensor(g, G.Float64, (0, 18, 6), name="cols", value=np.zeros((0, 18, 6)))
        return G.col2im(cols, (4, 5), 3), [cols]

    for value, (dcols,) in run_both(graph):
        assert value.shape == (0, 2, 4, 5) and dcols.shape == (0, 18, 6)


def test_reductions_with_an_identity_give_it_over_an_empty_batch():
    def graph(g):
        x = G.tensor(g, G.Float64, (0, 3), name="x", value=np.zeros((0, 3)))
        return G.stack([G.sum(x, axis=0), G.prod(x, axis=0), G.logsumexp(x, axis=0)]), [x]

    for value, (dx,) in run_both(graph):
        np.testing.assert_array_equal(value, [[0.0] * 3, [1.0] * 3, [-np.inf] * 3])
        assert dx.shape == (0, 3)


def test_what_has_no_identity_is_refused_when_built():
    g = G.Graph()
    x = G.tensor(g, G.Float64, (0, 3), name="x")
    with pytest.raises(G.ShapeError, match=r"max.*cannot reduce an empty axis; inputs: 'x' \(shape \(0, 3\)"):
        G.max(x, axis=0)
    with pytest.raises(G.ShapeError, match=r"argmax.*cannot search the empty axis 0"):
        G.argmax(x, axis=0)
    with pytest.raises(G.ShapeError, match=r"mse_loss.*reduction 'mean'"):
        G.mse_loss(x, x)
    assert G.argmax(x, axis=1).shape == (0,) and G.max(x, axis=1).shape == (0,)


def torch_conv_reference(x, w, op, **params):
    torch = pytest.importorskip("torch")
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(w, requires_grad=True)
    y = getattr(torch.nn.functional, op)(tx, tw, **params)
    y.sum().backward()
    return y.detach().numpy(), tx.grad.numpy(), tw.grad.numpy()


@pytest.mark.parametrize("op, w_shape, params", [
    ("conv2d", (3, 2, 3, 3), {}),
    ("conv2d", (4, 1, 2, 3), {"stride": 2, "padding": 1, "groups": 2}),
    ("conv_transpose2d", (2, 3, 3, 3), {"stride": 2}),
])
def test_convolutions_of_an_empty_batch_match_pytorch(op, w_shape, params):
    channels = w_shape[1] * params.get("groups", 1) if op == "conv2d" else w_shape[0]
    x = np.zeros((0, channels, 5, 6))
    w = np.random.default_rng(1).standard_normal(w_shape)
    want_y, want_dx, want_dw = torch_conv_reference(x, w, op, **params)

    def graph(g):
        xn = G.tensor(g, G.Float64, x.shape, name="x", value=x.copy())
        wn = G.tensor(g, G.Float64, w.shape, name="w", value=w.copy())
        return getattr(G, op)(xn, wn, **params), [xn, wn]

    for value, (dx, dw) in run_both(graph):
        assert value.shape == want_y.shape and dx.shape == want_dx.shape
        np.testing.assert_array_equal(dw, want_dw)
        assert not np.any(dw)


@pytest.mark.parametrize("build_op", [
    lambda x: G.max_pool2d(x, 2), lambda x: G.avg_pool2d(x, 3, stride=2, padding=1),
    lambda x: G.global_avg_pool2d(x), lambda x: G.upsample2d(x, 2), lambda x: G.im2col(x, 3),
])
def test_pooling_and_columns_of_an_empty_batch(build_op):
    def graph(g):
        x = G.tensor(g, G.Float64, (0, 2, 6, 6), name="x", value=np.zeros((0, 2, 6, 6)))
        return build_op(x), [x]

    results = run_both(graph)
    for value, (dx,) in results:
        assert value.shape[0] == 0 and dx.shape == (0, 2, 6, 6)
    g = G.Graph()
    with pytest.raises(G.ShapeError, match=r"has an empty dimension other than the batch"):
        build_op(G.tensor(g, G.Float64, (2, 0, 6, 6), name="x"))


def test_batch_norm_of_an_empty_batch_changes_no_statistic_as_in_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    scale, shift = rng.uniform(0.5, 2.0, 3), rng.standard_normal(3)
    running_mean, running_var = rng.standard_normal(3), rng.uniform(0.5, 2.0, 3)
    for shape in ((0, 3), (0, 3, 2, 2)):
        tx = torch.zeros(shape, dtype=torch.float64, requires_grad=True)
        ts = torch.tensor(scale, requires_grad=True)
        tb = torch.tensor(shift, requires_grad=True)
        tm, tv = torch.tensor(running_mean), torch.tensor(running_var)
        torch.nn.functional.batch_norm(tx, tm, tv, ts, tb, training=True).sum().backward()
        for lisp in (False, True):
            g = G.Graph()
            x = G.tensor(g, G.Float64, shape, name="x", value=np.zeros(shape))
            s = G.vector(g, G.Float64, 3, name="s", value=scale.copy())
            b = G.vector(g, G.Float64, 3, name="b", value=shift.copy())
            m = G.vector(g, G.Float64, 3, name="m", value=running_mean.copy())
            v = G.vector(g, G.Float64, 3, name="v", value=running_var.copy())
            y = G.batch_norm(x, s, b, m, v)
            if lisp:
                G.LispMachine(g, cost=G.sum(y), wrt=[x, s, b], outputs=[y]).run_all()
                grads = [x.grad, s.grad, b.grad]
            else:
                nodes = G.grad(G.sum(y), x, s, b)
                G.TapeMachine(g).run_all()
                grads = [n.value for n in nodes]
            assert y.value.shape == shape
            np.testing.assert_array_equal(m.value, tm.numpy())
            np.testing.assert_array_equal(v.value, tv.numpy())
            assert grads[0].shape == shape
            np.testing.assert_array_equal(grads[1], ts.grad.numpy())
            np.testing.assert_array_equal(grads[2], tb.grad.numpy())


def test_a_batch_norm_channel_of_one_value_still_fails_in_training():
    g = G.Graph()
    x = G.matrix(g, G.Float64, (1, 3), name="x", value=np.ones((1, 3)))
    y = G.batch_norm(x, *(G.vector(g, G.Float64, 3, name=n, value=np.ones(3)) for n in "sbmv"))
    with pytest.raises(G.ExecutionError, match="more than one value per channel"):
        G.TapeMachine(g).run_all()
    assert y.shape == (1, 3)


def test_softmax_over_an_empty_axis_and_losses_summed_over_an_empty_batch():
    def graph(g):
        logits = G.matrix(g, G.Float64, (0, 4), name="logits", value=np.zeros((0, 4)))
        empty_axis = G.matrix(g, G.Float64, (3, 0), name="e", value=np.zeros((3, 0)))
        labels = G.constant(np.zeros(0, np.int64))
        total = (G.cross_entropy(logits, labels, reduction="sum") + G.mse_loss(logits, logits, reduction="sum")
                 + G.sum(G.softmax(logits)) + G.sum(G.log_softmax(empty_axis, axis=1)))
        return total, [logits, empty_axis]

    for value, (dlogits, de) in run_both(graph):
        assert value == 0.0 and dlogits.shape == (0, 4) and de.shape == (3, 0)
