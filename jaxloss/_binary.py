"""Binary and multi-label losses on probabilities, logits or margins.

Binary cross-entropy on probabilities (PyTorch's clamped logs), sigmoid
cross-entropy on logits (with ``pos_weight`` and label smoothing), sigmoid focal
loss, the margin losses of linear classifiers (hinge, squared hinge, perceptron,
soft margin) and PyTorch's multi-label soft margin loss.

Same structure as :mod:`jaxloss._regression`: a public wrapper, a private
``custom_vjp`` function whose rule saves only its inputs, and the shared reduction.
``g`` is the cotangent of the unreduced loss.

The logit losses share one numerical scheme. With ``e = exp(-|x|)``, the one
transcendental per element and pass besides a ``log1p``,

* ``softplus(±x) = log1p(e) + max(±x, 0)``, so ``-log σ(x)`` and ``-log σ(-x)``
  never overflow;
* ``σ(x) = max(e, sign x) / (1 + e)`` and ``σ(-x) = max(e, -sign x) / (1 + e)``:
  both sigmoids from the one ``exp``, without a select, each with full relative
  precision (``1 - σ(x)`` is never formed by subtraction, so the gradient of a
  confident correct prediction is ``-e/(1+e)``, not a rounded 0);
* a coefficient times ``max(±x, 0)`` is taken as 0 when the coefficient is 0, so
  an infinite logit on the side its label ignores costs exactly 0 (``-inf``
  logits work as masks) instead of ``0 · inf = NaN``, and ``+inf`` otherwise;
* the gradients with respect to labels and weight arrays, which grow like
  ``|x|``, are taken as 0 at infinite logits, so every gradient is finite.

No ``jnp.where`` or ``jnp.clip`` appears in these rules (see the note above
``_linear_terms``).
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from . import _checks, _reduce
from ._fusion import unshared

__all__ = [
    "binary_cross_entropy",
    "hinge",
    "multilabel_soft_margin",
    "perceptron",
    "sigmoid_binary_cross_entropy",
    "sigmoid_focal",
    "soft_margin",
    "squared_hinge",
]

# PyTorch's binary_cross_entropy: each log clamped at -100, and the backward's
# denominator p(1 - p) floored at 1e-12, a float32 constant in every dtype (PyTorch's
# kernel declares it float), 9.99999996e-13.
_LOG_FLOOR = -100.0
_BCE_EPS = float(np.float32(1e-12))


# --- shared argument handling


def _pair(
    fn: str, first: str, second: str, inputs: ArrayLike, labels: ArrayLike, *, signed: bool
) -> tuple[jax.Array, jax.Array]:
    """Checks a (predictions, labels) pair: floating predictions, real labels, one shape.

    ``signed`` losses take targets in {-1, +1}: boolean targets are refused there,
    since False would silently mean 0 rather than -1.
    """
    x = _checks.float_array(fn, first, inputs)
    y = _checks.data_array(fn, second, labels)
    if signed and y.dtype == jnp.bool_:
        raise TypeError(
            f"{fn}: {second} must be -1 or +1, got a boolean array; "
            f"convert {{0, 1}} labels with 2 * {second} - 1"
        )
    _checks.same_shape(fn, first, x, second, y)
    return x, y


def _elementwise(fn, core, inputs, hyper=(), *, safe=None, weights, where, reduction):
    return _reduce.apply(
        fn, core, inputs, hyper, safe=safe, weights=weights, where=where, reduction=reduction
    )


# --- shared numerics of the logit losses
#
# Everything below is select- and clamp-free on purpose: jaxlib 0.10.2's CPU
# reduction fusion (YNNPACK) takes abs, min, max, sign, exp, log1p and arithmetic
# but not select or clamp, and an unfusable op splits a loss's forward pass into
# several passes over fresh [N] buffers (measured 3-6x slower with a jnp.where).


def _linear_terms(x, a, b=None):
    """``a·max(-x, 0) + b·max(x, 0)`` for ``a, b >= 0`` (``b = 1 - a`` by default), with a
    zero coefficient giving 0 even at an infinite ``x``, where a product gives 0·inf = NaN.

    Computed as ``c·min(|x|, max) + t/(1 - t)``: ``c`` is the coefficient of the side ``x``
    is on and ``t`` is 1 exactly where ``x`` is infinite and ``c > 0`` (adding ``1/0 = inf``),
    0 elsewhere. Autodiff of it (which differentiates a rule's forward pass in
    higher-order derivatives) gives ``max(∓x, 0)`` with respect to ``a``/``b`` also where
    they are 0.
    """
    s = jnp.sign(x)
    ax = jnp.abs(x)
    capped = jnp.minimum(ax, jnp.finfo(x.dtype).max)
    pos = jnp.maximum(s, 0)
    c = pos - a * s if b is None else a * jnp.maximum(-s, 0) + b * pos
    t = jnp.sign(ax - capped) * jnp.sign(c)
    return capped * c + t / (1 - t)


def _finite_magnitude(x, big, one):
    """``(sign x, |x|)`` with ``|x|`` taken as 0 at ±inf: the gradients with respect to
    labels and weights, which grow like ``|x|``, are 0 at infinite logits."""
    ax = jnp.abs(x)
    capped = jnp.minimum(ax, big)
    return jnp.sign(x), capped * (one - jnp.sign(ax - capped))


def _sigmoids(x, s, one):
    """``(e, σ(x)(1+e), σ(-x)(1+e), 1/(1+e))`` with ``e = exp(-|x|)``: one exp, no select."""
    e = jnp.exp(-jnp.abs(x))
    return e, jnp.maximum(e, s), jnp.maximum(e, -s), one / (one + e)


def _bwd_constants(x, *scalars):
    """The backward's constants, to pass behind its barrier: 1, 0, the dtype's max, then
    ``scalars``. A literal shared with the forward pass would be merged with it, and its
    broadcast materialised as a fresh [N] buffer of zeros (see :mod:`jaxloss._fusion`)."""
    return (1, 0, jnp.finfo(x.dtype).max, *scalars)


def _softplus_pair(log_part, s, mag, zero):
    """``(softplus(-x), softplus(x))`` from ``log1p(e)``, ``sign x`` and the finite ``|x|``."""
    return log_part + mag * jnp.maximum(-s, zero), log_part + mag * jnp.maximum(s, zero)


def _class_shaped(fn, arg, w, x, axes):
    """``w`` (a per-class or broadcastable weight) with ``axes`` of size 1 inserted to get
    ``x``'s rank, left unbroadcast: a full-size broadcast would be shared by the forward and
    the backward pass and materialised."""
    w = _checks.data_array(fn, arg, w)
    if w.dtype == jnp.bool_:
        raise TypeError(f"{fn}: {arg} must be a number or a numeric array, got booleans")
    return jnp.expand_dims(w, axes)


def _sum_to(g, shape):
    """``g`` summed over the axes along which an array of ``shape`` was broadcast."""
    axes = tuple(i for i, (n, m) in enumerate(zip(shape, g.shape, strict=True)) if n == 1 != m)
    return jnp.sum(g, axis=axes, keepdims=True) if axes else g


# --- binary_cross_entropy


@jax.custom_vjp
def _binary_cross_entropy(p, y):
    return _binary_cross_entropy_fwd(p, y)[0]


def _binary_cross_entropy_fwd(p, y):
    # log1p(-p) keeps 1 - p accurate for small p, as PyTorch's kernel does.
    log_p = jnp.maximum(jnp.log(p), _LOG_FLOOR)
    log_q = jnp.maximum(jnp.log1p(-p), _LOG_FLOOR)
    return y * (log_q - log_p) - log_q, (p, y)


def _binary_cross_entropy_bwd(res, g):
    (p, y), (one, eps, floor) = unshared(res, 1, _BCE_EPS, _LOG_FLOOR)
    # PyTorch's backward: (p - y) / max(p (1 - p), 1e-12), finite at p = 0 and 1.
    gp = g * (p - y) / jnp.maximum(p * (one - p), eps)
    # The derivative of the clamped value (PyTorch's is -logit(p), infinite at 0 and 1).
    gy = g * (_floored(jnp.log1p(-p), floor) - _floored(jnp.log(p), floor))
    return gp, gy


def _floored(log_x, floor):
    """``max(log_x, floor)`` whose derivative is 0 where the floor holds, also at
    ``log_x = -inf``: ``maximum``'s derivative multiplies the log's infinite derivative
    (``1/x`` at ``x = 0``) by 0, which is NaN, while a select drops it. NaN stays NaN."""
    return jnp.where(log_x < floor, floor, log_x)


_binary_cross_entropy.defvjp(_binary_cross_entropy_fwd, _binary_cross_entropy_bwd)


def _binary_cross_entropy_call(core, probabilities, labels, *, weights, where, reduction):
    """Argument handling shared by the loss and its reference."""
    fn = "binary_cross_entropy"
    p, y = _pair(fn, "probabilities", "labels", probabilities, labels, signed=False)
    return _elementwise(
        fn, core, (p, y), safe=(0.5, 0.5), weights=weights, where=where, reduction=reduction
    )


def binary_cross_entropy(
    probabilities: ArrayLike,
    labels: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Binary cross-entropy of probabilities, PyTorch's ``binary_cross_entropy``.

    The negative log-likelihood of labels ``y`` in [0, 1] (hard 0/1 or soft) under
    independent Bernoulli predictions ``p``. Keras's ``BinaryCrossentropy`` (which
    clips ``p`` to [1e-7, 1 - 1e-7] instead, and averages the last axis). Prefer
    :func:`sigmoid_binary_cross_entropy` on logits: it is exact where ``p``
    rounds to 0 or 1. Each log is clamped at -100, as in PyTorch, so the value is
    at most 100 per element.

    .. math::

        \ell = -\bigl(y \max(\log p, -100) + (1 - y) \max(\log(1 - p), -100)\bigr)

    .. math::

        \frac{\partial \ell}{\partial p} = \frac{p - y}{\max(p(1 - p), 10^{-12})},
        \qquad \frac{\partial \ell}{\partial y} = \max(\log(1 - p), -100)
        - \max(\log p, -100).

    The gradient with respect to ``p`` is PyTorch's: it equals
    ``-y/p + (1-y)/(1-p)`` wherever ``p(1 - p) >= 1e-12`` and stays finite at
    ``p = 0`` and ``p = 1`` (``-y · 1e12`` and ``(1 - y) · 1e12``; 0 where the label
    agrees). The gradient with respect to ``y`` is the derivative of the clamped
    value, ±100 at ``p`` in {0, 1} (PyTorch's ``-logit(p)`` is infinite there); a
    clamped log is flat, so its derivative along ``p`` (in ``jax.hessian``) is 0.

    Args:
      probabilities: probabilities in [0, 1], any float dtype and shape.
      labels: labels in [0, 1] of the same shape (hard or soft; integer and
        boolean dtypes are accepted).
      weights: optional weights broadcastable to ``probabilities.shape``.
      where: optional boolean mask broadcastable to ``probabilities.shape``.
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
      The per-element losses (``"none"``) or a scalar, in the dtype of ``probabilities``.
      Probabilities outside [0, 1] give NaN (PyTorch raises); labels outside
      [0, 1] are not checked and extend the formula linearly.

    Raises:
      TypeError: integer or boolean ``probabilities``.
      ValueError: mismatched shapes or an unknown ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.binary_cross_entropy(jnp.array([0.9, 0.2, 0.0]), jnp.array([1.0, 0.5, 1.0]))
      Array([  0.10536051,   0.91629076, 100.        ], dtype=float32)
    """
    return _binary_cross_entropy_call(
        _binary_cross_entropy,
        probabilities,
        labels,
        weights=weights,
        where=where,
        reduction=reduction,
    )


