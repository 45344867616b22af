"""The conv plugin against torch.nn.functional over random valid configurations,
forward and gradients, float64 and float32. Skipped when torch is not installed."""

import numpy as np
import pytest

import gorgon as G
from conv_harness import run

torch = pytest.importorskip("torch")
F = torch.nn.functional

CONFIGS = 16


def torch_run(function, arrays, gy):
    """function(*tensors) in torch: the value and the gradients of sum(output * gy)."""
    tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
    y = function(*tensors)
    y.backward(torch.tensor(gy))
    return y.detach().numpy(), [t.grad.numpy() for t in tensors]


def compare(build, function, arrays, machine="tape"):
    """Our op and torch's agree on value and gradients for the given upstream gradient."""
    dtype = arrays[0].dtype
    shape = function(*(torch.tensor(a) for a in arrays)).shape
    gy = np.random.default_rng(0).standard_normal(tuple(shape)).astype(dtype)
    value, grads = run(machine, build, arrays, gy)
    expected_value, expected_grads = torch_run(function, arrays, gy)
    tolerance = 1e-10 if dtype == np.float64 else 2e-4
    np.testing.assert_allclose(value, expected_value, rtol=tolerance, atol=tolerance)
    for grad, expected in zip(grads, expected_grads):
        assert grad.dtype == dtype
        np.testing.assert_allclose(grad, expected, rtol=tolerance, atol=tolerance)


def conv_config(seed):
    rng = np.random.default_rng(seed)
    groups = int(rng.choice([1, 1, 2, 3]))
    kernel = tuple(int(k) for k in rng.integers(1, 4, 2))
    dilation = tuple(int(d) for d in rng.integers(1, 3, 2))
    stride = tuple(int(s) for s in rng.integers(1, 4, 2))
    padding = tuple(int(p) for p in rng.integers(0, 3, 2))
    span = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    size = tuple(int(rng.integers(max(1, e - 2 * p), e + 6)) for e, p in zip(span, padding))
    channels = groups * int(rng.integers(1, 3))
    filters = groups * int(rng.integers(1, 3))
    batch = int(rng.integers(1, 3))
    return dict(batch=batch, channels=channels, filters=filters, size=size, kernel=kernel,
                conv=dict(stride=stride, padding=padding, dilation=dilation, groups=groups))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("seed", range(CONFIGS))
