r"""Softmax cross-entropy with integer or probability labels, and negative log-likelihood.

The integer-label rule computes ``e = exp(x - max)`` once per logit: the forward
pass sums it and saves it, and the backward pass rescales it in place into the
softmax :math:`p = e / \sum_c e_c` and the gradient (a rule that recomputed ``exp``
from the logits measured 1.2x optax's time at [4096, 1024] on CPU). The
probability-label rule saves the logits, which its target gradient needs anyway,
and one number per example (the log-normaliser :math:`\operatorname{lse} = \log
\sum_c e^{x_c}`), and recomputes :math:`p = e^{x - \operatorname{lse}}`. No one-hot
array is ever built: label smoothing needs only the per-example sum of the logits
in the forward pass and a constant in the backward pass.

Logits of ``-inf`` are masks: such a class has probability 0, adds nothing to the
loss (also under label smoothing, which spreads its mass over the finite classes
only) and gets gradient 0. Integer labels outside ``[0, classes)`` (negative ones
included) give a NaN loss for that example, never a silently wrong class;
:func:`jaxloss.testing.check_labels` reports them.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from . import _checks
from ._fusion import unshared
from ._reduce import compute_dtype, exclude, mask_of, reduce

__all__ = [
    "negative_log_likelihood",
    "softmax_cross_entropy",
    "softmax_cross_entropy_with_integer_labels",
]


# --- shared pieces


def _gather(x: jax.Array, labels: jax.Array, axis: int) -> jax.Array:
    """``x`` at ``labels`` along ``axis`` (squeezed); NaN for labels out of range."""
    idx = jnp.expand_dims(labels, axis)
    out = jnp.take_along_axis(x, idx, axis, mode="fill", fill_value=jnp.nan,
                              wrap_negative_indices=False)  # fmt: skip
    return jnp.squeeze(out, axis)


def _class_weight_of(class_weights: jax.Array, labels: jax.Array) -> jax.Array:
    """``class_weights[labels]``, NaN for labels out of range."""
    out = jnp.take_along_axis(class_weights, labels.reshape(-1), 0, mode="fill",
                              fill_value=jnp.nan, wrap_negative_indices=False)  # fmt: skip
    return out.reshape(labels.shape)


def _onehot(labels: jax.Array, shape: tuple[int, ...], axis: int) -> jax.Array:
    """Boolean ``class == label`` along ``axis`` (built inside a fusion, never stored)."""
    iota = jax.lax.broadcasted_iota(labels.dtype, shape, axis)
    return iota == jnp.expand_dims(labels, axis)


def _max_exp_sum(x: jax.Array, axis: int) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The row maximum ``m``, ``e = exp(x − m)`` and its sum along ``axis``."""
    m = jax.lax.stop_gradient(jnp.max(x, axis, keepdims=True))
    e = jnp.exp(x - m)
    return jnp.squeeze(m, axis), e, jnp.sum(e, axis)


def _flatten_classes(x: jax.Array, axes: tuple[int, ...]) -> jax.Array:
    """``x`` with the class ``axes`` moved last, in their given order, and flattened into
    one (optax's tuple ``axis``); the other axes keep their order."""
    batch = tuple(a for a in range(x.ndim) if a not in axes)
    x = jnp.transpose(x, batch + axes)
    return x.reshape((*x.shape[: len(batch)], -1))


def _class_weights(fn: str, class_weights: ArrayLike | None, classes: int) -> jax.Array | None:
    if class_weights is None:
        return None
    cw = _checks.float_array(fn, "class_weights", class_weights)
    if cw.shape != (classes,):
        raise ValueError(
            f"{fn}: class_weights must have one weight per class, shape ({classes},), "
            f"got {cw.shape}"
        )
    return cw


def _reduce_weighted(fn, losses, *, label_weight, weights, mask, reduction):
    """``reduce``, except that with class weights ``"mean"`` divides by the summed
    class weights of the counted examples (PyTorch's ``cross_entropy``/``nll_loss``)."""
    if label_weight is None or reduction != "mean":
        return reduce(fn, losses, weights=weights, mask=mask, reduction=reduction)
    total = reduce(fn, losses, weights=weights, mask=mask, reduction="sum")
    count = reduce(fn, label_weight, weights=weights, mask=mask, reduction="sum")
    return total / jnp.where(count == 0, 1, count)