# --- sigmoid_binary_cross_entropy


@functools.partial(jax.custom_vjp, nondiff_argnums=(3,))
def _sigmoid_bce(x, y, pw, smoothing):
    return _sigmoid_bce_fwd(x, y, pw, smoothing)[0]


def _smooth(y, smoothing):
    return y if smoothing == 0.0 else y * (1 - smoothing) + 0.5 * smoothing


def _sigmoid_bce_fwd(x, y, pw, smoothing):
    ys = _smooth(y, smoothing)
    log_part = jnp.log1p(jnp.exp(-jnp.abs(x)))
    if pw is None:
        # softplus(-x) y + softplus(x) (1 - y) = log1p(e) + y max(-x, 0) + (1 - y) max(x, 0)
        return log_part + _linear_terms(x, ys), (x, y, pw)
    a = pw * ys  # pw has x's rank, maybe with axes of size 1
    b = 1 - ys
    return (a + b) * log_part + _linear_terms(x, a, b), (x, y, pw)


def _sigmoid_bce_bwd(smoothing, res, g):
    consts = _bwd_constants(res[0], 1 - smoothing, 0.5 * smoothing)
    (x, y, pw), (one, zero, big, keep, half) = unshared(res, *consts)
    ys = y * keep + half if smoothing else y
    s, mag = _finite_magnitude(x, big, one)
    e, sp, sn, u = _sigmoids(x, s, one)
    b = one - ys
    a = ys if pw is None else pw * ys
    # ∂ℓ/∂x = b σ(x) - a σ(-x): two products, so both tails keep full precision.
    gx = g * (u * (b * sp - a * sn))
    if pw is None:
        # ∂ℓ/∂y = softplus(-x) - softplus(x) = -x (0 at ±inf).
        return gx, -g * keep * (s * mag), None
    softplus_neg, softplus_pos = _softplus_pair(jnp.log1p(e), s, mag, zero)  # 0 at ±inf
    gy = g * keep * (pw * softplus_neg - softplus_pos)
    return gx, gy, _sum_to(g * ys * softplus_neg, pw.shape)


