"""Plain-jnp references of the embedding family, differentiated by autodiff alone.

Textbook formulas: the in-batch losses build every pair's distance from the
``[B, B, D]`` differences and ``batch_all_triplet`` every ``[B, B, B]`` triplet,
fine for the small batches the tests use. Argument handling and reductions are
the public losses' own (``_embedding._*_call``). At kinks they give what
``jax.grad`` gives (``jnp.maximum`` splits ½–½ at its kink, ``sqrt`` at 0 is
infinite), which is not always the convention the public rules document; the
catalogue samples away from those points.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax import lax

from . import _embedding as E

__all__ = list(E.__all__)


# --- cosine


def _cosine(a, b, epsilon, distance):
    # optax's formula, with 1/‖a‖ = 0 for a zero vector.
    na = jnp.sqrt(jnp.maximum(jnp.sum(a * a, axis=-1, keepdims=True), epsilon))
    nb = jnp.sqrt(jnp.maximum(jnp.sum(b * b, axis=-1, keepdims=True), epsilon))
    ua = a / jnp.where(na > 0, na, 1)
    ub = b / jnp.where(nb > 0, nb, 1)
    c = jnp.sum(ua * ub, axis=-1)
    return 1 - c if distance else c


def cosine_similarity(predictions, targets, *, epsilon=0.0, axis=-1, weights=None, where=None,
                      reduction="none"):  # fmt: skip
    """Reference for :func:`jaxloss.cosine_similarity`: optax's unit-vector product."""
    return E._cosine_call("cosine_similarity", _cosine, predictions, targets, epsilon=epsilon,
                          axis=axis, weights=weights, where=where, reduction=reduction,
                          distance=False)  # fmt: skip


def cosine_distance(predictions, targets, *, epsilon=0.0, axis=-1, weights=None, where=None,
                    reduction="none"):  # fmt: skip
    """Reference for :func:`jaxloss.cosine_distance`: ``1 -`` optax's unit-vector product."""
    return E._cosine_call("cosine_distance", _cosine, predictions, targets, epsilon=epsilon,
                          axis=axis, weights=weights, where=where, reduction=reduction,
                          distance=True)  # fmt: skip


def _cosine_embedding(x1, x2, t, margin):
    # PyTorch's formula.
    m1 = jnp.sum(x1 * x1, axis=-1) + E._TORCH_EPS
    m2 = jnp.sum(x2 * x2, axis=-1) + E._TORCH_EPS
    c = jnp.sum(x1 * x2, axis=-1) / jnp.sqrt(m1 * m2)
    return jnp.where(t == 1, 1 - c, 0) + jnp.where(t == -1, jnp.maximum(c - margin, 0), 0)


def cosine_embedding(input1, input2, target, *, margin=0.0, axis=-1, weights=None, where=None,
                     reduction="none"):  # fmt: skip
    """Reference for :func:`jaxloss.cosine_embedding`: PyTorch's formula."""
    return E._cosine_embedding_call(_cosine_embedding, input1, input2, target, margin=margin,
                                    axis=axis, weights=weights, where=where,
                                    reduction=reduction)  # fmt: skip


# --- triplets


def _norm(u, p):
    if p == math.inf:
        return jnp.max(jnp.abs(u), axis=-1)
    return jnp.sum(jnp.abs(u) ** p, axis=-1) ** (1 / p)


def _triplet(a, p, n, margin, degree, eps, swap):
    dp = _norm(a - p + eps, degree)
    dn = _norm(a - n + eps, degree)
    if swap:
        dn = jnp.minimum(dn, _norm(p - n + eps, degree))
    return jnp.maximum(margin + dp - dn, 0)


def triplet_margin(anchors, positives, negatives, *, margin=1.0, norm_degree=2.0, eps=1e-6,
                   swap=False, axis=-1, weights=None, where=None, reduction="none"):  # fmt: skip
    """Reference for :func:`jaxloss.triplet_margin`: ``(Σ|u|^p)^(1/p)`` distances."""
    return E._triplet_call(_triplet, anchors, positives, negatives, margin=margin,
                           norm_degree=norm_degree, eps=eps, swap=swap, axis=axis,
                           weights=weights, where=where, reduction=reduction)  # fmt: skip


