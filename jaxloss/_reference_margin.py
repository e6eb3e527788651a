"""Plain-jnp references of the classification family:
multiclass margin losses, sparsemax, zero-one.

Textbook formulas (one-hot products, all pairs, a sort), differentiated by autodiff
alone; argument handling, target decoding and reductions are the public losses'
own (``_margin._*_call``). At kinks and ties they give whatever ``jax.grad`` gives
(``jnp.maximum`` splits ½–½ at its kink), which is not always the convention the
public rules document; the catalogue samples away from those points.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from . import _margin

__all__ = ["multi_margin", "multiclass_hinge", "multilabel_margin", "sparsemax", "zero_one"]


def _nan_unless_valid(loss, x, y):
    # A product, so that an out-of-range label's gradients are NaN too.
    valid = (y >= 0) & (y < x.shape[-1])
    return loss * jnp.where(valid, 1.0, jnp.nan).astype(loss.dtype)


def _one_hot(x, y):
    return jax.nn.one_hot(y, x.shape[-1], dtype=x.dtype)


def _multi_margin(x, y, p, margin):
    onehot = _one_hot(x, y)
    x_y = jnp.sum(x * onehot, axis=-1, keepdims=True)
    h = jnp.maximum(0.0, margin - x_y + x) ** p
    loss = jnp.sum(h * (1 - onehot), axis=-1) / x.shape[-1]
    return _nan_unless_valid(loss, x, y)


def multi_margin(
    logits,
    labels,
    *,
    p=1,
    margin=1.0,
    class_weights=None,
    axis=-1,
    ignore_index=None,
    weights=None,
    where=None,
    reduction="none",
):
    """Reference for :func:`jaxloss.multi_margin`: the sum over wrong classes, with a one-hot."""
    return _margin._multi_margin_call(
        _multi_margin,
        logits,
        labels,
        p=p,
        margin=margin,
        class_weights=class_weights,
        axis=axis,
        ignore_index=ignore_index,
        weights=weights,
        where=where,
        reduction=reduction,
    )


def _multiclass_hinge(x, y):
    # optax's formula.
    onehot = _one_hot(x, y)
    loss = jnp.max(x + 1.0 - onehot, axis=-1) - jnp.sum(x * onehot, axis=-1)
    return _nan_unless_valid(loss, x, y)


def multiclass_hinge(
    scores, labels, *, axis=-1, ignore_index=None, weights=None, where=None, reduction="none"
):
    """Reference for :func:`jaxloss.multiclass_hinge`: optax's ``max(x + 1 - onehot) - x_y``."""
    return _margin._multiclass_hinge_call(
        _multiclass_hinge,
        scores,
        labels,
        axis=axis,
        ignore_index=ignore_index,
        weights=weights,
        where=where,
        reduction=reduction,
    )


def _multilabel_margin(x, counts, valid):
    c = counts.astype(x.dtype)
    non_target = (counts == 0).astype(x.dtype)
    # [..., j, i] = max(0, 1 - x_j + x_i), weighted by count_j [i not a target].
    h = jnp.maximum(0.0, 1.0 - x[..., :, None] + x[..., None, :])
    loss = jnp.sum(h * c[..., :, None] * non_target[..., None, :], axis=(-2, -1)) / x.shape[-1]
    return loss * jnp.where(valid, 1.0, jnp.nan).astype(loss.dtype)


def multilabel_margin(logits, targets, *, axis=-1, weights=None, where=None, reduction="none"):
    """Reference for :func:`jaxloss.multilabel_margin`: every (target, non-target) pair."""
    return _margin._multilabel_margin_call(
        _multilabel_margin,
        logits,
        targets,
        axis=axis,
        weights=weights,
        where=where,
        reduction=reduction,
    )


def _sparsemax(x, y):
    # optax's projection onto the simplex (sort, cumulative sums), then the
    # Fenchel-Young loss <p, x> - |p|²/2 + 1/2 - x_y.
    u = -jnp.sort(-x, axis=-1)
    cumsum = jnp.cumsum(u, axis=-1)
    k = jax.lax.broadcasted_iota(x.dtype, x.shape, x.ndim - 1) + 1
    support = jnp.sum(1 + k * u > cumsum, axis=-1, keepdims=True)
    tau = (jnp.take_along_axis(cumsum, support - 1, axis=-1) - 1) / support.astype(x.dtype)
    prob = jnp.maximum(x - tau, 0.0)
    x_y = jnp.sum(x * _one_hot(x, y), axis=-1)
    loss = jnp.sum(prob * x, axis=-1) - 0.5 * jnp.sum(prob * prob, axis=-1) + 0.5 - x_y
    return _nan_unless_valid(loss, x, y)


def sparsemax(
    scores, labels, *, axis=-1, ignore_index=None, weights=None, where=None, reduction="none"
):
    """Reference for :func:`jaxloss.sparsemax`: sort-based sparsemax, Fenchel–Young loss."""
    return _margin._sparsemax_call(
        _sparsemax,
        scores,
        labels,
        axis=axis,
        ignore_index=ignore_index,
        weights=weights,
        where=where,
        reduction=reduction,
    )


def _zero_one(x, y):
    valid = (y >= 0) & (y < x.shape[-1])
    wrong = (jnp.argmax(x, axis=-1).astype(y.dtype) != y).astype(x.dtype)
    return jnp.where(valid, wrong, jnp.nan)


def zero_one(
    logits, labels, *, axis=-1, ignore_index=None, weights=None, where=None, reduction="none"
):
    """Reference for :func:`jaxloss.zero_one`: ``argmax(logits) != labels``."""
    return _margin._zero_one_call(
        _zero_one,
        logits,
        labels,
        axis=axis,
        ignore_index=ignore_index,
        weights=weights,
        where=where,
        reduction=reduction,
    )
