"""Regression losses that are negative log-likelihoods or deviances: Poisson,
Gaussian with predicted variance, Tweedie.

Same structure as :mod:`jaxloss._regression`. Targets are data here (counts,
observations), so integer targets are accepted; the gradient with respect to
them is still provided, and kept finite at the domain's boundary.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from . import _checks, _reduce
from ._fusion import unshared

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


# --- poisson_nll


def _stirling(t):
    """t log t - t + ½ log(2πt) for t > 1, else 0 (finite at t = 0)."""
    # Select- and clamp-free, so that the forward stays one fused pass on CPU: max(t, 1)
    # keeps log(0) away, and with u = ceil(t - 1) = -floor(1 - t), an integer,
    # [t > 1] = min(u, 1) - min(u, 0).
    ts = jnp.maximum(t, 1)
    u = -jnp.floor(1 - t)
    above_one = jnp.minimum(u, 1) - jnp.minimum(u, 0)
    # (t + ½) log t - t + ½ log 2π: one log, and never log(t) beside log(2πt), which
    # jaxlib 0.10.2's CPU reduction fusion (YNNPACK) miscompiles into log(t) twice.
    return above_one * ((ts + 0.5) * jnp.log(ts) - ts + _HALF_LOG_2PI)


def _stirling_slope(t, one, two, half):
    """The Stirling term's derivative log t + 1/(2t) for t > 1, else 0 (constants passed in
    from the backward's barrier, see :mod:`jaxloss._fusion`)."""
    big = t > one
    ts = jnp.where(big, t, two)  # double where: no log(0) on the inactive branch
    return jnp.where(big, jnp.log(ts) + half / ts, 0)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4))
def _poisson_nll(p, t, log_input, full, eps):
    return _poisson_nll_fwd(p, t, log_input, full, eps)[0]


def _poisson_nll_fwd(p, t, log_input, full, eps):
    if log_input:
        loss = jnp.exp(p) - t * p
    else:
        loss = p - t * jnp.log(p + eps)
    if full:
        loss = loss + _stirling(t)
    return loss, (p, t)


def _poisson_nll_bwd(log_input, full, eps, res, g):
    (p, t), (eps, one, two, half) = unshared(res, eps, 1, 2, 0.5)
    if log_input:
        gp, gt = g * (jnp.exp(p) - t), -g * p
    else:
        gp, gt = g * (one - t / (p + eps)), -g * jnp.log(p + eps)
    if full:
        gt = gt + g * _stirling_slope(t, one, two, half)
    return gp, gt


_poisson_nll.defvjp(_poisson_nll_fwd, _poisson_nll_bwd)


def _poisson_nll_call(
    core, predictions, targets, *, log_input, full, eps, weights, where, reduction
):
    """Argument handling shared by the loss and its reference."""
    fn = "poisson_nll"
    log_input = _checks.static_bool(fn, "log_input", log_input)
    full = _checks.static_bool(fn, "full", full)
    eps = _checks.static_float(fn, "eps", eps, low=0.0)
    safe = (0.0 if log_input else 1.0, 0.0)
    return _reduce.apply_pair(
        fn,
        core,
        predictions,
        targets,
        (log_input, full, eps),
        weights=weights,
        where=where,
        reduction=reduction,
        safe=safe,
    )


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
    return _poisson_nll_call(
        _poisson_nll,
        predictions,
        targets,
        log_input=log_input,
        full=full,
        eps=eps,
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
    (p, t, var), (eps, half) = unshared(res, eps, 0.5)
    v = jnp.maximum(var, eps)
    z = (p - t) / v
    gp = g * z
    # The clamp at eps is passed straight through, as in PyTorch.
    gv = half * g * (1 / v - jnp.square(z))
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


def _gaussian_nll_call(
    core, predictions, targets, variance, *, full, eps, weights, where, reduction
):
    """Argument handling shared by the loss and its reference."""
    fn = "gaussian_nll"
    full = _checks.static_bool(fn, "full", full)
    eps = _checks.static_float(fn, "eps", eps, low=0.0, low_open=True)
    p, t = _checks.predictions_targets(fn, predictions, targets)
    var = _variance_shape(fn, _checks.float_array(fn, "variance", variance), p.shape)
    return _reduce.apply(
        fn,
        core,
        (p, t, var),
        (full, eps),
        weights=weights,
        where=where,
        reduction=reduction,
        safe=(0.0, 0.0, 1.0),
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
    return _gaussian_nll_call(
        _gaussian_nll,
        predictions,
        targets,
        variance,
        full=full,
        eps=eps,
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
        # y log y with 0 log 0 = 0; max(y, tiny) rather than a select keeps it fusable.
        ylogy = y * jnp.log(jnp.maximum(y, jnp.finfo(y.dtype).tiny))
        dev = ylogy - y * eta - y + jnp.exp(eta)
    elif power == 2.0:
        dev = eta - jnp.log(y) + y * jnp.exp(-eta) - 1
    elif power == 1.5:
        # The default power in closed form: one exp and a sqrt, μ^½ = e, μ^-½ = 1/e.
        e = jnp.exp(0.5 * eta)
        dev = 2 * y / e + 2 * e - 4 * jnp.sqrt(y)
    else:
        a, b = 1 - power, 2 - power
        # y^b as exp(b log y): XLA's general pow is ~8x slower on CPU; exp(b · -inf) gives
        # the right 0 (b > 0) or inf (b < 0) at y = 0.
        y_b = jnp.exp(b * jnp.log(y))
        dev = y_b / (a * b) - y * jnp.exp(a * eta) / a + jnp.exp(b * eta) / b
    return 2 * dev, (eta, y)


def _tweedie_bwd(power, res, g):
    (eta, y), (a, two) = unshared(res, 1 - power, 2)
    # 2 μ^(1-p) (μ - y), with one exp at p = 1, 1.5 and 2.
    if power == 1.0:
        mu_a = jnp.ones_like(eta)
        g_eta = two * g * (jnp.exp(eta) - y)
    elif power == 2.0:
        mu_a = jnp.exp(-eta)
        g_eta = two * g * (1 - y * mu_a)
    elif power == 1.5:
        e = jnp.exp(-a * eta)  # μ^½, the one exp
        mu_a = 1 / e
        g_eta = two * g * (e - y * mu_a)
    else:
        mu_a = jnp.exp(a * eta)
        g_eta = two * g * mu_a * (jnp.exp(eta) - y)
    # The target-only term's derivative is infinite at y = 0 and is taken as 0 there.
    if power == 1.0:
        g_y = two * g * (_positive_part(y, jnp.log) - eta)
    else:
        y_a = _positive_part(
            y, jax.lax.rsqrt if power == 1.5 else lambda v: jnp.exp(a * jnp.log(v))
        )
        g_y = two * g * (y_a - mu_a) / a
    return g_eta, g_y


_tweedie.defvjp(_tweedie_fwd, _tweedie_bwd)


def _tweedie_call(core, predictions, targets, *, power, weights, where, reduction):
    """Argument handling shared by the loss and its reference."""
    power = _checks.static_float("tweedie", "power", power, low=1.0)
    return _reduce.apply_pair(
        "tweedie",
        core,
        predictions,
        targets,
        (power,),
        weights=weights,
        where=where,
        reduction=reduction,
        safe=(0.0, 1.0),
    )


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
    return _tweedie_call(
        _tweedie,
        predictions,
        targets,
        power=power,
        weights=weights,
        where=where,
        reduction=reduction,
    )
