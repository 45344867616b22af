"""Issue 10, unclear errors: bad arguments to ops raise G.ArgumentTypeError /
G.ArgumentValueError (GorgonErrors that `except TypeError` / `except ValueError` still
catch) when the node is built, naming the op."""

import numpy as np
import pytest

import gorgon as G


@pytest.fixture
def g():
    return G.Graph()


def inputs(g):
    x = G.vector(g, G.Float64, 3, name="x")
    m = G.matrix(g, G.Float64, (4, 3), name="m")
    images = G.tensor(g, G.Float64, (2, 1, 5, 5), name="images")
    kernels = G.tensor(g, G.Float64, (2, 1, 3, 3), name="kernels")
    channel = [G.vector(g, G.Float64, 3, name=n) for n in ("scale", "shift", "mean", "var")]
    return x, m, images, kernels, channel


VALUE_ERRORS = [
    ("clip low > high", lambda x, m, i, k, c: G.clip(x, 1.0, -1.0), r"clip: low 1.0 is above high -1.0; inputs: 'x'"),
    ("dropout p=1", lambda x, m, i, k, c: G.dropout(x, p=1), r"dropout: the drop probability p must lie in \[0, 1\), got 1"),
    ("dropout p<0", lambda x, m, i, k, c: G.dropout(x, p=-0.5), r"dropout: .* got -0.5"),
    ("dropout p>1", lambda x, m, i, k, c: G.dropout(x, p=2.0), r"dropout: .* got 2.0"),
    ("dropout seed<0", lambda x, m, i, k, c: G.dropout(x, seed=-3), "dropout: seed must not be negative"),
    ("dropout_mask p=1", lambda x, m, i, k, c: G.dropout_mask(x.graph, (3,), p=1.0), "dropout_mask: the drop"),
    ("uniform low >= high", lambda x, m, i, k, c: G.uniform(x.graph, 3, low=1.0, high=1.0), "uniform: low 1.0"),
    ("gaussian std < 0", lambda x, m, i, k, c: G.gaussian(x.graph, 3, std=-1.0), "gaussian: std -1.0"),
    ("binomial prob > 1", lambda x, m, i, k, c: G.binomial(x.graph, 3, prob=1.5), "binomial: needs 0 <= prob"),
    ("gelu approximate", lambda x, m, i, k, c: G.gelu(x, approximate="erf"), "gelu: approximate must be"),
    ("layer_norm eps=0", lambda x, m, i, k, c: G.layer_norm(m, c[0], c[1], eps=0.0), "layer_norm: eps must be"),
    ("batch_norm momentum", lambda x, m, i, k, c: G.batch_norm(m, *c, momentum=2.0), "batch_norm: needs 0 <= momentum"),
    ("mse_loss reduction", lambda x, m, i, k, c: G.mse_loss(x, x, reduction="max"), "mse_loss: reduction must be one of"),
    ("conv2d padding", lambda x, m, i, k, c: G.conv2d(i, k, padding="full"), "conv2d: padding must be"),
]

TYPE_ERRORS = [
    ("clip low None", lambda x, m, i, k, c: G.clip(x, None, 1.0), "clip: low must be a real number, got NoneType"),
    ("dropout p string", lambda x, m, i, k, c: G.dropout(x, p="0.5"), "dropout: the drop probability p must be a real"),
    ("dropout of a list", lambda x, m, i, k, c: G.dropout([1.0, 2.0]), "dropout: expected a node, got list"),
    ("dropout seed float", lambda x, m, i, k, c: G.dropout(x, seed=0.5), "dropout: seed must be an integer"),
    ("uniform seed string", lambda x, m, i, k, c: G.uniform(x.graph, 3, seed="7"), "uniform: seed must be an integer"),
    ("uniform without a graph", lambda x, m, i, k, c: G.uniform(None, 3), "uniform: first argument must be a G.Graph"),
    ("binomial trials float", lambda x, m, i, k, c: G.binomial(x.graph, 3, trials=1.5), "binomial: trials must be"),
    ("leaky_relu alpha string", lambda x, m, i, k, c: G.leaky_relu(x, alpha="0.1"), "leaky_relu: alpha must be a real"),
    ("batch_norm eps string", lambda x, m, i, k, c: G.batch_norm(m, *c, eps="1e-5"), "batch_norm: eps must be a real"),
    ("sum of a list", lambda x, m, i, k, c: G.sum([1.0, 2.0]), "sum: expected a node, got list"),
    ("logsumexp of an array", lambda x, m, i, k, c: G.logsumexp(np.ones(3)), "logsumexp: expected a node"),
    ("concat of a node", lambda x, m, i, k, c: G.concat(x), "concat: expected a list of nodes, got Node"),
    ("conv2d stride float", lambda x, m, i, k, c: G.conv2d(i, k, stride=1.5), "stride must be an int"),
    ("a string as an input", lambda x, m, i, k, c: G.add(x, "1"),
     r"cannot use str '1' as a node \(beside 'x'\): pass a node, a numpy array or a Python number"),
]


@pytest.mark.parametrize("label, build, match", VALUE_ERRORS, ids=[case[0] for case in VALUE_ERRORS])
def test_a_bad_argument_value_is_an_argument_value_error(g, label, build, match):
    with pytest.raises(G.ArgumentValueError, match=match) as caught:
        build(*inputs(g))
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, G.GorgonError)


@pytest.mark.parametrize("label, build, match", TYPE_ERRORS, ids=[case[0] for case in TYPE_ERRORS])
def test_a_bad_argument_kind_is_an_argument_type_error(g, label, build, match):
    with pytest.raises(G.ArgumentTypeError, match=match) as caught:
        build(*inputs(g))
    assert isinstance(caught.value, TypeError) and isinstance(caught.value, G.GorgonError)


def test_a_torch_tensor_as_an_op_argument_says_how_to_wrap_it(g):
    torch = pytest.importorskip("torch")
    x = G.vector(g, G.Float64, 3, name="x", value=np.arange(3.0))
    with pytest.raises(G.ArgumentTypeError, match=r"cannot use a torch\.Tensor of shape \(3,\) as a node "
                                                  r"\(beside 'x'\).*G\.constant"):
        G.add(x, torch.ones(3, dtype=torch.float64))
    y = G.add(x, G.constant(torch.ones(3, dtype=torch.float64).numpy()))
    G.TapeMachine(g).run_all()
    np.testing.assert_array_equal(y.value, [1.0, 2.0, 3.0])


def test_a_refused_argument_adds_no_node(g):
    x, m, images, kernels, channel = inputs(g)
    before = len(g.nodes)
    for build in (lambda: G.clip(x, 1.0, -1.0), lambda: G.dropout(x, p=1), lambda: G.add(x, "1")):
        with pytest.raises(G.GorgonError):
            build()
    assert len(g.nodes) == before