def _triplet_distance(a, p, n, distance, margin, swap):
    dp, dn = distance(a, p), distance(a, n)
    if swap:
        dn = jnp.minimum(dn, distance(p, n))
    return jnp.maximum(margin + dp - dn, 0).astype(a.dtype)


def triplet_margin_with_distance(anchors, positives, negatives, *, distance=None, margin=1.0,
                                 swap=False, weights=None, where=None,
                                 reduction="none"):  # fmt: skip
    """Reference for :func:`jaxloss.triplet_margin_with_distance`: autodiff through ``distance``."""
    return E._triplet_distance_call(_triplet_distance, anchors, positives, negatives,
                                    distance=distance, margin=margin, swap=swap, weights=weights,
                                    where=where, reduction=reduction)  # fmt: skip


# --- elementwise


def _contrastive(d, y, margin):
    y = y.astype(d.dtype)
    return y * d**2 + (1 - y) * jnp.maximum(margin - d, 0) ** 2


def contrastive(distances, labels, *, margin=1.0, weights=None, where=None, reduction="none"):
    """Reference for :func:`jaxloss.contrastive`."""
    return E._contrastive_call(_contrastive, distances, labels, margin=margin, weights=weights,
                               where=where, reduction=reduction)  # fmt: skip


def _margin_ranking(x1, x2, y, margin):
    return jnp.maximum(-y.astype(x1.dtype) * (x1 - x2) + margin, 0)


def margin_ranking(input1, input2, target, *, margin=0.0, weights=None, where=None,
                   reduction="none"):  # fmt: skip
    """Reference for :func:`jaxloss.margin_ranking`: PyTorch's formula."""
    return E._margin_ranking_call(_margin_ranking, input1, input2, target, margin=margin,
                                  weights=weights, where=where, reduction=reduction)  # fmt: skip


def _hinge_embedding(x, y, margin):
    hinge = jnp.where(y == -1, jnp.maximum(margin - x, 0), jnp.nan)
    return jnp.where(y == 1, x, hinge)


def hinge_embedding(inputs, target, *, margin=1.0, weights=None, where=None, reduction="none"):
    """Reference for :func:`jaxloss.hinge_embedding`: PyTorch's formula for targets ±1
    (NaN for any other target, which PyTorch gives both terms)."""
    return E._hinge_embedding_call(_hinge_embedding, inputs, target, margin=margin,
                                   weights=weights, where=where, reduction=reduction)  # fmt: skip


# --- in-batch losses


def _all_distances(e, metric):
    """[B, B] distances from the [B, B, D] differences (the diagonal is 0)."""
    b = e.shape[0]
    eye = lax.broadcasted_iota(jnp.int32, (b, b), 0) == lax.broadcasted_iota(jnp.int32, (b, b), 1)
    if metric == "cosine":
        n = jnp.sqrt(jnp.sum(e * e, axis=-1))
        u = e / jnp.where(n > 0, n, 1)[:, None]
        return 1 - jnp.sum(u[:, None, :] * u[None, :, :], axis=-1)
    diff = e[:, None, :] - e[None, :, :]
    d2 = jnp.sum(diff * diff, axis=-1)
    if metric == "squared_euclidean":
        return d2
    return jnp.where(eye, 0, jnp.sqrt(jnp.where(eye, 1, d2)))


def _batch_hard(e, y, valid, margin, soft, metric):
    pos, neg = E._masks(y, valid)
    d = _all_distances(e, metric)
    has = jnp.any(pos, axis=1) & jnp.any(neg, axis=1)
    hardest_p = jnp.max(jnp.where(pos, d, -jnp.inf), axis=1)
    hardest_n = jnp.min(jnp.where(neg, d, jnp.inf), axis=1)
    # A NaN distance makes the anchor NaN explicitly: XLA:CPU's vectorised max and min
    # reductions drop NaN on some shapes (a vmapped stack of batches).
    nan = jnp.any((pos | neg) & jnp.isnan(d), axis=1)
    z = margin + jnp.where(has, hardest_p, 0) - jnp.where(has, hardest_n, 0)
    z = jnp.where(nan, jnp.nan, z)
    return jnp.where(has, jax.nn.softplus(z) if soft else jnp.maximum(z, 0), 0)