_sigmoid_bce.defvjp(_sigmoid_bce_fwd, _sigmoid_bce_bwd)


def _sigmoid_bce_call(
    core, logits, labels, *, pos_weight, label_smoothing, weights, where, reduction
):
    """Argument handling shared by the loss and its reference."""
    fn = "sigmoid_binary_cross_entropy"
    x, y = _pair(fn, "logits", "labels", logits, labels, signed=False)
    smoothing = _checks.static_float(fn, "label_smoothing", label_smoothing, low=0.0, high=1.0)
    if pos_weight is None:
        return _elementwise(
            fn,
            lambda x, y, s: core(x, y, None, s),
            (x, y),
            (smoothing,),
            weights=weights,
            where=where,
            reduction=reduction,
        )
    pw = _checks.data_array(fn, "pos_weight", pos_weight)
    _checks.broadcastable(fn, "pos_weight", pw, x.shape, "the logits' shape")
    pw = _class_shaped(fn, "pos_weight", pw, x, tuple(range(x.ndim - pw.ndim)))
    return _elementwise(
        fn,
        lambda x, y, s: core(x, y, pw.astype(x.dtype), s),
        (x, y),
        (smoothing,),
        weights=weights,
        where=where,
        reduction=reduction,
    )


def sigmoid_binary_cross_entropy(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    pos_weight: ArrayLike | None = None,
    label_smoothing: float = 0.0,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Sigmoid cross-entropy of logits: independent binary (multi-label) classification.

    optax's ``sigmoid_binary_cross_entropy`` (same argument names and order),
    PyTorch's ``binary_cross_entropy_with_logits`` (same ``pos_weight``), Keras's
    ``BinaryCrossentropy(from_logits=True)`` (same ``label_smoothing``, before its
    mean over the last axis). Labels may be soft (any value in [0, 1]).

    With smoothed labels :math:`y' = y(1 - \epsilon) + \epsilon/2` and positive
    weight :math:`w_+` (``pos_weight``, default 1):

    .. math::

        \ell = -w_+ y' \log\sigma(x) - (1 - y')\log\sigma(-x)
             = w_+ y' \operatorname{softplus}(-x) + (1 - y')\operatorname{softplus}(x)

    .. math::

        \frac{\partial \ell}{\partial x} = (1 - y')\,\sigma(x) - w_+ y'\,\sigma(-x),
        \qquad \frac{\partial \ell}{\partial y} = (1 - \epsilon)\bigl(w_+
        \operatorname{softplus}(-x) - \operatorname{softplus}(x)\bigr),
        \qquad \frac{\partial \ell}{\partial w_+} = y' \operatorname{softplus}(-x).

    Computed from one ``exp(-|x|)`` per element and pass, finite for any finite
    logit. Infinite logits: a logit of ``-inf`` with label 0 (or ``+inf`` with
    label 1) costs exactly 0 with gradient 0, so ``-inf`` works as a mask; the
    opposite label gives ``+inf`` (the true value) with the finite logit gradient
    ``-w_+ y'`` (or ``1 - y'``). At infinite logits the gradients with respect to
    ``labels`` and ``pos_weight`` are taken as 0 (the loss is not finite on any
    neighbourhood of the label there).

    Args:
      logits: logits, any float dtype and shape (``[..., classes]`` for multi-label).
      labels: labels in [0, 1] of the same shape (integer and boolean dtypes are
        accepted); values outside [0, 1] are not checked and extend the formula
        linearly.
      pos_weight: optional weight of the positive term, broadcastable to
        ``logits.shape``: a scalar, or one per class (shape ``(classes,)``) as in
        PyTorch. Differentiable.
      label_smoothing: ``ε`` in [0, 1]; labels become ``y(1 - ε) + ε/2``.
      weights: optional weights broadcastable to ``logits.shape``.
      where: optional boolean mask broadcastable to ``logits.shape``.
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
      The per-element losses (``"none"``) or a scalar, in the dtype of ``logits``.

    Raises:
      TypeError: integer or boolean ``logits``; a traced ``label_smoothing``.
      ValueError: mismatched shapes, a ``pos_weight`` that does not broadcast to
        the logits' shape, ``label_smoothing`` outside [0, 1] or an unknown
        ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([2.0, -1.0, -jnp.inf, 30.0])
      >>> jaxloss.sigmoid_binary_cross_entropy(x, jnp.array([1.0, 1.0, 0.0, 0.0]))
      Array([ 0.126928 ,  1.3132617,  0.       , 30.       ], dtype=float32)
      >>> jaxloss.sigmoid_binary_cross_entropy(x[:2], jnp.array([1.0, 1.0]), pos_weight=2.0)
      Array([0.253856 , 2.6265235], dtype=float32)

    References:
      Goodfellow et al., "Deep Learning", 2016, §3.13 and §6.2.2.2.
    """
    return _sigmoid_bce_call(
        _sigmoid_bce,
        logits,
        labels,
        pos_weight=pos_weight,
        label_smoothing=label_smoothing,
        weights=weights,
        where=where,
        reduction=reduction,
    )


# --- sigmoid_focal


def _power(q, gamma, gamma_array=None):
    """q ** γ: repeated products for small integer γ, exp(γ log q) otherwise (0 at q = 0);
    ``gamma_array`` is γ as the backward's unshared constant."""
    if gamma == int(gamma) and gamma <= 8:
        return q ** int(gamma)
    # At q = 0 (a logit so confident that 1 - p_t underflows) the derivative of
    # exp(γ log q), q'/q, would be 0/0 even where q' = 0: q is taken as 1 there and the
    # power multiplied by sign(q) = 0.
    # Only the backward pass (given ``gamma_array``) needs it: jax.hessian differentiates
    # that pass, not the forward's value.
    if gamma_array is None:
        return jnp.exp(gamma * jnp.log(q))
    nonzero = jnp.sign(q)
    return jnp.exp(gamma_array * jnp.log(q + (1 - nonzero))) * nonzero


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _sigmoid_focal(x, y, alpha, gamma):
    return _sigmoid_focal_fwd(x, y, alpha, gamma)[0]


