r"""Learning-to-rank losses on lists of scored items: listwise softmax, pairwise
logistic and hinge, ListMLE.

Every loss takes ``scores`` and relevance ``labels`` of shape ``[..., list_size]``
(the last axis is the list, the leading axes are lists) and returns one loss per
list. Padded lists are the common case, so ``where`` and ``weights`` come in two
forms, told apart by their number of dimensions:

* with the scores' number of dimensions they describe **items** (optax's and rax's
  meaning): ``where=False`` marks a padding item, which takes part in nothing
  (no softmax mass, no pair, no position in the permutation) and gets exactly
  zero gradient even when it holds NaN; item ``weights`` scale the item's part
  of the loss (see each loss);
* with fewer dimensions they describe **lists** (jaxloss's usual meaning):
  broadcastable to the loss shape ``scores.shape[:-1]``; ``weights`` then make
  ``"mean"`` a weighted mean.

A list with no valid item (fully padded, or excluded) has loss 0, zero gradient
and is left out of ``"mean"``; ``"mean"`` is the mean over the lists that have
at least one valid item, whatever the number of pairs in them (rax's pairwise
losses average over pairs instead: see docs/ranking.md).

The rules are O(list_size²), in fused passes over the item pairs that store no
[lists, items, items] array: the pairwise backward pass folds the two sums over
pairs (as the first and as the second item) into one row sum; ListMLE finds each
item's normaliser (the items drawn after it) from label comparisons, without
sorting (on CPU, sorting [4096, 64] lists and a cumulative log-sum-exp cost more
than the O(list_size²) passes), with one exp per item when the list's scores span
less than 60 and one per pair (shifted per row) otherwise.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from . import _checks
from ._fusion import unshared
from ._reduce import compute_dtype, mask_of, reduce

__all__ = ["listmle", "pairwise_hinge", "pairwise_logistic", "ranking_softmax"]


# --- shared argument handling


def _item_mask(fn: str, where: ArrayLike | None, shape: tuple[int, ...]) -> jax.Array | None:
    """``where`` as a boolean item mask of the scores' shape (see the module docstring)."""
    if where is None:
        return None
    w = jnp.asarray(where)
    if w.dtype != jnp.bool_:
        raise TypeError(
            f"{fn}: where must be a boolean array, got dtype {w.dtype}; "
            f"pass a comparison such as where=(mask > 0)"
        )
    if w.ndim == len(shape):
        _checks.broadcastable(fn, "where", w, shape, "the scores' shape")
        return jnp.broadcast_to(w, shape)
    if w.ndim > len(shape):
        raise ValueError(
            f"{fn}: where has {w.ndim} dimensions, more than the scores {shape}; give it "
            f"the scores' shape (items) or a shape broadcastable to {shape[:-1]} (lists)"
        )
    lists = mask_of(fn, w, shape[:-1])
    assert lists is not None
    return jnp.broadcast_to(lists[..., None], shape)


def _split_weights(
    fn: str, weights: ArrayLike | None, shape: tuple[int, ...], dtype
) -> tuple[jax.Array | None, ArrayLike | None]:
    """(item weights of the scores' shape, list weights for ``reduce``)."""
    if weights is None:
        return None, None
    w = _checks.data_array(fn, "weights", weights)
    if w.ndim != len(shape):
        return None, w  # list weights: checked by `reduce`
    _checks.broadcastable(fn, "weights", w, shape, "the scores' shape")
    return jnp.broadcast_to(w.astype(dtype), shape), None


def _lists(fn: str, scores: ArrayLike, labels: ArrayLike, weights, where):
    """Checks and converts the inputs; returns (s, y, items, item_w, list_w)."""
    s = _checks.float_array(fn, "scores", scores)
    if s.ndim == 0:
        raise ValueError(f"{fn}: scores must have a list axis (the last one), got a scalar")
    _checks.nonempty_axis(fn, "scores", s, s.ndim - 1, "list")
    y = _checks.data_array(fn, "labels", labels)
    _checks.same_shape(fn, "scores", s, "labels", y)
    dtype = compute_dtype(s, y) if jnp.issubdtype(y.dtype, jnp.floating) else compute_dtype(s)
    items = _item_mask(fn, where, s.shape)
    item_w, list_w = _split_weights(fn, weights, s.shape, dtype)
    if item_w is not None and items is not None:
        item_w = jnp.where(items, item_w, 0)  # a NaN weight on a padding item must not leak
    return s.astype(dtype), y.astype(dtype), items, item_w, list_w


