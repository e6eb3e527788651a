"""Robust regression losses: quadratic near zero error, gentler beyond (Huber,
smooth L1, log-cosh, Charbonnier, Barron's general robust loss).

Same structure as :mod:`jaxloss._regression`: a public wrapper, a private
``custom_vjp`` function whose rule saves only the inputs, and the shared
reduction. ``d = predictions - targets``; ``g`` is the cotangent of the
unreduced loss.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from . import _checks
from ._fusion import unshared
from ._reduce import apply_pair as _elementwise

# --- huber


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _huber(p, t, delta):
    return _huber_fwd(p, t, delta)[0]


def _huber_fwd(p, t, delta):
    a = jnp.abs(p - t)
    quad = jnp.minimum(a, delta)
    # q(|d| − ½q) with q = min(|d|, δ): ½d² inside the threshold, δ(|d| − ½δ) outside.
    return quad * (a - 0.5 * quad), (p, t)


def _huber_bwd(delta, res, g):
    (p, t), (lo, hi) = unshared(res, -delta, delta)
    gp = g * jnp.clip(p - t, lo, hi)
    return gp, -gp


_huber.defvjp(_huber_fwd, _huber_bwd)


def _huber_call(core, predictions, targets, *, delta, weights, where, reduction):
    """Argument handling shared by the loss and its reference."""
    delta = _checks.static_float("huber", "delta", delta, low=0.0, low_open=True)
    return _elementwise(
        "huber",
        core,
        predictions,
        targets,
        (delta,),
        weights=weights,
        where=where,
        reduction=reduction,
    )


def huber(
    predictions: ArrayLike,
    targets: ArrayLike | None = None,
    *,
    delta: float = 1.0,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Huber loss: quadratic for small errors, linear beyond ``delta``.

    PyTorch's ``huber_loss`` and optax's ``huber_loss``; ``smooth_l1`` is the same
    curve divided by its threshold.

    .. math::

        \ell = \begin{cases} \tfrac12 d^2 & |d| \le \delta \\
                             \delta\,(|d| - \tfrac12\delta) & |d| > \delta \end{cases},
        \qquad \frac{\partial \ell}{\partial p} = \operatorname{clip}(d, -\delta, \delta)
        = -\frac{\partial \ell}{\partial t}.

    The loss is continuously differentiable, so there is no kink to choose a
    convention for; the second derivative jumps from 1 to 0 at ``|d| = δ``, where
    ``jax.hessian`` (forward over the rule's ``clip``) gives ½.

    Args:
      predictions: array of any float dtype and shape.
      targets: array of the same shape, or ``None`` for zeros.
      delta: the threshold ``δ > 0`` between the quadratic and linear parts.
      weights: optional weights broadcastable to ``predictions.shape``.
      where: optional boolean mask broadcastable to ``predictions.shape``.
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
      The per-element losses (``"none"``) or a scalar, in the dtype of ``predictions``.

    Raises:
      TypeError: integer or boolean ``predictions``.
      ValueError: ``delta <= 0``, mismatched shapes or an unknown ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.huber(jnp.array([0.5, 3.0]), jnp.array([0.0, 0.0]), delta=1.0)
      Array([0.125, 2.5  ], dtype=float32)

    References:
      Huber, "Robust Estimation of a Location Parameter", Ann. Math. Statist. 1964.
    """
    return _huber_call(
        _huber, predictions, targets, delta=delta, weights=weights, where=where, reduction=reduction
    )


# --- smooth_l1


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _smooth_l1(p, t, beta):
    return _smooth_l1_fwd(p, t, beta)[0]


def _smooth_l1_fwd(p, t, beta):
    a = jnp.abs(p - t)
    if beta == 0.0:
        return a, (p, t)
    quad = jnp.minimum(a, beta)
    return quad * (a - 0.5 * quad) / beta, (p, t)


def _smooth_l1_bwd(beta, res, g):
    (p, t), (inv_beta, lo, hi) = unshared(res, 1 / beta if beta else 0.0, -1, 1)
    d = p - t
    slope = jnp.sign(d) if beta == 0.0 else jnp.clip(d * inv_beta, lo, hi)
    gp = g * slope
    return gp, -gp


_smooth_l1.defvjp(_smooth_l1_fwd, _smooth_l1_bwd)


def _smooth_l1_call(core, predictions, targets, *, beta, weights, where, reduction):
    """Argument handling shared by the loss and its reference."""
    beta = _checks.static_float("smooth_l1", "beta", beta, low=0.0)
    return _elementwise(
        "smooth_l1",
        core,
        predictions,
        targets,
        (beta,),
        weights=weights,
        where=where,
        reduction=reduction,
    )