def _sigmoid_focal_fwd(x, y, alpha, gamma):
    e = jnp.exp(-jnp.abs(x))
    loss = jnp.log1p(e) + _linear_terms(x, y)  # the cross-entropy
    if gamma != 0.0:
        s = jnp.sign(x)
        # 1 - p_t = y σ(-x) + (1 - y) σ(x), from the same e.
        q = (y * jnp.maximum(e, -s) + (1 - y) * jnp.maximum(e, s)) / (1 + e)
        loss = loss * _power(q, gamma)
    if alpha is not None:
        loss = loss * ((1 - alpha) + (2 * alpha - 1) * y)
    return loss, (x, y)


def _log1p_ratio(e, log1p_e, one, small):
    """``log1p(e) / e`` for ``e`` in ``[0, 1]``, 1 at ``e = 0``; a series below ``small``,
    so that neither the value nor its derivative divides by a tiny ``e``."""
    tiny = e < small
    safe = jnp.where(tiny, one, e)
    series = one - e * (0.5 - e * (1 / 3 - e * 0.25))
    return jnp.where(tiny, series, log1p_e / safe)


def _sigmoid_focal_bwd(alpha, gamma, res, g):
    a0, a1 = (1.0, 0.0) if alpha is None else (1 - alpha, 2 * alpha - 1)
    floor = math.exp(1 - math.log(float(jnp.finfo(res[0].dtype).max)) / 2)
    consts = _bwd_constants(res[0], gamma, a0, a1, floor, 1e-4)
    (x, y), (one, zero, big, gam, a0, a1, floor, small) = unshared(res, *consts)
    s, mag = _finite_magnitude(x, big, one)
    e, sp, sn, u = _sigmoids(x, s, one)
    b = one - y
    pos = one - jnp.maximum(-s, zero)  # 1 for x >= 0, 0 for x < 0
    neg = one - pos
    # Zero in value; its derivative (1 at x = 0, else 0) makes |x|, mag and e below take
    # the x >= 0 side's derivative at 0, as pos does, instead of the mean of both sides
    # (the terms are split by side, so only one side's derivative is right).
    kink = (pos - neg) * jnp.clip(x, -big, big) - jnp.minimum(jnp.abs(x), big)
    mag = mag + kink
    e_kink = e * kink
    e = e - e_kink
    # The cross-entropy, taken as 0 at ±inf, where the factors multiplying it vanish.
    log1p_e = jnp.log1p(e) - e_kink * u
    softplus_neg, softplus_pos = log1p_e + mag * neg, log1p_e + mag * pos
    ce = y * softplus_neg + b * softplus_pos
    dce = u * (b * sp - y * sn)  # σ(x) - y
    finite_x = (pos - neg) * mag  # x, taken as 0 at ±inf
    if gamma == 0.0:
        w, gx, gy = one, dce, -finite_x
    else:
        # With q = 1 - p_t = y σ(-x) + (1 - y) σ(x) and r = σ(x)σ(-x)/q:
        #   d/dx = q^γ (σ(x) - y + γ ce r (1 - 2y)),
        #   d/dy = q^γ (γ ce r (e^-x - e^x) - x),  since (σ(-x) - σ(x))/q = (e^-x - e^x) r.
        # No factor divides by q or by e = exp(-|x|): their derivatives, which jax.hessian
        # takes, would divide by its square, which underflows for a confident logit. With
        # E = e^|x|, a and c the label weights of e and E (a = y, c = 1 - y for x >= 0),
        # r = 1/(1 + a e + c E) is in (0, 1] and rc = c E r in [0, 1); the large products
        # ce r and ce E r are formed from them. E = 1/max(e, floor) is capped near the
        # square root of the dtype's max (|x| beyond 43 in float32, 354 in float64; its
        # derivative divides by the square of that floor), where only soft labels within
        # e^-|x| of 0 or 1 would notice.
        a = y * pos + b * neg
        c_e = (b * pos + y * neg) / jnp.maximum(e, floor)
        r = one / (one + e * a + c_e)
        rc = c_e * r
        ratio = _log1p_ratio(e, log1p_e, one, small)  # log1p(e)/e
        far = (mag + log1p_e) * e
        near = log1p_e * e
        # softplus(-x) e^x and softplus(x) e^-x, both at most 1 + |x| e^-|x|.
        spn_ex = pos * ratio + neg * far
        spp_emx = neg * ratio + pos * far
        ce_r = r * log1p_e + (mag * e) * rc
        w = _power(u * (y * sn + b * sp), gamma, gam)
        gx = dce + gam * ce_r * (b - y)
        ce_diff_r = r * (y * (pos * near - spn_ex) + b * (spp_emx - neg * near)) + (neg - pos) * (
            (mag + log1p_e) * rc
        )
        gy = gam * ce_diff_r - finite_x
    at = a0 + a1 * y
    dy = at * gy + a1 * ce
    if gamma != 0.0:
        # Where q^γ underflows to 0 (a confident logit), the label term's derivative can
        # overflow (|x| / floor): it is held out of the product's derivative there, which
        # is then q^γ's derivative times the term, not 0 · inf (jax.hessian's NaN).
        dy = jnp.where(w != zero, dy, jax.lax.stop_gradient(dy))
    return g * (at * w) * gx, g * w * dy


