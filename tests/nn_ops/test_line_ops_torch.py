"""conv1d, max_pool1d, avg_pool1d and the 2-D pools' four-sided padding against
torch.nn.functional: values and gradients on both machines, float64 and float32.
Asymmetric padding, which torch's convolutions and pools do not take, is compared with
torch's F.pad followed by the unpadded op."""

import numpy as np
import pytest

import gorgon as G
from nn_ops_harness import MACHINES, compare

torch = pytest.importorskip("torch")
F = torch.nn.functional

rng = np.random.default_rng(4)

CONV1D = [
    dict(),
    dict(stride=2),
    dict(padding=2, dilation=2),
    dict(padding=1, groups=2),
    dict(stride=3, padding=1, dilation=2, groups=2),
    dict(padding="same"),
    dict(padding="same", dilation=2),
    dict(padding="valid"),
]


@pytest.mark.parametrize("machine", MACHINES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kernel", [1, 2, 3])
@pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel:UserWarning")
@pytest.mark.parametrize("params", CONV1D, ids=str)
def test_conv1d_matches_torch(params, kernel, dtype, machine):
    x = rng.standard_normal((2, 4, 11)).astype(dtype)
    w = rng.standard_normal((6, 4 // params.get("groups", 1), kernel)).astype(dtype)
    compare(torch, lambda a, b: G.conv1d(a, b, **params), lambda a, b: F.conv1d(a, b, **params),
            [x, w], machine=machine)


@pytest.mark.parametrize("machine", MACHINES)
def test_conv1d_asymmetric_padding_matches_padded_torch(machine):
    x, w = rng.standard_normal((2, 3, 9)), rng.standard_normal((4, 3, 3))
    compare(torch, lambda a, b: G.conv1d(a, b, stride=2, padding=(2, 1)),
            lambda a, b: F.conv1d(F.pad(a, (2, 1)), b, stride=2), [x, w], machine=machine)


POOL1D = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=1),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=4, stride=3, padding=2),
]


def distinct(*shape):
    return rng.permutation(int(np.prod(shape))).reshape(shape) * 0.5 + rng.standard_normal(shape) * 0.01


@pytest.mark.parametrize("machine", MACHINES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("params", POOL1D + [dict(kernel_size=2, stride=1, dilation=2)], ids=str)
def test_max_pool1d_matches_torch(params, dtype, machine):
    x = distinct(2, 3, 10).astype(dtype)
    compare(torch, lambda a: G.max_pool1d(a, **params), lambda a: F.max_pool1d(a, **params), [x],
            machine=machine)


@pytest.mark.parametrize("machine", MACHINES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("params", POOL1D, ids=str)
def test_avg_pool1d_matches_torch(params, count_include_pad, dtype, machine):
    x = rng.standard_normal((2, 3, 10)).astype(dtype)
    compare(torch, lambda a: G.avg_pool1d(a, count_include_pad=count_include_pad, **params),
            lambda a: F.avg_pool1d(a, count_include_pad=count_include_pad, **params), [x], machine=machine)


def test_pool1d_asymmetric_padding_matches_padded_torch():
    x = distinct(1, 2, 7)
    compare(torch, lambda a: G.max_pool1d(a, 3, stride=2, padding=(0, 2)),
            lambda a: F.max_pool1d(F.pad(a, (0, 2), value=-np.inf), 3, stride=2), [x])
    compare(torch, lambda a: G.avg_pool1d(a, 3, stride=2, padding=(0, 2)),
            lambda a: F.avg_pool1d(F.pad(a, (0, 2)), 3, stride=2), [x])


FOUR_SIDES = [(1, 0, 0, 1), (0, 1, 1, 0), (2, 0, 1, 1), (1, 1, 0, 2)]


@pytest.mark.parametrize("machine", MACHINES)
@pytest.mark.parametrize("padding", FOUR_SIDES, ids=str)
def test_max_pool2d_four_sided_padding_matches_padded_torch(padding, machine):
    top, bottom, left, right = padding
    x = distinct(2, 2, 6, 7)
    compare(torch, lambda a: G.max_pool2d(a, 3, stride=2, padding=padding),
            lambda a: F.max_pool2d(F.pad(a, (left, right, top, bottom), value=-np.inf), 3, stride=2),
            [x], machine=machine)


@pytest.mark.parametrize("machine", MACHINES)
@pytest.mark.parametrize("padding", FOUR_SIDES, ids=str)
def test_avg_pool2d_four_sided_padding_matches_padded_torch(padding, machine):
    top, bottom, left, right = padding
    x = rng.standard_normal((2, 2, 6, 7))
    sides = (left, right, top, bottom)
    compare(torch, lambda a: G.avg_pool2d(a, 3, stride=2, padding=padding),
            lambda a: F.avg_pool2d(F.pad(a, sides), 3, stride=2), [x], machine=machine)

    def uncounted(a):
        total = F.avg_pool2d(F.pad(a, sides), 3, stride=2)
        count = F.avg_pool2d(F.pad(torch.ones_like(a), sides), 3, stride=2)
        return total / count

    compare(torch, lambda a: G.avg_pool2d(a, 3, stride=2, padding=padding, count_include_pad=False),
            uncounted, [x], machine=machine)


def test_four_sided_padding_is_the_pair_of_pairs_form():
    g = G.Graph()
    x = G.tensor(g, G.Float64, (1, 1, 5, 5), name="x")
    assert str(G.max_pool2d(x, 2, padding=(1, 0, 0, 1)).op) == str(
        G.max_pool2d(x, 2, padding=((1, 0), (0, 1))).op)
    assert G.avg_pool2d(x, 2, padding=(1, 1, 0, 0)).op.padding == (1, 0)
