"""Plain-jnp references of the classification family:
softmax cross-entropy with integer or probability labels, and NLL.

Textbook formulas (``jax.nn.log_softmax``, a one-hot target), differentiated by
autodiff only; argument handling is shared with the public losses.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from . import _classification as _c

__all__ = [
    "negative_log_likelihood",
    "softmax_cross_entropy",
    "softmax_cross_entropy_with_integer_labels",
]


def _log_softmax(x, axis):
    return x - jax.nn.logsumexp(x, axis, keepdims=True)


def _smooth(x, t, axis, smoothing):
    """(1 - ε) t + ε / C' on the classes with a finite logit."""
    if not smoothing:
        return t
    finite = x > -jnp.inf
    count = jnp.sum(finite, axis, keepdims=True).astype(x.dtype)
    return (1 - smoothing) * t + jnp.where(finite, smoothing / count, 0)


def _xent(x, t, axis):
    """-Σ t log p, with masked (-inf logit) classes adding 0."""
    lp = _log_softmax(x, axis)
    safe = jnp.where((x > -jnp.inf) | (t != 0), lp, 0)
    return -jnp.sum(t * safe, axis)


def _ce_int_core(x, y, cw, axis, smoothing, z_loss):
    classes = x.shape[axis]
    onehot = jax.nn.one_hot(y, classes, axis=axis, dtype=x.dtype)
    valid = (y >= 0) & (y < classes)
    shape = [1] * x.ndim
    shape[axis] = classes
    w = jnp.ones(shape, x.dtype) if cw is None else cw.reshape(shape)
    wy = jnp.sum(onehot * w, axis)
    nll = jnp.where(valid, wy * _xent(x, onehot, axis), jnp.nan)
    loss = nll
    if smoothing:
        uniform = _smooth(x, jnp.zeros_like(x), axis, smoothing) / smoothing
        loss = (1 - smoothing) * nll + smoothing * _xent(x, uniform * w, axis)
    if z_loss:
        loss = loss + z_loss * jax.nn.logsumexp(x, axis) ** 2
    return loss


def softmax_cross_entropy_with_integer_labels(
    logits,
    labels,
    *,
    axis=-1,
    class_weights=None,
    ignore_index=None,
    label_smoothing=0.0,
    z_loss=0.0,
    weights=None,
    where=None,
    reduction="none",
):
    """Reference for :func:`jaxloss.softmax_cross_entropy_with_integer_labels` (one-hot)."""
    return _c._ce_int_call(
        _ce_int_core, logits, labels, axis=axis, class_weights=class_weights,
        ignore_index=ignore_index, label_smoothing=label_smoothing, z_loss=z_loss,
        weights=weights, where=where, reduction=reduction,
    )  # fmt: skip


def _ce_soft_core(x, t, cw, axis, smoothing):
    ts = _smooth(x, t, axis, smoothing)
    if cw is not None:
        shape = [1] * x.ndim
        shape[axis] = x.shape[axis]
        ts = ts * cw.reshape(shape)
    return _xent(x, ts, axis)


def softmax_cross_entropy(
    logits,
    labels,
    *,
    axis=-1,
    class_weights=None,
    label_smoothing=0.0,
    weights=None,
    where=None,
    reduction="none",
):
    """Reference for :func:`jaxloss.softmax_cross_entropy`: ``-Σ w t' log_softmax(x)``."""
    return _c._ce_soft_call(
        _ce_soft_core, logits, labels, axis=axis, class_weights=class_weights,
        label_smoothing=label_smoothing, weights=weights, where=where, reduction=reduction,
    )  # fmt: skip


def _nll_core(lp, y, cw, axis):
    classes = lp.shape[axis]
    onehot = jax.nn.one_hot(y, classes, axis=axis, dtype=lp.dtype)
    valid = (y >= 0) & (y < classes)
    shape = [1] * lp.ndim
    shape[axis] = classes
    w = jnp.ones(shape, lp.dtype) if cw is None else cw.reshape(shape)
    return jnp.where(valid, -jnp.sum(onehot * w * lp, axis), jnp.nan)


def negative_log_likelihood(
    log_probs,
    labels,
    *,
    axis=-1,
    class_weights=None,
    ignore_index=None,
    weights=None,
    where=None,
    reduction="none",
):
    """Reference for :func:`jaxloss.negative_log_likelihood`: ``-Σ onehot · w · lp``."""
    return _c._nll_call(
        _nll_core, log_probs, labels, axis=axis, class_weights=class_weights,
        ignore_index=ignore_index, weights=weights, where=where, reduction=reduction,
    )  # fmt: skip