def smooth_l1(
    predictions: ArrayLike,
    targets: ArrayLike | None = None,
    *,
    beta: float = 1.0,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Smooth L1 loss: ``huber`` with threshold ``beta``, divided by ``beta``.

    PyTorch's ``smooth_l1_loss`` (Fast R-CNN). Its linear part has slope 1 whatever
    ``beta`` is; ``beta = 0`` is exactly ``absolute_error``.

    .. math::

        \ell = \begin{cases} \tfrac{1}{2\beta} d^2 & |d| < \beta \\
                             |d| - \tfrac12\beta & |d| \ge \beta \end{cases},
        \qquad \frac{\partial \ell}{\partial p} = \operatorname{clip}(d / \beta, -1, 1)
        = -\frac{\partial \ell}{\partial t}.

    With ``beta = 0`` the gradient is ``sign(d)``, taking the subgradient 0 at ``d = 0``.

    Args:
      predictions: array of any float dtype and shape.
      targets: array of the same shape, or ``None`` for zeros.
      beta: the threshold ``β >= 0``.
      weights: optional weights broadcastable to ``predictions.shape``.
      where: optional boolean mask broadcastable to ``predictions.shape``.
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
      The per-element losses (``"none"``) or a scalar, in the dtype of ``predictions``.

    Raises:
      TypeError: integer or boolean ``predictions``.
      ValueError: ``beta < 0``, mismatched shapes or an unknown ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.smooth_l1(jnp.array([0.5, 3.0]), jnp.array([0.0, 0.0]), beta=2.0)
      Array([0.0625, 2.    ], dtype=float32)

    References:
      Girshick, "Fast R-CNN", ICCV 2015.
    """
    return _smooth_l1_call(
        _smooth_l1,
        predictions,
        targets,
        beta=beta,
        weights=weights,
        where=where,
        reduction=reduction,
    )


# --- log_cosh

_LOG2 = math.log(2.0)


@jax.custom_vjp
def _log_cosh(p, t):
    return _log_cosh_fwd(p, t)[0]


def _log_cosh_fwd(p, t):
    a = jnp.abs(p - t)
    # log cosh d = |d| + log1p(exp(-2|d|)) - log 2: no overflow for large |d|.
    return a + jnp.log1p(jnp.exp(-2 * a)) - _LOG2, (p, t)


def _log_cosh_bwd(res, g):
    (p, t), _ = unshared(res)
    gp = g * jnp.tanh(p - t)
    return gp, -gp


_log_cosh.defvjp(_log_cosh_fwd, _log_cosh_bwd)


def log_cosh(
    predictions: ArrayLike,
    targets: ArrayLike | None = None,
    *,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Log-cosh loss ``log(cosh(predictions - targets))``.

    Behaves like ``d²/2`` for small errors and like ``|d| - log 2`` for large ones,
    and is smooth everywhere. optax's ``log_cosh``, Keras's ``LogCosh`` (before its
    mean over the last axis). Computed as ``|d| + log1p(exp(-2|d|)) - log 2``, which
    neither overflows nor loses precision at large errors.

    .. math::

        \ell = \log\cosh d, \qquad \frac{\partial \ell}{\partial p} = \tanh d
        = -\frac{\partial \ell}{\partial t}.

    Args:
      predictions: array of any float dtype and shape.
      targets: array of the same shape, or ``None`` for zeros.
      weights: optional weights broadcastable to ``predictions.shape``.
      where: optional boolean mask broadcastable to ``predictions.shape``.
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
      The per-element losses (``"none"``) or a scalar, in the dtype of ``predictions``.

    Raises:
      TypeError: integer or boolean ``predictions``.
      ValueError: mismatched shapes or an unknown ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.log_cosh(jnp.array([0.0, 1000.0]))
      Array([  0.    , 999.3068], dtype=float32)
    """
    return _elementwise(
        "log_cosh",
        _log_cosh,
        predictions,
        targets,
        weights=weights,
        where=where,
        reduction=reduction,
    )


# --- charbonnier


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _charbonnier(p, t, eps):
    return _charbonnier_fwd(p, t, eps)[0]


def _hypot(a, eps, one: float | jax.Array = 1.0):
    """sqrt(a² + ε²) for a >= 0, ε > 0, without overflow: max · sqrt(1 + (min/max)²)."""
    hi, lo = jnp.maximum(a, eps), jnp.minimum(a, eps)
    r = lo / hi
    return hi * jnp.sqrt(one + r * r)


def _charbonnier_fwd(p, t, eps):
    a = jnp.abs(p - t)
    # Not sqrt(d² + ε²), which overflows to inf for |d| > 1e19 in float32.
    return (a if eps == 0.0 else _hypot(a, eps) - eps), (p, t)


def _charbonnier_bwd(eps, res, g):
    (p, t), (e, one) = unshared(res, eps, 1)
    d = p - t
    # d / sqrt(d² + ε²); sign(d) when ε = 0, with the subgradient 0 at d = 0.
    slope = jnp.sign(d) if eps == 0.0 else d / _hypot(jnp.abs(d), e, one)
    gp = g * slope
    return gp, -gp


_charbonnier.defvjp(_charbonnier_fwd, _charbonnier_bwd)


def _charbonnier_call(core, predictions, targets, *, eps, weights, where, reduction):
    """Argument handling shared by the loss and its reference."""
    eps = _checks.static_float("charbonnier", "eps", eps, low=0.0)
    return _elementwise(
        "charbonnier",
        core,
        predictions,
        targets,
        (eps,),
        weights=weights,
        where=where,
        reduction=reduction,
    )


def charbonnier(
    predictions: ArrayLike,
    targets: ArrayLike | None = None,
    *,
    eps: float = 1e-3,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Charbonnier loss ``sqrt(d² + eps²) - eps``, a smooth absolute error.

    The "L1-L2" penalty of image restoration (LapSRN and successors), shifted by
    ``eps`` so that a perfect prediction costs 0; the shift does not change the
    gradient. ``eps = 0`` is ``absolute_error``.

    .. math::

        \ell = \sqrt{d^2 + \epsilon^2} - \epsilon, \qquad
        \frac{\partial \ell}{\partial p} = \frac{d}{\sqrt{d^2 + \epsilon^2}}
        = -\frac{\partial \ell}{\partial t}.

    With ``eps = 0`` the gradient at ``d = 0`` is the subgradient 0.

    Args:
      predictions: array of any float dtype and shape.
      targets: array of the same shape, or ``None`` for zeros.
      eps: smoothing ``ε >= 0``.
      weights: optional weights broadcastable to ``predictions.shape``.
      where: optional boolean mask broadcastable to ``predictions.shape``.
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
      The per-element losses (``"none"``) or a scalar, in the dtype of ``predictions``.

    Raises:
      TypeError: integer or boolean ``predictions``.
      ValueError: ``eps < 0``, mismatched shapes or an unknown ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.charbonnier(jnp.array([0.0, 3.0]), jnp.array([0.0, -1.0]), eps=3.0)
      Array([0., 2.], dtype=float32)

    References:
      Charbonnier et al., "Two deterministic half-quadratic regularization algorithms
      for computed imaging", ICIP 1994. Lai et al., "Deep Laplacian Pyramid Networks
      for Fast and Accurate Super-Resolution", CVPR 2017.
    """
    return _charbonnier_call(
        _charbonnier,
        predictions,
        targets,
        eps=eps,
        weights=weights,
        where=where,
        reduction=reduction,
    )


# --- general_robust


def _robust_value(x, alpha):
    """Barron's ρ of the scaled error x = d / c."""
    z = x * x
    if alpha == 2.0:
        return 0.5 * z
    if alpha == 0.0:
        return jnp.log1p(0.5 * z)
    if alpha == -math.inf:
        return -jnp.expm1(-0.5 * z)
    # Rational forms for the two common shapes: no transcendental, no cancellation.
    if alpha == 1.0:  # sqrt(x² + 1) - 1 = |x|² / (1 + hypot(x, 1)), no overflow of x²
        a = jnp.abs(x)
        return a * (a / (1 + _hypot(a, 1.0)))
    if alpha == -2.0:  # Geman-McClure; z capped where the ratio is 2 (inf/inf at z = inf)
        z = jnp.minimum(z, 1e30)
        return 2 * z / (z + 4)
    b = abs(alpha - 2)
    # expm1/log1p keep the value accurate for small z and for alpha near 0 or 2.
    return (b / alpha) * jnp.expm1(0.5 * alpha * jnp.log1p(z / b))


def _robust_dx(x, alpha, one, half, inv_b, power):
    """dρ/dx = x (x²/b + 1)^(α/2 - 1), with the closed forms at α = 2, 1, 0, -2, -∞."""
    if alpha == 2.0:
        return x
    if alpha == 1.0:
        return x / _hypot(jnp.abs(x), one, one)
    z = x * x
    if alpha == 0.0:
        return x / (one + half * z)
    if alpha == -2.0:
        s = one / (one + z * inv_b)
        return x * s * s
    if alpha == -math.inf:
        return x * jnp.exp(-half * z)
    return x * jnp.exp(power * jnp.log1p(z * inv_b))


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _general_robust(p, t, alpha, scale):
    return _general_robust_fwd(p, t, alpha, scale)[0]


def _general_robust_fwd(p, t, alpha, scale):
    return _robust_value((p - t) / scale, alpha), (p, t)


def _general_robust_bwd(alpha, scale, res, g):
    finite = math.isfinite(alpha) and alpha != 2.0
    inv_b = 1 / abs(alpha - 2) if finite else 0.0
    power = 0.5 * alpha - 1 if finite else 0.0
    bound = math.sqrt(float(jnp.finfo(res[0].dtype).max))
    (p, t), (inv_c, one, half, inv_b, power, bound) = unshared(
        res, 1 / scale, 1, 0.5, inv_b, power, bound
    )
    d = p - t
    if alpha < 0:
        # ρ is bounded, so its value is finite at any error, and dρ/dx decays like
        # |x|^(α-1): the error is clipped where x² would overflow (inf * 0 in x·exp(-x²/2),
        # inf/inf or 0 * inf in the derivative that jax.hessian takes); the slope there is
        # below 1e-19 (float32).
        d = jnp.clip(d, -bound, bound)
    x = d * inv_c
    if alpha < 0:
        x = jnp.clip(x, -bound, bound)
    gp = g * _robust_dx(x, alpha, one, half, inv_b, power) * inv_c
    return gp, -gp


_general_robust.defvjp(_general_robust_fwd, _general_robust_bwd)


def _general_robust_call(core, predictions, targets, *, alpha, scale, weights, where, reduction):
    """Argument handling shared by the loss and its reference."""
    fn = "general_robust"
    alpha = _checks.static_float(fn, "alpha", alpha, allow_inf=True)
    if alpha == math.inf:
        raise ValueError(f"{fn}: alpha must be finite or -inf, got inf")
    scale = _checks.static_float(fn, "scale", scale, low=0.0, low_open=True)
    return _elementwise(
        fn,
        core,
        predictions,
        targets,
        (alpha, scale),
        weights=weights,
        where=where,
        reduction=reduction,
    )


def general_robust(
    predictions: ArrayLike,
    targets: ArrayLike | None = None,
    *,
    alpha: float = 1.0,
    scale: float = 1.0,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Barron's general and adaptive robust loss ρ(d, α, c), for a fixed shape ``alpha``.

    One family that contains many robust losses: ``α = 2`` is ``½(d/c)²``, ``α = 1``
    the pseudo-Huber / Charbonnier ``sqrt((d/c)² + 1) - 1``, ``α = 0`` Cauchy /
    Lorentzian ``log(½(d/c)² + 1)``, ``α = -2`` Geman–McClure, ``α → -∞``
    Welsch / Leclerc ``1 - exp(-½(d/c)²)``. The limits ``α = 0, 2, -∞`` are computed
    in closed form, and ``expm1``/``log1p`` keep other values accurate near them.
    ``alpha`` and ``scale`` are static hyperparameters (no gradient).

    .. math::

        \rho = \frac{|\alpha - 2|}{\alpha}\Bigl(\bigl(\tfrac{(d/c)^2}{|\alpha - 2|}
               + 1\bigr)^{\alpha/2} - 1\Bigr), \qquad
        \frac{\partial \rho}{\partial p} = \frac{d}{c^2}\Bigl(\tfrac{(d/c)^2}{|\alpha-2|}
               + 1\Bigr)^{\alpha/2 - 1} = -\frac{\partial \rho}{\partial t}.

    Args:
      predictions: array of any float dtype and shape.
      targets: array of the same shape, or ``None`` for zeros.
      alpha: the shape, any real number or ``-inf``.
      scale: the scale ``c > 0`` of the quadratic bowl near zero.
      weights: optional weights broadcastable to ``predictions.shape``.
      where: optional boolean mask broadcastable to ``predictions.shape``.
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
      The per-element losses (``"none"``) or a scalar, in the dtype of ``predictions``.

    Raises:
      TypeError: integer or boolean ``predictions``.
      ValueError: ``alpha`` NaN or ``+inf``, ``scale <= 0``, mismatched shapes or an
        unknown ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.general_robust(jnp.array([0.0, 2.0]), alpha=0.0)
      Array([0.       , 1.0986123], dtype=float32)

    References:
      Barron, "A General and Adaptive Robust Loss Function", CVPR 2019.
    """
    return _general_robust_call(
        _general_robust,
        predictions,
        targets,
        alpha=alpha,
        scale=scale,
        weights=weights,
        where=where,
        reduction=reduction,
    )
