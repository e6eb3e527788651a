"""Reweighted softmax cross-entropy: softmax focal, poly-1, generalized CE.

Each loss reweights the per-class log-probabilities of a softmax by a function of
the predicted probabilities: focal by ``α (1 - p)^γ``, poly-1 adds ``ε (1 - p_t)``,
generalized cross-entropy replaces ``-log p_y`` by the Box-Cox transform
``(1 - p_y^q) / q``.

Every rule writes its own stable log-softmax along ``axis`` (any axis: ``[N, C,
H, W]`` with ``axis=1`` works) and saves only its inputs and the per-example
log-sum-exp ``lse`` (keeping the class axis, size 1, so that it broadcasts;
generalized CE also saves ``p_y^q`` per example). The forward is two fused passes
over the logits (max and sum of exp; the loss), the backward one or two more (the
row sum the focal and poly gradients need; the gradient), each computing
``exp`` once per element and none writing an [N, C] intermediate: on XLA:CPU a
select, or an intermediate shared by two reductions, would be written to a fresh
buffer, which costs more than recomputing an ``exp`` (hence ``max`` floors rather
than ``where`` in the forwards). ``g`` is the cotangent of the per-example losses.

``-inf`` logits are masks: a class with ``p_c = 0`` and a zero target
contributes exactly 0 to the value and gets a zero gradient. A row whose logits
are all ``-inf``, or that holds ``+inf`` or NaN, gives NaN.
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

__all__ = ["generalized_cross_entropy", "poly_cross_entropy", "softmax_focal"]


# --- shared pieces


def _logsumexp(x, axis):
    """``log Σ exp(x)`` along ``axis``, keeping the axis (size 1)."""
    # The max only stabilises: stopping its gradient keeps jvp (jax.hessian) cheap.
    m = jax.lax.stop_gradient(jnp.max(x, axis, keepdims=True))
    return m + jnp.log(jnp.sum(jnp.exp(x - m), axis, keepdims=True))


def _floor_log(logp):
    """``log p`` floored at the dtype's lowest finite value, so that ``0 · log 0 = 0``.

    A ``max``, not a select: XLA:CPU fuses it into the reduction, where a select would
    make it write the [N, C] intermediate to a fresh buffer first. A positive weight on
    a ``-inf`` logit then gives an enormous finite term instead of ``inf``.
    """
    return jnp.maximum(logp, jnp.finfo(logp.dtype).min)


def _finite_log(logp):
    """``log p`` with ``-inf`` (a masked class) read as 0, for derivatives with respect
    to the weight of a class the model gives probability 0."""
    return jnp.where(logp == -jnp.inf, 0, logp)


def _power(q, gamma, exponent=None):
    """``q^γ`` for ``q`` in [0, 1]: multiplications for small integer γ, a square root
    for ½, ``exp(γ log q)`` otherwise (XLA's general pow is slower); ``0^γ = 0`` for γ > 0.

    ``exponent`` is γ as an array from :func:`unshared` in a backward rule (a Python
    float there would be merged with the forward's and broadcast to a fresh buffer).
    """
    if gamma.is_integer() and gamma <= 8:
        return jax.lax.integer_pow(q, int(gamma))
    if exponent is None:
        return jnp.sqrt(q) if gamma == 0.5 else jnp.exp(gamma * jnp.log(q))
    # In a backward rule, which jax.hessian differentiates: at q = 0 (a confident class)
    # the derivative q'/(2 sqrt q) or q'/q would be 0/0 even where q' = 0, so q is
    # floored at 16x the smallest normal number (a power below 1e-18 in float32).
    q = jnp.maximum(q, 16 * jnp.finfo(q.dtype).tiny)
    return jnp.sqrt(q) if gamma == 0.5 else jnp.exp(exponent * jnp.log(q))


def _sum_to(x, shape):
    """Sums ``x`` down to ``shape`` (same rank, or rank 0): the transpose of a broadcast."""
    if x.shape == tuple(shape):
        return x
    if len(shape) == 0:
        return jnp.sum(x)
    axes = tuple(i for i, (s, t) in enumerate(zip(shape, x.shape, strict=True)) if s != t)
    return jnp.sum(x, axes, keepdims=True)


def _loss_shape(shape, axis):
    return tuple(d for i, d in enumerate(shape) if i != axis)


def _soft_inputs(fn, logits, labels, axis):
    """Checks a (logits, probability labels) pair; returns them and the class axis."""
    x = _checks.float_array(fn, "logits", logits)
    y = jnp.asarray(labels)
    if not jnp.issubdtype(y.dtype, jnp.floating):
        raise TypeError(
            f"{fn}: labels must be probabilities with a floating dtype, got {y.dtype}; "
            f"for class indices pass jax.nn.one_hot(labels, logits.shape[axis])"
        )
    _checks.same_shape(fn, "logits", x, "labels", y)
    return x, y, _checks.class_axis(fn, "logits", x, axis)


# --- softmax_focal


@functools.partial(jax.custom_vjp, nondiff_argnums=(3, 4))
def _softmax_focal(x, y, a, axis, gamma):
    return _softmax_focal_fwd(x, y, a, axis, gamma)[0]


def _focal_slope(t, p, logp, q, gamma, floor, lowest, gam):
    """``v_c = p_c ∂ℓ/∂p_c = t_c (γ p_c log p_c / (1 - p_c) - 1)`` with ``t = α y (1-p)^γ``.

    ``γ p log p / (1 - p) → -γ`` as ``p → 1``, where ``t = (1-p)^γ → 0``: the quotient's
    denominator is floored at ``floor``, the square root of the smallest normal number
    (times 4), so that the derivative jax.hessian takes, which divides by its square,
    does not overflow; below it (``1 - p < 1e-19`` in float32) the ratio tends to 0
    instead of -1, on a ``t`` below ``floor^γ``. ``log p = -inf`` is floored at the
    lowest float (``p = 0`` zeroes it).
    """
    if gamma == 0.0:
        return -t
    r = p * jnp.maximum(logp, lowest) / jnp.maximum(q, floor)
    return t * (gam * r - 1)


def _softmax_focal_fwd(x, y, a, axis, gamma):
    lse = _logsumexp(x, axis)
    logp = x - lse
    p = jnp.exp(logp)
    t = a * y if gamma == 0.0 else a * y * _power(1 - p, gamma)
    return jnp.sum(-t * _floor_log(logp), axis), (x, y, a, lse)


def _softmax_focal_bwd(axis, gamma, res, g):
    fi = jnp.finfo(res[0].dtype)
    floor = 4 * float(np.sqrt(fi.tiny))
    (x, y, a, lse), (one, floor, lowest, gam) = unshared(res, 1, floor, fi.min, gamma)
    g = jnp.expand_dims(g, axis)
    logp = x - lse
    p = jnp.exp(logp)
    q = one - p
    qg = one if gamma == 0.0 else _power(q, gamma, gam)
    t = a * y if gamma == 0.0 else a * y * qg
    v = _focal_slope(t, p, logp, q, gamma, floor, lowest, gam)
    # The row sum is taken here, not saved by the forward: there it would share its
    # [N, C] intermediates with the loss's reduction, and XLA:CPU would write them
    # to fresh buffers (measured 3x slower); here it fuses with the gradient.
    gx = g * (v - p * jnp.sum(v, axis, keepdims=True))
    # ∂ℓ/∂y_c = -α_c (1-p_c)^γ log p_c, taken as 0 where p_c = 0 (log p_c = -inf),
    # recomputed from a separate barrier so as not to share intermediates with gx.
    (x, lse, a), (one, gam) = unshared((x, lse, a), 1, gamma)
    logp = x - lse
    qg = one if gamma == 0.0 else _power(one - jnp.exp(logp), gamma, gam)
    dw = -g * qg * _finite_log(logp)
    return gx, a * dw, _sum_to(y * dw, a.shape)


_softmax_focal.defvjp(_softmax_focal_fwd, _softmax_focal_bwd)


def _alpha(fn, alpha, x, axis):
    """``alpha`` as an array of rank 0 or of ``x``'s rank, laid along the class axis."""
    if isinstance(alpha, int | float | np.integer | np.floating) and not isinstance(alpha, bool):
        return jnp.asarray(_checks.static_float(fn, "alpha", alpha, low=0.0))
    a = _checks.float_array(fn, "alpha", alpha)
    if a.ndim == 0:
        return a
    n = x.shape[axis]
    if a.ndim == 1:
        if a.shape[0] not in (1, n):
            raise ValueError(
                f"{fn}: alpha must be a scalar or hold one weight per class, i.e. have "
                f"shape ({n},) along axis {axis} of logits {x.shape}, got {a.shape}"
            )
        return jnp.reshape(a, tuple(a.shape[0] if i == axis else 1 for i in range(x.ndim)))
    if a.ndim != x.ndim:
        raise ValueError(
            f"{fn}: alpha must be a scalar, a 1-D array of {n} per-class weights, or an "
            f"array of the logits' rank broadcastable to {x.shape}, got {a.shape}"
        )
    _checks.broadcastable(fn, "alpha", a, x.shape, "the logits' shape")
    return a


def _softmax_focal_call(core, logits, labels, *, alpha, gamma, axis, weights, where, reduction):
    """Argument handling shared by the loss and its reference."""
    fn = "softmax_focal"
    x, y, axis = _soft_inputs(fn, logits, labels, axis)
    gamma = _checks.static_float(fn, "gamma", gamma, low=0.0)
    a = _alpha(fn, alpha, x, axis)
    reduction = _checks.reduction(fn, reduction)
    dtype = compute_dtype(x, y)
    mask = mask_of(fn, where, _loss_shape(x.shape, axis))
    xs = exclude(x.astype(dtype), mask, 0.0, (axis,))
    ys = exclude(y.astype(dtype), mask, 0.0, (axis,))
    losses = core(xs, ys, a.astype(dtype), axis, gamma)
    return reduce(fn, losses, weights=weights, mask=mask, reduction=reduction).astype(x.dtype)


def softmax_focal(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    alpha: ArrayLike = 0.25,
    gamma: float = 2.0,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Multiclass (softmax) focal loss with probability labels.

    Keras's ``CategoricalFocalCrossentropy(from_logits=True)`` (before its batch
    mean, without its probability clipping); the softmax counterpart of
    ``sigmoid_focal`` (optax ``sigmoid_focal_loss``, torchvision
    ``sigmoid_focal_loss``). The modulating factor ``(1 - p_c)^γ`` down-weights
    classes the model already predicts confidently, so training focuses on hard
    examples; ``gamma = 0`` and ``alpha = 1`` is ``softmax_cross_entropy``.

    .. math::

        \ell = -\sum_c \alpha_c\, y_c\, (1 - p_c)^\gamma \log p_c, \qquad
        p = \operatorname{softmax}(x),

    .. math::

        \frac{\partial \ell}{\partial x_j} = v_j - p_j \sum_c v_c, \quad
        v_c = \alpha_c y_c (1 - p_c)^\gamma
              \Big(\frac{\gamma\, p_c \log p_c}{1 - p_c} - 1\Big), \qquad
        \frac{\partial \ell}{\partial y_c} = -\alpha_c (1 - p_c)^\gamma \log p_c.

    Boundaries: at ``p_c = 1`` the factor ``γ p log p / (1 - p)`` is taken at its
    limit ``-γ``, so the gradient is the exact, finite limit (0 for that class's
    term when ``γ > 0``), also for ``γ < 1`` where the derivative of ``(1 - p)^γ``
    alone is infinite; the *second* derivative is infinite there for ``0 < γ < 1``
    (``jax.hessian`` gives inf/NaN at exactly ``p = 1``). A ``-inf`` logit masks its
    class: with a zero label it adds 0 to the value and gets gradient 0, and the
    label gradient ``-α (1-p)^γ log p`` (``+inf`` in exact arithmetic) is taken as 0
    there. A positive label on a ``-inf`` logit is an error of the caller's: its
    ``log p`` is floored at the lowest finite float, so the loss is enormous
    (``≈ α y · 3.4e38`` in float32) but finite, with finite gradients (a select
    giving ``+inf`` would double the forward's cost on CPU). Labels need not sum to 1
    (the formula is applied as written).

    Args:
      logits: array of any float dtype, classes along ``axis``.
      labels: probabilities of the same shape as ``logits`` (one-hot or soft).
      alpha: class balancing weight: a number ``>= 0`` (Keras's default 0.25 as in
        Lin et al.), or an array of per-class weights of shape ``(C,)`` laid along
        ``axis`` (or of the logits' rank, broadcastable to their shape);
        differentiable when given as an array.
      gamma: focusing parameter ``γ >= 0``; integers up to 8 and ½ are computed
        without ``pow``.
      axis: the class axis (any axis; ``1`` for ``[N, C, H, W]`` inputs).
      weights: optional weights broadcastable to the per-example loss shape
        (``logits.shape`` without ``axis``).
      where: optional boolean mask broadcastable to that shape; ``False`` entries add
        nothing to the value or any gradient.
      reduction: ``"none"`` (per example), ``"mean"`` or ``"sum"``.

    Returns:
      The per-example losses (``"none"``) or a scalar, in the dtype of ``logits``.

    Raises:
      TypeError: non-floating ``logits``, ``labels`` or ``alpha``; a traced ``gamma``.
      ValueError: mismatched shapes, ``gamma < 0``, ``alpha < 0`` (a number) or of a
        wrong shape, ``axis`` out of range, or an unknown ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> logits = jnp.array([[2.0, 0.0, -1.0], [0.0, 0.0, -jnp.inf]])
      >>> labels = jnp.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
      >>> jaxloss.softmax_focal(logits, labels, alpha=1.0, gamma=2.0)
      Array([0.00414426, 0.1732868 ], dtype=float32)

    References:
      Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017.
    """
    return _softmax_focal_call(
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


# --- poly_cross_entropy


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _poly_cross_entropy(x, y, axis, epsilon):
    return _poly_cross_entropy_fwd(x, y, axis, epsilon)[0]


def _poly_cross_entropy_fwd(x, y, axis, epsilon):
    lse = _logsumexp(x, axis)
    logp = x - lse
    p = jnp.exp(logp)
    # CE + ε Σ y (1 - p), optax's form (equal to ε (1 - p_t) for labels summing to 1).
    return jnp.sum(epsilon * (y - y * p) - y * _floor_log(logp), axis), (x, y, lse)


def _poly_cross_entropy_bwd(axis, epsilon, res, g):
    (x, y, lse), (one, eps) = unshared(res, 1, epsilon)
    g = jnp.expand_dims(g, axis)
    logp = x - lse
    p = jnp.exp(logp)
    # The row term Σ y + ε p_t is summed here rather than saved (see softmax_focal).
    c = jnp.sum(y + eps * (y * p), axis, keepdims=True)
    gx = g * (p * c - y * (one + eps * p))
    # From a separate barrier, so as not to share [N, C] intermediates with gx.
    (x, lse), (one, eps) = unshared((x, lse), 1, epsilon)
    logp = x - lse
    gy = g * (eps * (one - jnp.exp(logp)) - _finite_log(logp))
    return gx, gy


_poly_cross_entropy.defvjp(_poly_cross_entropy_fwd, _poly_cross_entropy_bwd)


def _poly_cross_entropy_call(core, logits, labels, *, epsilon, axis, weights, where, reduction):
    """Argument handling shared by the loss and its reference."""
    fn = "poly_cross_entropy"
    x, y, axis = _soft_inputs(fn, logits, labels, axis)
    epsilon = _checks.static_float(fn, "epsilon", epsilon)
    reduction = _checks.reduction(fn, reduction)
    dtype = compute_dtype(x, y)
    mask = mask_of(fn, where, _loss_shape(x.shape, axis))
    xs = exclude(x.astype(dtype), mask, 0.0, (axis,))
    ys = exclude(y.astype(dtype), mask, 0.0, (axis,))
    losses = core(xs, ys, axis, epsilon)
    return reduce(fn, losses, weights=weights, mask=mask, reduction=reduction).astype(x.dtype)


def poly_cross_entropy(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    epsilon: float = 2.0,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Poly-1 cross-entropy: softmax cross-entropy plus ``epsilon (1 - p_t)``.

    optax's ``poly_loss_cross_entropy`` (same arguments and value). Leng et al. expand
    cross-entropy in the polynomial basis ``(1 - p_t)^j`` and perturb the first
    coefficient by ``ε``: ``ε > 0`` (2 for ImageNet) strengthens the gradient on the
    target class when it is already likely, ``ε = -1`` (detection) weakens it;
    ``ε = 0`` is ``softmax_cross_entropy``.

    .. math::

        \ell = -\sum_c y_c \log p_c + \epsilon \sum_c y_c (1 - p_c),
        \qquad p = \operatorname{softmax}(x),

    .. math::

        \frac{\partial \ell}{\partial x_j}
          = p_j \Big(\sum_c y_c + \epsilon\, p_t\Big) - y_j (1 + \epsilon\, p_j),
        \quad p_t = \sum_c y_c p_c, \qquad
        \frac{\partial \ell}{\partial y_c} = \epsilon (1 - p_c) - \log p_c.

    For labels summing to 1 the penalty is ``ε (1 - p_t)``; other labels get optax's
    ``ε Σ y_c (1 - p_c)``. The loss is smooth; ``ε < -1`` can make it negative. A
    ``-inf`` logit with a zero label adds 0 and gets gradient 0; its label gradient
    (``+inf`` in exact arithmetic) is taken as ``ε``, dropping the ``-log p`` term.
    A positive label on a ``-inf`` logit has ``log p`` floored at the lowest finite
    float: an enormous finite loss, as in :func:`softmax_focal`.

    Args:
      logits: array of any float dtype, classes along ``axis``.
      labels: probabilities of the same shape as ``logits`` (one-hot or soft).
      epsilon: the coefficient ``ε`` of the first polynomial term (any finite number).
      axis: the class axis (any axis).
      weights: optional weights broadcastable to ``logits.shape`` without ``axis``.
      where: optional boolean mask broadcastable to that shape.
      reduction: ``"none"`` (per example), ``"mean"`` or ``"sum"``.

    Returns:
      The per-example losses (``"none"``) or a scalar, in the dtype of ``logits``.

    Raises:
      TypeError: non-floating ``logits`` or ``labels``.
      ValueError: mismatched shapes, a non-finite ``epsilon``, ``axis`` out of range,
        or an unknown ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> logits = jnp.array([[2.0, 0.0, -1.0], [0.0, 0.0, -jnp.inf]])
      >>> labels = jnp.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
      >>> jaxloss.poly_cross_entropy(logits, labels, epsilon=2.0)
      Array([0.48225665, 1.6931472 ], dtype=float32)

    References:
      Leng et al., "PolyLoss: A Polynomial Expansion Perspective of Classification
      Loss Functions", ICLR 2022.
    """
    return _poly_cross_entropy_call(
        _poly_cross_entropy,
        logits,
        labels,
        epsilon=epsilon,
        axis=axis,
        weights=weights,
        where=where,
        reduction=reduction,
    )


# --- generalized_cross_entropy


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _generalized_cross_entropy(x, labels, axis, q):
    return _generalized_cross_entropy_fwd(x, labels, axis, q)[0]


def _target_log_prob(x, labels, lse, axis):
    """``log p_y`` (keeping the class axis); NaN for labels outside ``[0, C)``."""
    n = x.shape[axis]
    lab = jnp.expand_dims(labels, axis)
    xy = jnp.take_along_axis(x, jnp.clip(lab, 0, n - 1), axis)
    return jnp.where((lab >= 0) & (lab < n), xy - lse, jnp.nan)


def _generalized_cross_entropy_fwd(x, labels, axis, q):
    lse = _logsumexp(x, axis)
    z = q * _target_log_prob(x, labels, lse, axis)
    pq = jnp.exp(z)  # p_y^q
    # (1 - p_y^q) / q without cancellation for small q: -expm1(q log p_y) / q.
    loss = jnp.squeeze(-jnp.expm1(z) / q, axis)
    return loss, (x, labels, lse, pq)


def _generalized_cross_entropy_bwd(axis, q, res, g):
    (x, lse, pq), () = unshared((res[0], res[2], res[3]))
    labels = res[1]
    # ∂ℓ/∂x_j = p_y^q (p_j - [j = y]).
    gp = jnp.expand_dims(g, axis) * pq
    classes = jax.lax.broadcasted_iota(labels.dtype, x.shape, axis)
    onehot = classes == jnp.expand_dims(labels, axis)
    gx = gp * jnp.exp(x - lse) - jnp.where(onehot, gp, 0)
    return gx, None


_generalized_cross_entropy.defvjp(_generalized_cross_entropy_fwd, _generalized_cross_entropy_bwd)


def _signed_labels(lab):
    """Labels as int32 (int64 kept): narrow and unsigned types would overflow the class
    iota; unsigned values beyond int32 are clamped (they are out of range anyway)."""
    if lab.dtype == jnp.int64:
        return lab
    if jnp.issubdtype(lab.dtype, jnp.unsignedinteger) and lab.dtype.itemsize >= 4:
        lab = jnp.minimum(lab, jnp.asarray(np.iinfo(np.int32).max, lab.dtype))
    return lab.astype(jnp.int32)


def _generalized_cross_entropy_call(
    core, logits, labels, *, q, axis, ignore_index, weights, where, reduction
):
    """Argument handling shared by the loss and its reference."""
    fn = "generalized_cross_entropy"
    x = _checks.float_array(fn, "logits", logits)
    axis, lab = _checks.class_labels(fn, x, labels, axis)
    shape = lab.shape
    q = _checks.static_float(fn, "q", q, low=0.0, high=1.0, low_open=True)
    reduction = _checks.reduction(fn, reduction)
    lab = _signed_labels(lab)
    mask = mask_of(fn, where, shape)
    if ignore_index is not None:
        ignore = _checks.static_int(fn, "ignore_index", ignore_index)
        info = jnp.iinfo(lab.dtype)
        if info.min <= ignore <= info.max:  # otherwise no label can equal it
            keep = lab != ignore
            mask = keep if mask is None else mask & keep
    xs = exclude(x.astype(compute_dtype(x)), mask, 0.0, (axis,))
    labs = exclude(lab, mask, 0)
    losses = core(xs, labs, axis, q)
    return reduce(fn, losses, weights=weights, mask=mask, reduction=reduction).astype(x.dtype)


def generalized_cross_entropy(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    q: float = 0.7,
    axis: int = -1,
    ignore_index: int | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Generalized cross-entropy (the ``L_q`` loss) with integer labels.

    Zhang & Sabuncu's noise-robust loss: the negative Box-Cox transform of the
    target probability. It interpolates between cross-entropy (``q → 0``, which
    weighs every example equally in the gradient) and, at ``q = 1``, the mean
    absolute error of the probabilities ``1 - p_y = ½ ‖onehot(y) - p‖₁`` (robust
    to label noise but slow to train): the gradient of cross-entropy multiplied
    by ``p_y^q``, so examples the model finds implausible (possibly mislabelled)
    pull less. No PyTorch, optax or Keras builtin; the paper's default ``q = 0.7``.

    .. math::

        \ell = \frac{1 - p_y^{\,q}}{q}, \qquad p = \operatorname{softmax}(x),
        \qquad \frac{\partial \ell}{\partial x_j} = p_y^{\,q}\,(p_j - [j = y]).

    Computed as ``-expm1(q log p_y) / q``, accurate for small ``q``. The loss is
    smooth; a ``-inf`` target logit gives ``1/q`` with gradient 0 (the exact limit),
    other ``-inf`` logits get gradient 0. Labels outside ``[0, C)`` (with
    ``C = logits.shape[axis]``, negative ones included) give a NaN loss and NaN
    gradients for that example, unless it is excluded by ``where`` or equals
    ``ignore_index``; :func:`jax.experimental.checkify` can locate them.

    Args:
      logits: array of any float dtype, classes along ``axis``.
      labels: integer class indices of shape ``logits.shape`` without ``axis``.
      q: the exponent ``q`` in ``(0, 1]``; for ``q → 0`` use
        ``softmax_cross_entropy_with_integer_labels``.
      axis: the class axis (any axis; ``1`` for ``[N, C, H, W]`` logits and
        ``[N, H, W]`` labels).
      ignore_index: a label value (e.g. ``-100``) whose examples are excluded
        exactly like ``where=False``: they add 0 and leave the mean's count.
      weights: optional weights broadcastable to the labels' shape.
      where: optional boolean mask broadcastable to the labels' shape.
      reduction: ``"none"`` (per example), ``"mean"`` or ``"sum"``.

    Returns:
      The per-example losses (``"none"``) or a scalar, in the dtype of ``logits``.

    Raises:
      TypeError: non-floating ``logits``, non-integer ``labels`` or ``ignore_index``.
      ValueError: labels of the wrong shape, ``q`` outside ``(0, 1]``, ``axis`` out of
        range, or an unknown ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> logits = jnp.array([[2.0, 0.0, -1.0], [0.0, 0.0, -jnp.inf]])
      >>> jaxloss.generalized_cross_entropy(logits, jnp.array([0, 1]), q=1.0)
      Array([0.15620528, 0.5       ], dtype=float32)

    References:
      Zhang & Sabuncu, "Generalized Cross Entropy Loss for Training Deep Neural
      Networks with Noisy Labels", NeurIPS 2018.
    """
    return _generalized_cross_entropy_call(
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