_sigmoid_focal.defvjp(_sigmoid_focal_fwd, _sigmoid_focal_bwd)


def _sigmoid_focal_call(core, logits, labels, *, alpha, gamma, weights, where, reduction):
    """Argument handling shared by the loss and its reference."""
    fn = "sigmoid_focal"
    x, y = _pair(fn, "logits", "labels", logits, labels, signed=False)
    if alpha is not None:
        alpha = _checks.static_float(fn, "alpha", alpha, low=0.0, high=1.0)
    gamma = _checks.static_float(fn, "gamma", gamma, low=0.0)
    return _elementwise(
        fn, core, (x, y), (alpha, gamma), weights=weights, where=where, reduction=reduction
    )


def sigmoid_focal(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    alpha: float | None = None,
    gamma: float = 2.0,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Sigmoid focal loss: cross-entropy down-weighted on well-classified examples.

    optax's ``sigmoid_focal_loss`` (same arguments), torchvision's
    ``ops.sigmoid_focal_loss`` (which defaults to ``alpha=0.25``; pass it
    explicitly), Keras's ``BinaryFocalCrossentropy(from_logits=True,
    apply_class_balancing=alpha is not None)``. For dense detection and other
    heavily imbalanced binary or multi-label problems. ``gamma=0`` without
    ``alpha`` is :func:`sigmoid_binary_cross_entropy`. Labels may be soft.

    With :math:`q = 1 - p_t = y\,\sigma(-x) + (1 - y)\,\sigma(x)`,
    :math:`\mathrm{ce}` the sigmoid cross-entropy and
    :math:`\alpha_t = \alpha y + (1 - \alpha)(1 - y)` (1 when ``alpha`` is None):

    .. math::

        \ell = \alpha_t\, q^\gamma\, \mathrm{ce}, \qquad
        \mathrm{ce} = y \operatorname{softplus}(-x) + (1 - y) \operatorname{softplus}(x)

    .. math::

        \frac{\partial \ell}{\partial x} = \alpha_t q^\gamma \Bigl(\sigma(x) - y
            + \gamma\,\mathrm{ce}\,\frac{\sigma(x)\sigma(-x)}{q}(1 - 2y)\Bigr),

    .. math::

        \frac{\partial \ell}{\partial y} = q^\gamma \Bigl((2\alpha - 1)\,\mathrm{ce}
            + \alpha_t\bigl(-x + \gamma\,\mathrm{ce}\,\frac{\sigma(-x) - \sigma(x)}{q}\bigr)\Bigr)

    (without ``alpha`` the ``2α - 1`` term is absent). The rule never forms
    :math:`q^{\gamma-1}`, which is infinite at ``q = 0`` for ``γ < 1``: the
    ratios above are bounded, and the gradients are finite for every ``γ >= 0``
    and every finite or infinite logit. Infinite logits behave as in
    :func:`sigmoid_binary_cross_entropy`: 0 with gradient 0 on the matching hard
    label, ``+inf`` with a finite logit gradient otherwise, and label gradient 0.

    Args:
      logits: logits, any float dtype and shape.
      labels: labels in [0, 1] of the same shape (integer and boolean dtypes are
        accepted).
      alpha: weight in [0, 1] of the positive term (and ``1 - alpha`` of the
        negative one), or ``None`` for no weighting.
      gamma: focusing exponent ``γ >= 0``. Small integers are computed by
        products, others as ``exp(γ log q)``.
      weights: optional weights broadcastable to ``logits.shape``.
      where: optional boolean mask broadcastable to ``logits.shape``.
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
      The per-element losses (``"none"``) or a scalar, in the dtype of ``logits``.

    Raises:
      TypeError: integer or boolean ``logits``; traced ``alpha`` or ``gamma``.
      ValueError: mismatched shapes, ``alpha`` outside [0, 1], ``gamma < 0`` or an
        unknown ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> x, y = jnp.array([3.0, -1.0, 0.0]), jnp.array([1.0, 1.0, 0.0])
      >>> jaxloss.sigmoid_focal(x, y, alpha=0.25, gamma=2.0)
      Array([2.7320832e-05, 1.7546709e-01, 1.2996510e-01], dtype=float32)

    References:
      Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017.
    """
    return _sigmoid_focal_call(
        _sigmoid_focal,
        logits,
        labels,
        alpha=alpha,
        gamma=gamma,
        weights=weights,
        where=where,
        reduction=reduction,
    )


# --- hinge, squared_hinge, perceptron


def _step(m, zero):
    """1 where m > 0, else 0 (the subgradient 0 at m = 0), without a select."""
    return jnp.maximum(jnp.sign(m), zero)


@jax.custom_vjp
def _hinge(s, y):
    return _hinge_fwd(s, y)[0]


def _hinge_fwd(s, y):
    return jnp.maximum(1 - y * s, 0), (s, y)


def _hinge_bwd(res, g):
    (s, y), (one, zero, big) = unshared(res, *_bwd_constants(res[0]))
    active = g * _step(one - y * s, zero)
    sign, mag = _finite_magnitude(s, big, one)
    return -y * active, -(sign * mag) * active


_hinge.defvjp(_hinge_fwd, _hinge_bwd)


@jax.custom_vjp
def _squared_hinge(s, y):
    return _squared_hinge_fwd(s, y)[0]


def _squared_hinge_fwd(s, y):
    h = jnp.maximum(1 - y * s, 0)
    return h * h, (s, y)


def _squared_hinge_bwd(res, g):
    (s, y), (one, zero, big, two) = unshared(res, *_bwd_constants(res[0], 2))
    # s clipped to the finite range gives the same hinge (0 at an infinite margin); a
    # product y * inf would give 0 * inf = NaN in jax.hessian, which perturbs y too. The
    # hinge is a select: at an infinite margin the margin's tangent (the target's tangent
    # times the clipped score, up to the dtype's max) overflows, and maximum's derivative
    # would multiply that inf by 0 where a select drops it.
    m = one - y * jnp.clip(s, -big, big)
    h = -two * g * jnp.where(m <= zero, zero, m)  # NaN stays NaN
    sign, mag = _finite_magnitude(s, big, one)
    finite_s = sign * mag  # 0 at ±inf, where the target gradient is taken as 0
    return y * h, finite_s * (-two * g * jnp.maximum(one - y * finite_s, zero))


_squared_hinge.defvjp(_squared_hinge_fwd, _squared_hinge_bwd)


@jax.custom_vjp
def _perceptron(s, y):
    return _perceptron_fwd(s, y)[0]


def _perceptron_fwd(s, y):
    return jnp.maximum(-(y * s), 0), (s, y)


def _perceptron_bwd(res, g):
    (s, y), (one, zero, big) = unshared(res, *_bwd_constants(res[0]))
    active = g * _step(-(y * s), zero)
    sign, mag = _finite_magnitude(s, big, one)
    return -y * active, -(sign * mag) * active


_perceptron.defvjp(_perceptron_fwd, _perceptron_bwd)


def _margin_call(fn, core, predictor_outputs, targets, *, weights, where, reduction):
    """Argument handling shared by the margin losses and their references."""
    s, y = _pair(fn, "predictor_outputs", "targets", predictor_outputs, targets, signed=True)
    return _elementwise(fn, core, (s, y), weights=weights, where=where, reduction=reduction)


def hinge(
    predictor_outputs: ArrayLike,
    targets: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Hinge loss ``max(0, 1 - y s)`` of a binary classifier's score, targets ±1.

    optax's ``hinge_loss`` (same arguments); Keras's ``Hinge`` before its mean
    over the last axis and without its conversion of {0, 1} labels. The loss of
    soft-margin support vector machines: zero once an example is on the right side
    with margin at least 1.

    .. math::

        \ell = \max(0,\, 1 - y s), \qquad
        \frac{\partial \ell}{\partial s} = -y\,[y s < 1], \qquad
        \frac{\partial \ell}{\partial y} = -s\,[y s < 1].

    At the kink ``y s = 1`` the rule takes the subgradient 0 (autodiff of optax's
    ``jnp.maximum`` gives half of ``-y`` there). At an infinite score the gradient
    with respect to ``targets`` is taken as 0.

    Args:
      predictor_outputs: scores (decision-function values), any float dtype and shape.
      targets: targets of the same shape, -1 or +1 (integer dtypes are accepted;
        other real values are used as given, as a signed weight).
      weights: optional weights broadcastable to ``predictor_outputs.shape``.
      where: optional boolean mask broadcastable to ``predictor_outputs.shape``.
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
      The per-element losses (``"none"``) or a scalar, in the dtype of
      ``predictor_outputs``.

    Raises:
      TypeError: integer or boolean ``predictor_outputs``, boolean ``targets``
        (convert {0, 1} labels with ``2 * labels - 1``).
      ValueError: mismatched shapes or an unknown ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.hinge(jnp.array([2.0, 0.5, -1.0]), jnp.array([1.0, 1.0, 1.0]))
      Array([0. , 0.5, 2. ], dtype=float32)

    References:
      Cortes and Vapnik, "Support-Vector Networks", Machine Learning 1995.
    """
    return _margin_call(
        "hinge",
        _hinge,
        predictor_outputs,
        targets,
        weights=weights,
        where=where,
        reduction=reduction,
    )