def _finish(fn, losses, items, list_w, reduction, out_dtype):
    mask = None if items is None else jnp.any(items, axis=-1)
    return reduce(fn, losses, weights=list_w, mask=mask, reduction=reduction).astype(out_dtype)


def _pair_inputs(s, y, items):
    """Padding items: score 0 and a NaN label, which compares false with every label."""
    if items is None:
        return s, y
    return jnp.where(items, s, 0), jnp.where(items, y, jnp.nan)


# --- ranking_softmax


@jax.custom_vjp
def _ranking_softmax(s, y):
    return _ranking_softmax_fwd(s, y)[0]


def _ranking_softmax_fwd(s, y):
    m = jax.lax.stop_gradient(jnp.max(s, axis=-1))
    m = jnp.where(m > -jnp.inf, m, 0)  # a list whose scores are all -inf
    logsum = jnp.log(jnp.sum(jnp.exp(s - m[..., None]), axis=-1))
    # Zero-label items add exactly 0, even at a -inf score (a mask).
    sy = jnp.sum(y * jnp.where((s > -jnp.inf) | (y != 0), s, 0), axis=-1)
    mass = jnp.sum(y, axis=-1)
    loss = (m * mass - sy) + jnp.where(mass == 0, 0, logsum * mass)
    return loss, (s, y, m + logsum, mass)


def _ranking_softmax_bwd(res, g):
    (s, y, lse, mass), _ = unshared(res)
    lse = jnp.where(lse > -jnp.inf, lse, 0)[..., None]
    ge = g[..., None]
    ds = ge * (mass[..., None] * jnp.exp(s - lse) - y)
    # ∂ℓ/∂y_i = lse − s_i: +inf at a -inf score, taken as 0 there.
    dy = jnp.where(s > -jnp.inf, ge * (lse - s), 0)
    return ds, dy


_ranking_softmax.defvjp(_ranking_softmax_fwd, _ranking_softmax_bwd)


def _ranking_softmax_call(core, scores, labels, *, weights, where, reduction):
    """Argument handling shared by the loss and its reference."""
    fn = "ranking_softmax"
    reduction = _checks.reduction(fn, reduction)
    out_dtype = jnp.asarray(scores).dtype
    s, y, items, item_w, list_w = _lists(fn, scores, labels, weights, where)
    if items is not None:
        # Padding items get a -inf score (no softmax mass) and label 0; a list with no
        # valid item gets scores 0 instead, so that it stays finite (its loss is 0).
        any_valid = jnp.any(items, axis=-1, keepdims=True)
        s = jnp.where(items, s, jnp.where(any_valid, -jnp.inf, 0).astype(s.dtype))
        y = jnp.where(items, y, 0)
    if item_w is not None:
        y = y * item_w
    return _finish(fn, core(s, y), items, list_w, reduction, out_dtype)


