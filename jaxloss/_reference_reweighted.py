"""Plain-jnp references of the classification family:
reweighted softmax cross-entropy: softmax focal, poly-1, generalized CE.

Textbook formulas on ``jax.nn.log_softmax``, differentiated by autodiff only.
Argument handling is the public losses' own (``_reweighted._*_call``). At the
boundaries where the public rules take a finite convention (a ``-inf`` logit
with a zero label, ``p = 1`` with ``γ < 1``) these give what autodiff gives.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from . import _reweighted

__all__ = ["generalized_cross_entropy", "poly_cross_entropy", "softmax_focal"]


def _softmax_focal(x, y, a, axis, gamma):
    logp = jax.nn.log_softmax(x, axis=axis)
    p = jnp.exp(logp)
    return -jnp.sum(a * y * (1 - p) ** gamma * logp, axis=axis)


def softmax_focal(
    logits,
    labels,
    *,
    alpha=0.25,
    gamma=2.0,
    axis=-1,
    weights=None,
    where=None,
    reduction="none",
) -> jax.Array:
    """Reference for :func:`jaxloss.softmax_focal`: ``-Σ α y (1 - p)^γ log p``."""
    return _reweighted._softmax_focal_call(
        _softmax_focal,
        logits,
        labels,
        alpha=alpha,
        gamma=gamma,
        axis=axis,
        weights=weights,
        where=where,
        reduction=reduction,
    )


def _poly_cross_entropy(x, y, axis, epsilon):
    logp = jax.nn.log_softmax(x, axis=axis)
    p = jnp.exp(logp)
    return -jnp.sum(y * logp, axis=axis) + epsilon * jnp.sum(y * (1 - p), axis=axis)


def poly_cross_entropy(
    logits, labels, *, epsilon=2.0, axis=-1, weights=None, where=None, reduction="none"
) -> jax.Array:
    """Reference for :func:`jaxloss.poly_cross_entropy`: optax's ``CE + ε Σ y (1 - p)``."""
    return _reweighted._poly_cross_entropy_call(
        _poly_cross_entropy,
        logits,
        labels,
        epsilon=epsilon,
        axis=axis,
        weights=weights,
        where=where,
        reduction=reduction,
    )


def _generalized_cross_entropy(x, labels, axis, q):
    n = x.shape[axis]
    logp = jax.nn.log_softmax(x, axis=axis)
    lab = jnp.expand_dims(labels, axis)
    valid = (lab >= 0) & (lab < n)
    p_y = jnp.exp(jnp.take_along_axis(logp, jnp.clip(lab, 0, n - 1), axis))
    p_y = jnp.where(valid, p_y, jnp.nan)
    return jnp.squeeze((1 - p_y**q) / q, axis)


def generalized_cross_entropy(
    logits,
    labels,
    *,
    q=0.7,
    axis=-1,
    ignore_index=None,
    weights=None,
    where=None,
    reduction="none",
) -> jax.Array:
    """Reference for :func:`jaxloss.generalized_cross_entropy`: ``(1 - p_y^q) / q``."""
    return _reweighted._generalized_cross_entropy_call(
        _generalized_cross_entropy,
        logits,
        labels,
        q=q,
        axis=axis,
        ignore_index=ignore_index,
        weights=weights,
        where=where,
        reduction=reduction,
    )
