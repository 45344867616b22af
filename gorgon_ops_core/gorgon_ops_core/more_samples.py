"""Conformance samples of the ops added after the first set: contractions, layout,
padding, cumulative, diagonal, gather/scatter, sorting, norms, rounding and logs."""

import numpy as np

from gorgon import ArgumentTypeError, ArgumentValueError, DtypeError, ShapeError
from gorgon.testing import ErrorSample, Sample

rng = np.random.default_rng(1)


def randn(*shape):
    return rng.standard_normal(shape)


def einsum_samples():
    return [
        Sample("ij,jk->ik", randn(3, 4), randn(4, 2), label="matmul"),
        Sample("ij,jk", randn(3, 4), randn(4, 2), label="implicit output"),
        Sample("ii->i", randn(3, 3), label="diagonal"),
        Sample("ii", randn(3, 3), label="trace"),
        Sample("iij,jk->ik", randn(2, 2, 3), randn(3, 4), label="repeated index with a contraction"),
        Sample("ij->", randn(3, 4), label="sum all"),
        Sample("i,j->ij", randn(3), randn(4), label="outer"),
        Sample("...ij,...jk->...ik", randn(2, 3, 4), randn(4, 5), label="ellipsis broadcast"),
        Sample("bij,bjk->bik", randn(1, 3, 4), randn(2, 4, 5), label="size-1 broadcast"),
        Sample("ij,jk,kl->il", randn(2, 3), randn(3, 4), randn(4, 2), label="three operands"),
        Sample("ijk->kji", randn(2, 3, 4), label="transpose"),
        ErrorSample("ij,jk->ik", randn(3, 4), randn(5, 2), error=ShapeError, match="index 'j' has sizes"),
        ErrorSample("ij,jk->ik", randn(3, 4), error=ArgumentValueError, match="name 2 operands"),
        ErrorSample("ijk,jk->ik", randn(3, 4), randn(4, 2), error=ArgumentValueError, match="dimensions"),
        ErrorSample("ij->iz", randn(3, 4), error=ArgumentValueError, match="output subscripts"),
        ErrorSample("i1->i", randn(3), error=ArgumentValueError, match="invalid subscripts"),
        ErrorSample("...ij->ij", randn(2, 3, 4), error=ArgumentValueError, match="has no '...'"),
        ErrorSample("ij,jk", randn(3, 4), randn(4, 2).astype(np.float32), error=DtypeError,
                    match="share one dtype"),
    ]


def tensordot_samples():
    return [
        Sample(randn(3, 4, 5), randn(4, 5, 2), label="axes=2"),
        Sample(randn(3, 4), randn(4, 2), axes=1, label="axes=1 (matmul)"),
        Sample(randn(3), randn(4), axes=0, label="axes=0 (outer)"),
        Sample(randn(3, 4, 5), randn(5, 3, 2), axes=([0, 2], [1, 0]), label="axis lists"),
        Sample(randn(3, 4), randn(2, 4), axes=(1, 1), label="int pair"),
        ErrorSample(randn(3, 4), randn(5, 2), axes=1, error=ShapeError, match="axis 1 of a has size 4"),
        ErrorSample(randn(3, 4), randn(4, 2), axes=3, error=ArgumentValueError, match="out of range"),
        ErrorSample(randn(3, 4), randn(4, 2), axes=([0, 1], [0]), error=ArgumentValueError, match="pair"),
        ErrorSample(randn(3, 4), randn(4, 2), axes="x", error=ArgumentTypeError, match="axes must be"),
    ]


def distinct(*shape):
    """Values with no ties (sorting, max norms)."""
    return rng.permutation(int(np.prod(shape))).reshape(shape) * 0.3 + randn(*shape) * 0.01 - 1.0


def positive(*shape):
    return rng.uniform(0.5, 2.0, shape)


def split_samples():
    return [
        Sample(randn(6, 2), 3, part=1, label="equal pieces"),
        Sample(randn(2, 7), [2, 5], axis=1, part=2, label="split points"),
        Sample(randn(2, 7), [2, 2], axis=-1, part=1, label="an empty piece"),
        ErrorSample(randn(5, 2), 2, error=ArgumentValueError, match="equal pieces"),
        ErrorSample(randn(5, 2), [3, 1], error=ArgumentValueError, match="must be sorted"),
        ErrorSample(randn(5, 2), 5, part=7, error=ArgumentValueError, match="part 7"),
        ErrorSample(randn(5, 2), "a", error=ArgumentTypeError, match="sections must be"),
        ErrorSample(randn(5, 2), 1, axis=2, error=ShapeError, match="out of range"),
    ]


def repeat_samples():
    return [
        Sample(randn(2, 3), 2, label="flattened"),
        Sample(randn(2, 3), 3, axis=0, label="rows"),
        Sample(randn(2, 3), [2, 0, 1], axis=1, label="per element"),
        ErrorSample(randn(2, 3), [1, 2], axis=1, error=ShapeError, match="2 repeats for an axis of size 3"),
        ErrorSample(randn(2, 3), -1, axis=1, error=ArgumentValueError, match="non-negative"),
    ]