def ranking_softmax(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Listwise softmax ranking loss: cross-entropy of the scores' softmax against the labels.

    optax's ``ranking_softmax_loss`` (same values, same ``where`` and item
    ``weights``); rax's ``softmax_loss`` normalises the labels to sum to one
    first, this loss does not (as optax). With the valid items :math:`V` of a
    list, :math:`\operatorname{lse} = \log\sum_{j\in V} e^{s_j}`,
    :math:`p_j = e^{s_j - \operatorname{lse}}` and :math:`Y = \sum_{i \in V} y_i`:

    .. math::

        \ell = -\sum_{i\in V} y_i \log p_i = \sum_{i \in V} y_i(\operatorname{lse} - s_i),
        \qquad \frac{\partial \ell}{\partial s_j} = Y p_j - y_j, \qquad
        \frac{\partial \ell}{\partial y_i} = \operatorname{lse} - s_i.

    Item weights multiply the labels (:math:`y_i \to w_i y_i`). Conventions: an
    item with label 0 adds exactly 0 even when its score is ``-inf`` (a mask; it
    then has :math:`p = 0` and gets score gradient 0); the label gradient
    :math:`\operatorname{lse} - s_i` is ``+inf`` there and the rule returns 0. A
    positive label on a ``-inf`` score gives a ``+inf`` loss. A list whose labels
    are all 0 has loss 0.

    Args:
      scores: ``[..., list_size]`` item scores, any float dtype.
      labels: ``[..., list_size]`` relevance labels (non-negative; float or integer).
      where: optional boolean mask: of the scores' shape (or broadcastable with
        the same number of dimensions) for items, ``False`` marking padding; or
        broadcastable to ``scores.shape[:-1]`` for whole lists.
      weights: optional item weights (the scores' number of dimensions) that
        multiply the labels, or list weights broadcastable to ``scores.shape[:-1]``
        (a weighted ``"mean"``).
      reduction: ``"none"``, ``"mean"`` (over the lists with a valid item) or ``"sum"``.

    Returns:
      Per-list losses ``scores.shape[:-1]`` (``"none"``) or a scalar, in the dtype
      of ``scores``.

    Raises:
      TypeError: non-float ``scores``, complex ``labels`` or a non-boolean ``where``.
      ValueError: a scalar ``scores``, ``labels`` of another shape, ``where`` or
        ``weights`` of a shape that fits neither items nor lists, or an unknown
        ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> scores = jnp.array([[2.0, 1.0, 3.0], [1.0, 0.5, 9.0]])
      >>> labels = jnp.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
      >>> padding = jnp.array([[True, True, True], [True, True, False]])
      >>> jaxloss.ranking_softmax(scores, labels, where=padding)
      Array([1.4076059, 0.       ], dtype=float32)

    References:
      Cao et al., "Learning to Rank: From Pairwise Approach to Listwise Approach",
      ICML 2007. Bruch et al., "An Analysis of the Softmax Cross Entropy Loss for
      Learning-to-Rank with Binary Relevance", ICTIR 2019.
    """
    return _ranking_softmax_call(
        _ranking_softmax, scores, labels, weights=weights, where=where, reduction=reduction
    )


# --- pairwise_logistic and pairwise_hinge


def _phi(d, kind, margin):
    """The loss of a pair whose first item should rank higher, at d = s_i − s_j."""
    if kind == "logistic":
        return jnp.maximum(-d, 0) + jnp.log1p(jnp.exp(-jnp.abs(d)))  # softplus(−d)
    return jnp.maximum(margin - d, 0)


@functools.partial(jax.custom_vjp, nondiff_argnums=(3, 4))
def _pairwise(s, y, w, kind, margin):
    return _pairwise_fwd(s, y, w, kind, margin)[0]


def _pairwise_fwd(s, y, w, kind, margin):
    d = s[..., :, None] - s[..., None, :]
    above = y[..., :, None] > y[..., None, :]
    rows = jnp.sum(jnp.where(above, _phi(d, kind, margin), 0), axis=-1)
    loss = jnp.sum(rows if w is None else w * rows, axis=-1)
    return loss, (s, y, w, None if w is None else rows)


def _pairwise_bwd(kind, margin, res, g):
    s, y, w, rows = res
    (s, y), (m,) = unshared((s, y), margin)
    d = s[..., :, None] - s[..., None, :]
    yi, yj = y[..., :, None], y[..., None, :]
    # down = −φ'(d) (item i as the higher one), up = −φ'(−d) (item i as the lower one).
    if kind == "logistic":
        e = jnp.exp(-jnp.abs(d))
        r = 1 / (1 + e)  # σ(|d|); e·r = σ(−|d|)
        pos = d >= 0
        down = jnp.where(pos, e * r, r)  # σ(−d)
        up = jnp.where(pos, r, e * r)  # σ(d)
    else:
        # Strict comparisons: the subgradient 0 at the hinge (d = margin).
        down = (d < m).astype(s.dtype)
        up = (-d < m).astype(s.dtype)
    # ∂ℓ/∂s_i = Σ_j (−w_i [y_i > y_j] down_ij + w_j [y_j > y_i] up_ij): both sums over
    # pairs that hold item i, as one row sum.
    if w is None:
        t = jnp.where(yi > yj, -down, jnp.where(yj > yi, up, 0))
    else:
        t = jnp.where(yi > yj, -w[..., :, None] * down, jnp.where(yj > yi, w[..., None, :] * up, 0))
    ge = g[..., None]
    ds = ge * jnp.sum(t, axis=-1)
    return ds, None, None if w is None else ge * rows


_pairwise.defvjp(_pairwise_fwd, _pairwise_bwd)


def _pairwise_call(core, kind, scores, labels, *, margin, weights, where, reduction):
    """Argument handling shared by the pairwise losses and their references."""
    fn = f"pairwise_{kind}"
    reduction = _checks.reduction(fn, reduction)
    if kind == "hinge":
        margin = _checks.static_float(fn, "margin", margin)
    out_dtype = jnp.asarray(scores).dtype
    s, y, items, item_w, list_w = _lists(fn, scores, labels, weights, where)
    s, y = _pair_inputs(s, y, items)
    return _finish(fn, core(s, y, item_w, kind, margin), items, list_w, reduction, out_dtype)


_PAIRWISE_ARGS = r"""
    Args:
      scores: ``[..., list_size]`` item scores, any float dtype.
      labels: ``[..., list_size]`` relevance labels (graded or binary; float or
        integer); only their order matters.
      {margin}where: optional boolean mask: of the scores' shape (or broadcastable with
        the same number of dimensions) for items, ``False`` marking padding; or
        broadcastable to ``scores.shape[:-1]`` for whole lists.
      weights: optional item weights (the scores' number of dimensions): a pair
        is weighted by its higher-labelled item's weight, as rax; or list weights
        broadcastable to ``scores.shape[:-1]`` (a weighted ``"mean"``).
      reduction: ``"none"``, ``"mean"`` (over the lists with a valid item) or ``"sum"``.

    Returns:
      Per-list losses ``scores.shape[:-1]`` (``"none"``) or a scalar, in the dtype
      of ``scores``.

    Raises:
      TypeError: non-float ``scores``, complex ``labels`` or a non-boolean ``where``.
      ValueError: a scalar ``scores``, ``labels`` of another shape, ``where`` or
        ``weights`` of a shape that fits neither items nor lists{margin_error}, or an
        unknown ``reduction``.
"""


def pairwise_logistic(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    return _pairwise_call(
        _pairwise, "logistic", scores, labels, margin=0.0, weights=weights, where=where,
        reduction=reduction,
    )  # fmt: skip


pairwise_logistic.__doc__ = (
    r"""Pairwise logistic (RankNet) loss: a softplus of every misordered score difference.

    rax's ``pairwise_logistic_loss`` summed per list; ``pairwise_hinge`` is its
    hinge counterpart. Over the ordered pairs of valid items with
    :math:`y_i > y_j`, with item weights :math:`w` (1 without) and
    :math:`\sigma` the logistic function:

    .. math::

        \ell = \sum_{y_i > y_j} w_i \log\bigl(1 + e^{-(s_i - s_j)}\bigr), \qquad
        \frac{\partial \ell}{\partial s_k} = -\sum_{j:\, y_k > y_j} w_k\,\sigma(s_j - s_k)
        + \sum_{i:\, y_i > y_k} w_i\,\sigma(s_k - s_i).

    Pairs with equal labels add nothing, so a list whose labels are all equal has
    loss 0. The loss is smooth; scores of ±1e4 give finite values and gradients.
    The labels get no gradient (the loss is piecewise constant in them).
"""
    + _PAIRWISE_ARGS.format(margin="", margin_error="")
    + r"""
    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.pairwise_logistic(jnp.array([2.0, 1.0, 3.0]), jnp.array([1.0, 0.0, 0.0]))
      Array(1.6265235, dtype=float32)

    References:
      Burges et al., "Learning to Rank using Gradient Descent", ICML 2005.
    """
)


def pairwise_hinge(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    margin: float = 1.0,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    return _pairwise_call(
        _pairwise, "hinge", scores, labels, margin=margin, weights=weights, where=where,
        reduction=reduction,
    )  # fmt: skip


pairwise_hinge.__doc__ = (
    r"""Pairwise hinge (RankSVM) loss: every misordered pair within ``margin`` costs the shortfall.

    rax's ``pairwise_hinge_loss`` summed per list (rax's margin is 1);
    ``pairwise_logistic`` is the smooth counterpart. Over the ordered pairs of
    valid items with :math:`y_i > y_j`, margin :math:`m` and item weights
    :math:`w` (1 without):

    .. math::

        \ell = \sum_{y_i > y_j} w_i \max\bigl(0,\, m - (s_i - s_j)\bigr), \qquad
        \frac{\partial \ell}{\partial s_k} = -\sum_{j:\, y_k > y_j} w_k\,[s_k - s_j < m]
        + \sum_{i:\, y_i > y_k} w_i\,[s_i - s_k < m].

    At the hinge, :math:`s_i - s_j = m`, the rule takes the subgradient 0 for that
    pair (as ``jax.nn.relu`` does). Pairs with equal labels add nothing. The
    labels get no gradient.
