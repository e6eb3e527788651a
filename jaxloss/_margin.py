"""Multiclass margin losses (Weston–Watkins, Crammer–Singer, multilabel margin), the
sparsemax loss and the zero-one loss.

Every loss here takes class scores with a class ``axis`` and integer class indices
(``multilabel_margin``: PyTorch's ``-1``-terminated lists of indices). The public
function checks its arguments, moves the class axis last, excludes ``where=False``
and ``ignore_index`` examples by replacing their scores and labels with safe values
*before* any arithmetic, and hands a private ``jax.custom_vjp`` function the
``[..., C]`` scores and ``[...]`` labels; :mod:`jaxloss._reduce` then applies
``weights`` and ``reduction``. The rules save the inputs (and, where it avoids a
pass over the scores, one number per example) and recompute the rest: these
losses read ``[N, C]`` scores a few times and must write the ``[N, C]`` gradient
once, so every avoided ``[N, C]`` buffer counts. ``g`` is the cotangent of the
per-example losses.

A label outside ``[0, C)`` cannot raise under ``jit``: it gives a NaN loss and NaN
gradients for its example (never a silently wrong class; negative labels are not
wrapped around as in NumPy indexing).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax import lax
from jax.typing import ArrayLike

from . import _checks, _reduce
from ._fusion import unshared

__all__ = ["multi_margin", "multiclass_hinge", "multilabel_margin", "sparsemax", "zero_one"]


# --- shared helpers


def _classes(
    fn: str, scores: ArrayLike, labels: ArrayLike, axis: object, name: str
) -> tuple[jax.Array, jax.Array]:
    """Checks ``[..., C, ...]`` scores (called ``name``) and ``[...]`` integer labels
    (:func:`jaxloss._checks.class_labels`); the class axis moves last."""
    x = _checks.float_array(fn, name, scores)
    ax, y = _checks.class_labels(fn, x, labels, axis, scores=name)
    if y.dtype.itemsize < 4:  # iota and comparisons need room for every class index
        y = y.astype(jnp.int32)
    return jnp.moveaxis(x, ax, -1), y


def _ignore(fn: str, ignore_index: object) -> int | None:
    if ignore_index is None:
        return None
    return _checks.static_int(fn, "ignore_index", ignore_index)


def _apply(
    fn: str,
    core: Callable[..., jax.Array],
    x: jax.Array,
    y: jax.Array,
    hyper: tuple = (),
    *,
    ignore_index: int | None = None,
    label_safe: int = 0,
    scale: Callable[[jax.Array, jax.Array], jax.Array] | None = None,
    weights: ArrayLike | None,
    where: ArrayLike | None,
    reduction: str,
) -> jax.Array:
    """``core(x, y, *hyper)`` per example under the shared conventions.

    ``x`` is ``[..., C]`` (class axis last), ``y`` the ``[...]`` labels (or any
    integer array whose leading axes are the examples). Excluded examples
    (``where=False``, ``y == ignore_index``) get zero scores and label ``label_safe``
    before ``core`` runs. ``scale(losses, y)`` multiplies the losses (class weights) before
    the reduction.
    """
    reduction = _checks.reduction(fn, reduction)
    loss_shape = x.shape[:-1]
    mask = _reduce.mask_of(fn, where, loss_shape)
    if ignore_index is not None:
        keep = y != ignore_index
        mask = keep if mask is None else mask & keep
    dtype = _reduce.compute_dtype(x)
    xs = _reduce.exclude(x.astype(dtype), mask, 0.0, axes=(x.ndim - 1,))
    ys = _reduce.exclude(y, mask, label_safe, axes=tuple(range(len(loss_shape), y.ndim)))
    losses = core(xs, ys, *hyper)
    if scale is not None:
        losses = scale(losses, ys)
    losses = _reduce.reduce(fn, losses, weights=weights, mask=mask, reduction=reduction)
    return losses.astype(x.dtype)


def _is_label(x: jax.Array, y: jax.Array) -> jax.Array:
    """``[..., C]`` booleans: class ``i`` is the label (no one-hot buffer; fuses into users)."""
    return lax.broadcasted_iota(y.dtype, x.shape, x.ndim - 1) == y[..., None]


def _valid(x: jax.Array, y: jax.Array) -> jax.Array:
    return (y >= 0) & (y < x.shape[-1])


def _at_label(x: jax.Array, y: jax.Array) -> jax.Array:
    """``x[..., y]`` as ``[..., 1]`` (a gather of N values; out-of-range labels clamped,
    their examples are made NaN separately)."""
    return jnp.take_along_axis(x, y[..., None], axis=-1, mode="clip")


def _nan_unless(valid: jax.Array, v: jax.Array) -> jax.Array:
    return jnp.where(valid, v, jnp.nan)


# --- multi_margin


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _multi_margin(x, y, p, margin):
    return _multi_margin_fwd(x, y, p, margin)[0]


# The label's own term is left in the sums and corrected per example afterwards: a
# select or compare inside the reduction would split it into passes over fresh [N, C]
# buffers on XLA:CPU. With x_i - x_y computed first, that term is exactly
# max(0, margin)^p whenever x_y is finite.


def _multi_margin_fwd(x, y, p, margin):
    x_y = _at_label(x, y)
    h = jnp.maximum((x - x_y) + margin, 0)
    total = jnp.sum(h if p == 1 else h * h, axis=-1) - max(margin, 0.0) ** p
    # A label scored +inf (-inf) has loss 0 (+inf); its own term was inf - inf above.
    x_y = x_y[..., 0]
    total = jnp.where(jnp.isinf(x_y), jnp.where(x_y > 0, 0, jnp.inf), total)
    return _nan_unless(_valid(x, y), total * (1 / x.shape[-1])), (x, y)


def _multi_margin_bwd(p, margin, res, g):
    (x, y), (margin, inv_c, zero) = unshared(res, margin, 1 / res[0].shape[-1], 0)
    x_y = _at_label(x, y)
    finite = jnp.isfinite(x_y)
    h = jnp.maximum((x - jnp.where(finite, x_y, zero)) + margin, zero)
    # p = 1: the slope [d > 0] (subgradient 0 at the hinge, as PyTorch) is sign(max(d, 0)).
    s = jnp.sign(h) if p == 1 else 2 * h
    # ∂/∂x_y = -Σ_{i≠y} s_i = s_y - Σ_i s_i, whatever the label's own s_y is.
    total = jnp.sum(s, axis=-1, keepdims=True)
    # A label scored ±inf: zero gradient (the loss is 0 or +inf there).
    gc = _nan_unless(_valid(x, y)[..., None], jnp.where(finite, g[..., None] * inv_c, 0))
    grad = gc * (s - jnp.where(_is_label(x, y), total, zero))
    if p == 1:
        return grad, None
    # p = 2: another class at +inf makes that 0 · inf; selected on the output, not on the
    # slopes (a select there splits the pass over [N, C] in two on XLA:CPU, 2.3x slower).
    return jnp.where(finite, grad, zero), None


_multi_margin.defvjp(_multi_margin_fwd, _multi_margin_bwd)


def _times_class_weight(cw: jax.Array, losses: jax.Array, ys: jax.Array) -> jax.Array:
    """``w_y`` times the example's loss (outside the power, as PyTorch computes it);
    outside the rule, so that autodiff gives the class weights their gradient."""
    return losses * jnp.take(cw.astype(losses.dtype), ys, mode="clip")


def _multi_margin_call(
    core, logits, labels, *, p, margin, class_weights, axis, ignore_index, weights, where, reduction
):
    """Argument handling shared by the loss and its reference."""
    fn = "multi_margin"
    p = _checks.static_int(fn, "p", p)
    if p not in (1, 2):
        raise ValueError(f"{fn}: p must be 1 or 2 (as in PyTorch), got {p}")
    margin = _checks.static_float(fn, "margin", margin)
    x, y = _classes(fn, logits, labels, axis, "logits")
    scale = None
    if class_weights is not None:
        cw = _checks.float_array(fn, "class_weights", class_weights)
        if cw.shape != (x.shape[-1],):
            raise ValueError(
                f"{fn}: class_weights must have shape (num_classes,) = ({x.shape[-1]},), "
                f"got {cw.shape}; pass one weight per class"
            )
        scale = functools.partial(_times_class_weight, cw)

    return _apply(
        fn,
        core,
        x,
        y,
        (p, margin),
        ignore_index=_ignore(fn, ignore_index),
        scale=scale,
        weights=weights,
        where=where,
        reduction=reduction,
    )


def multi_margin(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    p: int = 1,
    margin: float = 1.0,
    class_weights: ArrayLike | None = None,
    axis: int = -1,
    ignore_index: int | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Weston–Watkins multiclass margin loss, PyTorch's ``multi_margin_loss``.

    Every wrong class ``i`` whose score comes within ``margin`` of the label's
    score ``x_y`` is penalised, linearly (``p=1``) or quadratically (``p=2``); the
    sum is divided by the number of classes ``C`` and multiplied by the label's
    class weight ``w_y`` (1 without ``class_weights``). PyTorch's
    ``MultiMarginLoss``; ``multiclass_hinge`` penalises only the worst wrong class.

    .. math::

        \ell = \frac{w_y}{C} \sum_{i \ne y} \max(0,\ m - x_y + x_i)^p

    .. math::

        \frac{\partial \ell}{\partial x_i} = \frac{w_y}{C}\, s_i \quad (i \ne y), \qquad
        \frac{\partial \ell}{\partial x_y} = -\frac{w_y}{C} \sum_{i \ne y} s_i, \qquad
        s_i = \begin{cases} [\,m - x_y + x_i > 0\,] & p = 1 \\
                            2 \max(0,\ m - x_y + x_i) & p = 2 \end{cases}

    At a hinge point (``m - x_y + x_i = 0``) the ``p = 1`` loss has a kink; the rule
    takes the subgradient 0 for that term, as PyTorch does. With ``p = 2`` the loss
    is differentiable everywhere. ``-inf`` scores of wrong classes (masks) add
    nothing; a label scored ``+inf`` gives 0 and one scored ``-inf`` gives ``+inf``,
    both with zero gradient.

    ``class_weights`` scale each example's loss (PyTorch's ``weight``), and
    ``reduction="mean"`` then divides by the number of examples, not by the summed
    class weights (PyTorch does the same here, unlike in ``cross_entropy``). For a
    mean normalised by the class weights pass ``weights=class_weights[labels]``
    instead. ``ignore_index`` labels behave exactly like ``where=False``.

    Args:
      logits: scores of shape ``[..., C, ...]``, any float dtype, class axis ``axis``.
      labels: integer class indices of ``logits``' shape without the class axis.
      p: 1 (hinge) or 2 (squared hinge).
      margin: the margin ``m`` (any finite number; PyTorch's default 1).
      class_weights: optional ``[C]`` array of per-class weights ``w``.
      axis: the class axis of ``logits``.
      ignore_index: optional label value whose examples are excluded.
      weights: optional per-example weights broadcastable to ``labels.shape``.
      where: optional boolean mask broadcastable to ``labels.shape``.
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
      The per-example losses (``"none"``, shape ``labels.shape``) or a scalar, in the
      dtype of ``logits``. A label outside ``[0, C)`` gives a NaN loss and NaN
      gradients for its example.

    Raises:
      TypeError: non-float ``logits`` or ``class_weights``, non-integer ``labels``,
        ``ignore_index`` or ``p``.
      ValueError: ``p`` not 1 or 2, non-finite ``margin``, mismatched shapes or an
        unknown ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> logits = jnp.array([[0.1, 0.2, 0.4, 0.8], [2.0, 0.0, -1.0, 0.5]])
      >>> jaxloss.multi_margin(logits, jnp.array([3, 0]))
      Array([0.325, 0.   ], dtype=float32)

    References:
      Weston and Watkins, "Support Vector Machines for Multi-Class Pattern
      Recognition", ESANN 1999.
    """
    return _multi_margin_call(
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


# --- multiclass_hinge


@jax.custom_vjp
def _multiclass_hinge(x, y):
    return _multiclass_hinge_fwd(x, y)[0]


def _multiclass_hinge_fwd(x, y):
    # z_i = 1 + x_i - x_y for i != y and z_y = 0; the loss is max_i z_i (>= 0).
    z = jnp.where(_is_label(x, y), 0, (x - _at_label(x, y)) + 1.0)
    loss = _nan_unless(_valid(x, y), jnp.max(z, axis=-1))
    # The loss is the max itself: saving it costs no new buffer and spares the
    # backward a pass over the scores.
    return loss, (x, y, loss)


def _multiclass_hinge_bwd(res, g):
    (x, y, top), (one, zero) = unshared(res, 1, 0)
    # jnp.max's derivative: +1 shared equally by the tied maxima of z (the label among
    # them at the hinge). The count runs over z'_i = 1 + x_i - x_y for every i (z'_y = 1,
    # not z_y = 0), as [z'_i >= top] = 1 - sign(max(top - z'_i, 0)): no select or
    # compare in the reduction; the label's term is corrected per example.
    x_y = _at_label(x, y)
    finite = jnp.isfinite(x_y)
    x_y = jnp.where(finite, x_y, zero)
    top = top[..., None]
    at_top = one - jnp.sign(jnp.maximum(top - ((x - x_y) + one), zero))
    label_at_top = one - jnp.sign(top)  # [z_y = 0 is a maximum]
    count = (
        jnp.sum(at_top, axis=-1, keepdims=True)
        - (one - jnp.sign(jnp.maximum(top - one, zero)))
        + label_at_top
    )
    # A NaN loss (invalid label) gives a NaN count; a label scored ±inf (loss +inf or 0)
    # gets zero gradient.
    share = jnp.where(finite, g[..., None] / count, zero)
    return jnp.where(_is_label(x, y), share * label_at_top - jnp.where(finite, g[..., None], zero),
                     share * at_top), None  # fmt: skip


_multiclass_hinge.defvjp(_multiclass_hinge_fwd, _multiclass_hinge_bwd)


def _multiclass_hinge_call(core, scores, labels, *, axis, ignore_index, weights, where, reduction):
    """Argument handling shared by the loss and its reference."""
    fn = "multiclass_hinge"
    x, y = _classes(fn, scores, labels, axis, "scores")
    return _apply(
        fn,
        core,
        x,
        y,
        ignore_index=_ignore(fn, ignore_index),
        weights=weights,
        where=where,
        reduction=reduction,
    )


def multiclass_hinge(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    axis: int = -1,
    ignore_index: int | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Crammer–Singer multiclass hinge loss, optax's ``multiclass_hinge_loss``.

    The amount by which the best wrong class comes within a margin of 1 of the
    label's score. Keras's ``CategoricalHinge`` is the one-hot form of it, with one
    difference: Keras takes the max over ``(1 - onehot) * x``, which counts the
    label's slot as a wrong class scoring 0, so it computes
    ``max(0, 1 + max(0, max_{i≠y} x_i) - x_y)``; the two agree whenever some wrong
    class scores ``>= 0`` (always, for probabilities). ``multi_margin`` sums over
    every wrong class instead of taking the worst.

    .. math::

        \ell = \max_i \bigl(x_i + 1 - [i = y]\bigr) - x_y
             = \max\bigl(0,\ 1 + \max_{i \ne y} x_i - x_y\bigr)

    .. math::

        \frac{\partial \ell}{\partial x_i} = \frac{[i \in M]}{|M|} - [i = y], \qquad
        M = \operatorname*{arg\,max}_i \bigl(x_i + 1 - [i = y]\bigr)

    Where several classes tie for the maximum (including the label itself, at the
    hinge ``x_y = 1 + max_{i≠y} x_i``, and the all-equal scores of a fresh model) the
    gradient splits ``+1`` equally between them, exactly what ``jax.grad`` gives for
    optax's formula; at the hinge with one wrong class tied it is
    ``(e_k - e_y) / 2``.

    Args:
      scores: scores of shape ``[..., C, ...]``, any float dtype, class axis ``axis``.
      labels: integer class indices of ``scores``' shape without the class axis.
      axis: the class axis of ``scores``.
      ignore_index: optional label value whose examples are excluded (as ``where=False``).
      weights: optional per-example weights broadcastable to ``labels.shape``.
      where: optional boolean mask broadcastable to ``labels.shape``.
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
      The per-example losses (``"none"``, shape ``labels.shape``) or a scalar, in the
      dtype of ``scores``. A label outside ``[0, C)`` gives a NaN loss and NaN
      gradients for its example.

    Raises:
      TypeError: non-float ``scores``, non-integer ``labels`` or ``ignore_index``.
      ValueError: mismatched shapes, a bad ``axis`` or an unknown ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> scores = jnp.array([[0.5, 2.0, 1.75], [3.0, 0.0, 1.5]])
      >>> jaxloss.multiclass_hinge(scores, jnp.array([1, 0]))
      Array([0.75, 0.  ], dtype=float32)

    References:
      Crammer and Singer, "On the Algorithmic Implementation of Multiclass
      Kernel-based Vector Machines", JMLR 2001.
    """
    return _multiclass_hinge_call(
        _multiclass_hinge,
        scores,
        labels,
        axis=axis,
        ignore_index=ignore_index,
        weights=weights,
        where=where,
        reduction=reduction,
    )


# --- multilabel_margin


def _decode_targets(t: jax.Array, num_classes: int) -> tuple[jax.Array, jax.Array]:
    """PyTorch's ``-1``-terminated index lists ``[..., C]`` as per-class multiplicities
    ``[..., C]`` (int32; a class listed twice counts twice, as in PyTorch) and
    per-example validity ``[...]``."""
    end = t == -1
    # Entries before the first -1 are the targets; everything after it is ignored.
    listed = jnp.cumsum(end, axis=-1, dtype=jnp.int32) == 0
    in_range = (t >= 0) & (t < num_classes)
    valid = jnp.all(in_range | ~listed, axis=-1)
    # A scatter-add of the listed indices: O(C) per example (a one-hot comparison of
    # every entry with every class would be an [..., C, C] temporary).
    rows = t.reshape(-1, t.shape[-1]) if t.ndim else t.reshape(1, 1)
    index = jnp.where((listed & in_range).reshape(rows.shape), rows, num_classes)
    which = lax.broadcasted_iota(index.dtype, index.shape, 0)
    counts = jnp.zeros((index.shape[0], num_classes), jnp.int32)
    counts = counts.at[which, index].add(1, mode="drop")
    return counts.reshape((*t.shape[:-1], num_classes)), valid


def _clamp_bound(x):
    """A bound on |scores| below which every sum of C pair terms stays finite."""
    return float(jnp.finfo(x.dtype).max) / (4 * x.shape[-1])


def _multilabel_parts(x, counts, big):
    """Scores clamped to ``[-big, big]`` (so that a ``±inf`` score gives finite pair
    terms and ``0 * term`` stays 0 in the weighted sums), the per-class target
    multiplicities as floats, and the examples where an
    infinite score makes a pair infinite (a target at -inf or a non-target at +inf,
    facing at least one class of the other kind): their loss is +inf."""
    c = counts.astype(x.dtype)
    target = counts > 0
    non_target = ~target
    xc = jnp.minimum(jnp.maximum(x, -big), big)
    infinite = (jnp.any(target & (x == -jnp.inf), axis=-1) & jnp.any(non_target, axis=-1)) | (
        jnp.any(non_target & (x == jnp.inf), axis=-1) & jnp.any(target, axis=-1)
    )
    return xc, c, infinite


# Up to this many classes the pair terms are summed directly, through an [..., C, C]
# temporary (at most 1,024 numbers per example; fastest on CPU, faster than fusing the
# pairs into the reductions); above it, from sorted scores and binary searches
# (O(C log C) per example), faster from about 32 classes on and tractable for large C.
_PAIRWISE_MAX_CLASSES = 32


def _pairs(xc, counts, one):
    """Per pair ``[..., j, i]``: ``1 - x_j + x_i`` and whether (target j, non-target i)."""
    target = counts > 0
    return (xc[..., None, :] - xc[..., :, None]) + one, target[..., :, None] & ~target[..., None, :]


def _per_row(f, *arrays):
    """``f`` on each ``[C]`` row of ``[..., C]`` arrays (a vmap over the flattened rows)."""
    shape = arrays[0].shape
    flat = [a.reshape(-1, shape[-1]) for a in arrays]
    return jax.vmap(f)(*flat).reshape(shape)


def _violators(xs, target):
    """Per class j (meaningful for targets): ``K_j = #{i ∉ T : x_i > x_j - 1}`` and
    ``S_j = sum of those x_i``, by a binary search in the sorted non-target scores."""
    u = jnp.sort(jnp.where(target, -jnp.inf, xs))  # targets first, never counted
    k = jnp.searchsorted(u, xs - 1, side="right")
    suffix = jnp.cumsum(u[::-1])[::-1]
    suffix = jnp.concatenate([suffix, jnp.zeros((1,), xs.dtype)])
    return (xs.shape[-1] - k).astype(xs.dtype), suffix[k]


def _sorted_loss_terms(xs, target):
    """Per class: ``sum_{i∉T} max(0, 1 - x_j + x_i) = K_j (1 - x_j) + S_j`` for a target
    j, 0 for a non-target."""
    k, s = _violators(xs, target)
    return jnp.where(target & (k > 0), k * (1 - xs) + s, 0)


def _sorted_pushes(xs, target, c):
    """Per class: ``K_j`` for a target, and ``sum_{j ∈ T} c_j [x_j < x_i + 1]`` for a
    non-target i (a binary search in the sorted target scores, with their
    multiplicities summed cumulatively)."""
    k, _ = _violators(xs, target)
    v, w = lax.sort((jnp.where(target, xs, jnp.inf), c), num_keys=1)
    cumulative = jnp.concatenate([jnp.zeros((1,), xs.dtype), jnp.cumsum(w)])
    return jnp.where(target, k, cumulative[jnp.searchsorted(v, xs + 1, side="left")])


def _shifted(xc):
    """Scores relative to the row maximum: the sums of the sorted path then stay small."""
    return xc - jnp.max(xc, axis=-1, keepdims=True)


@jax.custom_vjp
def _multilabel_margin(x, counts, valid):
    return _multilabel_margin_fwd(x, counts, valid)[0]


def _multilabel_margin_fwd(x, counts, valid):
    xc, c, infinite = _multilabel_parts(x, counts, _clamp_bound(x))
    if x.shape[-1] <= _PAIRWISE_MAX_CLASSES:
        d, pair = _pairs(xc, counts, 1.0)
        per_target = jnp.sum(jnp.where(pair, jnp.maximum(d, 0), 0), axis=-1)
    else:
        per_target = _per_row(_sorted_loss_terms, _shifted(xc), counts > 0)
    total = jnp.sum(c * per_target, axis=-1)
    loss = jnp.where(infinite, jnp.inf, total * (1 / x.shape[-1]))
    return _nan_unless(valid, loss), (x, counts, valid)


def _multilabel_margin_bwd(res, g):
    (x, counts, valid), (inv_c, one, zero, big) = unshared(
        res, 1 / res[0].shape[-1], 1, 0, _clamp_bound(res[0])
    )
    xc, c, infinite = _multilabel_parts(x, counts, big)
    # v_ji = [1 - x_j + x_i > 0]: subgradient 0 at the hinge (PyTorch's). A target j is
    # pushed down by sum_{i∉T} v_ji, a non-target i up by sum_j c_j v_ji.
    if x.shape[-1] <= _PAIRWISE_MAX_CLASSES:
        d, pair = _pairs(xc, counts, one)
        v = (pair & (d > zero)).astype(x.dtype)
        push = jnp.sum(c[..., :, None] * v, axis=-2) - c * jnp.sum(v, axis=-1)
    else:
        pushes = _per_row(_sorted_pushes, _shifted(xc), counts > 0, c)
        push = jnp.where(counts > 0, -c * pushes, pushes)
    # An example with an infinite pair (loss +inf) gets zero gradient.
    gc = _nan_unless(valid, jnp.where(infinite, zero, g * inv_c))[..., None]
    return gc * push, None, None


_multilabel_margin.defvjp(_multilabel_margin_fwd, _multilabel_margin_bwd)


def _multilabel_margin_call(core, logits, targets, *, axis, weights, where, reduction):
    """Argument handling shared by the loss and its reference."""
    fn = "multilabel_margin"
    x = _checks.float_array(fn, "logits", logits)
    if x.ndim == 0:
        raise ValueError(
            f"{fn}: logits must have a class axis, got a scalar; "
            f"pass one score per class, shape (..., num_classes)"
        )
    ax = _checks.class_axis(fn, "logits", x, axis)
    if not isinstance(x.shape[ax], int):
        raise ValueError(
            f"{fn}: the class axis {ax} must have a static size, got the symbolic size "
            f"{x.shape[ax]} of logits {x.shape} (the target lists are scattered into "
            f"per-class counts of that size); export with a concrete class count (the "
            f"batch axes may stay symbolic)"
        )
    t = _checks.int_array(fn, "targets", targets)
    if t.shape != x.shape:
        raise ValueError(
            f"{fn}: targets must have the shape of logits {x.shape} (class indices "
            f"padded with -1 along the class axis), got {t.shape}"
        )
    if t.dtype.itemsize < 4:
        t = t.astype(jnp.int32)
    x, t = jnp.moveaxis(x, ax, -1), jnp.moveaxis(t, ax, -1)
    num_classes = x.shape[-1]

    def decoded(xs, ts):
        counts, valid = _decode_targets(ts, num_classes)
        return core(xs, counts, valid)

    # Excluded examples get the empty target list [-1, ...].
    return _apply(
        fn, decoded, x, t, label_safe=-1, weights=weights, where=where, reduction=reduction
    )


def multilabel_margin(
    logits: ArrayLike,
    targets: ArrayLike,
    *,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Multilabel margin loss, PyTorch's ``multilabel_margin_loss``.

    Each example has a set of target classes ``T``, given in PyTorch's format: an
    integer array of the logits' shape listing class indices along the class axis,
    the first ``-1`` ending the list (entries after it are ignored; ``[-1, ...]``
    means no targets, which gives 0). Every pair of a target ``j`` and a non-target
    ``i`` whose scores are not separated by a margin of 1 is penalised; the sum is
    divided by the number of classes ``C``. A class listed twice counts twice, as in
    PyTorch. ``multilabel_soft_margin`` is the logistic, per-class alternative.

    .. math::

        \ell = \frac{1}{C} \sum_{j \in T} \sum_{i \notin T} \max(0,\ 1 - x_j + x_i)

    .. math::

        \frac{\partial \ell}{\partial x_i} = \frac{1}{C} \sum_{j \in T} v_{ji}
        \quad (i \notin T), \qquad
        \frac{\partial \ell}{\partial x_j} = -\frac{1}{C} \sum_{i \notin T} v_{ji}
        \quad (j \in T), \qquad v_{ji} = [\,1 - x_j + x_i > 0\,]

    At a hinge point (``1 - x_j + x_i = 0``) the rule takes the subgradient 0 for
    that pair, as PyTorch does. ``-inf`` scores of non-targets (masks) add nothing;
    a target scored ``-inf`` or a non-target scored ``+inf`` makes the loss ``+inf``,
    with zero gradient for that example. Up to 32 classes every pair is summed
    directly (``O(C²)``); above, the sums come from sorted scores and binary
    searches (``O(C log C)``), so that many classes stay cheap.

    Args:
      logits: scores of shape ``[..., C, ...]``, any float dtype, class axis ``axis``.
      targets: integer array of the same shape: per example, target class indices
        along the class axis, terminated by ``-1`` when fewer than ``C``.
      axis: the class axis of ``logits`` and ``targets``.
      weights: optional per-example weights broadcastable to the loss shape (the
        logits' shape without the class axis).
      where: optional boolean mask broadcastable to the loss shape.
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
      The per-example losses (``"none"``) or a scalar, in the dtype of ``logits``.
      An example listing an index outside ``[0, C)`` before its first ``-1``
      (PyTorch raises) gives a NaN loss and NaN gradients.

    Raises:
      TypeError: non-float ``logits`` or non-integer ``targets``.
      ValueError: ``targets`` not of the logits' shape, a bad ``axis`` or an unknown
        ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> logits = jnp.array([[0.1, 0.2, 0.4, 0.8]])
      >>> jaxloss.multilabel_margin(logits, jnp.array([[3, 0, -1, 1]]))
      Array([0.85], dtype=float32)
    """
    return _multilabel_margin_call(
        _multilabel_margin,
        logits,
        targets,
        axis=axis,
        weights=weights,
        where=where,
        reduction=reduction,
    )


# --- sparsemax


def _newton_step(x, top, tau):
    """Newton's step ``τ + (sum(max(z - τ, 0)) - 1) / #{z > τ}`` on ``z = x - top``, and
    that count.

    Both sums reduce ``max(z - τ, 0)`` (the count as its ``sign``): no compare or
    select in the reductions, which jaxlib's CPU reduction fusion would otherwise
    split into separate passes with fresh ``[N, C]`` buffers. ``z`` is recomputed
    inside the pass rather than stored.
    """
    h = jnp.maximum((x - top) - tau, 0)
    n = jnp.sum(jnp.sign(h), axis=-1, keepdims=True)
    return tau + (jnp.sum(h, axis=-1, keepdims=True) - 1) / n, n


def _sparsemax_threshold(x: jax.Array, top: jax.Array) -> jax.Array:
    """τ with ``sum(max(x - top - τ, 0)) = 1``, ``[..., 1]``, where ``top`` is the row
    maximum of ``x`` (so ``z = x - top <= 0`` and ``-1 <= τ < 0``).

    Newton's method on the convex, piecewise-linear ``f(τ) = sum(max(z - τ, 0)) - 1``
    from ``τ = -1 <= τ*`` (Michelot's algorithm): each step is one pass,
    ``τ ← (sum_{z > τ} z - 1) / #{z > τ}``, the support only shrinks, and it is
    exact once the support stops changing (at most C steps; 6 on [4096, 1024]
    standard normal scores). A sort, the textbook route, is ~10x slower on CPU. The
    final step is repeated outside the loop, so that τ's derivative (the mean over
    the support) is exact.
    """
    return _newton_step(x, top, _newton_root(x, top))[0]


@jax.jit  # compiled once per shape, also for eager calls (a bare while_loop is not)
def _newton_root(x: jax.Array, top: jax.Array) -> jax.Array:
    xs, tops = lax.stop_gradient((x, top))

    # The support shrinks at every step that changes it, so C steps reach the root; the
    # count bounds the loop also where the exit test cannot hold. A row with a NaN,
    # +inf or only -inf scores has a NaN count (every comparison with NaN is False, so
    # ``n != n_before`` would stay True forever): it is left out of the exit test and
    # gives NaN, and the other rows stop as soon as they converge.
    limit = x.shape[-1] + 1

    def body(state):
        tau, n, _, i = state
        tau, n_next = _newton_step(xs, tops, tau)
        return tau, n_next, n, i + 1

    def cond(state):
        _, n, n_before, i = state
        return jnp.any((n != n_before) & (n == n)) & (i < limit)

    tau, n = _newton_step(xs, tops, jnp.full(top.shape, -1.0, x.dtype))
    return lax.while_loop(cond, body, (tau, n, jnp.full_like(n, -1), 0))[0]


@jax.custom_vjp
def _sparsemax(x, y):
    return _sparsemax_fwd(x, y)[0]


def _sparsemax_fwd(x, y):
    # Shift-invariant: scores relative to the row maximum keep the sums exact to the
    # last digits for large scores.
    top = jnp.max(x, axis=-1, keepdims=True)
    tau = _sparsemax_threshold(x, top)
    prob = jnp.maximum((x - top) - tau, 0)
    # <p, z> - |p|²/2 = τ + |p|²/2 since p = z - τ on the support and sum(p) = 1: no
    # product with z, so -inf scores (p = 0) give no 0 * inf.
    z_y = (_at_label(x, y) - top)[..., 0]
    loss = tau[..., 0] + 0.5 * (jnp.sum(prob * prob, axis=-1) + 1) - z_y
    return _nan_unless(_valid(x, y), loss), (x, y, top, tau)


def _sparsemax_bwd(res, g):
    (x, y, top, tau), (zero,) = unshared(res, 0)
    prob = jnp.maximum((x - top) - tau, zero)
    gv = _nan_unless(_valid(x, y), g)[..., None]
    return gv * prob - jnp.where(_is_label(x, y), gv, zero), None


_sparsemax.defvjp(_sparsemax_fwd, _sparsemax_bwd)


def _sparsemax_call(core, scores, labels, *, axis, ignore_index, weights, where, reduction):
    """Argument handling shared by the loss and its reference."""
    fn = "sparsemax"
    x, y = _classes(fn, scores, labels, axis, "scores")
    return _apply(
        fn,
        core,
        x,
        y,
        ignore_index=_ignore(fn, ignore_index),
        weights=weights,
        where=where,
        reduction=reduction,
    )


def sparsemax(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    axis: int = -1,
    ignore_index: int | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Sparsemax loss with integer labels, optax's ``multiclass_sparsemax_loss``.

    The Fenchel–Young loss of sparsemax (the Euclidean projection of the scores onto
    the probability simplex, which puts exactly zero probability on low-scoring
    classes): the sparse counterpart of softmax cross-entropy. It is zero exactly
    when ``sparsemax(scores)`` is the one-hot label, i.e. when the label's score
    beats every other by at least 1. optax's binary ``sparsemax_loss(x, t)`` is this
    loss on the two scores ``[0, x]`` with label ``t``.

    .. math::

        \ell = \langle p, x \rangle - \tfrac12 \lVert p \rVert^2 + \tfrac12 - x_y,
        \qquad p = \operatorname{sparsemax}(x) = \max(x - \tau, 0),\ \textstyle\sum_i p_i = 1

    .. math::

        \frac{\partial \ell}{\partial x} = p - e_y

    The loss is convex and continuously differentiable (its gradient is continuous
    where the support of ``p`` changes, so there is no kink to choose a convention
    for); its second derivative, ``diag(s) - s s^T / |S|`` on the support ``S``,
    jumps there. ``-inf`` scores are allowed for excluded classes (they get ``p = 0``).

    Args:
      scores: scores of shape ``[..., C, ...]``, any float dtype, class axis ``axis``.
      labels: integer class indices of ``scores``' shape without the class axis.
      axis: the class axis of ``scores``.
      ignore_index: optional label value whose examples are excluded (as ``where=False``).
      weights: optional per-example weights broadcastable to ``labels.shape``.
      where: optional boolean mask broadcastable to ``labels.shape``.
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
      The per-example losses (``"none"``, shape ``labels.shape``) or a scalar, in the
      dtype of ``scores``. A label outside ``[0, C)`` gives a NaN loss and NaN
      gradients for its example.

    Raises:
      TypeError: non-float ``scores``, non-integer ``labels`` or ``ignore_index``.
      ValueError: mismatched shapes, a bad ``axis`` or an unknown ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> scores = jnp.array([[1.0, 0.5, -1.0], [3.0, 0.0, 1.0]])
      >>> jaxloss.sparsemax(scores, jnp.array([1, 0]))
      Array([0.5625, 0.    ], dtype=float32)

    References:
      Martins and Astudillo, "From Softmax to Sparsemax: A Sparse Model of Attention
      and Multi-Label Classification", ICML 2016. Blondel, Martins and Niculae,
      "Learning with Fenchel-Young Losses", JMLR 2020.
    """
    return _sparsemax_call(
        _sparsemax,
        scores,
        labels,
        axis=axis,
        ignore_index=ignore_index,
        weights=weights,
        where=where,
        reduction=reduction,
    )


# --- zero_one


@jax.custom_vjp
def _zero_one(x, y):
    return _zero_one_fwd(x, y)[0]


def _zero_one_fwd(x, y):
    # argmax(x) != y without an argmax (a variadic reduction, ~40x slower than a max on
    # CPU): some class beats the label, ties going to the lower index and NaN counting
    # as the largest value, exactly jnp.argmax's order.
    x_y = _at_label(x, y)
    nan_y = jnp.isnan(x_y)
    above = (x > x_y) | (jnp.isnan(x) & ~nan_y)
    at_least = (x >= x_y) | jnp.isnan(x)
    before = lax.broadcasted_iota(y.dtype, x.shape, x.ndim - 1) < y[..., None]
    wrong = jnp.any(above | (before & at_least), axis=-1).astype(x.dtype)
    return _nan_unless(_valid(x, y), wrong), (x,)


def _zero_one_bwd(res, g):
    # Piecewise constant: the derivative is exactly zero wherever it exists, and zero
    # is taken on the boundaries (ties) too.
    (x,) = res
    return jnp.zeros_like(x), None


_zero_one.defvjp(_zero_one_fwd, _zero_one_bwd)


def _zero_one_call(core, logits, labels, *, axis, ignore_index, weights, where, reduction):
    """Argument handling shared by the loss and its reference."""
    fn = "zero_one"
    x, y = _classes(fn, logits, labels, axis, "logits")
    return _apply(
        fn,
        core,
        x,
        y,
        ignore_index=_ignore(fn, ignore_index),
        weights=weights,
        where=where,
        reduction=reduction,
    )


def zero_one(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    axis: int = -1,
    ignore_index: int | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Zero-one loss: 1 where the top-scoring class is not the label, else 0.

    The misclassification indicator; its ``"mean"`` is the error rate (1 minus the
    accuracy), and with ``weights`` a weighted error rate. It is a metric rather
    than a training objective: it is piecewise constant, so its gradient is
    exactly zero everywhere (the rule returns zeros, also on the boundaries where
    two scores tie and the derivative does not exist). The surrogates that train
    towards it are ``multiclass_hinge``, ``multi_margin`` and the cross-entropies.

    .. math::

        \ell = \bigl[\operatorname*{arg\,max}_i x_i \ne y\bigr], \qquad
        \frac{\partial \ell}{\partial x} = 0

    Ties go to the first maximum, as ``jnp.argmax``: with scores ``[1, 1, 0]`` the
    prediction is class 0, so label 1 costs 1. A NaN score counts as the maximum
    (``jnp.argmax``'s convention).

    Args:
      logits: scores of shape ``[..., C, ...]``, any float dtype, class axis ``axis``.
      labels: integer class indices of ``logits``' shape without the class axis.
      axis: the class axis of ``logits``.
      ignore_index: optional label value whose examples are excluded (as ``where=False``).
      weights: optional per-example weights broadcastable to ``labels.shape``.
      where: optional boolean mask broadcastable to ``labels.shape``.
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
      The per-example losses (``"none"``, shape ``labels.shape``) or a scalar, in the
      dtype of ``logits``. A label outside ``[0, C)`` gives NaN (its gradient stays 0).

    Raises:
      TypeError: non-float ``logits``, non-integer ``labels`` or ``ignore_index``.
      ValueError: mismatched shapes, a bad ``axis`` or an unknown ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> logits = jnp.array([[0.1, 2.0, 0.3], [1.0, 1.0, 0.0], [0.0, 0.0, 5.0]])
      >>> jaxloss.zero_one(logits, jnp.array([1, 1, 2]))
      Array([0., 1., 0.], dtype=float32)
      >>> jaxloss.zero_one(logits, jnp.array([1, 1, 2]), reduction="mean")
      Array(0.33333334, dtype=float32)
    """
    return _zero_one_call(
        _zero_one,
        logits,
        labels,
        axis=axis,
        ignore_index=ignore_index,
        weights=weights,
        where=where,
        reduction=reduction,
    )