def batch_hard_triplet(embeddings, labels, *, margin=None, soft=False, metric="euclidean",
                       weights=None, where=None, reduction="none"):  # fmt: skip
    """Reference for :func:`jaxloss.batch_hard_triplet`: masked max and min of all distances."""
    return E._batch_hard_call(_batch_hard, embeddings, labels, margin=margin, soft=soft,
                              metric=metric, weights=weights, where=where,
                              reduction=reduction)  # fmt: skip


def _batch_all(e, y, valid, margin, soft, metric):
    pos, neg = E._masks(y, valid)
    d = _all_distances(e, metric)
    z = margin + d[:, :, None] - d[:, None, :]
    triplet = pos[:, :, None] & neg[:, None, :]
    h = jax.nn.softplus(z) if soft else jnp.maximum(z, 0)
    h = jnp.where(triplet, h, 0)
    count = jnp.sum(triplet & (lax.stop_gradient(h) > 0), axis=(1, 2)).astype(e.dtype)
    return jnp.sum(h, axis=(1, 2)), count


def batch_all_triplet(embeddings, labels, *, margin=None, soft=False, metric="euclidean",
                      weights=None, where=None, reduction="none"):  # fmt: skip
    """Reference for :func:`jaxloss.batch_all_triplet`: every [B, B, B] triplet."""
    return E._batch_all_call(_batch_all, embeddings, labels, margin=margin, soft=soft,
                             metric=metric, weights=weights, where=where,
                             reduction=reduction)  # fmt: skip


def _npairs(a, p, y, valid):
    s = a @ p.T
    logp = jax.nn.log_softmax(jnp.where(valid[None, :], s, -jnp.inf), axis=1)
    t = ((y[:, None] == y[None, :]) & valid[None, :]).astype(a.dtype)
    t = t / jnp.maximum(jnp.sum(t, axis=1, keepdims=True), 1)
    loss = -jnp.sum(jnp.where(t > 0, t * logp, 0), axis=1)
    return jnp.where(valid, loss, 0)


def npairs(anchors, positives, labels=None, *, weights=None, where=None, reduction="none"):
    """Reference for :func:`jaxloss.npairs`: log-softmax of ``anchors @ positives.T``."""
    return E._npairs_call(_npairs, anchors, positives, labels, weights=weights, where=where,
                          reduction=reduction)  # fmt: skip


def _circle(e, y, valid, gamma, margin):
    # Keras's formula.
    pos, neg = E._masks(y, valid)
    d = jnp.maximum(1 - e @ e.T, 0)
    ap = jnp.maximum(jnp.where(pos, margin + d, 0), 0)
    an = jnp.maximum(jnp.where(neg, 1 + margin - d, 0), 0)
    lp = jax.nn.logsumexp(jnp.where(pos, -gamma * ap * (margin - d), -jnp.inf), axis=1)
    ln = jax.nn.logsumexp(jnp.where(neg, gamma * an * (1 - margin - d), -jnp.inf), axis=1)
    has = jnp.any(pos, axis=1) & jnp.any(neg, axis=1)
    return jnp.where(has, jax.nn.softplus(jnp.where(has, lp + ln, 0)), 0)


def circle(embeddings, labels, *, gamma=80.0, margin=0.4, weights=None, where=None,
           reduction="none"):  # fmt: skip
    """Reference for :func:`jaxloss.circle`: Keras's formula."""
    return E._circle_call(_circle, embeddings, labels, gamma=gamma, margin=margin,
                          weights=weights, where=where, reduction=reduction)  # fmt: skip