# --- integer labels


# Logits below -_FLOOR count as masks in the fast path of the smoothing sums; with
# C < 3e8 classes, C * _FLOOR stays finite in float32.
_FLOOR = 1e30


def _class_shape(cw, ndim, axis):
    return jnp.expand_dims(cw, tuple(a for a in range(ndim) if a != axis))


def _smoothing_sums(x, cw, axis, m):
    """Per example: the number of finite-logit classes C', their summed class weight,
    and the (class-weighted) sum of their logits.

    A select or a comparison inside a reduction keeps XLA:CPU from fusing it (it
    writes an [examples, classes] temporary), so the common case, no ``-inf`` logit
    anywhere, takes ``sum(max(x, -1e30))``, which fuses; only a batch holding a
    mask (a sum below -1e30 / 2) takes the exact path with selects. So does a batch
    with a logit so large (above 1e30 / 4C) that the classes' sum could hide a mask.
    """
    w = None if cw is None else _class_shape(cw, x.ndim, axis)
    clamped = jnp.maximum(x, -_FLOOR)
    fast_wx = jnp.sum(clamped if w is None else w * clamped, axis)
    classes = x.shape[axis]

    def fast(x, fast_wx):
        count = jnp.full(fast_wx.shape, classes, x.dtype)
        wsum = count if cw is None else jnp.broadcast_to(jnp.sum(cw), fast_wx.shape)
        return count, wsum, fast_wx

    def exact(x, fast_wx):
        # One variadic reduction: XLA:CPU fuses the selects into it (no temporary).
        # (The `0 * x` terms give every operand a tangent: reduce's JVP rule fails on
        # symbolically zero ones, which jax.hessian would otherwise produce.)
        finite = x > -jnp.inf
        one = (jnp.ones((), x.dtype) if w is None else w) + 0 * x
        parts = (jnp.where(finite, 1 + 0 * x, 0), jnp.where(finite, one, 0),
                 jnp.where(finite, one * x, 0))  # fmt: skip
        zero = jnp.zeros((), x.dtype)
        return jax.lax.reduce(
            tuple(jnp.broadcast_to(q, x.shape) for q in parts), (zero, zero, zero),
            lambda a, b: (a[0] + b[0], a[1] + b[1], a[2] + b[2]), (axis,),
        )  # fmt: skip

    masked = jnp.any(fast_wx < -0.5 * _FLOOR) | jnp.any(m >= 0.25 * _FLOOR / classes)
    return jax.lax.cond(masked, exact, fast, x, fast_wx)


@functools.partial(jax.custom_vjp, nondiff_argnums=(3, 4, 5))
def _ce_int(x, y, cw, axis, smoothing, z_loss):
    return _ce_int_fwd(x, y, cw, axis, smoothing, z_loss)[0]


def _ce_int_fwd(x, y, cw, axis, smoothing, z_loss):
    # Without smoothing, one exp per logit: e = exp(x − m) is both the forward's sum
    # and the backward's softmax (p = e / s), saved as the residual, which the backward
    # overwrites with the gradient in place. Smoothing's backward reads the logits
    # anyway (its [x finite] mask): it saves them alone and recomputes p = exp(x − lse),
    # which inside a program (logits from h @ W) was 0.7x the time of saving both.
    m, e, s = _max_exp_sum(x, axis)
    logsum = jnp.log(s)
    lse = m + logsum
    nll = (m - _gather(x, y, axis)) + logsum
    loss = nll if cw is None else _class_weight_of(cw, y) * nll
    count = wsum = None
    if smoothing:
        count, wsum, wx = _smoothing_sums(x, cw, axis, m)
        loss = (1 - smoothing) * loss + smoothing * ((m * wsum - wx) + logsum * wsum) / count
    if z_loss:
        loss = loss + z_loss * lse * lse
    # The class weights' gradient reads x too (unused, and dropped, when the weights
    # are not differentiated).
    saved = (None, None) if smoothing else (e, s)
    return loss, (*saved, x if smoothing or cw is not None else None, y, cw, lse, count, wsum)