def test_conv2d_matches_torch(seed, dtype):
    c = conv_config(seed)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((c["batch"], c["channels"]) + c["size"]).astype(dtype)
    w = rng.standard_normal((c["filters"], c["channels"] // c["conv"]["groups"]) + c["kernel"]).astype(dtype)
    compare(lambda a, b: G.conv2d(a, b, **c["conv"]), lambda a, b: F.conv2d(a, b, **c["conv"]), [x, w])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("seed", range(CONFIGS))
def test_conv_transpose2d_matches_torch(seed, dtype):
    c = conv_config(seed)
    rng = np.random.default_rng(seed)
    stride = c["conv"]["stride"]
    extra = tuple(int(rng.integers(0, s)) for s in stride)
    x = rng.standard_normal((c["batch"], c["channels"]) + c["size"]).astype(dtype)
    w = rng.standard_normal((c["channels"], c["filters"] // c["conv"]["groups"]) + c["kernel"]).astype(dtype)
    reach = [(n - 1) * s + d * (k - 1) + 1 + e for n, s, d, k, e in
             zip(c["size"], stride, c["conv"]["dilation"], c["kernel"], extra)]
    padding = tuple(min(p, (r - 1) // 2) for p, r in zip(c["conv"]["padding"], reach))
    kwargs = dict(c["conv"], output_padding=extra, padding=padding)
    compare(lambda a, b: G.conv_transpose2d(a, b, **kwargs),
            lambda a, b: F.conv_transpose2d(a, b, **kwargs), [x, w])


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("machine", ["tape", "lisp"])
@pytest.mark.parametrize("kernel", [(3, 3), (2, 4)])
def test_conv2d_same_padding_matches_torch(kernel, machine):
    rng = np.random.default_rng(kernel[1])
    x, w = rng.standard_normal((2, 3, 6, 7)), rng.standard_normal((4, 3) + kernel)
    compare(lambda a, b: G.conv2d(a, b, padding="same", dilation=(1, 2)),
            lambda a, b: F.conv2d(a, b, padding="same", dilation=(1, 2)), [x, w], machine)


def pool_config(seed):
    rng = np.random.default_rng(100 + seed)
    kernel = tuple(int(k) for k in rng.integers(1, 4, 2))
    stride = tuple(int(s) for s in rng.integers(1, 4, 2))
    padding = tuple(int(rng.integers(0, k // 2 + 1)) for k in kernel)
    size = tuple(int(rng.integers(k, k + 6)) for k in kernel)
    return (int(rng.integers(1, 3)), int(rng.integers(1, 4))) + size, dict(
        kernel_size=kernel, stride=stride, padding=padding)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("seed", range(CONFIGS))
def test_max_pool2d_matches_torch(seed, dtype):
    shape, kwargs = pool_config(seed)
    x = np.random.default_rng(seed).permutation(int(np.prod(shape))).reshape(shape).astype(dtype)
    dilation = (1 + seed % 2, 1)
    compare(lambda a: G.max_pool2d(a, dilation=dilation, **kwargs),
            lambda a: F.max_pool2d(a, dilation=dilation, **kwargs), [x])


@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("seed", range(CONFIGS))
def test_avg_pool2d_matches_torch(seed, count_include_pad):
    shape, kwargs = pool_config(seed)
    x = np.random.default_rng(seed).standard_normal(shape)
    compare(lambda a: G.avg_pool2d(a, count_include_pad=count_include_pad, **kwargs),
            lambda a: F.avg_pool2d(a, count_include_pad=count_include_pad, **kwargs), [x])


@pytest.mark.parametrize("seed", range(6))
def test_im2col_and_col2im_match_unfold_and_fold(seed):
    c = conv_config(seed)
    kwargs = dict(kernel_size=c["kernel"], stride=c["conv"]["stride"], padding=c["conv"]["padding"],
                  dilation=c["conv"]["dilation"])
    x = np.random.default_rng(seed).standard_normal((c["batch"], c["channels"]) + c["size"])
    compare(lambda a: G.im2col(a, **kwargs), lambda a: F.unfold(a, **kwargs), [x])
    cols = F.unfold(torch.tensor(x), **kwargs).numpy()
    compare(lambda a: G.col2im(a, c["size"], **kwargs), lambda a: F.fold(a, c["size"], **kwargs), [cols])


def test_global_avg_pool2d_and_upsample2d_match_torch():
    x = np.random.default_rng(1).standard_normal((2, 3, 5, 4))
    compare(G.global_avg_pool2d, lambda a: F.adaptive_avg_pool2d(a, 1), [x])
    compare(lambda a: G.upsample2d(a, (2, 3)),
            lambda a: F.interpolate(a, scale_factor=(2, 3), mode="nearest"), [x])


def test_small_cnn_matches_torch_on_both_machines():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 1, 8, 8)).astype(np.float32)
    w1, b1, w2 = (rng.standard_normal(shape).astype(np.float32)
                  for shape in [(4, 1, 3, 3), (1, 4, 1, 1), (6, 4, 3, 3)])

    def ours(a, k1, c1, k2):
        hidden = G.max_pool2d(G.relu(G.conv2d(a, k1, padding=1) + c1), 2)
        return G.global_avg_pool2d(G.conv2d(hidden, k2, padding="same"))

    def theirs(a, k1, c1, k2):
        hidden = F.max_pool2d(F.relu(F.conv2d(a, k1, padding=1) + c1), 2)
        return F.adaptive_avg_pool2d(F.conv2d(hidden, k2, padding="same"), 1)

    for machine in ("tape", "lisp"):
        compare(ours, theirs, [x, w1, b1, w2], machine)