"""
    + _PAIRWISE_ARGS.format(
        margin="margin: the margin :math:`m` (any real; 1 in rax).\n      ",
        margin_error=", a non-finite ``margin``",
    )
    + r"""
    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.pairwise_hinge(jnp.array([2.0, 1.0, 3.0]), jnp.array([1.0, 0.0, 0.0]))
      Array(2., dtype=float32)

    References:
      Herbrich et al., "Large Margin Rank Boundaries for Ordinal Regression", 2000.
      Joachims, "Optimizing Search Engines using Clickthrough Data", KDD 2002.
    """
)


# --- listmle


def _drawn_after(y, transpose=False):
    """``[..., i, k]``: item k is still undrawn when item i is drawn (k = i included): a
    lower label, or an equal label at or after i's position (ties keep the list order).
    Padding items (NaN labels) are in no row but their own, which keeps every
    normaliser finite. ``transpose``: the same relation with k in the rows, ``[..., k, i]``."""
    shape = (*y.shape, y.shape[-1])
    row = jax.lax.broadcasted_iota(jnp.int32, shape, len(shape) - 2)
    col = jax.lax.broadcasted_iota(jnp.int32, shape, len(shape) - 1)
    if transpose:  # k in the rows: k drawn at or after i
        yk, yi = y[..., :, None], y[..., None, :]
        return (yk < yi) | ((yk == yi) & (row >= col))
    yi, yk = y[..., :, None], y[..., None, :]
    return (yk < yi) | ((yk == yi) & (col >= row)) | (row == col)


# Lists whose valid scores span less than this take the fast path: one exp per item,
# and O(list_size²) passes of comparisons and additions only (in float32, e^-60 is far
# from underflow). Wider lists take the exact path, one exp per pair, shifted per row.
_SPREAD = 60.0


@jax.custom_vjp
def _listmle(s, y, w):
    return _listmle_fwd(s, y, w)[0]


def _list_max(s, valid):
    m = jax.lax.stop_gradient(jnp.max(jnp.where(valid, s, -jnp.inf), axis=-1, keepdims=True))
    return jnp.where(m > -jnp.inf, m, 0)


def _narrow(s, valid, m):
    """Whether every list's valid scores lie within _SPREAD of its maximum."""
    low = jnp.min(jnp.where(valid, s, jnp.inf), axis=-1, keepdims=True)
    return jnp.all(jnp.where(low < jnp.inf, m - low, 0) < _SPREAD)