def _ce_int_bwd(axis, smoothing, z_loss, res, g):
    e, s, x, y, cw, lse, count, wsum = res
    hyper = (1 - smoothing, smoothing, 2 * z_loss)
    if smoothing:
        (x, lse), (one_minus, eps, two_z) = unshared((x, lse), *hyper)
    else:
        (e, s), (one_minus, eps, two_z) = unshared((e, s), *hyper)
    shape = (x if smoothing else e).shape
    classes = shape[axis]
    # An example with a label outside [0, C) has a NaN loss; its gradient is 0, so that a
    # zero cotangent (the example masked out afterwards) keeps the gradient finite.
    valid = (y >= 0) & (y < classes)
    g = jnp.where(valid, g, 0)
    dcw = None if cw is None else _class_weights_grad(x, y, cw, lse, g, count, axis, smoothing)
    # ∂ℓ/∂x = a·p − b·onehot − c_k·[x_k finite], per example a, b and per class c.
    b = g if cw is None else g * jnp.where(valid, _class_weight_of(cw, y), 0)
    a = b
    if smoothing:
        b = b * one_minus
        # (1-ε)·w_y + ε·Σw/C' (without class weights, (1-ε) + ε = 1).
        a = g if cw is None else b + eps * g * wsum / count
    if z_loss:
        a = a + two_z * g * lse
    if smoothing:
        dx = jnp.expand_dims(a, axis) * jnp.exp(x - jnp.expand_dims(lse, axis))
    else:
        dx = jnp.expand_dims(a / s, axis) * e  # a·p with p = e / s
    dx = jnp.where(_onehot(y, shape, axis), dx - jnp.expand_dims(b, axis), dx)
    if smoothing:
        spread = jnp.expand_dims(eps * g / count, axis)
        if cw is not None:
            spread = spread * _class_shape(cw, len(shape), axis)
        dx = jnp.where(x > -jnp.inf, dx - spread, dx)
    return dx, None, dcw


def _class_weights_grad(x, y, cw, lse, g, count, axis, smoothing):
    """The class weights' gradient (labels out of range add nothing: their g is 0):

    ∂ℓ/∂w_c = Σ_n g_n ((1-ε) [c = y_n] (lse_n − x_{n,y_n})
                       + ε/C'_n [x_{n,c} finite] (lse_n − x_{n,c})).
    """
    nll = lse - _gather(x, y, axis)
    hit = jnp.where(g == 0, 0, g * nll) * (1 - smoothing)
    dcw = jnp.zeros_like(cw).at[y.reshape(-1)].add(hit.reshape(-1), mode="drop")
    if smoothing:
        share = jnp.expand_dims(g * smoothing / count, axis)
        per = jnp.where(x > -jnp.inf, share * (jnp.expand_dims(lse, axis) - x), 0)
        dcw = dcw + jnp.sum(per, tuple(a for a in range(x.ndim) if a != axis))
    return dcw


_ce_int.defvjp(_ce_int_fwd, _ce_int_bwd)

# Jitted once per static configuration: an eager call would otherwise retrace the
# label-smoothing `lax.cond` on every call (~50 ms each); under an outer jit this inlines.
_ce_int_jit = jax.jit(_ce_int, static_argnums=(3, 4, 5))


