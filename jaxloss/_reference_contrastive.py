"""Plain-jnp references of the contrastive losses (embedding family).

Textbook formulas (a log-softmax with ``-inf`` masks, log-sigmoids of every pair,
``all_gather`` of the other tower under ``axis_name``), differentiated by autodiff
alone: the gradient of the gathered copy returns to its device through JAX's own
transpose of ``all_gather``. Argument handling, masking and the (global) reduction
are the public losses' own (``_contrastive._*_call``). Rows and pairs that a mask
empties are computed on safe values and selected away (the "double where"), so that
autodiff gives zero, not NaN, there.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from . import _contrastive as _c

__all__ = [
    "additive_angular_margin",
    "info_nce",
    "ntxent",
    "sigmoid_pairwise",
    "supervised_contrastive",
]


def _logsumexp(s, ok, axis=1):
    """log Σ exp over ``ok`` entries of rows that have at least one (0 for empty rows)."""
    any_ok = jnp.any(ok, axis=axis, keepdims=True)
    x = jnp.where(ok, s, -jnp.inf)
    x = jnp.where(any_ok, x, 0.0)
    return jnp.squeeze(jnp.where(any_ok, jax.nn.logsumexp(x, axis=axis, keepdims=True), 0.0),
                       axis)  # fmt: skip


def _masks(y, v, masked, n, axis_name):
    yy = _c._gather(y, axis_name)
    big_n = yy.shape[0]
    self_ = _c._self_mask(n, big_n, axis_name)
    same = y[:, None] == yy[None, :]
    ok = v[:, None] & _c._gather(v, axis_name)[None, :] if masked else jnp.ones_like(same)
    return self_, same, ok


def _pairs(z, y, tau, v, kind, normalize, masked, eps, axis_name):
    zh = _c._unit(z, eps) if normalize else z
    s = zh @ _c._gather(zh, axis_name).T / tau
    self_, same, ok = _masks(y, v, masked, z.shape[0], axis_name)
    pos = same & ~self_ & ok
    if kind == "supcon":
        cand = ~self_ & ok
        npos = jnp.sum(pos, axis=1, dtype=s.dtype)
        log_p = s - _logsumexp(s, cand)[:, None]
        mean_log_p = jnp.sum(jnp.where(pos, log_p, 0), axis=1) / jnp.maximum(npos, 1)
        return jnp.where(npos > 0, -mean_log_p, 0.0)
    neg = ~same & ok
    has_neg = jnp.any(neg, axis=1, keepdims=True)
    nlse = _logsumexp(s, neg)[:, None]
    # -log(e^{s_p} / (e^{s_p} + Σ_neg e^{s_n})) for each positive pair (0 without negatives)
    pair = jnp.logaddexp(s, nlse) - s
    return jnp.sum(jnp.where(pos & has_neg, pair, 0.0), axis=1)


def ntxent(
    embeddings, labels, temperature=0.07, *, axis_name=None, weights=None, where=None,
    reduction="none",
):  # fmt: skip
    """Reference for :func:`jaxloss.ntxent`: log-softmax of each positive against the negatives."""
    return _c._pairs_call("ntxent", _pairs, embeddings, labels, temperature, kind="ntxent",
                          normalize=True, axis_name=axis_name, weights=weights, where=where,
                          reduction=reduction)  # fmt: skip


def supervised_contrastive(
    embeddings, labels, temperature=0.07, *, normalize=True, axis_name=None, weights=None,
    where=None, reduction="none",
):  # fmt: skip
    """Reference for :func:`jaxloss.supervised_contrastive`: the mean log-probability of the
    positives under a softmax over all other examples."""
    return _c._pairs_call("supervised_contrastive", _pairs, embeddings, labels, temperature,
                          kind="supcon", normalize=normalize, axis_name=axis_name,
                          weights=weights, where=where, reduction=reduction)  # fmt: skip


def _info_nce(q, k, tau, v, symmetric, normalize, masked, eps, axis_name):
    qh = _c._unit(q, eps) if normalize else q
    kh = _c._unit(k, eps) if normalize else k
    n = q.shape[0]
    s = qh @ _c._gather(kh, axis_name).T / tau  # queries against every key
    self_, _, ok = _masks(jnp.zeros(n, jnp.int32), v, masked, n, axis_name)
    ok = ok | self_
    row = _logsumexp(s, ok) - _c._diag(s, axis_name)
    if not symmetric:
        return row
    s2 = kh @ _c._gather(qh, axis_name).T / tau  # keys against every query
    col = _logsumexp(s2, ok) - _c._diag(s2, axis_name)
    return 0.5 * (row + col)


def info_nce(
    query, key, temperature=0.07, *, symmetric=True, normalize=True, axis_name=None,
    weights=None, where=None, reduction="none",
):  # fmt: skip
    """Reference for :func:`jaxloss.info_nce`: cross-entropy of the logits, both ways."""
    return _c._info_nce_call(_info_nce, query, key, temperature, symmetric=symmetric,
                             normalize=normalize, axis_name=axis_name, weights=weights,
                             where=where, reduction=reduction)  # fmt: skip


def _sigmoid(x, y, t, b, v, normalize, masked, eps, axis_name):
    xh = _c._unit(x, eps) if normalize else x
    yh = _c._unit(y, eps) if normalize else y
    n = x.shape[0]
    a = t * (xh @ _c._gather(yh, axis_name).T) + b
    self_, _, ok = _masks(jnp.zeros(n, jnp.int32), v, masked, n, axis_name)
    z = jnp.where(self_, 1.0, -1.0).astype(a.dtype)
    return -jnp.sum(jnp.where(ok, jax.nn.log_sigmoid(z * a), 0.0), axis=1)


def sigmoid_pairwise(
    x, y, scale=10.0, bias=-10.0, *, normalize=True, axis_name=None, weights=None, where=None,
    reduction="none",
):  # fmt: skip
    """Reference for :func:`jaxloss.sigmoid_pairwise`: -log σ(±a) of every pair."""
    return _c._sigmoid_call(_sigmoid, x, y, scale, bias, normalize=normalize,
                            axis_name=axis_name, weights=weights, where=where,
                            reduction=reduction)  # fmt: skip


def _aam(c, y, scale, margin, cosine_margin, easy_margin, num_classes):
    hot = jax.nn.one_hot(y, num_classes, dtype=bool)
    if margin == 0.0:
        phi = c - cosine_margin
    else:
        q = 1 - c * c
        inside = q > 0
        sin = jnp.where(inside, jnp.sqrt(jnp.where(inside, q, 1.0)), 0.0)
        cos_theta_m = c * jnp.cos(margin) - sin * jnp.sin(margin)  # cos(θ + m)
        if easy_margin:
            phi = jnp.where(c > 0, cos_theta_m, c)
        else:
            th = jnp.cos(jnp.pi - margin)
            phi = jnp.where(c > th, cos_theta_m, c - jnp.sin(jnp.pi - margin) * margin)
        phi = phi - cosine_margin
    z = scale * jnp.where(hot, phi, c)
    loss = jax.nn.logsumexp(z, axis=-1) - jnp.sum(jnp.where(hot, z, 0.0), axis=-1)
    return jnp.where((y >= 0) & (y < num_classes), loss, jnp.nan)


def additive_angular_margin(
    cosines, labels, *, scale=64.0, margin=0.5, cosine_margin=0.0, easy_margin=False, axis=-1,
    weights=None, where=None, reduction="none",
):  # fmt: skip
    """Reference for :func:`jaxloss.additive_angular_margin`: cross-entropy of the
    margin-penalised logits, with ``cos(θ + m)`` from ``√(1 − c²)``."""
    return _c._aam_call(_aam, cosines, labels, scale=scale, margin=margin,
                        cosine_margin=cosine_margin, easy_margin=easy_margin, axis=axis,
                        weights=weights, where=where, reduction=reduction)  # fmt: skip