def tile_samples():
    return [
        Sample(randn(2, 3), (2, 2)),
        Sample(randn(3), (2, 1, 2), label="more reps than axes"),
        Sample(randn(2, 3), 3, label="int reps"),
        Sample(randn(2, 1, 3), (2,), label="fewer reps than axes"),
        ErrorSample(randn(3), (-1,), error=ArgumentValueError, match="non-negative"),
    ]


def pad_samples():
    return [
        Sample(randn(3, 4), ((1, 2), (0, 3)), label="constant"),
        Sample(randn(3, 4), 1, value=2.5, label="constant value"),
        Sample(randn(3, 4), ((2, 1), (3, 3)), mode="reflect", label="reflect"),
        Sample(randn(3), (5, 4), mode="reflect", label="reflect past the edge"),
        Sample(randn(3, 4), (1, 2), mode="edge", label="edge"),
        Sample(randn(2, 3), ((1, 0), (2, 4)), mode="symmetric", label="symmetric"),
        Sample(randn(2, 3), 2, mode="wrap", label="wrap"),
        ErrorSample(randn(3), 1, mode="mirror", error=ArgumentValueError, match="is not one of"),
        ErrorSample(randn(3), -1, error=ArgumentValueError, match="non-negative"),
        ErrorSample(randn(3, 2), ((1, 1), (1, 1), (1, 1)), error=ArgumentValueError, match="does not fit"),
        ErrorSample(randn(1, 2), 1, mode="reflect", error=ShapeError, match="at least 2 elements"),
        ErrorSample(randn(3), 1, mode="edge", value=1.0, error=ArgumentValueError, match="only used"),
    ]


def pad_grad_samples():
    return [
        Sample(randn(7, 10), (3, 4), ((2, 2), (3, 3)), "reflect", label="reflect"),
        Sample(randn(6), (2,), (1, 3), "edge", label="edge"),
        ErrorSample(randn(6), (2,), (1, 1), "edge", error=ShapeError, match="expects a gradient"),
        ErrorSample(randn(6), (2,), (1, 3), "constant", error=ArgumentValueError, match="is not one of"),
    ]


def cumulative_samples(make=randn):
    def factory():
        return [
            Sample(make(3, 4), axis=1, label="rows"),
            Sample(make(3, 4), axis=0, reverse=True, label="reversed columns"),
            Sample(make(2, 3), label="flattened"),
            Sample(make(4, 2), axis=-2, label="negative axis"),
            ErrorSample(make(3, 4), axis=2, error=ShapeError, match="out of range"),
        ]

    return factory


def with_zeros(*shape):
    values = randn(*shape)
    values.flat[::3] = 0.0
    return values


def diag_samples():
    return [
        Sample(randn(3), label="vector to matrix"),
        Sample(randn(3), k=2, label="vector above"),
        Sample(randn(3), k=-1, label="vector below"),
        Sample(randn(3, 3), label="matrix to vector"),
        Sample(randn(3, 5), k=1, label="wide matrix, k=1"),
        Sample(randn(4, 2), k=-2, label="tall matrix, k=-2"),
        ErrorSample(randn(2, 2, 2), error=ShapeError, match="vector or a matrix"),
        ErrorSample(randn(3), k=1.5, error=ArgumentTypeError, match="k must be an int"),
    ]


def trace_samples():
    return [
        Sample(randn(3, 3), label="square"),
        Sample(randn(3, 5), k=2, label="wide, k=2"),
        Sample(randn(4, 3, 2), k=-1, label="batch of the rest"),
        ErrorSample(randn(3), error=ShapeError, match="at least 2 dimensions"),
    ]


def gather_samples():
    return [
        Sample(randn(3, 4), 1, np.array([[0, 0], [3, 1], [2, 2]]), label="rows, repeated"),
        Sample(randn(3, 4), 0, np.array([[2, 1, 0, 0]]), label="axis 0"),
        Sample(randn(2, 3, 4), -1, rng.integers(0, 4, (2, 2, 5)), label="3-d, larger on the axis"),
        ErrorSample(randn(3, 4), 1, np.array([0, 1]), error=ShapeError, match="2 dimensions"),
        ErrorSample(randn(3, 4), 1, np.array([[0.5]]), error=DtypeError, match="integer input"),
        ErrorSample(randn(3, 4), 1, np.zeros((4, 1), np.int64), error=ShapeError, match="larger than x"),
    ]


def scatter_add_samples():
    return [
        Sample(randn(3, 4), 1, np.array([[0, 0], [3, 1], [2, 2]]), randn(3, 2), label="repeated"),
        Sample(randn(3, 4), 0, np.array([[2, 1, 0, 0]]), randn(1, 4), label="axis 0"),
        ErrorSample(randn(3, 4), 1, np.array([[0]]), randn(2, 1), error=ShapeError, match="index's shape"),
        ErrorSample(randn(3, 4), 1, np.array([[0]]), randn(1, 1).astype(np.float32), error=DtypeError,
                    match="share one dtype"),
    ]