def squared_hinge(
    predictor_outputs: ArrayLike,
    targets: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Squared hinge loss ``max(0, 1 - y s)²``, targets ±1.

    Keras's ``SquaredHinge`` per element: Keras also averages the last axis and
    silently converts targets that are all 0 or 1 to ±1; here targets are used as
    given (write ``2 * labels - 1``) and ``reduction="mean"`` averages every
    element. The L2-SVM loss: differentiable, with a gradient that grows with the
    violation.

    .. math::

        \ell = \max(0,\, 1 - y s)^2, \qquad
        \frac{\partial \ell}{\partial s} = -2y \max(0,\, 1 - y s), \qquad
        \frac{\partial \ell}{\partial y} = -2s \max(0,\, 1 - y s).

    Continuously differentiable: no kink (the gradient is 0 at ``y s = 1``). At an
    infinite score the gradient with respect to ``targets`` is taken as 0.

    Args:
      predictor_outputs: scores (decision-function values), any float dtype and shape.
      targets: targets of the same shape, -1 or +1 (integer dtypes are accepted;
        other real values are used as given, as a signed weight).
      weights: optional weights broadcastable to ``predictor_outputs.shape``.
      where: optional boolean mask broadcastable to ``predictor_outputs.shape``.
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
      The per-element losses (``"none"``) or a scalar, in the dtype of
      ``predictor_outputs``.

    Raises:
      TypeError: integer or boolean ``predictor_outputs``, boolean ``targets``
        (convert {0, 1} labels with ``2 * labels - 1``).
      ValueError: mismatched shapes or an unknown ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.squared_hinge(jnp.array([2.0, 0.5, -1.0]), jnp.array([1.0, 1.0, 1.0]))
      Array([0.  , 0.25, 4.  ], dtype=float32)
    """
    return _margin_call(
        "squared_hinge",
        _squared_hinge,
        predictor_outputs,
        targets,
        weights=weights,
        where=where,
        reduction=reduction,
    )


def perceptron(
    predictor_outputs: ArrayLike,
    targets: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Perceptron loss ``max(0, -y s)``, targets ±1.

    optax's ``perceptron_loss`` (same arguments). Zero on every correctly signed
    score, whatever its margin: the loss whose subgradient steps are Rosenblatt's
    perceptron updates.

    .. math::

        \ell = \max(0,\, -y s), \qquad
        \frac{\partial \ell}{\partial s} = -y\,[y s < 0], \qquad
        \frac{\partial \ell}{\partial y} = -s\,[y s < 0].

    At the kink ``y s = 0`` the rule takes the subgradient 0 (autodiff of optax's
    ``jnp.maximum`` gives half of ``-y`` there). At an infinite score the gradient
    with respect to ``targets`` is taken as 0.

    Args:
      predictor_outputs: scores (decision-function values), any float dtype and shape.
      targets: targets of the same shape, -1 or +1 (integer dtypes are accepted;
        other real values are used as given, as a signed weight).
      weights: optional weights broadcastable to ``predictor_outputs.shape``.
      where: optional boolean mask broadcastable to ``predictor_outputs.shape``.
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
      The per-element losses (``"none"``) or a scalar, in the dtype of
      ``predictor_outputs``.

    Raises:
      TypeError: integer or boolean ``predictor_outputs``, boolean ``targets``
        (convert {0, 1} labels with ``2 * labels - 1``).
      ValueError: mismatched shapes or an unknown ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.perceptron(jnp.array([2.0, 0.5, -1.0]), jnp.array([1.0, -1.0, 1.0]))
      Array([0. , 0.5, 1. ], dtype=float32)

    References:
      Rosenblatt, "The Perceptron", Psychological Review 1958.
    """
    return _margin_call(
        "perceptron",
        _perceptron,
        predictor_outputs,
        targets,
        weights=weights,
        where=where,
        reduction=reduction,
    )


# --- soft_margin


@jax.custom_vjp
def _soft_margin(x, y):
    return _soft_margin_fwd(x, y)[0]


def _soft_margin_fwd(x, y):
    z = -(y * x)
    return jnp.log1p(jnp.exp(-jnp.abs(z))) + jnp.maximum(z, 0), (x, y)


def _soft_margin_bwd(res, g):
    sat = _saturation(res[0].dtype)
    (x, y), (one, _, big, sat) = unshared(res, *_bwd_constants(res[0], sat))
    # g σ(z), z = -y x, as max(e, sign z)/(1 + e) with e = exp(-|z|): accurate in
    # relative terms at both ends, and no exp overflows, whose inf would make the
    # derivative that jax.hessian takes inf/inf. x is clipped to the finite range (the
    # same σ, 0 or 1, at ±inf), where y * inf would give 0 * inf = NaN in that derivative.
    # z is clipped where exp(-|z|) is 0 (σ exactly 0 or 1): the tangent of y · x there
    # (y's tangent times the clipped x) may overflow to inf, which e's derivative
    # e · inf would turn into NaN; lax.clamp's derivative (a select, unlike jnp.clip's
    # maximum and minimum, which multiply by 0) drops it.
    z = jax.lax.clamp(-sat, -(y * jnp.clip(x, -big, big)), sat)
    e = jnp.exp(-jnp.abs(z))
    sig = g * (jnp.maximum(e, jnp.sign(z)) / (one + e))
    sign, mag = _finite_magnitude(x, big, one)
    return -y * sig, -(sign * mag) * sig


_soft_margin.defvjp(_soft_margin_fwd, _soft_margin_bwd)


def _saturation(dtype):
    """A ``|z|`` beyond which ``exp(-|z|)`` is 0 in ``dtype`` (below its smallest subnormal)."""
    return float(-np.log(float(jnp.finfo(dtype).smallest_subnormal))) + 1.0


def _soft_margin_call(core, predictions, targets, *, weights, where, reduction):
    """Argument handling shared by the loss and its reference."""
    fn = "soft_margin"
    x, y = _pair(fn, "predictions", "targets", predictions, targets, signed=True)
    return _elementwise(fn, core, (x, y), weights=weights, where=where, reduction=reduction)


def soft_margin(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Soft margin (logistic) loss ``log(1 + exp(-y x))``, targets ±1.

    PyTorch's ``soft_margin_loss``: the two-class logistic loss written for ±1
    targets, a smooth hinge. For ``y`` in {-1, +1} it equals
    ``sigmoid_binary_cross_entropy(x, (1 + y) / 2)``. Computed as
    ``softplus(-y x)`` in the stable form, exact for any ``|x|`` (PyTorch's
    ``log(1 + exp(-y x))`` overflows to ``inf`` beyond ``-y x ≈ 89`` in float32).

    .. math::

        \ell = \log(1 + e^{-y x}), \qquad
        \frac{\partial \ell}{\partial x} = -y\,\sigma(-y x), \qquad
        \frac{\partial \ell}{\partial y} = -x\,\sigma(-y x).

    Smooth, no kink. An infinite prediction of the right sign costs 0 with
    gradient 0, of the wrong sign ``+inf`` with the finite gradient ``-y``; at an
    infinite prediction the gradient with respect to ``targets`` is taken as 0.

    Args:
      predictions: scores, any float dtype and shape.
      targets: targets of the same shape, -1 or +1 (integer dtypes are accepted).
      weights: optional weights broadcastable to ``predictions.shape``.
      where: optional boolean mask broadcastable to ``predictions.shape``.
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
      The per-element losses (``"none"``) or a scalar, in the dtype of ``predictions``.

    Raises:
      TypeError: integer or boolean ``predictions``, boolean ``targets``.
      ValueError: mismatched shapes or an unknown ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.soft_margin(jnp.array([2.0, 0.0, 200.0]), jnp.array([1.0, -1.0, -1.0]))
      Array([1.269280e-01, 6.931472e-01, 2.000000e+02], dtype=float32)
    """
    return _soft_margin_call(
        _soft_margin, predictions, targets, weights=weights, where=where, reduction=reduction
    )


# --- multilabel_soft_margin


@functools.partial(jax.custom_vjp, nondiff_argnums=(3,))
def _multilabel_soft_margin(x, y, w, axis):
    return _multilabel_soft_margin_fwd(x, y, w, axis)[0]


def _multilabel_soft_margin_fwd(x, y, w, axis):
    log_part = jnp.log1p(jnp.exp(-jnp.abs(x)))
    if w is None:
        per_class = log_part + _linear_terms(x, y)
    else:
        per_class = w * log_part + _linear_terms(x, w * y, w * (1 - y))
    return jnp.sum(per_class, axis=axis) / x.shape[axis], (x, y, w)


def _multilabel_soft_margin_bwd(axis, res, g):
    consts = _bwd_constants(res[0], 1 / res[0].shape[axis])
    (x, y, w), (one, zero, big, inv_c) = unshared(res, *consts)
    s, mag = _finite_magnitude(x, big, one)
    e, sp, sn, u = _sigmoids(x, s, one)
    g = jnp.expand_dims(g, axis) * inv_c
    gw = g if w is None else g * w
    b = one - y
    gx = gw * (u * (b * sp - y * sn))
    gy = -gw * (s * mag)
    if w is None:
        return gx, gy, None
    softplus_neg, softplus_pos = _softplus_pair(jnp.log1p(e), s, mag, zero)
    return gx, gy, _sum_to(g * (y * softplus_neg + b * softplus_pos), w.shape)


_multilabel_soft_margin.defvjp(_multilabel_soft_margin_fwd, _multilabel_soft_margin_bwd)


def _multilabel_soft_margin_call(
    core, logits, labels, *, class_weights, axis, weights, where, reduction
):
    """Argument handling shared by the loss and its reference."""
    fn = "multilabel_soft_margin"
    x, y = _pair(fn, "logits", "labels", logits, labels, signed=False)
    if x.ndim == 0:
        raise ValueError(f"{fn}: logits must have a class axis, got a scalar")
    ax = _checks.class_axis(fn, "logits", x, axis)
    if class_weights is None:
        return _reduce.apply(
            fn,
            lambda x, y, a: core(x, y, None, a),
            (x, y),
            (ax,),
            axes=(ax,),
            weights=weights,
            where=where,
            reduction=reduction,
        )
    w = _checks.data_array(fn, "class_weights", class_weights)
    n = x.shape[ax]
    if w.shape not in ((n,), ()):
        raise ValueError(
            f"{fn}: class_weights must have shape ({n},), one weight per class along "
            f"axis {axis} of logits {x.shape}, got {w.shape}"
        )
    others = tuple(i for i in range(x.ndim) if i != ax or w.ndim == 0)
    w = _class_shaped(fn, "class_weights", w, x, others)
    return _reduce.apply(
        fn,
        lambda x, y, a: core(x, y, w.astype(x.dtype), a),
        (x, y),
        (ax,),
        axes=(ax,),
        weights=weights,
        where=where,
        reduction=reduction,
    )


def multilabel_soft_margin(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    class_weights: ArrayLike | None = None,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Multi-label soft margin loss: the class-averaged sigmoid cross-entropy per example.

    PyTorch's ``multilabel_soft_margin_loss``: for each example, the mean over the
    ``C`` classes of ``axis`` of the (class-weighted) sigmoid cross-entropy of
    independent labels in [0, 1]. With ``reduction="mean"`` the per-example
    losses are averaged over examples, as PyTorch does (its class weights scale
    each class's term and the class mean still divides by ``C``).

    .. math::

        \ell = \frac1C \sum_c w_c \bigl(y_c \operatorname{softplus}(-x_c)
               + (1 - y_c) \operatorname{softplus}(x_c)\bigr)

    .. math::

        \frac{\partial \ell}{\partial x_c} = \frac{w_c}{C}(\sigma(x_c) - y_c), \qquad
        \frac{\partial \ell}{\partial y_c} = -\frac{w_c x_c}{C}, \qquad
        \frac{\partial \ell}{\partial w_c} = \frac{1}{C}\bigl(y_c
            \operatorname{softplus}(-x_c) + (1 - y_c)\operatorname{softplus}(x_c)\bigr).

    Computed like :func:`sigmoid_binary_cross_entropy` (one ``exp`` per element
    and pass; ``-inf`` logits with label 0 cost exactly 0; at infinite logits the
    gradients with respect to ``labels`` and ``class_weights`` are taken as 0).

    Args:
      logits: logits with a class axis, any float dtype, e.g. ``[batch, classes]``.
      labels: labels in [0, 1] of the same shape (integer and boolean dtypes are
        accepted).
      class_weights: optional weights of shape ``(C,)``, one per class of ``axis``
        (or a scalar). Differentiable.
      axis: the class axis.
      weights: optional per-example weights broadcastable to the logits' shape
        without ``axis``.
      where: optional boolean mask of examples, same broadcasting.
      reduction: ``"none"`` (one loss per example), ``"mean"`` or ``"sum"``.

    Returns:
      The per-example losses (``"none"``) or a scalar, in the dtype of ``logits``.

    Raises:
      TypeError: integer or boolean ``logits``, a non-integer ``axis``.
      ValueError: mismatched shapes, scalar logits, an ``axis`` out of range,
        ``class_weights`` of the wrong shape or an unknown ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[2.0, -1.0, 0.0], [-jnp.inf, 3.0, 1.0]])
      >>> y = jnp.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
      >>> jaxloss.multilabel_soft_margin(x, y)
      Array([0.37777898, 0.12061635], dtype=float32)
    """
    return _multilabel_soft_margin_call(
        _multilabel_soft_margin,
        logits,
        labels,
        class_weights=class_weights,
        axis=axis,
        weights=weights,
        where=where,
        reduction=reduction,
    )