def _lse_fast(s, y, valid, m):
    e = jnp.where(valid, jnp.exp(s - m), 0)
    total = jnp.sum(jnp.where(_drawn_after(y), e[..., None, :], 0), axis=-1)
    return m + jnp.log(jnp.where(valid, total, 1))


def _lse_exact(s, y, valid, m):
    rows = _drawn_after(y)
    sk = s[..., None, :]
    # Shifted by each row's maximum: no overflow, no underflow (the sum is in [1, n]).
    mr = jax.lax.stop_gradient(jnp.max(jnp.where(rows, sk, -jnp.inf), axis=-1))
    return mr + jnp.log(jnp.sum(jnp.where(rows, jnp.exp(sk - mr[..., None]), 0), axis=-1))


def _listmle_fwd(s, y, w):
    valid = ~jnp.isnan(y)
    m = _list_max(s, valid)
    narrow = _narrow(s, valid, m)
    lse = jax.lax.cond(narrow, _lse_fast, _lse_exact, s, y, valid, m)
    terms = jnp.where(valid, lse - s, 0)
    if w is not None:
        terms = w * terms
    return jnp.sum(terms, axis=-1), (s, y, w, lse, narrow)


def _grad_fast(s, y, a, lse, m):
    # e^{s_k − lse_i} = e^{s_k − m} e^{m − lse_i}: one exp per item.
    b = a * jnp.exp(m - lse)
    total = jnp.sum(jnp.where(_drawn_after(y, transpose=True), b[..., None, :], 0), axis=-1)
    return jnp.exp(s - m) * total


def _grad_exact(s, y, a, lse, m):
    p = jnp.exp(s[..., :, None] - lse[..., None, :])
    return jnp.sum(jnp.where(_drawn_after(y, transpose=True), a[..., None, :] * p, 0), axis=-1)