def _integer_labels_call(fn, arg, core, scores, labels, hyper, *, axis, class_weights,
                         ignore_index, weights, where, reduction):  # fmt: skip
    """The conventions of the integer-label losses (CE and NLL): checks, ``ignore_index``
    joined to ``where``, excluded entries made safe before ``core(scores, labels,
    class_weights, axis, *hyper)`` runs, and PyTorch's class-weighted mean."""
    x = _checks.float_array(fn, arg, scores)
    ax, y = _checks.class_labels(fn, x, labels, axis, scores=arg)
    cw = _class_weights(fn, class_weights, x.shape[ax])
    reduction = _checks.reduction(fn, reduction)
    dtype = compute_dtype(x) if cw is None else compute_dtype(x, cw)
    mask = mask_of(fn, where, y.shape)
    if ignore_index is not None:
        keep = y != _checks.static_int(fn, "ignore_index", ignore_index)
        mask = keep if mask is None else mask & keep
    xs = exclude(x.astype(dtype), mask, 0.0, (ax,))
    ys = exclude(y, mask, 0)
    cws = None if cw is None else cw.astype(dtype)
    losses = core(xs, ys, cws, ax, *hyper)
    label_weight = None if cws is None else _class_weight_of(cws, ys)
    out = _reduce_weighted(fn, losses, label_weight=label_weight, weights=weights, mask=mask,
                           reduction=reduction)  # fmt: skip
    return out.astype(x.dtype)


def _ce_int_call(core, logits, labels, *, axis, class_weights, ignore_index, label_smoothing,
                 z_loss, weights, where, reduction):  # fmt: skip
    """Argument handling shared by the loss and its reference."""
    fn = "softmax_cross_entropy_with_integer_labels"
    if isinstance(axis, bool) or not isinstance(axis, int | np.integer):
        # optax's tuple axis: a label is the flat index over the named axes, in that order.
        x = _checks.float_array(fn, "logits", logits)
        axes = _checks.class_axes(fn, "logits", x, axis, allow_none=False)
        logits, axis = _flatten_classes(x, axes), -1
    smoothing = _checks.static_float(fn, "label_smoothing", label_smoothing, low=0.0, high=1.0)
    z = _checks.static_float(fn, "z_loss", z_loss, low=0.0)
    return _integer_labels_call(
        fn, "logits", core, logits, labels, (smoothing, z), axis=axis,
        class_weights=class_weights, ignore_index=ignore_index, weights=weights, where=where,
        reduction=reduction,
    )  # fmt: skip


