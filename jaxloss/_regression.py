"""Regression losses.

Each public function checks and converts its arguments, then hands a private
``jax.custom_vjp`` function to :func:`jaxloss._reduce.apply`, which applies the
shared ``weights`` / ``where`` / ``reduction`` conventions. The rules save the
inputs themselves as residuals (already in memory) rather than fresh
intermediates: on bandwidth-bound elementwise losses a new [N] buffer costs
more than recomputing a subtraction.

Throughout, ``d = predictions - targets`` and ``g`` is the cotangent of the
unreduced loss.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from . import _checks, _reduce

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _elementwise(fn, core, predictions, targets, hyper=(), *, weights, where, reduction):
    p, t = _checks.predictions_targets(fn, predictions, targets)
    return _reduce.apply(fn, core, (p, t), hyper, weights=weights, where=where, reduction=reduction)


# --- squared_error


@jax.custom_vjp
def _squared_error(p, t):
    return jnp.square(p - t)


def _squared_error_fwd(p, t):
    return jnp.square(p - t), (p, t)


def _squared_error_bwd(res, g):
    p, t = res
    gp = 2 * g * (p - t)
    return gp, -gp


_squared_error.defvjp(_squared_error_fwd, _squared_error_bwd)


def squared_error(
    predictions: ArrayLike,
    targets: ArrayLike | None = None,
    *,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Squared error ``(predictions - targets)²``.

    The loss of least squares; its mean is PyTorch's ``mse_loss`` and Keras's
    ``MeanSquaredError``. Like optax's ``squared_error`` (and unlike ``l2_loss``)
    there is no factor ½.

    .. math::

        \ell = d^2, \qquad \frac{\partial \ell}{\partial p} = 2d,
        \qquad \frac{\partial \ell}{\partial t} = -2d, \qquad d = p - t.

    Args:
      predictions: array of any float dtype and shape.
      targets: array of the same shape, or ``None`` for zeros (optax's convention).
      weights: optional weights broadcastable to ``predictions.shape``.
      where: optional boolean mask broadcastable to ``predictions.shape``;
        ``False`` entries add nothing to the value or any gradient.
      reduction: ``"none"`` (per element), ``"mean"`` or ``"sum"``.

    Returns:
      The per-element losses (``"none"``) or a scalar, in the dtype of ``predictions``.

    Raises:
      TypeError: integer or boolean ``predictions``.
      ValueError: mismatched shapes or an unknown ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.squared_error(jnp.array([1.0, 2.0]), jnp.array([0.0, 4.0]))
      Array([1., 4.], dtype=float32)
    """
    return _elementwise(
        "squared_error",
        _squared_error,
        predictions,
        targets,
        weights=weights,
        where=where,
        reduction=reduction,
    )


# --- absolute_error


@jax.custom_vjp
def _absolute_error(p, t):
    return jnp.abs(p - t)


def _absolute_error_fwd(p, t):
    return jnp.abs(p - t), (p, t)


def _absolute_error_bwd(res, g):
    p, t = res
    gp = g * jnp.sign(p - t)  # sign(0) = 0: the minimum-norm subgradient
    return gp, -gp


_absolute_error.defvjp(_absolute_error_fwd, _absolute_error_bwd)


