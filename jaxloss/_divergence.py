r"""Divergences between distributions: Kullback–Leibler (with probability or log-probability
targets, and generalised to unnormalised measures), Jensen–Shannon, and knowledge
distillation.

Every loss here reduces a class ``axis`` (an int, a sequence of ints, or ``None`` for
all axes) and returns one value per example under ``reduction="none"``; ``weights``
and ``where`` act on those per-example values. The rules save only their inputs
(and, for ``distillation``, three per-example numbers), and recompute the rest: a
fresh [N, C] residual costs more on CPU than an ``exp`` or a ``log``
(see :mod:`jaxloss._fusion`). ``g`` is the cotangent of the per-example losses and
``gx`` the same broadcast back along the class axes.

The convention at zero probabilities, shared by every loss here: an entry whose
target probability is exactly 0 contributes exactly 0 to the value (``0 log 0 = 0``,
also when the prediction there is 0, i.e. a ``-inf`` log-prediction) and its term
:math:`t \log(t / p)` is treated as the constant 0, so both of its gradients are
finite. Zero targets are therefore a safe way to leave classes out.

The forward passes contain no select (``jnp.where``): on CPU, XLA fuses the
elementwise terms into the class-axis reduction only when they are plain
arithmetic, ``exp``/``log`` and ``min``/``max`` (a select makes it write every
term to a fresh [N, C] buffer first, 3-4x slower). Zero probabilities are handled
with clamps instead (:func:`_times`); the backward passes, which write an [N, C]
gradient anyway, use ``jnp.where``.
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

__all__ = [
    "distillation",
    "generalized_kl_divergence",
    "js_divergence",
    "kl_divergence",
    "kl_divergence_with_log_targets",
]

_LOG2 = math.log(2.0)

Axis = int | Sequence[int] | None


def _pair_call(
    fn, core, first, second, hyper, *, names, axis, weights, where, reduction, safe
) -> jax.Array:
    """Argument handling shared by every loss here and its reference.

    Both arrays must be floating and of one shape; ``core(a, b, axes, *hyper)``
    computes the per-example losses.
    """
    a = _checks.float_array(fn, names[0], first)
    b = _checks.float_array(fn, names[1], second)
    _checks.same_shape(fn, names[0], a, names[1], b)
    axes = _checks.axes(fn, axis, a.ndim)
    for ax in axes:
        _checks.nonempty_axis(fn, names[0], a, ax, "class")
    return _reduce.apply(
        fn, core, (a, b), (axes, *hyper), safe=safe, weights=weights, where=where,
        reduction=reduction, axes=axes,
    )  # fmt: skip


# --- shared select-free arithmetic


def _times(t, x):
    """``t * x`` for ``t >= 0``, exactly 0 where ``t = 0`` even if ``x = +inf``, select-free.

    ``x`` is capped at ``big + sign(t) · big`` (``big`` the dtype's largest finite
    number): that is ``big`` at ``t = 0``, so ``0 * x`` becomes ``0 * big = 0``, and
    ``big + big = +inf`` at every ``t > 0``, leaving ``t * x`` exact, ``inf`` and NaN
    included. Two cheap operations, no division: this runs inside the class-axis
    reduction of every forward pass. The cap has no tangent, so forward-mode
    derivatives of the value see no ``0 * inf``.
    """
    big = jnp.finfo(t.dtype).max
    cap = jax.lax.stop_gradient(jnp.sign(t) * big + big)
    return t * jnp.minimum(x, cap)


def _tiny(x):
    return jnp.finfo(x.dtype).tiny


def _lowest(x):
    return jnp.finfo(x.dtype).min


# --- kl_divergence


def _kl_terms(lp, t):
    """t (log t - log p): exactly 0 where t = 0 (even at log p = -inf), inf where t > 0
    and log p = -inf, NaN for t < 0."""
    return _times(t, jnp.log(t + _tiny(t)) - lp)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _kl_divergence(lp, t, axes):
    return _kl_divergence_fwd(lp, t, axes)[0]


def _kl_divergence_fwd(lp, t, axes):
    return jnp.sum(_kl_terms(lp, t), axis=axes), (lp, t)


def _kl_divergence_bwd(axes, res, g):
    (lp, t), (one,) = unshared(res, 1)
    gx = jnp.expand_dims(g, axes)
    # d/dt of t log(t/p) is log(t/p) + 1, which tends to -inf at t = 0: take 0 there.
    gt = jnp.where(t == 0, 0, gx * (jnp.log(t) - lp + one))
    return -gx * t, gt


_kl_divergence.defvjp(_kl_divergence_fwd, _kl_divergence_bwd)


def _kl_divergence_call(core, log_predictions, targets, *, axis, weights, where, reduction):
    """Argument handling shared by the loss and its reference."""
    return _pair_call(
        "kl_divergence", core, log_predictions, targets, (),
        names=("log_predictions", "targets"), axis=axis, weights=weights, where=where,
        reduction=reduction, safe=(0.0, 0.0),
    )  # fmt: skip


def kl_divergence(
    log_predictions: ArrayLike,
    targets: ArrayLike,
    *,
    axis: Axis = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Kullback–Leibler divergence KL(targets ‖ predictions), predictions given as logs.

    optax's ``kl_divergence`` (same arguments, same order) and PyTorch's ``kl_div``
    (``log_target=False``); Keras's ``KLDivergence`` takes probabilities for both.
    With :math:`t` the target probabilities and :math:`\log p` the predicted
    log-probabilities, summed over ``axis``:

    .. math::

        \ell = \sum_c t_c\,(\log t_c - \log p_c), \qquad
        \frac{\partial \ell}{\partial \log p_c} = -t_c, \qquad
        \frac{\partial \ell}{\partial t_c} = \log t_c - \log p_c + 1 \quad (t_c > 0).

    At :math:`t_c = 0` the term is 0 (``0 log 0 = 0``), also when :math:`\log p_c =
    -\infty`, and its target gradient is taken as 0: the true one-sided derivative
    :math:`\log(t_c/p_c) + 1` tends to :math:`-\infty` there, so no finite value is a
    limit, and 0 makes a zero-target class inert (it adds exactly 0 to the value
    and to both gradients, whether ``log_predictions`` there is finite or ``-inf``;
    a NaN still propagates). optax and
    PyTorch give NaN target gradients at zero targets, and a NaN value at
    ``t = 0, log p = -inf``. A positive target where ``log_predictions`` is
    ``-inf`` gives ``inf``; negative targets give NaN; nothing is clamped. Neither
    input needs to be normalised (see :func:`generalized_kl_divergence` for
    unnormalised measures).

    Args:
      log_predictions: predicted log-probabilities, any float dtype, e.g.
        ``jax.nn.log_softmax(logits)``.
      targets: target probabilities of the same shape (non-negative).
      axis: the class axis or axes summed over, or ``None`` for all.
      weights: optional weights broadcastable to the per-example shape.
      where: optional boolean mask broadcastable to the per-example shape (it
        excludes examples; to leave classes out, give them zero targets).
      reduction: ``"none"`` (per example), ``"mean"`` or ``"sum"``.
        ``"mean"`` is PyTorch's ``reduction="batchmean"`` for [batch, classes]
        inputs; PyTorch's ``"mean"`` is that divided by the number of classes.

    Returns:
      The per-example divergences (``"none"``) or a scalar, in the dtype of
      ``log_predictions``.

    Raises:
      TypeError: non-floating ``log_predictions`` or ``targets``.
      ValueError: mismatched shapes, an out-of-range ``axis``, or bad ``weights``,
        ``where`` or ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> log_p = jnp.log(jnp.array([[0.25, 0.25, 0.5], [0.5, 0.5, 0.0]]))
      >>> t = jnp.array([[0.5, 0.0, 0.5], [0.5, 0.5, 0.0]])
      >>> jaxloss.kl_divergence(log_p, t)
      Array([0.3465736, 0.       ], dtype=float32)

    References:
      Kullback and Leibler, "On Information and Sufficiency", Ann. Math. Statist. 1951.
    """
    return _kl_divergence_call(
        _kl_divergence, log_predictions, targets, axis=axis, weights=weights, where=where,
        reduction=reduction,
    )  # fmt: skip


