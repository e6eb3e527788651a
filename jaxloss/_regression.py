"""Regression losses on the error ``d = predictions - targets``: squared, absolute,
relative and quantile errors.

Each public function checks and converts its arguments, then hands a private
``jax.custom_vjp`` function to :func:`jaxloss._reduce.apply`, which applies the
shared ``weights`` / ``where`` / ``reduction`` conventions. The rules save the
inputs themselves as residuals (already in memory) rather than fresh
intermediates: on bandwidth-bound elementwise losses a new [N] buffer costs
more than recomputing a subtraction, and :func:`jaxloss._fusion.unshared` keeps
XLA from merging that recomputation back into the forward pass. ``g`` is the
cotangent of the unreduced loss.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from . import _checks, _reduce
from ._fusion import unshared
from ._reduce import apply_pair as _elementwise

# --- squared_error


@jax.custom_vjp
def _squared_error(p, t):
    return jnp.square(p - t)


def _squared_error_fwd(p, t):
    return jnp.square(p - t), (p, t)


def _squared_error_bwd(res, g):
    (p, t), _ = unshared(res)
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
    (p, t), _ = unshared(res)
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


# --- squared_log_error


@jax.custom_vjp
def _squared_log_error(p, t):
    return _squared_log_error_fwd(p, t)[0]


def _squared_log_error_fwd(p, t):
    return jnp.square(jnp.log1p(p) - jnp.log1p(t)), (p, t)


def _squared_log_error_bwd(res, g):
    (p, t), (one,) = unshared(res, 1)
    # Two log1p rather than log1p((p - t) / (1 + t)): that loses everything when
    # |t| >> |p| (t = 1e30, p = -0.999 gives log1p(-1) = -inf).
    r = 2 * g * (jnp.log1p(p) - jnp.log1p(t))
    return r / (one + p), -r / (one + t)


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
    (p, t), (eps, hundred) = unshared(res, eps, 100)
    d = p - t
    a = jnp.abs(t)
    inv = hundred * g / jnp.maximum(a, eps)
    gp = inv * jnp.sign(d)
    # d|t|/dt = sign(t) above the floor eps, 0 where the floor is active.
    gt = -gp - jnp.where(a > eps, inv * jnp.abs(d) * jnp.sign(t) / a, 0)
    return gp, gt


_absolute_percentage_error.defvjp(_absolute_percentage_error_fwd, _absolute_percentage_error_bwd)


def _absolute_percentage_error_call(core, predictions, targets, *, eps, weights, where, reduction):
    """Argument handling shared by the loss and its reference."""
    fn = "absolute_percentage_error"
    eps = _checks.static_float(fn, "eps", eps, low=0.0, low_open=True)
    return _elementwise(
        fn, core, predictions, targets, (eps,), weights=weights, where=where, reduction=reduction
    )


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
    return _absolute_percentage_error_call(
        _absolute_percentage_error,
        predictions,
        targets,
        eps=eps,
        weights=weights,
        where=where,
        reduction=reduction,
    )


# --- root_mean_squared_error


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _root_mean_squared_error(p, t, axes):
    return _root_mean_squared_error_fwd(p, t, axes)[0]


def _rmse_scaled(d, axes):
    """``(ms, r / ms)``: the errors scaled by their largest magnitude ``ms`` before
    squaring, as jnp.linalg.norm does. r is homogeneous in d, so the scale's own
    derivative cancels: it is held constant, which keeps the derivatives (jax.hessian's)
    free of its square."""
    m = jax.lax.stop_gradient(jnp.max(jnp.abs(d), axis=axes, keepdims=True))
    ms = jnp.where((m > 0) & (m < jnp.inf), m, 1)
    rs = jnp.sqrt(jnp.mean(jnp.square(d / ms), axis=axes, keepdims=True))
    return ms, jnp.where(m == jnp.inf, jnp.inf, rs)


def _root_mean_squared_error_fwd(p, t, axes):
    # d² underflows for |d| < 1e-19 and overflows for |d| > 1e19 (float32) while r is in
    # range. The plain sum of squares is exact where it is well inside the range (the
    # squares that underflow are then below its rounding); only a batch with a row
    # outside takes the scaled pass, which costs one more pass over d.
    d = p - t
    ss = jnp.mean(jnp.square(d), axis=axes, keepdims=True)
    info = jnp.finfo(ss.dtype)
    n = math.prod(p.shape[a] for a in axes)
    low = float(info.tiny) * n / float(info.eps)
    out_of_range = jnp.any((ss < low) | (ss == jnp.inf))  # zero-error rows too
    ms, rs = jax.lax.cond(
        out_of_range,
        lambda: _rmse_scaled(d, axes),
        lambda: (jnp.ones_like(ss), jnp.sqrt(ss)),
    )
    return jnp.squeeze(ms * rs, axes), (p, t, ms, rs)


def _root_mean_squared_error_bwd(axes, res, g):
    (p, t, ms, rs), (one,) = unshared(res, 1)
    n = math.prod(p.shape[a] for a in axes)
    # d/(n r) = (d/ms)/(n rs), with rs = r/ms in [1/sqrt(n), 1] whatever the errors' size.
    # At r = 0 the subdifferential of the norm is a ball around 0: take 0.
    scale = jnp.where(rs > 0, jnp.expand_dims(g, axes) / (n * jnp.where(rs > 0, rs, 1)), 0)
    # ms is held constant (see _rmse_scaled); stopped here too, as its zero tangent would
    # still be divided by ms², which underflows for tiny errors.
    # d/ms first: scale's derivative is of the order 1/ms, so scale/ms would overflow in
    # jax.hessian for tiny errors.
    gp = scale * ((one / jax.lax.stop_gradient(ms)) * (p - t))
    return gp, -gp


_root_mean_squared_error.defvjp(_root_mean_squared_error_fwd, _root_mean_squared_error_bwd)


def _root_mean_squared_error_call(core, predictions, targets, *, axis, weights, where, reduction):
    """Argument handling shared by the loss and its reference; ``core(p, t, axes)``."""
    fn = "root_mean_squared_error"
    p, t = _checks.predictions_targets(fn, predictions, targets)
    axes = _checks.axes(fn, axis, p.ndim)
    for ax in axes:
        _checks.nonempty_axis(fn, "predictions", p, ax, "feature")
    return _reduce.apply(
        fn, core, (p, t), (axes,), weights=weights, where=where, reduction=reduction, axes=axes
    )


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
    where ``jax.grad`` of ``jnp.sqrt(jnp.mean(d**2))`` gives NaN. The errors are
    divided by their largest magnitude before squaring (as ``jnp.linalg.norm`` does),
    so ``r`` is exact over the dtype's whole range: errors of 1e-30 or 1e30 in float32
    give ``r`` of that size, not 0 or ``inf``. An infinite error gives ``inf``.

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
    return _root_mean_squared_error_call(
        _root_mean_squared_error,
        predictions,
        targets,
        axis=axis,
        weights=weights,
        where=where,
        reduction=reduction,
    )


# --- pinball


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _pinball(p, t, tau):
    return _pinball_fwd(p, t, tau)[0]


def _pinball_fwd(p, t, tau):
    r = t - p
    return jnp.maximum(tau * r, (tau - 1) * r), (p, t)


def _pinball_bwd(tau, res, g):
    (p, t), (above, below) = unshared(res, -tau, 1 - tau)
    r = t - p
    # d/dp = -tau above the quantile, 1 - tau below, 0 at r = 0 (inside [-tau, 1 - tau]).
    gp = g * jnp.where(r > 0, above, jnp.where(r < 0, below, 0))
    return gp, -gp


_pinball.defvjp(_pinball_fwd, _pinball_bwd)


def _pinball_call(core, predictions, targets, *, tau, weights, where, reduction):
    """Argument handling shared by the loss and its reference."""
    tau = _checks.static_float(
        "pinball", "tau", tau, low=0.0, high=1.0, low_open=True, high_open=True
    )
    return _elementwise(
        "pinball",
        core,
        predictions,
        targets,
        (tau,),
        weights=weights,
        where=where,
        reduction=reduction,
    )


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
    return _pinball_call(
        _pinball, predictions, targets, tau=tau, weights=weights, where=where, reduction=reduction
    )