def sort_samples(takes_k):
    def factory():
        k = (2,) if takes_k else ()
        order = "largest" if takes_k else "descending"
        return [
            Sample(distinct(3, 4), *k, label="last axis"),
            Sample(distinct(3, 4), *k, axis=0, label="axis 0"),
            Sample(distinct(2, 3, 4), *k, axis=1, **{order: not takes_k}, label="other order"),
            ErrorSample(distinct(3, 4), *k, axis=2, error=ShapeError, match="out of range"),
        ] + ([ErrorSample(distinct(3, 4), 5, error=ArgumentValueError, match="k=5"),
              ErrorSample(distinct(3, 4), 1.5, error=ArgumentTypeError, match="k must be an int")]
             if takes_k else [])

    return factory


def norm_samples():
    return [
        Sample(randn(5), label="vector 2-norm"),
        Sample(randn(3, 4), label="frobenius"),
        Sample(randn(2, 3, 4), label="all of a 3-d"),
        Sample(randn(3, 4), ord=1, axis=1, label="vector 1-norm of rows"),
        Sample(distinct(3, 4), ord=np.inf, axis=0, keepdims=True, label="vector inf, keepdims"),
        Sample(distinct(5), ord=-np.inf, label="vector -inf"),
        Sample(positive(4), ord=3, label="vector 3-norm"),
        Sample(distinct(3, 4), ord=1, label="matrix 1"),
        Sample(distinct(3, 4), ord=-1, label="matrix -1"),
        Sample(distinct(4, 3), ord=np.inf, label="matrix inf"),
        Sample(distinct(2, 4, 3), ord=-np.inf, axis=(2, 1), label="matrix -inf, batched axes"),
        Sample(randn(3, 4), ord="fro", axis=(0, 1), label="fro"),
        Sample(randn(4, 3), ord=2, label="spectral", second_order=False),
        Sample(randn(2, 3, 3), ord="nuc", axis=(1, 2), label="nuclear", second_order=False),
        ErrorSample(randn(3), ord="fro", error=ArgumentValueError, match="not a vector norm"),
        ErrorSample(randn(3, 4), ord=3, error=ArgumentValueError, match="not a matrix norm"),
        ErrorSample(randn(2, 3, 4), ord=1, error=ArgumentValueError, match="needs axis="),
        ErrorSample(randn(2, 3, 4), ord=1, axis=(0, 1, 2), error=ArgumentValueError, match="1 or 2 axes"),
        ErrorSample(np.arange(3), error=DtypeError, match="float"),
        ErrorSample(np.zeros((3, 0)), ord=-np.inf, axis=1, error=ShapeError, match="minimum over axis 1"),
        ErrorSample(np.zeros((3, 0)), ord=-1, error=ShapeError, match="minimum over axis 1"),
    ]


def norm_svd_grad_samples():
    return [
        Sample(randn(4, 3), (0, 1), 2.0, label="spectral"),
        Sample(randn(2, 3, 3), (1, 2), "nuc", label="nuclear"),
        ErrorSample(randn(3, 3), (0, 1), 1.0, error=ArgumentValueError, match="2 or 'nuc'"),
    ]


def rounding_samples():
    return [
        Sample(randn(3, 4) * 3, label="matrix"),
        Sample(randn(5) * 3, label="vector"),
        ErrorSample(np.arange(3), error=DtypeError, match="float"),
    ]


def round_samples():
    return rounding_samples() + [
        Sample(randn(4) * 30, decimals=-1, label="tens"),
        Sample(randn(4), decimals=2, label="hundredths"),
        ErrorSample(randn(3), decimals=0.5, error=ArgumentTypeError, match="decimals must be an int"),
    ]


def log_samples():
    return [
        Sample(positive(3, 4), label="matrix"),
        Sample(positive(), label="scalar"),
        ErrorSample(np.arange(1, 4), error=DtypeError, match="float"),
    ]


def exp2_samples():
    return [
        Sample(randn(3, 4), label="matrix"),
        Sample(randn(), label="scalar"),
    ]


MORE_SAMPLES = {
    "einsum": einsum_samples,
    "tensordot": tensordot_samples,
    "split": split_samples,
    "repeat": repeat_samples,
    "tile": tile_samples,
    "pad": pad_samples,
    "pad_grad": pad_grad_samples,
    "cumsum": cumulative_samples(),
    "cumprod": cumulative_samples(with_zeros),
    "diag": diag_samples,
    "trace": trace_samples,
    "gather": gather_samples,
    "scatter_add": scatter_add_samples,
    "sort": sort_samples(False),
    "argsort": sort_samples(False),
    "topk": sort_samples(True),
    "topk_indices": sort_samples(True),
    "norm": norm_samples,
    "norm_svd_grad": norm_svd_grad_samples,
    "ceil": rounding_samples,
    "floor": rounding_samples,
    "round": round_samples,
    "log2": log_samples,
    "log10": log_samples,
    "exp2": exp2_samples,
}
