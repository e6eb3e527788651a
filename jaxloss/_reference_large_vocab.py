"""Plain-jnp references of the large-vocabulary family: the whole [tokens, V] logits
``hidden @ weight + bias`` and the textbook cross-entropy on them, differentiated by
autodiff only; argument handling is shared with the public losses.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from . import _large_vocab as _lv
from . import _reference_classification as _rc
from ._reduce import compute_dtype

__all__ = ["linear_softmax_cross_entropy", "vocab_parallel_softmax_cross_entropy"]


def _naive(h, w, b, y, bs, cap, smoothing, z_loss, *, tg=None, cw=None, live=None):
    """Per-token loss and lse of ``h [T, D] @ w [D, V] + b`` (``bs`` and ``live``, the
    kernels' token mask, are unused), against integer labels ``y`` or probability
    targets ``tg``, with class weights ``cw``."""
    acc = compute_dtype(h, w)
    x = jnp.matmul(h, w, preferred_element_type=acc)
    if b is not None:
        x = x + b.astype(acc)[None, :]
    if cap:
        x = cap * jnp.tanh(x / cap)
    lse = jax.nn.logsumexp(x, axis=1)
    if tg is None:
        return _rc._ce_int_core(x, y, cw, 1, smoothing, z_loss), lse
    return _rc._ce_soft_core(x, tg, cw, 1, smoothing) + z_loss * lse**2, lse


def linear_softmax_cross_entropy(
    hidden,
    weight,
    labels,
    *,
    bias=None,
    class_weights=None,
    block_size=None,
    ignore_index=None,
    label_smoothing=0.0,
    z_loss=0.0,
    logit_softcap=None,
    weights=None,
    where=None,
    reduction="none",
    return_lse=False,
):
    """Reference for :func:`jaxloss.linear_softmax_cross_entropy` (the whole logits)."""
    return _lv._linear_call(
        "linear_softmax_cross_entropy", _naive, hidden, weight, labels, bias=bias,
        block_size=block_size, ignore_index=ignore_index, label_smoothing=label_smoothing,
        z_loss=z_loss, logit_softcap=logit_softcap, weights=weights, where=where,
        reduction=reduction, return_lse=return_lse, class_weights=class_weights,
        extensions=True,
    )  # fmt: skip


def _gathered(axis_name, vocab_size):
    """Inside a shard_map: all-gather the weight shards, then the whole logits."""

    def core(h, w, b, y, bs, cap, smoothing, z, *, live=None):
        w = lax.all_gather(w, axis_name, axis=1, tiled=True)
        b = None if b is None else lax.all_gather(b, axis_name, axis=0, tiled=True)
        if vocab_size is not None:
            w = w[:, :vocab_size]
            b = None if b is None else b[:vocab_size]
        return _naive(h, w, b, y, bs, cap, smoothing, z)

    return core


def _core_of(local, axis_name, arg):
    return _gathered(axis_name, arg) if local else _naive


def vocab_parallel_softmax_cross_entropy(
    hidden,
    weight,
    labels,
    *,
    axis_name="vocab",
    mesh=None,
    vocab_size=None,
    bias=None,
    block_size=None,
    ignore_index=None,
    label_smoothing=0.0,
    z_loss=0.0,
    logit_softcap=None,
    weights=None,
    where=None,
    reduction="none",
    return_lse=False,
):
    """Reference for :func:`jaxloss.vocab_parallel_softmax_cross_entropy`: the unsharded
    whole logits (inside a shard_map, of the all-gathered weight)."""
    return _lv._vp_call(
        _core_of, hidden, weight, labels, axis_name=axis_name, mesh=mesh,
        vocab_size=vocab_size, bias=bias, block_size=block_size, ignore_index=ignore_index,
        label_smoothing=label_smoothing, z_loss=z_loss, logit_softcap=logit_softcap,
        weights=weights, where=where, reduction=reduction, return_lse=return_lse,
    )  # fmt: skip
