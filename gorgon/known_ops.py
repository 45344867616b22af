"""Which first-party distribution provides which op, so that asking for an op that
is not installed can say what to install. A hint only: plugins are still found
through entry points."""

PROVIDERS = {
    "gorgon-ops-core": (
        "add sub mul div pow maximum minimum neg abs sign exp log log1p expm1 sqrt square "
        "reciprocal sin cos tanh sigmoid softplus relu clip eq ne lt le gt ge where cast matmul "
        "outer sum mean max min prod argmax argmin reshape flatten transpose squeeze expand_dims "
        "broadcast_to concat stack getitem getitem_grad getitem_add take take_grad uniform "
        "gaussian binomial einsum tensordot split repeat tile pad pad_grad cumsum cumprod diag "
        "trace gather scatter_add sort argsort topk topk_indices norm norm_svd_grad ceil floor "
        "round log2 log10 exp2"),
    "gorgon-ops-nn": (
        "leaky_relu elu gelu softmax log_softmax logsumexp cross_entropy mse_loss "
        "binary_cross_entropy binary_cross_entropy_with_logits dropout batch_norm layer_norm "
        "embedding"),
    "gorgon-ops-conv": (
        "im2col col2im conv2d conv_transpose2d max_pool2d avg_pool2d global_avg_pool2d upsample2d"),
}


def provider_of(op_name: str) -> str | None:
    """The distribution that provides `op_name`, when it is one of ours."""
    for distribution, names in PROVIDERS.items():
        if op_name in names.split():
            return distribution
    return None
