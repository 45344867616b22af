"""G.let converts nothing silently: a value the node's dtype cannot hold is an error, every
array-like with a dtype of its own (numpy, torch, `__array__`, DLPack) follows the numpy
array's rule (its dtype must be the node's), and bad constructor arguments are
GorgonErrors that still catch as TypeError."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gorgon as G

INTS = [np.dtype(name) for name in ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")]
FLOATS = [G.Float32, G.Float64]


def node(dtype, shape=(2,)):
    g = G.Graph()
    return G.tensor(g, dtype, shape, name="x", value=np.zeros(shape, dtype))


def test_int32_from_a_list_holding_2_to_the_40_is_an_error_and_keeps_the_old_binding():
    x = node(G.Int32)
    old = x.value
    with pytest.raises(G.DtypeError, match=r"'x' is int32, which holds -2147483648 to 2147483647; "
                                           r"got 1099511627776, which overflows it"):
        G.let(x, [2**40, 5])
    assert x.value is old


@pytest.mark.parametrize("dtype", INTS, ids=str)
def test_every_integer_dtype_refuses_one_past_either_end_and_keeps_both_ends(dtype):
    info = np.iinfo(dtype)
    x = node(dtype)
    for bad in ([int(info.max) + 1, 0], [0, int(info.min) - 1]):
        with pytest.raises(G.DtypeError, match="overflows it"):
            G.let(x, bad)
    G.let(x, [int(info.min), int(info.max)])
    assert x.value.tolist() == [int(info.min), int(info.max)] and x.value.dtype == dtype


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
def test_a_finite_value_that_would_become_infinite_is_an_error(dtype):
    x = node(dtype)
    largest = float(np.finfo(dtype).max)
    for bad in ([1e300 if dtype == G.Float32 else 0.0, 1.0] if dtype == G.Float32 else [2**1100, 1],
                [0.0, -1e39] if dtype == G.Float32 else [1, -(2**1024)]):
        with pytest.raises(G.DtypeError, match="overflows it|too large for any float"):
            G.let(x, bad)
    G.let(x, [largest, float("-inf")])
    assert x.value[0] == np.finfo(dtype).max and x.value[1] == -np.inf
    G.let(x, [0.1, 2**60])
    assert x.value.dtype == dtype


def test_float32_from_1e300_as_a_scalar_is_an_error():
    g = G.Graph()
    x = G.scalar(g, G.Float32, name="s")
    with pytest.raises(G.DtypeError, match="float32, whose largest value is .*; got 1e\\+300, which overflows"):
        G.let(x, 1e300)
    assert x.value is None


class WithArray:
    def __init__(self, array):
        self.array = array

    def __array__(self, dtype=None, copy=None):
        return self.array if dtype is None else self.array.astype(dtype)


class DLPackOnly:
    def __init__(self, array):
        self.array = array

    def __dlpack__(self, **kwargs):
        return self.array.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self.array.__dlpack_device__()


def array_likes(array):
    """The same values as a numpy array, an `__array__` object, a DLPack-only object and
    (when installed) a torch tensor."""
    likes = [array, WithArray(array), DLPackOnly(array)]
    try:
        import torch
    except ImportError:
        return likes
    return [*likes, torch.from_numpy(array.copy())]


@pytest.mark.parametrize("kind", ["numpy", "__array__", "dlpack", "torch"])
def test_every_array_like_follows_the_numpy_arrays_dtype_rule(kind):
    index = ["numpy", "__array__", "dlpack", "torch"].index(kind)
    low = array_likes(np.array([1.5, 2.5], np.float32))
    if index >= len(low):
        pytest.skip("torch is not installed")
    x64 = node(G.Float64)
    with pytest.raises(G.DtypeError, match=r"'x' is float64, got a float32 .*\(convert it with "
                                           r"\.astype\(float64\)\)"):
        G.let(x64, low[index])
    assert x64.value.tolist() == [0.0, 0.0]
    x32 = node(G.Float32)
    G.let(x32, low[index])
    assert x32.value.dtype == G.Float32 and x32.value.tolist() == [1.5, 2.5]
    ints = node(G.Int64)
    with pytest.raises(G.DtypeError, match="'x' is int64, got a int32"):
        G.let(ints, array_likes(np.array([1, 2], np.int32))[index])


def test_a_torch_tensor_that_requires_grad_is_a_clear_bind_error():
    torch = pytest.importorskip("torch")
    x = node(G.Float32)
    with pytest.raises(G.BindError, match="cannot read Tensor as an array for 'x'.*detach"):
        G.let(x, torch.ones(2, requires_grad=True))


@pytest.mark.parametrize("dtype, value, message", [
    (G.Int64, [1.5, 2.0], "got floats"),
    (G.Bool, [1, 0], "which is not all booleans"),
    (G.Float64, ["a", "b"], "cannot bind list"),
    (G.Float64, [{}, {}], "cannot bind list"),
])
def test_plain_values_of_the_wrong_kind_are_refused(dtype, value, message):
    x = node(dtype)
    with pytest.raises(G.DtypeError, match=message):
        G.let(x, value)
    G.let(node(G.Bool), [True, False])


@settings(max_examples=80, deadline=None)
@given(dtype=st.sampled_from(INTS + FLOATS),
       values=st.lists(st.one_of(st.integers(-2**70, 2**70),
                                 st.floats(allow_nan=False, allow_infinity=False, width=64)),
                       min_size=2, max_size=2))
def test_a_plain_value_is_bound_exactly_as_it_is_or_refused(dtype, values):
    x = node(dtype)
    try:
        G.let(x, values)
    except G.DtypeError:
        if dtype.kind == "f":
            assert any(abs(v) > float(np.finfo(dtype).max) for v in values)
        else:
            info = np.iinfo(dtype)
            assert any(isinstance(v, float) or not info.min <= v <= info.max for v in values)
        assert x.value.tolist() == [0, 0]
        return
    assert x.value.dtype == dtype
    if dtype.kind == "f":
        assert np.all(np.isfinite(x.value))
        np.testing.assert_allclose(x.value, np.array(values, np.float64), rtol=1e-6,
                                   atol=float(np.finfo(dtype).tiny))  # rounding, underflow to 0
    else:
        assert x.value.tolist() == values


@pytest.mark.parametrize("build, match", [
    (lambda g: G.tensor(g, G.Float64, shape=None), "shape must be a tuple of ints, got None"),
    (lambda g: G.matrix(g, G.Float64, shape=None), "shape must be a tuple of ints, got None"),
    (lambda g: G.tensor("not a graph", G.Float64, ()), "expected a G.Graph"),
    (lambda g: G.vector(g, G.Float64, 2, name=3), "name must be a string, got int 3"),
    (lambda g: G.vector(g, G.Float64, 2, name="v", init=5), "init must be an initialiser's name or a "
                                                           "function"),
    (lambda g: G.let("x", 1.0), "G.let: expected a node, got str"),
])
def test_bad_constructor_arguments_are_argument_type_errors(build, match):
    g = G.Graph()
    with pytest.raises(G.ArgumentTypeError, match=match) as info:
        build(g)
    assert isinstance(info.value, G.GorgonError) and isinstance(info.value, TypeError)
    assert g.nodes == []