def _listmle_bwd(res, g):
    s, y, w, lse, narrow = res
    (s, y, lse), _ = unshared((s, y, lse))
    valid = ~jnp.isnan(y)
    a = valid.astype(s.dtype) if w is None else jnp.where(valid, w, 0)
    m = _list_max(s, valid)
    # ∂ℓ/∂s_k = −a_k + Σ_{i: k undrawn at i} a_i e^{s_k − lse_i}, as a row sum over i
    # (rows of the transposed relation: k drawn at or after i).
    ds = jax.lax.cond(narrow, _grad_fast, _grad_exact, s, y, a, lse, m) - a
    ds = jnp.where(valid, g[..., None] * ds, 0)
    dw = None if w is None else jnp.where(valid, g[..., None] * (lse - s), 0)
    return ds, None, dw


_listmle.defvjp(_listmle_fwd, _listmle_bwd)


def _listmle_call(core, scores, labels, *, weights, where, reduction):
    """Argument handling shared by the loss and its reference."""
    fn = "listmle"
    reduction = _checks.reduction(fn, reduction)
    out_dtype = jnp.asarray(scores).dtype
    s, y, items, item_w, list_w = _lists(fn, scores, labels, weights, where)
    s, y = _pair_inputs(s, y, items)
    return _finish(fn, core(s, y, item_w), items, list_w, reduction, out_dtype)


def listmle(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""ListMLE: negative log-likelihood of the labels' ranking under the Plackett–Luce model.

    rax's ``listmle_loss`` (Xia et al. 2008). The labels define a permutation
    :math:`\pi` (decreasing label; see ties below); the loss is minus the log
    probability of drawing the items in that order, each draw a softmax over the
    items not yet drawn. With :math:`n` valid items, suffix normalisers
    :math:`\operatorname{lse}_r = \log\sum_{k \ge r} e^{s_{\pi(k)}}` and item
    weights :math:`a` (1 without), taken per position :math:`a_r = w_{\pi(r)}`:

    .. math::

        \ell = \sum_{r=1}^{n} a_r \bigl(\operatorname{lse}_r - s_{\pi(r)}\bigr), \qquad
        \frac{\partial \ell}{\partial s_{\pi(k)}} = -a_k
        + \sum_{r \le k} a_r\, e^{s_{\pi(k)} - \operatorname{lse}_r}.

    **Ties**: items with equal labels keep their order in the list (a stable sort:
    the earlier item is drawn first), so the loss is deterministic but not
    symmetric in tied items; shuffle the lists, or break ties in the labels, if
    that matters (rax breaks them with a random ``key``). Labels must not be NaN
    (a NaN label marks padding internally). The loss is smooth in the scores and
    gets no label gradient. A one-item list has loss 0. Item weights should be
    non-negative (the gradient's sum runs in the log domain).

    Args:
      scores: ``[..., list_size]`` item scores, any float dtype.
      labels: ``[..., list_size]`` relevance labels (float or integer); only
        their order matters.
      where: optional boolean mask: of the scores' shape (or broadcastable with
        the same number of dimensions) for items, ``False`` marking padding (not
        in the permutation); or broadcastable to ``scores.shape[:-1]`` for lists.
      weights: optional non-negative item weights (the scores' number of
        dimensions), each scaling its item's term; or list weights broadcastable
        to ``scores.shape[:-1]`` (a weighted ``"mean"``).
      reduction: ``"none"``, ``"mean"`` (over the lists with a valid item) or ``"sum"``.

    Returns:
      Per-list losses ``scores.shape[:-1]`` (``"none"``) or a scalar, in the dtype
      of ``scores``.

    Raises:
      TypeError: non-float ``scores``, complex ``labels`` or a non-boolean ``where``.
      ValueError: a scalar ``scores``, ``labels`` of another shape, ``where`` or
        ``weights`` of a shape that fits neither items nor lists, or an unknown
        ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.listmle(jnp.array([2.0, 1.0, 3.0]), jnp.array([1.0, 0.0, 2.0]))
      Array(0.72086763, dtype=float32)

    References:
      Xia et al., "Listwise Approach to Learning to Rank: Theory and Algorithm",
      ICML 2008.
    """
    return _listmle_call(_listmle, scores, labels, weights=weights, where=where,
                         reduction=reduction)  # fmt: skip