# --- kl_divergence_with_log_targets


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _kl_divergence_with_log_targets(lp, lt, axes):
    return _kl_divergence_with_log_targets_fwd(lp, lt, axes)[0]


def _kl_divergence_with_log_targets_fwd(lp, lt, axes):
    t = jnp.exp(lt)
    # Zero target probabilities (log t = -inf, or exp underflow) add exactly 0; the
    # clamp keeps -inf - (-inf) out of the difference.
    terms = _times(t, jnp.maximum(lt, _lowest(lt)) - lp)
    return jnp.sum(terms, axis=axes), (lp, lt)


def _kl_divergence_with_log_targets_bwd(axes, res, g):
    (lp, lt), (one,) = unshared(res, 1)
    gx = jnp.expand_dims(g, axes)
    gt = gx * jnp.exp(lt)
    # t (log t - log p + 1) -> 0 as log t -> -inf: the limit, exactly 0 where t = 0.
    return -gt, jnp.where(gt == 0, 0, gt * (lt - lp + one))


_kl_divergence_with_log_targets.defvjp(
    _kl_divergence_with_log_targets_fwd, _kl_divergence_with_log_targets_bwd
)


def _kl_divergence_with_log_targets_call(
    core, log_predictions, log_targets, *, axis, weights, where, reduction
):
    """Argument handling shared by the loss and its reference."""
    return _pair_call(
        "kl_divergence_with_log_targets", core, log_predictions, log_targets, (),
        names=("log_predictions", "log_targets"), axis=axis, weights=weights, where=where,
        reduction=reduction, safe=(0.0, 0.0),
    )  # fmt: skip


