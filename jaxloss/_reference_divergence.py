"""Plain-jnp references of the divergence family: divergences between distributions.

Textbook formulas, differentiated by autodiff only (forward mode works). At zero
probabilities they give what autodiff gives (NaN gradients with respect to zero
targets, NaN values at ``0 * log 0``); the public losses document the finite
convention they take there instead.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from . import _divergence

__all__ = [
    "distillation",
    "generalized_kl_divergence",
    "js_divergence",
    "kl_divergence",
    "kl_divergence_with_log_targets",
]


def _kl_divergence(lp, t, axes):
    return jnp.sum(t * (jnp.log(t) - lp), axis=axes)


def kl_divergence(log_predictions, targets, *, axis=-1, weights=None, where=None,
                  reduction="none"):  # fmt: skip
    """Reference for :func:`jaxloss.kl_divergence`: ``sum(t * (log t - log p))``."""
    return _divergence._kl_divergence_call(
        _kl_divergence, log_predictions, targets, axis=axis, weights=weights, where=where,
        reduction=reduction,
    )  # fmt: skip


def _kl_divergence_with_log_targets(lp, lt, axes):
    return jnp.sum(jnp.exp(lt) * (lt - lp), axis=axes)


def kl_divergence_with_log_targets(log_predictions, log_targets, *, axis=-1, weights=None,
                                   where=None, reduction="none"):  # fmt: skip
    """Reference for :func:`jaxloss.kl_divergence_with_log_targets`: ``sum(e^lt (lt - lp))``."""
    return _divergence._kl_divergence_with_log_targets_call(
        _kl_divergence_with_log_targets, log_predictions, log_targets, axis=axis,
        weights=weights, where=where, reduction=reduction,
    )  # fmt: skip


def _generalized_kl_divergence(lp, t, axes):
    return jnp.sum(t * jnp.log(t) - t * lp - t + jnp.exp(lp), axis=axes)


def generalized_kl_divergence(log_predictions, targets, *, axis=-1, weights=None, where=None,
                              reduction="none"):  # fmt: skip
    """Reference for :func:`jaxloss.generalized_kl_divergence`: ``sum(t log(t/p) - t + p)``."""
    return _divergence._generalized_kl_divergence_call(
        _generalized_kl_divergence, log_predictions, targets, axis=axis, weights=weights,
        where=where, reduction=reduction,
    )  # fmt: skip


def _js_divergence(a, b, axes):
    p, q = jnp.exp(a), jnp.exp(b)
    log_m = jnp.log(0.5 * (p + q))
    return 0.5 * jnp.sum(p * (a - log_m), axis=axes) + 0.5 * jnp.sum(q * (b - log_m), axis=axes)


def js_divergence(log_predictions, log_targets, *, axis=-1, weights=None, where=None,
                  reduction="none"):  # fmt: skip
    """Reference for :func:`jaxloss.js_divergence`: ``½ KL(p ‖ m) + ½ KL(q ‖ m)``."""
    return _divergence._js_divergence_call(
        _js_divergence, log_predictions, log_targets, axis=axis, weights=weights, where=where,
        reduction=reduction,
    )  # fmt: skip


def _distillation(s, t, axes, temperature):
    log_q = jax.nn.log_softmax(s / temperature, axis=axes)
    log_p = jax.nn.log_softmax(t / temperature, axis=axes)
    return temperature**2 * jnp.sum(jnp.exp(log_p) * (log_p - log_q), axis=axes)


def distillation(student_logits, teacher_logits, *, temperature=1.0, axis=-1, weights=None,
                 where=None, reduction="none"):  # fmt: skip
    """Reference for :func:`jaxloss.distillation`: ``T² KL(softmax(t/T) ‖ softmax(s/T))``."""
    return _divergence._distillation_call(
        _distillation, student_logits, teacher_logits, temperature=temperature, axis=axis,
        weights=weights, where=where, reduction=reduction,
    )  # fmt: skip