def absolute_error(
    predictions: ArrayLike,
    targets: ArrayLike | None = None,
    *,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Absolute error ``|predictions - targets|``.

    Its mean is PyTorch's ``l1_loss`` and Keras's ``MeanAbsoluteError``.

    .. math::

        \ell = |d|, \qquad \frac{\partial \ell}{\partial p} = \operatorname{sign}(d),
        \qquad \frac{\partial \ell}{\partial t} = -\operatorname{sign}(d).

    At the kink ``d = 0`` the rule takes the subgradient 0 (as PyTorch does).

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
      >>> jaxloss.absolute_error(jnp.array([1.0, 2.0]), jnp.array([0.0, 4.0]), reduction="mean")
      Array(1.5, dtype=float32)
    """
    return _elementwise(
        "absolute_error",
        _absolute_error,
        predictions,
        targets,
        weights=weights,
        where=where,
        reduction=reduction,
    )


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
    p, t = res
    gp = g * jnp.clip(p - t, -delta, delta)
    return gp, -gp


_huber.defvjp(_huber_fwd, _huber_bwd)


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
    convention for; the second derivative jumps from 1 to 0 at ``|d| = δ``
    (forward-over-reverse Hessians take 1 there, from ``clip``).

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
    delta = _checks.static_float("huber", "delta", delta, low=0.0, low_open=True)
    return _elementwise(
        "huber",
        _huber,
        predictions,
        targets,
        (delta,),
        weights=weights,
        where=where,
        reduction=reduction,
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
    p, t = res
    d = p - t
    slope = jnp.sign(d) if beta == 0.0 else jnp.clip(d / beta, -1, 1)
    gp = g * slope
    return gp, -gp


_smooth_l1.defvjp(_smooth_l1_fwd, _smooth_l1_bwd)


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
    beta = _checks.static_float("smooth_l1", "beta", beta, low=0.0)
    return _elementwise(
        "smooth_l1",
        _smooth_l1,
        predictions,
        targets,
        (beta,),
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
    p, t = res
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


# --- squared_log_error


@jax.custom_vjp
def _squared_log_error(p, t):
    return _squared_log_error_fwd(p, t)[0]


def _squared_log_error_fwd(p, t):
    return jnp.square(jnp.log1p(p) - jnp.log1p(t)), (p, t)


def _squared_log_error_bwd(res, g):
    p, t = res
    r = 2 * g * (jnp.log1p(p) - jnp.log1p(t))
    return r / (1 + p), -r / (1 + t)


_squared_log_error.defvjp(_squared_log_error_fwd, _squared_log_error_bwd)


def squared_log_error(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Squared logarithmic error ``(log1p(predictions) - log1p(targets))²``.

    Penalises relative rather than absolute error; its mean is Keras's
    ``MeanSquaredLogarithmicError``. Defined for ``predictions, targets > -1``; values
    at or below ``-1`` give NaN or inf rather than being clamped. (Keras clamps both
    at ``1e-7``, which silently zeroes the gradient of every negative prediction;
    clamp yourself with ``jnp.maximum`` if you want that.)

    .. math::

        \ell = r^2,\quad r = \log(1+p) - \log(1+t), \qquad
        \frac{\partial \ell}{\partial p} = \frac{2r}{1+p}, \qquad
        \frac{\partial \ell}{\partial t} = -\frac{2r}{1+t}.

    Args:
      predictions: array of any float dtype and shape, entries ``> -1``.
      targets: array of the same shape, entries ``> -1``.
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
      >>> jaxloss.squared_log_error(jnp.array([0.0, 3.0]), jnp.array([0.0, 1.0]))
      Array([0.       , 0.480453], dtype=float32)
    """
    return _elementwise(
        "squared_log_error",
        _squared_log_error,
        predictions,
        targets,
        weights=weights,
        where=where,
        reduction=reduction,
    )


# --- absolute_percentage_error


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _absolute_percentage_error(p, t, eps):
    return _absolute_percentage_error_fwd(p, t, eps)[0]


def _absolute_percentage_error_fwd(p, t, eps):
    return 100 * jnp.abs(p - t) / jnp.maximum(jnp.abs(t), eps), (p, t)


def _absolute_percentage_error_bwd(eps, res, g):
    p, t = res
    d = p - t
    a = jnp.abs(t)
    inv = 100 * g / jnp.maximum(a, eps)
    gp = inv * jnp.sign(d)
    # d|t|/dt = sign(t) above the floor eps, 0 where the floor is active.
    gt = -gp - jnp.where(a > eps, inv * jnp.abs(d) * jnp.sign(t) / a, 0)
    return gp, gt


_absolute_percentage_error.defvjp(_absolute_percentage_error_fwd, _absolute_percentage_error_bwd)


def absolute_percentage_error(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    eps: float = 1e-7,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Absolute percentage error ``100 |predictions - targets| / max(|targets|, eps)``.

    Its mean is Keras's ``MeanAbsolutePercentageError`` (a percentage: divide by
    100 for scikit-learn's fraction). ``eps`` keeps zero targets finite.

    .. math::

        \ell = \frac{100\,|d|}{m},\quad m = \max(|t|, \epsilon), \qquad
        \frac{\partial \ell}{\partial p} = \frac{100\operatorname{sign}(d)}{m}, \qquad
        \frac{\partial \ell}{\partial t} = -\frac{100\operatorname{sign}(d)}{m}
          - [|t| > \epsilon]\,\frac{100\,|d|\operatorname{sign}(t)}{m^2}.

    At ``d = 0`` the subgradient 0 is taken; where the floor ``eps`` is active the
    denominator is constant.

    Args:
      predictions: array of any float dtype and shape.
      targets: array of the same shape.
      eps: floor ``ε > 0`` on ``|targets|``.
      weights: optional weights broadcastable to ``predictions.shape``.
      where: optional boolean mask broadcastable to ``predictions.shape``.
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
      The per-element losses (``"none"``) or a scalar, in the dtype of ``predictions``.

    Raises:
      TypeError: integer or boolean ``predictions``.
      ValueError: ``eps <= 0``, mismatched shapes or an unknown ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.absolute_percentage_error(jnp.array([90.0, 1.5]), jnp.array([100.0, 1.0]))
      Array([10., 50.], dtype=float32)
    """
    eps = _checks.static_float("absolute_percentage_error", "eps", eps, low=0.0, low_open=True)
    return _elementwise(
        "absolute_percentage_error",
        _absolute_percentage_error,
        predictions,
        targets,
        (eps,),
        weights=weights,
        where=where,
        reduction=reduction,
    )


# --- root_mean_squared_error


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _root_mean_squared_error(p, t, axes):
    return _root_mean_squared_error_fwd(p, t, axes)[0]


def _root_mean_squared_error_fwd(p, t, axes):
    r = jnp.sqrt(jnp.mean(jnp.square(p - t), axis=axes))
    return r, (p, t, r)


def _root_mean_squared_error_bwd(axes, res, g):
    p, t, r = res
    n = math.prod(p.shape[a] for a in axes)
    # At r = 0 the subdifferential of the norm is a ball around 0: take 0.
    scale = jnp.where(r > 0, g / (n * jnp.where(r > 0, r, 1)), 0)
    gp = jnp.expand_dims(scale, axes) * (p - t)
    return gp, -gp


_root_mean_squared_error.defvjp(_root_mean_squared_error_fwd, _root_mean_squared_error_bwd)


def root_mean_squared_error(
    predictions: ArrayLike,
    targets: ArrayLike | None = None,
    *,
    axis: int | Sequence[int] | None = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Root mean squared error over ``axis``, per example.

    ``sqrt(mean((predictions - targets)², axis))``: one value per example (the
    feature ``axis`` reduced; ``axis=None`` reduces everything to a scalar).
    ``weights``/``where``/``reduction`` then act on the per-example values.

    .. math::

        r = \sqrt{\tfrac1n \textstyle\sum_i d_i^2}, \qquad
        \frac{\partial r}{\partial p_i} = \frac{d_i}{n\,r} = -\frac{\partial r}{\partial t_i}.

    The gradient is finite when every error is zero: at ``r = 0`` the rule takes the
    subgradient 0 (the minimum-norm element of the subdifferential, a ball around 0),
    where ``jax.grad`` of ``jnp.sqrt(jnp.mean(d**2))`` gives NaN.

    Args:
      predictions: array of any float dtype and shape.
      targets: array of the same shape, or ``None`` for zeros.
      axis: axis or axes averaged inside the root; ``None`` for all.
      weights: optional weights broadcastable to the per-example shape.
      where: optional boolean mask broadcastable to the per-example shape.
      reduction: ``"none"`` (per example), ``"mean"`` or ``"sum"``.

    Returns:
      The per-example losses (``"none"``) or a scalar, in the dtype of ``predictions``.

    Raises:
      TypeError: integer or boolean ``predictions``.
      ValueError: mismatched shapes, an out-of-range ``axis`` or an unknown ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.root_mean_squared_error(jnp.array([[3.0, 4.0], [0.0, 0.0]]), axis=-1)
      Array([3.535534, 0.      ], dtype=float32)
    """
    fn = "root_mean_squared_error"
    p, t = _checks.predictions_targets(fn, predictions, targets)
    axes = _checks.axes(fn, axis, p.ndim)
    return _reduce.apply(
        fn,
        _root_mean_squared_error,
        (p, t),
        (axes,),
        weights=weights,
        where=where,
        reduction=reduction,
        axes=axes,
    )


# --- pinball


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _pinball(p, t, tau):
    return _pinball_fwd(p, t, tau)[0]


def _pinball_fwd(p, t, tau):
    r = t - p
    return jnp.maximum(tau * r, (tau - 1) * r), (p, t)


def _pinball_bwd(tau, res, g):
    p, t = res
    r = t - p
    # d/dp = -tau above the quantile, 1 - tau below, 0 at r = 0 (inside [-tau, 1 - tau]).
    gp = g * jnp.where(r > 0, -tau, jnp.where(r < 0, 1 - tau, 0))
    return gp, -gp


_pinball.defvjp(_pinball_fwd, _pinball_bwd)


def pinball(
    predictions: ArrayLike,
    targets: ArrayLike | None = None,
    *,
    tau: float = 0.5,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Pinball (quantile) loss for the ``tau`` quantile.

    Minimised in expectation when ``predictions`` is the ``tau``-quantile of the
    target distribution: under-prediction costs ``tau`` per unit, over-prediction
    ``1 - tau``. ``tau = 0.5`` is half the absolute error.

    .. math::

        \ell = \max(\tau r, (\tau - 1) r),\quad r = t - p, \qquad
        \frac{\partial \ell}{\partial p} = \begin{cases} -\tau & r > 0 \\
            1 - \tau & r < 0 \\ 0 & r = 0 \end{cases}
        = -\frac{\partial \ell}{\partial t}.

    At the kink ``r = 0`` the rule takes the subgradient 0, which lies in the
    subdifferential ``[-τ, 1-τ]`` for every ``τ`` in (0, 1).

    Args:
      predictions: array of any float dtype and shape.
      targets: array of the same shape, or ``None`` for zeros.
      tau: the quantile, in the open interval (0, 1).
      weights: optional weights broadcastable to ``predictions.shape``.
      where: optional boolean mask broadcastable to ``predictions.shape``.
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
      The per-element losses (``"none"``) or a scalar, in the dtype of ``predictions``.

    Raises:
      TypeError: integer or boolean ``predictions``.
      ValueError: ``tau`` outside (0, 1), mismatched shapes or an unknown ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.pinball(jnp.array([0.0, 2.0]), jnp.array([1.0, 1.0]), tau=0.9)
      Array([0.9, 0.1], dtype=float32)

    References:
      Koenker & Bassett, "Regression Quantiles", Econometrica 1978.
    """
    tau = _checks.static_float(
        "pinball", "tau", tau, low=0.0, high=1.0, low_open=True, high_open=True
    )
    return _elementwise(
        "pinball",
        _pinball,
        predictions,
        targets,
        (tau,),
        weights=weights,
        where=where,
        reduction=reduction,
    )


# --- poisson_nll


def _stirling(t):
    """t log t - t + ½ log(2πt) for t > 1, else 0, and its derivative (finite at t = 0)."""
    big = t > 1
    ts = jnp.where(big, t, 2.0)  # double where: no log(0) on the inactive branch
    logt = jnp.log(ts)
    value = jnp.where(big, ts * logt - ts + 0.5 * jnp.log(2 * math.pi * ts), 0)
    slope = jnp.where(big, logt + 0.5 / ts, 0)
    return value, slope


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4))
def _poisson_nll(p, t, log_input, full, eps):
    return _poisson_nll_fwd(p, t, log_input, full, eps)[0]


def _poisson_nll_fwd(p, t, log_input, full, eps):
    if log_input:
        loss = jnp.exp(p) - t * p
    else:
        loss = p - t * jnp.log(p + eps)
    if full:
        loss = loss + _stirling(t)[0]
    return loss, (p, t)


def _poisson_nll_bwd(log_input, full, eps, res, g):
    p, t = res
    if log_input:
        gp, gt = g * (jnp.exp(p) - t), -g * p
    else:
        gp, gt = g * (1 - t / (p + eps)), -g * jnp.log(p + eps)
    if full:
        gt = gt + g * _stirling(t)[1]
    return gp, gt


_poisson_nll.defvjp(_poisson_nll_fwd, _poisson_nll_bwd)


def poisson_nll(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    log_input: bool = True,
    full: bool = False,
    eps: float = 1e-8,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Negative log-likelihood of a Poisson target, PyTorch's ``poisson_nll_loss``.

    With ``log_input=True`` (the default) ``predictions`` is the log-rate ``η``;
    otherwise it is the rate ``λ`` itself (Keras's ``Poisson``, which uses
    ``eps=1e-7``). ``full=True`` adds the Stirling approximation of ``log t!`` for
    targets above 1, as PyTorch does.

    .. math::

        \ell = \begin{cases} e^{\eta} - t\,\eta & \text{log\_input} \\
                             \lambda - t \log(\lambda + \epsilon) & \text{otherwise} \end{cases}
             \;+\; [\text{full}]\,[t > 1]\,\bigl(t\log t - t + \tfrac12 \log 2\pi t\bigr)

    .. math::

        \frac{\partial \ell}{\partial \eta} = e^\eta - t, \quad
        \frac{\partial \ell}{\partial \lambda} = 1 - \frac{t}{\lambda + \epsilon}, \quad
        \frac{\partial \ell}{\partial t} = -\eta \text{ or } -\log(\lambda+\epsilon)
            \;+\; [\text{full}]\,[t > 1]\,\bigl(\log t + \tfrac{1}{2t}\bigr).

    The gradient with respect to the targets is finite at ``t = 0`` (PyTorch's is
    NaN there with ``full=True``).

    Args:
      predictions: log-rates (``log_input=True``) or rates, any float dtype.
      targets: counts of the same shape (integer dtypes are accepted).
      log_input: whether ``predictions`` are log-rates.
      full: add the Stirling term.
      eps: added to the rate inside the log when ``log_input=False``; ``>= 0``.
      weights: optional weights broadcastable to ``predictions.shape``.
      where: optional boolean mask broadcastable to ``predictions.shape``.
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
      The per-element losses (``"none"``) or a scalar, in the dtype of ``predictions``.

    Raises:
      TypeError: integer or boolean ``predictions``, non-bool ``log_input``/``full``.
      ValueError: ``eps < 0``, mismatched shapes or an unknown ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.poisson_nll(jnp.array([0.0, 1.0]), jnp.array([1.0, 3.0]))
      Array([ 1.        , -0.28171825], dtype=float32)
    """
    fn = "poisson_nll"
    log_input = _checks.static_bool(fn, "log_input", log_input)
    full = _checks.static_bool(fn, "full", full)
    eps = _checks.static_float(fn, "eps", eps, low=0.0)
    p, t = _checks.predictions_targets(fn, predictions, targets)
    return _reduce.apply(
        fn,
        _poisson_nll,
        (p, t),
        (log_input, full, eps),
        safe=(0.0 if log_input else 1.0, 0.0),
        weights=weights,
        where=where,
        reduction=reduction,
    )


# --- gaussian_nll


@functools.partial(jax.custom_vjp, nondiff_argnums=(3, 4))
def _gaussian_nll(p, t, var, full, eps):
    return _gaussian_nll_fwd(p, t, var, full, eps)[0]


def _gaussian_nll_fwd(p, t, var, full, eps):
    v = jnp.maximum(var, eps)
    loss = 0.5 * (jnp.log(v) + jnp.square(p - t) / v)
    if full:
        loss = loss + _HALF_LOG_2PI
    return loss, (p, t, var)


def _gaussian_nll_bwd(full, eps, res, g):
    p, t, var = res
    v = jnp.maximum(var, eps)
    z = (p - t) / v
    gp = g * z
    # The clamp at eps is passed straight through, as in PyTorch.
    gv = 0.5 * g * (1 / v - jnp.square(z))
    return gp, -gp, gv


_gaussian_nll.defvjp(_gaussian_nll_fwd, _gaussian_nll_bwd)


def _variance_shape(fn: str, var: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """Broadcasts ``var`` to ``shape`` following PyTorch's ``gaussian_nll_loss`` rules."""
    if var.shape == shape or var.ndim == 0:
        return jnp.broadcast_to(var, shape)
    if var.shape == shape[:-1]:
        return jnp.broadcast_to(var[..., None], shape)
    mismatched = [(a, b) for a, b in zip(shape, var.shape, strict=False) if a != b]
    if var.ndim == len(shape) and len(mismatched) == 1 and mismatched[0][1] == 1:
        return jnp.broadcast_to(var, shape)
    raise ValueError(
        f"{fn}: variance must have the predictions' shape {shape}, that shape without its "
        f"last axis {shape[:-1]}, that shape with one axis of size 1, or be a scalar; "
        f"got {var.shape}"
    )


def gaussian_nll(
    predictions: ArrayLike,
    targets: ArrayLike,
    variance: ArrayLike,
    *,
    full: bool = False,
    eps: float = 1e-6,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Gaussian negative log-likelihood with predicted variance, PyTorch's ``gaussian_nll_loss``.

    ``predictions`` are the means and ``variance`` the variances of independent
    Gaussians. ``variance`` may have the predictions' shape (heteroscedastic), that
    shape without its last axis or with one axis of size 1 (shared along that axis),
    or be a scalar, exactly the shapes PyTorch accepts (plus scalars as arrays).
    Variances below ``eps`` are clamped to ``eps`` in the value while the gradient
    passes straight through the clamp, as in PyTorch; negative variances are
    clamped too (PyTorch raises, which cannot be done under ``jit``).

    .. math::

        \ell = \tfrac12\Bigl(\log v + \frac{d^2}{v}\Bigr) + [\text{full}]\,\tfrac12\log 2\pi,
        \quad v = \max(\sigma^2, \epsilon)

    .. math::

        \frac{\partial \ell}{\partial p} = \frac{d}{v} = -\frac{\partial \ell}{\partial t},
        \qquad \frac{\partial \ell}{\partial \sigma^2}
        = \tfrac12\Bigl(\frac1v - \frac{d^2}{v^2}\Bigr).

    Args:
      predictions: means, any float dtype.
      targets: observations, same shape.
      variance: variances, see above for accepted shapes.
      full: add the constant ``½ log 2π``.
      eps: clamp floor ``ε > 0`` for the variance.
      weights: optional weights broadcastable to ``predictions.shape``.
      where: optional boolean mask broadcastable to ``predictions.shape``.
      reduction: ``"none"`` (per element, the predictions' shape), ``"mean"`` or ``"sum"``.

    Returns:
      The per-element losses (``"none"``) or a scalar, in the dtype of ``predictions``.

    Raises:
      TypeError: integer or boolean ``predictions`` or ``variance``.
      ValueError: a ``variance`` shape PyTorch would refuse, ``eps <= 0``,
        mismatched shapes or an unknown ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.gaussian_nll(jnp.array([0.0, 1.0]), jnp.array([1.0, 1.0]), jnp.array([1.0, 4.0]))
      Array([0.5      , 0.6931472], dtype=float32)
    """
    fn = "gaussian_nll"
    full = _checks.static_bool(fn, "full", full)
    eps = _checks.static_float(fn, "eps", eps, low=0.0, low_open=True)
    p, t = _checks.predictions_targets(fn, predictions, targets)
    var = _variance_shape(fn, _checks.float_array(fn, "variance", variance), p.shape)
    return _reduce.apply(
        fn,
        _gaussian_nll,
        (p, t, var),
        (full, eps),
        safe=(0.0, 0.0, 1.0),
        weights=weights,
        where=where,
        reduction=reduction,
    )


# --- charbonnier


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _charbonnier(p, t, eps):
    return _charbonnier_fwd(p, t, eps)[0]


def _charbonnier_fwd(p, t, eps):
    # hypot, not sqrt(d² + ε²): no overflow to inf for |d| > 1e19 in float32.
    return jnp.hypot(p - t, eps) - eps, (p, t)


def _charbonnier_bwd(eps, res, g):
    p, t = res
    d = p - t
    s = jnp.hypot(d, eps)
    # d / s, with 0 at d = 0 when eps = 0 (the absolute-error subgradient).
    gp = g * jnp.where(s > 0, d / jnp.where(s > 0, s, 1), 0)
    return gp, -gp


_charbonnier.defvjp(_charbonnier_fwd, _charbonnier_bwd)


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
    eps = _checks.static_float("charbonnier", "eps", eps, low=0.0)
    return _elementwise(
        "charbonnier",
        _charbonnier,
        predictions,
        targets,
        (eps,),
        weights=weights,
        where=where,
        reduction=reduction,
    )


# --- tweedie


def _positive_part(y, f):
    """f(y) where y > 0 and 0 elsewhere, never evaluating f at y <= 0."""
    pos = y > 0
    return jnp.where(pos, f(jnp.where(pos, y, 1.0)), 0)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _tweedie(eta, y, power):
    return _tweedie_fwd(eta, y, power)[0]


def _tweedie_fwd(eta, y, power):
    if power == 1.0:
        dev = _positive_part(y, lambda v: v * jnp.log(v)) - y * eta - y + jnp.exp(eta)
    elif power == 2.0:
        dev = eta - jnp.log(y) + y * jnp.exp(-eta) - 1
    else:
        a, b = 1 - power, 2 - power
        dev = jnp.power(y, b) / (a * b) - y * jnp.exp(a * eta) / a + jnp.exp(b * eta) / b
    return 2 * dev, (eta, y)


def _tweedie_bwd(power, res, g):
    eta, y = res
    a = 1 - power
    mu_a = jnp.exp(a * eta)  # μ^(1-p)
    g_eta = 2 * g * mu_a * (jnp.exp(eta) - y)
    # The target-only term's derivative is infinite at y = 0 and is taken as 0 there.
    if power == 1.0:
        g_y = 2 * g * (_positive_part(y, jnp.log) - eta)
    else:
        g_y = 2 * g * (_positive_part(y, lambda v: jnp.power(v, a)) - mu_a) / a
    return g_eta, g_y


_tweedie.defvjp(_tweedie_fwd, _tweedie_bwd)


def tweedie(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    power: float = 1.5,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Tweedie deviance of a log-link prediction, for power ``p >= 1``.

    ``predictions`` is ``η = log μ``, the raw score of a log-link model (as in
    LightGBM's and XGBoost's ``tweedie`` objectives), so any real prediction is
    valid. The value is the unit deviance of scikit-learn's
    ``mean_tweedie_deviance(y, μ, power=p)``: zero at ``μ = y``. ``p = 1`` is the
    Poisson deviance, ``p = 2`` the Gamma deviance, ``1 < p < 2`` the compound
    Poisson–Gamma used for zero-inflated non-negative targets, ``p = 3`` the inverse
    Gaussian. Targets must be ``>= 0`` (``> 0`` when ``p >= 2``; a zero target then
    gives ``+inf``).

    .. math::

        \ell = 2\Bigl(\frac{y^{2-p}}{(1-p)(2-p)} - \frac{y\,\mu^{1-p}}{1-p}
               + \frac{\mu^{2-p}}{2-p}\Bigr), \quad \mu = e^\eta,

    with the limits ``2(y log(y/μ) - y + μ)`` at ``p = 1`` and
    ``2(log(μ/y) + y/μ - 1)`` at ``p = 2``.

    .. math::

        \frac{\partial \ell}{\partial \eta} = 2\mu^{1-p}(\mu - y), \qquad
        \frac{\partial \ell}{\partial y} = \frac{2\,(y^{1-p} - \mu^{1-p})}{1-p}
        \;\bigl(2(\log y - \eta) \text{ at } p = 1\bigr).

    At ``y = 0`` the derivative of the target-only term ``y^{2-p}`` is infinite; the
    rule takes it as 0, so gradients with respect to targets stay finite.

    Args:
      predictions: log-means ``η``, any float dtype.
      targets: non-negative observations, same shape.
      power: the Tweedie power ``p >= 1``.
      weights: optional weights broadcastable to ``predictions.shape``.
      where: optional boolean mask broadcastable to ``predictions.shape``.
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
      The per-element losses (``"none"``) or a scalar, in the dtype of ``predictions``.

    Raises:
      TypeError: integer or boolean ``predictions``.
      ValueError: ``power < 1``, mismatched shapes or an unknown ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.tweedie(jnp.log(jnp.array([2.0, 1.0])), jnp.array([2.0, 0.0]), power=1.5)
      Array([0., 4.], dtype=float32)

    References:
      Jørgensen, "The Theory of Dispersion Models", 1997.
    """
    fn = "tweedie"
    power = _checks.static_float(fn, "power", power, low=1.0)
    p, t = _checks.predictions_targets(fn, predictions, targets)
    return _reduce.apply(
        fn,
        _tweedie,
        (p, t),
        (power,),
        safe=(0.0, 1.0),
        weights=weights,
        where=where,
        reduction=reduction,
    )


# --- general_robust


def _robust_parts(z, alpha):
    """Barron's rho(z = x²/c²) and its derivative with respect to z, times 2."""
    if alpha == 2.0:
        return 0.5 * z, jnp.ones_like(z)
    if alpha == 0.0:
        return jnp.log1p(0.5 * z), 1 / (1 + 0.5 * z)
    if alpha == -math.inf:
        e = jnp.exp(-0.5 * z)
        return 1 - e, e
    b = abs(alpha - 2)
    log_base = jnp.log1p(z / b)
    # expm1/log1p keep the value accurate for small z and alpha near 0.
    value = (b / alpha) * jnp.expm1(0.5 * alpha * log_base)
    return value, jnp.exp((0.5 * alpha - 1) * log_base)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _general_robust(p, t, alpha, scale):
    return _general_robust_fwd(p, t, alpha, scale)[0]


def _general_robust_fwd(p, t, alpha, scale):
    return _robust_parts(jnp.square((p - t) / scale), alpha)[0], (p, t)


def _general_robust_bwd(alpha, scale, res, g):
    p, t = res
    d = p - t
    slope = _robust_parts(jnp.square(d / scale), alpha)[1]
    gp = g * slope * d / (scale * scale)
    return gp, -gp


_general_robust.defvjp(_general_robust_fwd, _general_robust_bwd)


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
    fn = "general_robust"
    alpha = _checks.static_float(fn, "alpha", alpha, allow_inf=True)
    if alpha == math.inf:
        raise ValueError(f"{fn}: alpha must be finite or -inf, got inf")
    scale = _checks.static_float(fn, "scale", scale, low=0.0, low_open=True)
    return _elementwise(
        fn,
        _general_robust,
        predictions,
        targets,
        (alpha, scale),
        weights=weights,
        where=where,
        reduction=reduction,
    )