def kl_divergence_with_log_targets(
    log_predictions: ArrayLike,
    log_targets: ArrayLike,
    *,
    axis: Axis = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Kullback–Leibler divergence KL(targets ‖ predictions), both given as logs.

    optax's ``kl_divergence_with_log_targets`` and PyTorch's ``kl_div(...,
    log_target=True)``. Passing log-targets (e.g. a teacher's ``log_softmax``)
    avoids the underflow of explicit probabilities. Summed over ``axis``, with
    :math:`t_c = e^{\log t_c}`:

    .. math::

        \ell = \sum_c t_c\,(\log t_c - \log p_c), \qquad
        \frac{\partial \ell}{\partial \log p_c} = -t_c, \qquad
        \frac{\partial \ell}{\partial \log t_c} = t_c\,(\log t_c - \log p_c + 1).

    Entries whose target probability :math:`e^{\log t_c}` is 0 (``log_targets =
    -inf``, or an exponent that underflows) add exactly 0 and get gradient 0 with
    respect to both inputs, also at ``log_predictions = -inf``: for the
    log-target this is the limit of :math:`t_c(\log t_c - \log p_c + 1)` as
    :math:`\log t_c \to -\infty`. optax and PyTorch give NaN there.

    Args:
      log_predictions: predicted log-probabilities, any float dtype.
      log_targets: target log-probabilities of the same shape.
      axis: the class axis or axes summed over, or ``None`` for all.
      weights: optional weights broadcastable to the per-example shape.
      where: optional boolean mask broadcastable to the per-example shape.
      reduction: ``"none"`` (per example), ``"mean"`` or ``"sum"``.

    Returns:
      The per-example divergences (``"none"``) or a scalar, in the dtype of
      ``log_predictions``.

    Raises:
      TypeError: non-floating ``log_predictions`` or ``log_targets``.
      ValueError: mismatched shapes, an out-of-range ``axis``, or bad ``weights``,
        ``where`` or ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> log_p = jnp.log(jnp.array([0.25, 0.25, 0.5]))
      >>> log_t = jnp.array([jnp.log(0.5), -jnp.inf, jnp.log(0.5)])
      >>> jaxloss.kl_divergence_with_log_targets(log_p, log_t)
      Array(0.3465736, dtype=float32)

    References:
      Kullback and Leibler, "On Information and Sufficiency", Ann. Math. Statist. 1951.
    """
    return _kl_divergence_with_log_targets_call(
        _kl_divergence_with_log_targets, log_predictions, log_targets, axis=axis,
        weights=weights, where=where, reduction=reduction,
    )  # fmt: skip


# --- generalized_kl_divergence


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _generalized_kl_divergence(lp, t, axes):
    return _generalized_kl_divergence_fwd(lp, t, axes)[0]


def _generalized_kl_divergence_fwd(lp, t, axes):
    return jnp.sum(_kl_terms(lp, t) - t + jnp.exp(lp), axis=axes), (lp, t)


def _generalized_kl_divergence_bwd(axes, res, g):
    (lp, t), (minus_one,) = unshared(res, -1)
    gx = jnp.expand_dims(g, axes)
    # d/dt = log(t/p), with t log(t/p)'s derivative taken as 0 at t = 0 (as in
    # kl_divergence), which leaves the -1 of the linear term.
    gt = gx * jnp.where(t == 0, minus_one, jnp.log(t) - lp)
    return gx * (jnp.exp(lp) - t), gt


_generalized_kl_divergence.defvjp(_generalized_kl_divergence_fwd, _generalized_kl_divergence_bwd)


def _generalized_kl_divergence_call(
    core, log_predictions, targets, *, axis, weights, where, reduction
):
    """Argument handling shared by the loss and its reference."""
    # Excluded entries become t = 1, log p = 0: a zero term with finite gradients.
    return _pair_call(
        "generalized_kl_divergence", core, log_predictions, targets, (),
        names=("log_predictions", "targets"), axis=axis, weights=weights, where=where,
        reduction=reduction, safe=(0.0, 1.0),
    )  # fmt: skip


def generalized_kl_divergence(
    log_predictions: ArrayLike,
    targets: ArrayLike,
    *,
    axis: Axis = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Generalised KL divergence between unnormalised non-negative measures.

    optax's ``generalized_kl_divergence`` (formerly ``convex_kl_divergence``): the
    Bregman divergence of :math:`x \log x - x`, zero exactly when the measures are
    equal even if they do not sum to 1 (the I-divergence of non-negative matrix
    factorisation). It is :func:`kl_divergence` plus :math:`\sum_c (p_c - t_c)`,
    with the predictions given as logs:

    .. math::

        \ell = \sum_c \bigl(t_c \log t_c - t_c \log p_c - t_c + p_c\bigr), \qquad
        \frac{\partial \ell}{\partial \log p_c} = p_c - t_c, \qquad
        \frac{\partial \ell}{\partial t_c} = \log t_c - \log p_c \quad (t_c > 0).

    At :math:`t_c = 0` the term is :math:`p_c` (also 0 at ``log p = -inf``), and
    the target gradient is :math:`-1`: the :math:`t \log(t/p)` part is treated as
    the constant 0, as in :func:`kl_divergence` (its true derivative tends to
    :math:`-\infty`), leaving the derivative of :math:`-t_c`. optax gives NaN there.

    Args:
      log_predictions: log of the predicted measure, any float dtype.
      targets: the target measure, non-negative, of the same shape.
      axis: the axis or axes summed over, or ``None`` for all.
      weights: optional weights broadcastable to the per-example shape.
      where: optional boolean mask broadcastable to the per-example shape.
      reduction: ``"none"`` (per example), ``"mean"`` or ``"sum"``.

    Returns:
      The per-example divergences (``"none"``) or a scalar, in the dtype of
      ``log_predictions``.

    Raises:
      TypeError: non-floating ``log_predictions`` or ``targets``.
      ValueError: mismatched shapes, an out-of-range ``axis``, or bad ``weights``,
        ``where`` or ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> t = jnp.array([2.0, 0.0, 1.0])
      >>> jaxloss.generalized_kl_divergence(jnp.log(t), t)
      Array(0., dtype=float32)
      >>> jaxloss.generalized_kl_divergence(jnp.log(jnp.array([1.0, 1.0, 1.0])), t)
      Array(1.3862944, dtype=float32)

    References:
      Boyd and Vandenberghe, "Convex Optimization", 2004, p. 90. Lee and Seung,
      "Algorithms for Non-negative Matrix Factorization", NeurIPS 2000.
    """
    return _generalized_kl_divergence_call(
        _generalized_kl_divergence, log_predictions, targets, axis=axis, weights=weights,
        where=where, reduction=reduction,
    )  # fmt: skip


# --- js_divergence


def _js_halves(a, b, log2, *, select=False):
    """p (log p - log m) and q (log q - log m), m = (p + q) / 2; exactly 0 where p or q is 0.

    ``select`` (the backward pass) clamps ``log(p + q)`` with a select rather than a
    ``maximum``: at ``p = q = 0`` the log's derivative is ``0/0``, which ``maximum``'s
    derivative multiplies by 0 (NaN in ``jax.hessian``) and a select drops.
    """
    p, q = jnp.exp(a), jnp.exp(b)
    low = _lowest(a)
    # log m from p + q, not (p + q) / 2, which could underflow to 0 while p > 0. The
    # clamps turn -inf into the lowest finite number, so that p = 0 multiplies a
    # finite difference (both clamped when p = q = 0: a difference of 0).
    pq = p + q
    if select:
        lm = jnp.where(pq == 0, low, jnp.log(jnp.where(pq == 0, 1, pq))) - log2
    else:
        lm = jnp.maximum(jnp.log(pq), low) - log2
    return p * (jnp.maximum(a, low) - lm), q * (jnp.maximum(b, low) - lm)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _js_divergence(a, b, axes):
    return _js_divergence_fwd(a, b, axes)[0]


def _js_divergence_fwd(a, b, axes):
    hp, hq = _js_halves(a, b, _LOG2)
    return 0.5 * jnp.sum(hp + hq, axis=axes), (a, b)


def _js_divergence_bwd(axes, res, g):
    (a, b), (log2, half) = unshared(res, _LOG2, 0.5)
    # dJS/d(log p_c) = ½ p_c (log p_c - log m_c): the forward's own term, halved
    # (the derivatives of log m cancel because p + q = 2m).
    hp, hq = _js_halves(a, b, log2, select=True)
    gx = half * jnp.expand_dims(g, axes)
    return gx * hp, gx * hq


_js_divergence.defvjp(_js_divergence_fwd, _js_divergence_bwd)


def _js_divergence_call(core, log_predictions, log_targets, *, axis, weights, where, reduction):
    """Argument handling shared by the loss and its reference."""
    return _pair_call(
        "js_divergence", core, log_predictions, log_targets, (),
        names=("log_predictions", "log_targets"), axis=axis, weights=weights, where=where,
        reduction=reduction, safe=(0.0, 0.0),
    )  # fmt: skip


def js_divergence(
    log_predictions: ArrayLike,
    log_targets: ArrayLike,
    *,
    axis: Axis = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Jensen–Shannon divergence between two distributions given as log-probabilities.

    The symmetrised, bounded KL divergence: the mean KL divergence of each
    distribution from their mixture :math:`m = \tfrac12(p + q)`. Both inputs are
    log-probabilities (like :func:`kl_divergence_with_log_targets`), the result is
    in nats, between 0 and :math:`\log 2` for normalised inputs (divide by
    ``math.log(2)`` for bits); its square root is a metric. It is finite even
    where one distribution is 0 and the other is not, unlike the KL divergence.
    Neither PyTorch nor optax nor Keras has it; SciPy's ``jensenshannon`` returns
    its square root from probabilities. With :math:`p = e^{a}`, :math:`q = e^{b}`:

    .. math::

        \ell = \tfrac12 \sum_c \Bigl(p_c \log\frac{p_c}{m_c} + q_c \log\frac{q_c}{m_c}\Bigr),
        \qquad
        \frac{\partial \ell}{\partial a_c} = \tfrac12\,p_c \log\frac{p_c}{m_c}, \qquad
        \frac{\partial \ell}{\partial b_c} = \tfrac12\,q_c \log\frac{q_c}{m_c}.

    The loss is symmetric in its two arguments. A class where a probability is 0
    (a ``-inf`` log-probability) contributes :math:`\tfrac12 q_c \log 2` (or 0 if
    both are 0), and the gradient with respect to that ``-inf`` input is 0, the
    limit of :math:`\tfrac12 p_c \log(p_c/m_c)` as :math:`p_c \to 0`.

    Args:
      log_predictions: log-probabilities :math:`a`, any float dtype.
      log_targets: log-probabilities :math:`b` of the same shape.
      axis: the class axis or axes summed over, or ``None`` for all.
      weights: optional weights broadcastable to the per-example shape.
      where: optional boolean mask broadcastable to the per-example shape.
      reduction: ``"none"`` (per example), ``"mean"`` or ``"sum"``.

    Returns:
      The per-example divergences (``"none"``) or a scalar, in the dtype of
      ``log_predictions``.

    Raises:
      TypeError: non-floating ``log_predictions`` or ``log_targets``.
      ValueError: mismatched shapes, an out-of-range ``axis``, or bad ``weights``,
        ``where`` or ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> a = jnp.array([[0.0, -jnp.inf], [jnp.log(0.5), jnp.log(0.5)]])
      >>> b = jnp.array([[-jnp.inf, 0.0], [jnp.log(0.5), jnp.log(0.5)]])
      >>> jaxloss.js_divergence(a, b)  # disjoint supports: log 2
      Array([0.6931472, 0.       ], dtype=float32)

    References:
      Lin, "Divergence Measures Based on the Shannon Entropy", IEEE Trans. Inf.
      Theory 1991. Endres and Schindelin, "A New Metric for Probability
      Distributions", IEEE Trans. Inf. Theory 2003.
    """
    return _js_divergence_call(
        _js_divergence, log_predictions, log_targets, axis=axis, weights=weights, where=where,
        reduction=reduction,
    )  # fmt: skip


# --- distillation


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _distillation(s, t, axes, temperature):
    return _distillation_fwd(s, t, axes, temperature)[0]


def _distillation_fwd(s, t, axes, temperature):
    inv_t = 1 / temperature
    u, v = s * inv_t, t * inv_t  # student and teacher log-probabilities, up to constants
    mu = jnp.max(u, axis=axes, keepdims=True)
    lse_u = mu + jnp.log(jnp.sum(jnp.exp(u - mu), axis=axes, keepdims=True))
    mv = jnp.max(v, axis=axes, keepdims=True)
    ev = jnp.exp(v - mv)
    zv = jnp.sum(ev, axis=axes, keepdims=True)
    lse_v = mv + jnp.log(zv)
    # KL = Σ p (v - u) - lse_v + lse_u, with p = ev / zv; classes where the teacher
    # has probability 0 add 0 (also where the student's logit is -inf), and inf
    # where only the student's is 0.
    terms = _times(ev, jnp.maximum(v, _lowest(v)) - u)
    cross = jnp.sum(terms, axis=axes, keepdims=True) / zv
    kl = cross - lse_v + lse_u
    loss = temperature * temperature * jnp.squeeze(kl, axes)
    return loss, (s, t, lse_u, lse_v, kl)


def _distillation_bwd(axes, temperature, res, g):
    (s, t, lse_u, lse_v, kl), (inv_t, temp) = unshared(res, 1 / temperature, temperature)
    gx = temp * jnp.expand_dims(g, axes)
    log_q = s * inv_t - lse_u
    log_p = t * inv_t - lse_v
    p = jnp.exp(log_p)
    gs = gx * (jnp.exp(log_q) - p)
    # T p (log p - log q - KL): 0 where the teacher's probability is 0.
    gt = jnp.where(p == 0, 0, gx * p * (log_p - log_q - kl))
    return gs, gt


_distillation.defvjp(_distillation_fwd, _distillation_bwd)


def _distillation_call(
    core, student_logits, teacher_logits, *, temperature, axis, weights, where, reduction
):
    """Argument handling shared by the loss and its reference."""
    fn = "distillation"
    temperature = _checks.static_float(fn, "temperature", temperature, low=0.0, low_open=True)
    return _pair_call(
        fn, core, student_logits, teacher_logits, (temperature,),
        names=("student_logits", "teacher_logits"), axis=axis, weights=weights, where=where,
        reduction=reduction, safe=(0.0, 0.0),
    )  # fmt: skip


def distillation(
    student_logits: ArrayLike,
    teacher_logits: ArrayLike,
    *,
    temperature: float = 1.0,
    axis: Axis = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Knowledge distillation: T² · KL(softmax(teacher / T) ‖ softmax(student / T)).

    Hinton et al.'s soft-target loss. Both inputs are logits; the temperature
    :math:`T` softens both distributions, and the factor :math:`T^2` keeps the
    gradient's scale independent of :math:`T`, so the loss can be added to the
    hard-label cross-entropy with a fixed weight. It equals PyTorch's
    ``F.kl_div(F.log_softmax(s / T), F.log_softmax(t / T), log_target=True) * T**2``
    per example. With :math:`p = \operatorname{softmax}(t/T)` (teacher) and
    :math:`q = \operatorname{softmax}(s/T)` (student) over ``axis``:

    .. math::

        \ell = T^2 \sum_c p_c (\log p_c - \log q_c), \qquad
        \frac{\partial \ell}{\partial s_c} = T\,(q_c - p_c), \qquad
        \frac{\partial \ell}{\partial t_c} = T\,p_c\Bigl(\log\frac{p_c}{q_c}
        - \sum_k p_k \log\frac{p_k}{q_k}\Bigr).

    The gradient flows to both arguments. To train only the student, stop it at
    the teacher: ``distillation(s, jax.lax.stop_gradient(t))`` (the teacher's
    gradient is then never computed inside ``jit``). ``-inf`` logits mask classes:
    a class where the teacher's probability is 0 adds 0 and gets gradient 0 with
    respect to the teacher; if the student's is 0 where the teacher's is not, the
    loss is ``inf``. A row of all ``-inf`` logits is NaN: exclude it with ``where``.

    Args:
      student_logits: the student's logits :math:`s`, any float dtype.
      teacher_logits: the teacher's logits :math:`t`, of the same shape.
      temperature: :math:`T > 0`, default 1.
      axis: the class axis or axes of the softmax, or ``None`` for all.
      weights: optional weights broadcastable to the per-example shape.
      where: optional boolean mask broadcastable to the per-example shape.
      reduction: ``"none"`` (per example), ``"mean"`` or ``"sum"``.

    Returns:
      The per-example losses (``"none"``) or a scalar, in the dtype of
      ``student_logits``.

    Raises:
      TypeError: non-floating logits, or a non-number ``temperature``.
      ValueError: ``temperature <= 0``, mismatched shapes, an out-of-range
        ``axis``, or bad ``weights``, ``where`` or ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> s = jnp.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
      >>> jaxloss.distillation(s, jnp.zeros((2, 3)), temperature=2.0)
      Array([0.32662964, 0.        ], dtype=float32)

    References:
      Hinton, Vinyals and Dean, "Distilling the Knowledge in a Neural Network",
      NIPS Deep Learning Workshop 2014.
    """
    return _distillation_call(
        _distillation, student_logits, teacher_logits, temperature=temperature, axis=axis,
        weights=weights, where=where, reduction=reduction,
    )  # fmt: skip
