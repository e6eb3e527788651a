"""Plain ``jax.numpy`` definitions of every loss, differentiated by autodiff alone.

Each function here has the signature and the semantics of the public loss of the
same name and computes it the textbook way, with no ``custom_vjp``: it is the
oracle that :mod:`jaxloss.testing` checks the hand-written gradient rules
against, and it supports forward-mode autodiff (``jax.jvp``, ``jax.jacfwd``),
which the custom rules do not. Reduction, ``weights`` and ``where`` go through
the same shared code as the public losses.

Where the textbook formula has no finite derivative (``root_mean_squared_error``
at zero error, ``poisson_nll(full=True)`` with respect to a zero target, the
target-only term of ``tweedie`` at a zero target), the reference gives what
autodiff gives (NaN or inf); the public losses document the finite convention
they take instead.

Example:
  >>> import jax, jax.numpy as jnp
  >>> from jaxloss import reference
  >>> jax.jacfwd(lambda p: reference.huber(p, jnp.zeros(2)))(jnp.array([0.5, 3.0]))
  Array([[0.5, 0. ],
         [0. , 1. ]], dtype=float32)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
from jax.scipy.special import xlogy

from . import _checks, _reduce
from ._likelihood import _variance_shape
from ._reduce import apply_pair as _pair

__all__ = [
    "absolute_error",
    "absolute_percentage_error",
    "charbonnier",
    "gaussian_nll",
    "general_robust",
    "huber",
    "log_cosh",
    "pinball",
    "poisson_nll",
    "root_mean_squared_error",
    "smooth_l1",
    "squared_error",
    "squared_log_error",
    "tweedie",
]

Array = jax.Array


def squared_error(predictions, targets=None, *, weights=None, where=None, reduction="none"):
    """Reference for :func:`jaxloss.squared_error`: ``(p - t) ** 2``."""
    return _pair(
        "squared_error",
        lambda p, t: (p - t) ** 2,
        predictions,
        targets,
        weights=weights,
        where=where,
        reduction=reduction,
    )


def absolute_error(predictions, targets=None, *, weights=None, where=None, reduction="none"):
    """Reference for :func:`jaxloss.absolute_error`: ``|p - t|``."""
    return _pair(
        "absolute_error",
        lambda p, t: jnp.abs(p - t),
        predictions,
        targets,
        weights=weights,
        where=where,
        reduction=reduction,
    )


def _huber(p, t, delta):
    d = jnp.abs(p - t)
    return jnp.where(d <= delta, 0.5 * d**2, delta * (d - 0.5 * delta))


def huber(
    predictions, targets=None, *, delta=1.0, weights=None, where=None, reduction="none"
) -> Array:
    """Reference for :func:`jaxloss.huber`."""
    delta = _checks.static_float("huber", "delta", delta, low=0.0, low_open=True)
    return _pair(
        "huber",
        _huber,
        predictions,
        targets,
        (delta,),
        weights=weights,
        where=where,
        reduction=reduction,
    )


def _smooth_l1(p, t, beta):
    d = jnp.abs(p - t)
    if beta == 0.0:
        return d
    return jnp.where(d < beta, 0.5 * d**2 / beta, d - 0.5 * beta)


def smooth_l1(
    predictions, targets=None, *, beta=1.0, weights=None, where=None, reduction="none"
) -> Array:
    """Reference for :func:`jaxloss.smooth_l1`."""
    beta = _checks.static_float("smooth_l1", "beta", beta, low=0.0)
    return _pair(
        "smooth_l1",
        _smooth_l1,
        predictions,
        targets,
        (beta,),
        weights=weights,
        where=where,
        reduction=reduction,
    )


def log_cosh(predictions, targets=None, *, weights=None, where=None, reduction="none") -> Array:
    """Reference for :func:`jaxloss.log_cosh`: ``logaddexp(d, -d) - log 2``."""
    return _pair(
        "log_cosh",
        lambda p, t: jnp.logaddexp(p - t, t - p) - math.log(2.0),
        predictions,
        targets,
        weights=weights,
        where=where,
        reduction=reduction,
    )


def squared_log_error(predictions, targets, *, weights=None, where=None, reduction="none") -> Array:
    """Reference for :func:`jaxloss.squared_log_error`: ``(log1p(p) - log1p(t)) ** 2``."""
    return _pair(
        "squared_log_error",
        lambda p, t: (jnp.log1p(p) - jnp.log1p(t)) ** 2,
        predictions,
        targets,
        weights=weights,
        where=where,
        reduction=reduction,
    )


def absolute_percentage_error(
    predictions, targets, *, eps=1e-7, weights=None, where=None, reduction="none"
) -> Array:
    """Reference for :func:`jaxloss.absolute_percentage_error`."""
    fn = "absolute_percentage_error"
    eps = _checks.static_float(fn, "eps", eps, low=0.0, low_open=True)
    return _pair(
        fn,
        lambda p, t, e: 100 * jnp.abs(p - t) / jnp.maximum(jnp.abs(t), e),
        predictions,
        targets,
        (eps,),
        weights=weights,
        where=where,
        reduction=reduction,
    )


def root_mean_squared_error(
    predictions,
    targets=None,
    *,
    axis: int | Sequence[int] | None = -1,
    weights=None,
    where=None,
    reduction="none",
) -> Array:
    """Reference for :func:`jaxloss.root_mean_squared_error` (NaN gradient at zero error)."""
    fn = "root_mean_squared_error"
    p, t = _checks.predictions_targets(fn, predictions, targets)
    axes = _checks.axes(fn, axis, p.ndim)
    return _reduce.apply(
        fn,
        lambda p, t: jnp.sqrt(jnp.mean((p - t) ** 2, axis=axes)),
        (p, t),
        weights=weights,
        where=where,
        reduction=reduction,
        axes=axes,
    )


def _pinball(p, t, tau):
    r = t - p
    return jnp.where(r >= 0, tau * r, (tau - 1) * r)


def pinball(
    predictions, targets=None, *, tau=0.5, weights=None, where=None, reduction="none"
) -> Array:
    """Reference for :func:`jaxloss.pinball`."""
    tau = _checks.static_float(
        "pinball", "tau", tau, low=0.0, high=1.0, low_open=True, high_open=True
    )
    return _pair(
        "pinball",
        _pinball,
        predictions,
        targets,
        (tau,),
        weights=weights,
        where=where,
        reduction=reduction,
    )


def _poisson_nll(p, t, log_input, full, eps):
    loss = jnp.exp(p) - t * p if log_input else p - t * jnp.log(p + eps)
    if full:
        ts = jnp.where(t > 1, t, 2.0)  # keeps log(0) off the unused branch's gradient
        loss = loss + jnp.where(t > 1, ts * jnp.log(ts) - ts + 0.5 * jnp.log(2 * math.pi * ts), 0)
    return loss


def poisson_nll(
    predictions,
    targets,
    *,
    log_input=True,
    full=False,
    eps=1e-8,
    weights=None,
    where=None,
    reduction="none",
) -> Array:
    """Reference for :func:`jaxloss.poisson_nll` (PyTorch's formula)."""
    fn = "poisson_nll"
    log_input = _checks.static_bool(fn, "log_input", log_input)
    full = _checks.static_bool(fn, "full", full)
    eps = _checks.static_float(fn, "eps", eps, low=0.0)
    return _pair(
        fn,
        _poisson_nll,
        predictions,
        targets,
        (log_input, full, eps),
        safe=(0.0 if log_input else 1.0, 0.0),
        weights=weights,
        where=where,
        reduction=reduction,
    )


def _gaussian_nll(p, t, var, full, eps):
    # max(var, eps) in the value, identity in the gradient (PyTorch's no_grad clamp).
    v = var + jax.lax.stop_gradient(jnp.maximum(var, eps) - var)
    loss = 0.5 * (jnp.log(v) + (p - t) ** 2 / v)
    return loss + 0.5 * math.log(2 * math.pi) if full else loss


def gaussian_nll(
    predictions,
    targets,
    variance,
    *,
    full=False,
    eps=1e-6,
    weights=None,
    where=None,
    reduction="none",
) -> Array:
    """Reference for :func:`jaxloss.gaussian_nll`."""
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


def charbonnier(
    predictions, targets=None, *, eps=1e-3, weights=None, where=None, reduction="none"
) -> Array:
    """Reference for :func:`jaxloss.charbonnier`: ``sqrt(d**2 + eps**2) - eps``."""
    eps = _checks.static_float("charbonnier", "eps", eps, low=0.0)
    return _pair(
        "charbonnier",
        lambda p, t, e: jnp.sqrt((p - t) ** 2 + e**2) - e,
        predictions,
        targets,
        (eps,),
        weights=weights,
        where=where,
        reduction=reduction,
    )


def _tweedie(eta, y, power):
    mu = jnp.exp(eta)
    if power == 1.0:
        return 2 * (xlogy(y, y) - xlogy(y, mu) - y + mu)
    if power == 2.0:
        return 2 * (jnp.log(mu / y) + y / mu - 1)
    a, b = 1 - power, 2 - power
    return 2 * (y**b / (a * b) - y * mu**a / a + mu**b / b)


def tweedie(predictions, targets, *, power=1.5, weights=None, where=None, reduction="none"):
    """Reference for :func:`jaxloss.tweedie` (scikit-learn's unit deviance at ``exp(p)``)."""
    power = _checks.static_float("tweedie", "power", power, low=1.0)
    return _pair(
        "tweedie",
        _tweedie,
        predictions,
        targets,
        (power,),
        safe=(0.0, 1.0),
        weights=weights,
        where=where,
        reduction=reduction,
    )


def _general_robust(p, t, alpha, scale):
    z = ((p - t) / scale) ** 2
    if alpha == 2.0:
        return 0.5 * z
    if alpha == 0.0:
        return jnp.log(0.5 * z + 1)
    if alpha == -math.inf:
        return 1 - jnp.exp(-0.5 * z)
    b = abs(alpha - 2)
    return b / alpha * ((z / b + 1) ** (alpha / 2) - 1)


def general_robust(
    predictions,
    targets=None,
    *,
    alpha=1.0,
    scale=1.0,
    weights=None,
    where=None,
    reduction="none",
) -> Array:
    """Reference for :func:`jaxloss.general_robust` (Barron's formula as printed)."""
    fn = "general_robust"
    alpha = _checks.static_float(fn, "alpha", alpha, allow_inf=True)
    if alpha == math.inf:
        raise ValueError(f"{fn}: alpha must be finite or -inf, got inf")
    scale = _checks.static_float(fn, "scale", scale, low=0.0, low_open=True)
    return _pair(
        fn,
        _general_robust,
        predictions,
        targets,
        (alpha, scale),
        weights=weights,
        where=where,
        reduction=reduction,
    )
