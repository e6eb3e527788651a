"""Plain-jnp references of the ranking family, differentiated by autodiff only.

Textbook formulas on the full [..., list_size, list_size] pair grid (rax's
formulation for the pairwise losses); ListMLE without sorting: item ``k`` is in
the normaliser of item ``i`` when it is ranked at or below it (a lower label, or
an equal label and a later position). Argument handling (``where``, item or
list ``weights``, reductions) is shared with the public losses.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from . import _ranking

__all__ = ["listmle", "pairwise_hinge", "pairwise_logistic", "ranking_softmax"]


def _ranking_softmax(s, y):
    lp = s - jax.nn.logsumexp(s, axis=-1, keepdims=True)
    return -jnp.sum(y * jnp.where((s > -jnp.inf) | (y != 0), lp, 0), axis=-1)


def ranking_softmax(scores, labels, *, where=None, weights=None, reduction="none"):
    """Reference for :func:`jaxloss.ranking_softmax` (optax's formula)."""
    return _ranking._ranking_softmax_call(
        _ranking_softmax, scores, labels, weights=weights, where=where, reduction=reduction
    )


def _pairwise(s, y, w, kind, margin):
    d = s[..., :, None] - s[..., None, :]
    if kind == "logistic":
        pair = jax.nn.relu(-d) + jnp.log1p(jnp.exp(-jnp.abs(d)))
    else:
        pair = jax.nn.relu(margin - d)
    if w is not None:
        pair = pair * w[..., :, None]
    valid = y[..., :, None] > y[..., None, :]
    return jnp.sum(jnp.where(valid, pair, 0), axis=(-2, -1))


def pairwise_logistic(scores, labels, *, where=None, weights=None, reduction="none"):
    """Reference for :func:`jaxloss.pairwise_logistic` (rax's pair grid, summed per list)."""
    return _ranking._pairwise_call(
        _pairwise, "logistic", scores, labels, margin=0.0, weights=weights, where=where,
        reduction=reduction,
    )  # fmt: skip


def pairwise_hinge(scores, labels, *, margin=1.0, where=None, weights=None, reduction="none"):
    """Reference for :func:`jaxloss.pairwise_hinge` (rax's pair grid, summed per list)."""
    return _ranking._pairwise_call(
        _pairwise, "hinge", scores, labels, margin=margin, weights=weights, where=where,
        reduction=reduction,
    )  # fmt: skip


def _listmle(s, y, w):
    valid = ~jnp.isnan(y)
    n = s.shape[-1]
    eye = jnp.broadcast_to(jnp.eye(n, dtype=bool), (*s.shape, n))
    later = jnp.broadcast_to(jnp.arange(n)[None, :] >= jnp.arange(n)[:, None], eye.shape)
    yi, yk = y[..., :, None], y[..., None, :]
    # k is drawn at or after i: a lower label, or an equal one at or after i's position.
    below = (yk < yi) | ((yk == yi) & later)
    # Each row holds at least its own item, so every normaliser is finite.
    rows = (below & valid[..., None, :]) | eye
    s_rows = jnp.broadcast_to(s[..., None, :], rows.shape)
    lse = jax.nn.logsumexp(jnp.where(rows, s_rows, -jnp.inf), axis=-1)
    terms = jnp.where(valid, lse - s, 0)
    if w is not None:
        terms = w * terms
    return jnp.sum(terms, axis=-1)


def listmle(scores, labels, *, where=None, weights=None, reduction="none"):
    """Reference for :func:`jaxloss.listmle` (the Plackett–Luce likelihood without sorting)."""
    return _ranking._listmle_call(
        _listmle, scores, labels, weights=weights, where=where, reduction=reduction
    )