def softmax_cross_entropy_with_integer_labels(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    axis: int | tuple[int, ...] = -1,
    class_weights: ArrayLike | None = None,
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    z_loss: float = 0.0,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Softmax cross-entropy against integer class labels.

    optax's ``softmax_cross_entropy_with_integer_labels``, PyTorch's
    ``cross_entropy`` with class-index targets (``weight``, ``ignore_index``,
    ``label_smoothing``) and Keras's ``SparseCategoricalCrossentropy``, plus
    PaLM's z-loss. With :math:`\operatorname{lse} = \log\sum_c e^{x_c}`,
    :math:`p = \operatorname{softmax}(x)`, class weights :math:`w` (all 1 by
    default), smoothing :math:`\varepsilon` spread over the :math:`C'` classes
    whose logit is finite (all :math:`C` of them unless some are ``-inf``), and
    z-loss coefficient :math:`z`:

    .. math::

        \ell = (1-\varepsilon)\, w_y (\operatorname{lse} - x_y)
             + \frac{\varepsilon}{C'} \sum_{c} w_c (\operatorname{lse} - x_c)
             + z \operatorname{lse}^2,

        \frac{\partial \ell}{\partial x_k} = \Big((1-\varepsilon) w_y
             + \frac{\varepsilon}{C'}\sum_c w_c + 2 z \operatorname{lse}\Big)\, p_k
             - (1-\varepsilon)\, w_y [k = y] - \frac{\varepsilon}{C'} w_k .

    The rule computes this with one ``exp`` per logit in each pass and without a
    one-hot array. ``reduction="mean"`` divides by the number of counted examples,
    or, with ``class_weights``, by the summed class weights of their labels
    :math:`\sum_n w_{y_n}` (PyTorch's normalisation), times ``weights`` if given.

    Conventions: ``ignore_index`` entries behave exactly like ``where=False``
    (zero loss and gradient; an all-ignored mean is 0). A ``-inf`` logit is a
    mask: that class gets probability 0, no smoothing mass and gradient 0, so the
    loss stays finite unless the label itself is masked (then it is ``+inf``,
    with finite gradients). A label outside ``[0, C)`` (negative included) gives
    a NaN loss. There is no kink: the loss is smooth in the logits.

    Args:
      logits: unnormalised scores, any float dtype, classes along ``axis``.
      labels: integer class indices, the shape of ``logits`` without ``axis``.
      axis: the class axis (``1`` for PyTorch's [N, C, H, W] layout), or, as
        optax, a tuple of axes: the classes are then the flat index over them in
        the order given (``jnp.ravel_multi_index`` over those sizes), and
        ``class_weights`` has their product as C.
      class_weights: optional per-class weights, shape ``(C,)`` (PyTorch's ``weight``).
      ignore_index: a label value whose entries are excluded (PyTorch's default
        is -100; here nothing is ignored unless asked).
      label_smoothing: :math:`\varepsilon \in [0, 1]` (PyTorch's semantics: the
        target is :math:`(1-\varepsilon)\,\text{onehot} + \varepsilon / C`).
      z_loss: coefficient of :math:`\operatorname{lse}^2` (PaLM uses 1e-4).
      weights: optional per-example weights, broadcastable to ``labels.shape``.
      where: optional boolean mask, broadcastable to ``labels.shape``.
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
      Per-example losses of shape ``labels.shape`` (``"none"``) or a scalar, in
      the dtype of ``logits``.

    Raises:
      TypeError: non-float ``logits``, non-integer ``labels``, non-static hyperparameters.
      ValueError: ``labels`` not shaped like ``logits`` without ``axis``, a bad
        ``axis``, ``class_weights`` not of shape ``(C,)``, ``label_smoothing``
        outside [0, 1], ``z_loss < 0`` or an unknown ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> logits = jnp.array([[2.0, 0.0, -jnp.inf], [0.0, 0.0, 0.0]])
      >>> jaxloss.softmax_cross_entropy_with_integer_labels(logits, jnp.array([0, 2]))
      Array([0.12692805, 1.0986123 ], dtype=float32)
      >>> jaxloss.softmax_cross_entropy_with_integer_labels(
      ...     logits, jnp.array([0, -100]), ignore_index=-100, reduction="mean")
      Array(0.12692805, dtype=float32)

    References:
      Szegedy et al., "Rethinking the Inception Architecture", CVPR 2016 (label
      smoothing); Chowdhery et al., "PaLM", 2022 (z-loss).
    """
    return _ce_int_call(
        _ce_int_jit, logits, labels, axis=axis, class_weights=class_weights,
        ignore_index=ignore_index, label_smoothing=label_smoothing, z_loss=z_loss,
        weights=weights, where=where, reduction=reduction,
    )  # fmt: skip


# --- probability labels


@functools.partial(jax.custom_vjp, nondiff_argnums=(3, 4))
def _ce_soft(x, t, cw, axis, smoothing):
    return _ce_soft_fwd(x, t, cw, axis, smoothing)[0]


def _safe_max_logsum(x: jax.Array, axis: int) -> tuple[jax.Array, jax.Array]:
    """:func:`_max_logsum` that also takes a row whose logits are all ``-inf`` (every class
    masked): its maximum is taken as 0 and its log-sum as 0, so that zero targets give a
    loss of exactly 0 there and nothing downstream meets ``-inf - (-inf)``."""
    m = jax.lax.stop_gradient(jnp.max(x, axis, keepdims=True))
    m = jnp.where(m == -jnp.inf, 0, m)
    total = jnp.sum(jnp.exp(x - m), axis)
    empty = total == 0
    return jnp.squeeze(m, axis), jnp.where(empty, 0, jnp.log(jnp.where(empty, 1, total)))


def _ce_soft_fwd(x, t, cw, axis, smoothing):
    m, logsum = _safe_max_logsum(x, axis)
    lse = m + logsum
    wt = t if cw is None else t * _class_shape(cw, x.ndim, axis)
    # Zero-target classes add exactly 0, even where the logit is -inf (a mask). The
    # select keeps this forward autodiff-correct in t as well (∂/∂t = x, or 0 at a mask),
    # which nested differentiation (a cotangent that depends on the loss) relies on.
    tx = jnp.sum(wt * jnp.where((x > -jnp.inf) | (t != 0), x, 0), axis)
    mass = jnp.sum(wt, axis)
    loss = (m * mass - tx) + logsum * mass
    count = wsum = None
    if smoothing:
        # The uniform part, ε/C' on each finite class, from the fusible sums of the
        # integer-label loss: (1/C') Σ_finite w_c (lse − x_c). A row with no finite
        # class (C' = 0) has no uniform part.
        count, wsum, wx = _smoothing_sums(x, cw, axis, m)
        count = jnp.where(count == 0, 1, count)
        if cw is None:
            uniform = (m - wx / count) + logsum
            wsum = None
        else:
            uniform = ((m * wsum - wx) + logsum * wsum) / count
        loss = (1 - smoothing) * loss + smoothing * uniform
        mass = (1 - smoothing) * mass + smoothing * (1 if cw is None else wsum / count)
    return loss, (x, t, cw, lse, mass, count)


def _ce_soft_bwd(axis, smoothing, res, g):
    x, t, cw, lse, mass, count = res
    (x, t, lse, mass), (one_minus,) = unshared((x, t, lse, mass), 1 - smoothing)
    finite = x > -jnp.inf
    w = None if cw is None else _class_shape(cw, x.ndim, axis)
    ts = t if w is None else t * w  # the weighted target w_k t'_k
    if smoothing:
        uniform = jnp.where(finite, jnp.expand_dims(smoothing / count, axis), 0)
        ts = one_minus * ts + (uniform if w is None else uniform * w)
    ge = jnp.expand_dims(g, axis)
    lse_e = jnp.expand_dims(lse, axis)
    dx = ge * (jnp.expand_dims(mass, axis) * jnp.exp(x - lse_e) - ts)
    # ∂ℓ/∂t_c = (1-ε) w_c (lse − x_c): +inf at a masked class, taken as 0 there.
    gap = jnp.where(finite, ge * (lse_e - x), 0)
    dt = gap if smoothing == 0 else gap * one_minus
    dcw = None
    if cw is not None:
        # ∂ℓ/∂w_c = Σ_n t'_{n,c} (lse_n − x_{n,c}), 0 at a masked class.
        share = t if not smoothing else one_minus * t + uniform
        dcw = jnp.sum(share * gap, tuple(a for a in range(x.ndim) if a != axis))
        dt = dt * w
    return dx, dt, dcw


_ce_soft.defvjp(_ce_soft_fwd, _ce_soft_bwd)


def _ce_soft_call(core, logits, labels, *, axis, class_weights, label_smoothing, weights, where,
                  reduction):  # fmt: skip
    """Argument handling shared by the loss and its reference."""
    fn = "softmax_cross_entropy"
    x = _checks.float_array(fn, "logits", logits)
    t = _checks.data_array(fn, "labels", labels)
    axes = _checks.class_axes(fn, "logits", x, axis, allow_none=True)
    if jnp.issubdtype(t.dtype, jnp.integer) and t.ndim == x.ndim - len(axes):
        raise TypeError(
            f"{fn}: labels are integer class indices of shape {t.shape}; this loss takes "
            f"probability labels shaped like logits {x.shape}: use "
            f"softmax_cross_entropy_with_integer_labels"
        )
    _checks.same_shape(fn, "logits", x, "labels", t)
    if len(axes) == 1:
        ax = axes[0]
    else:
        x, t, ax = _flatten_classes(x, axes), _flatten_classes(t, axes), x.ndim - len(axes)
    cw = _class_weights(fn, class_weights, x.shape[ax])
    smoothing = _checks.static_float(fn, "label_smoothing", label_smoothing, low=0.0, high=1.0)
    reduction = _checks.reduction(fn, reduction)
    floats = [a for a in (x, t, cw) if a is not None and jnp.issubdtype(a.dtype, jnp.floating)]
    dtype = compute_dtype(*floats)
    loss_shape = x.shape[:ax] + x.shape[ax + 1 :]
    mask = mask_of(fn, where, loss_shape)
    xs = exclude(x.astype(dtype), mask, 0.0, (ax,))
    ts = exclude(t.astype(dtype), mask, 0.0, (ax,))
    cws = None if cw is None else cw.astype(dtype)
    losses = core(xs, ts, cws, ax, smoothing)
    return reduce(fn, losses, weights=weights, mask=mask, reduction=reduction).astype(x.dtype)


def softmax_cross_entropy(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    axis: int | tuple[int, ...] | None = -1,
    class_weights: ArrayLike | None = None,
    label_smoothing: float = 0.0,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Softmax cross-entropy against probability (soft) labels.

    optax's ``softmax_cross_entropy``, PyTorch's ``cross_entropy`` with
    probability targets (``weight``, ``label_smoothing``) and Keras's
    ``CategoricalCrossentropy``. With :math:`\operatorname{lse} = \log\sum_c e^{x_c}`,
    :math:`p = \operatorname{softmax}(x)`, class weights :math:`w` (all 1 by
    default) and the (smoothed) target :math:`t' = (1-\varepsilon)\, t + \varepsilon / C'`
    (:math:`C'` = classes with a finite logit, :math:`C` unless some are ``-inf``):

    .. math::

        \ell = \sum_c w_c t'_c (\operatorname{lse} - x_c), \qquad
        \frac{\partial \ell}{\partial x_k} = \Big(\sum_c w_c t'_c\Big) p_k - w_k t'_k,

        \frac{\partial \ell}{\partial t_k} = (1-\varepsilon)\, w_k (\operatorname{lse} - x_k),
        \qquad
        \frac{\partial \ell}{\partial w_k} = t'_k (\operatorname{lse} - x_k).

    Labels need not sum to one (the gradient's :math:`\sum_c w_c t'_c` factor keeps
    it exact); they are differentiable, e.g. for a learned teacher. As in PyTorch,
    ``class_weights`` multiply each class's term and ``reduction="mean"`` divides by
    the number of examples (not by summed weights, unlike integer labels).

    Conventions: a class with zero target adds exactly 0 even when its logit is
    ``-inf`` (a mask), and such a class gets no smoothing mass and logit gradient 0.
    A row whose logits are all ``-inf`` with zero targets has loss 0 and gradient 0
    (also under ``reduction="mean"``, where it counts as an example of loss 0).
    The label gradient :math:`\operatorname{lse} - x_k` is ``+inf`` at a masked
    class; the rule returns 0 there. Positive target mass on a masked class gives
    a ``+inf`` loss (finite gradients).

    Args:
      logits: unnormalised scores, any float dtype, classes along ``axis``.
      labels: target probabilities, the shape of ``logits``.
      axis: the class axis; or, as optax, a tuple of axes (the classes are the
        flat index over them, in the order given) or ``None`` (every axis).
      class_weights: optional per-class weights, shape ``(C,)`` (PyTorch's
        ``weight``; with a tuple ``axis``, C is the product of its sizes).
      label_smoothing: :math:`\varepsilon \in [0, 1]`, as PyTorch and optax's
        ``smooth_labels``.
      weights: optional per-example weights, broadcastable to the loss shape
        (``logits.shape`` without ``axis``).
      where: optional boolean mask, broadcastable to the loss shape.
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
      Per-example losses (``"none"``) or a scalar, in the dtype of ``logits``.

    Raises:
      TypeError: non-float ``logits``, integer class indices as ``labels``, or an
        ``axis`` that is not an int, a tuple of ints or None.
      ValueError: ``labels`` not shaped like ``logits``, a bad or repeated ``axis``,
        ``class_weights`` not of shape ``(C,)``, ``label_smoothing`` outside
        [0, 1] or an unknown ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> logits = jnp.array([[2.0, 0.0, -jnp.inf]])
      >>> jaxloss.softmax_cross_entropy(logits, jnp.array([[0.5, 0.5, 0.0]]))
      Array([1.1269281], dtype=float32)

    References:
      Szegedy et al., "Rethinking the Inception Architecture", CVPR 2016.
    """
    return _ce_soft_call(
        _ce_soft, logits, labels, axis=axis, class_weights=class_weights,
        label_smoothing=label_smoothing, weights=weights, where=where, reduction=reduction,
    )  # fmt: skip


# --- negative log-likelihood


@functools.partial(jax.custom_vjp, nondiff_argnums=(3,))
def _nll(lp, y, cw, axis):
    return _nll_fwd(lp, y, cw, axis)[0]


def _nll_fwd(lp, y, cw, axis):
    loss = -_gather(lp, y, axis)
    if cw is not None:
        loss = _class_weight_of(cw, y) * loss
    return loss, (lp, y, cw)


def _nll_bwd(axis, res, g):
    lp, y, cw = res
    valid = (y >= 0) & (y < lp.shape[axis])
    g = jnp.where(valid, g, 0)
    dcw = None
    if cw is not None:
        hit = jnp.where(g == 0, 0, -g * _gather(lp, y, axis))
        dcw = jnp.zeros_like(cw).at[y.reshape(-1)].add(hit.reshape(-1), mode="drop")
    gy = g if cw is None else g * jnp.where(valid, _class_weight_of(cw, y), 0)
    dlp = jnp.where(_onehot(y, lp.shape, axis), -jnp.expand_dims(gy, axis),
                    jnp.zeros((), lp.dtype))  # fmt: skip
    return dlp, None, dcw


_nll.defvjp(_nll_fwd, _nll_bwd)


def _nll_call(core, log_probs, labels, *, axis, class_weights, ignore_index, weights, where,
              reduction):  # fmt: skip
    """Argument handling shared by the loss and its reference."""
    return _integer_labels_call(
        "negative_log_likelihood", "log_probs", core, log_probs, labels, (), axis=axis,
        class_weights=class_weights, ignore_index=ignore_index, weights=weights, where=where,
        reduction=reduction,
    )  # fmt: skip


def negative_log_likelihood(
    log_probs: ArrayLike,
    labels: ArrayLike,
    *,
    axis: int = -1,
    class_weights: ArrayLike | None = None,
    ignore_index: int | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Negative log-likelihood of integer labels under given log-probabilities.

    PyTorch's ``nll_loss``: :math:`\ell = -w_y\, \mathrm{lp}_y`, with class weights
    :math:`w` (all 1 by default). The input is not normalised here; pass
    ``jax.nn.log_softmax`` output (or use
    :func:`softmax_cross_entropy_with_integer_labels` on logits, which is faster).

    .. math::

        \ell = -w_y\, \mathrm{lp}_y, \qquad
        \frac{\partial \ell}{\partial\, \mathrm{lp}_k} = -w_y\, [k = y].

    ``reduction="mean"`` divides by the summed class weights of the counted labels
    (PyTorch's normalisation), or by their number without ``class_weights``.
    ``ignore_index`` entries behave like ``where=False``; labels outside
    ``[0, C)`` give NaN. The loss is linear: no kinks.

    Args:
      log_probs: log-probabilities, any float dtype, classes along ``axis``.
      labels: integer class indices, the shape of ``log_probs`` without ``axis``.
      axis: the class axis (``1`` for PyTorch's [N, C, ...] layout).
      class_weights: optional per-class weights, shape ``(C,)``.
      ignore_index: a label value whose entries are excluded.
      weights: optional per-example weights, broadcastable to ``labels.shape``.
      where: optional boolean mask, broadcastable to ``labels.shape``.
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
      Per-example losses (``"none"``) or a scalar, in the dtype of ``log_probs``.

    Raises:
      TypeError: non-float ``log_probs`` or non-integer ``labels``.
      ValueError: mismatched shapes, a bad ``axis`` or ``class_weights`` shape, or
        an unknown ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> lp = jnp.log(jnp.array([[0.5, 0.25, 0.25], [0.1, 0.1, 0.8]]))
      >>> jaxloss.negative_log_likelihood(lp, jnp.array([0, 2]),
      ...                                 class_weights=jnp.array([1.0, 1.0, 2.0]))
      Array([0.6931472 , 0.44628707], dtype=float32)
    """
    return _nll_call(
        _nll, log_probs, labels, axis=axis, class_weights=class_weights,
        ignore_index=ignore_index, weights=weights, where=where, reduction=reduction,
    )  # fmt: skip
