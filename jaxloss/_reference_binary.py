"""Plain-jnp references of the classification family:
binary and multi-label losses on probabilities, logits or margins.

Textbook formulas differentiated by autodiff alone. They share the public
losses' argument handling (``_binary._*_call``) and differ from the rules only at
the boundaries the rules document: autodiff of ``jnp.maximum`` gives half the
slope at a hinge's kink, ``0 · log σ(-inf)`` is NaN, and PyTorch's floored
denominator at ``p`` in {0, 1} is not what autodiff of the clamped logs gives.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.nn import log_sigmoid, sigmoid

from . import _binary

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

Array = jax.Array


def _binary_cross_entropy(p, y):
    return -(y * jnp.maximum(jnp.log(p), -100.0) + (1 - y) * jnp.maximum(jnp.log1p(-p), -100.0))


def binary_cross_entropy(
    probabilities, labels, *, weights=None, where=None, reduction="none"
) -> Array:
    """Reference for :func:`jaxloss.binary_cross_entropy` (PyTorch's clamped logs)."""
    return _binary._binary_cross_entropy_call(
        _binary_cross_entropy,
        probabilities,
        labels,
        weights=weights,
        where=where,
        reduction=reduction,
    )


def _sigmoid_bce(x, y, pw, smoothing):
    y = y * (1 - smoothing) + smoothing / 2
    pos = y if pw is None else pw * y
    return -(pos * log_sigmoid(x) + (1 - y) * log_sigmoid(-x))


def sigmoid_binary_cross_entropy(
    logits,
    labels,
    *,
    pos_weight=None,
    label_smoothing=0.0,
    weights=None,
    where=None,
    reduction="none",
) -> Array:
    """Reference for :func:`jaxloss.sigmoid_binary_cross_entropy` (optax's formula)."""
    return _binary._sigmoid_bce_call(
        _sigmoid_bce,
        logits,
        labels,
        pos_weight=pos_weight,
        label_smoothing=label_smoothing,
        weights=weights,
        where=where,
        reduction=reduction,
    )


def _sigmoid_focal(x, y, alpha, gamma):
    ce = -(y * log_sigmoid(x) + (1 - y) * log_sigmoid(-x))
    one_minus_p_t = y * sigmoid(-x) + (1 - y) * sigmoid(x)
    loss = one_minus_p_t**gamma * ce
    if alpha is None:
        return loss
    return (alpha * y + (1 - alpha) * (1 - y)) * loss


def sigmoid_focal(
    logits, labels, *, alpha=None, gamma=2.0, weights=None, where=None, reduction="none"
) -> Array:
    """Reference for :func:`jaxloss.sigmoid_focal` (Lin et al.'s formula)."""
    return _binary._sigmoid_focal_call(
        _sigmoid_focal,
        logits,
        labels,
        alpha=alpha,
        gamma=gamma,
        weights=weights,
        where=where,
        reduction=reduction,
    )


def hinge(predictor_outputs, targets, *, weights=None, where=None, reduction="none") -> Array:
    """Reference for :func:`jaxloss.hinge`: ``max(0, 1 - y s)``."""
    return _binary._margin_call(
        "hinge",
        lambda s, y: jnp.maximum(0, 1 - y * s),
        predictor_outputs,
        targets,
        weights=weights,
        where=where,
        reduction=reduction,
    )


def squared_hinge(
    predictor_outputs, targets, *, weights=None, where=None, reduction="none"
) -> Array:
    """Reference for :func:`jaxloss.squared_hinge`: ``max(0, 1 - y s) ** 2``."""
    return _binary._margin_call(
        "squared_hinge",
        lambda s, y: jnp.maximum(0, 1 - y * s) ** 2,
        predictor_outputs,
        targets,
        weights=weights,
        where=where,
        reduction=reduction,
    )


def perceptron(predictor_outputs, targets, *, weights=None, where=None, reduction="none") -> Array:
    """Reference for :func:`jaxloss.perceptron`: ``max(0, -y s)``."""
    return _binary._margin_call(
        "perceptron",
        lambda s, y: jnp.maximum(0, -y * s),
        predictor_outputs,
        targets,
        weights=weights,
        where=where,
        reduction=reduction,
    )


def soft_margin(predictions, targets, *, weights=None, where=None, reduction="none") -> Array:
    """Reference for :func:`jaxloss.soft_margin`: ``log(1 + exp(-y x))`` (PyTorch's formula)."""
    return _binary._soft_margin_call(
        lambda x, y: jnp.log1p(jnp.exp(-y * x)),
        predictions,
        targets,
        weights=weights,
        where=where,
        reduction=reduction,
    )


def _multilabel_soft_margin(x, y, w, axis):
    loss = -(y * log_sigmoid(x) + (1 - y) * log_sigmoid(-x))
    if w is not None:
        loss = loss * w
    return jnp.mean(loss, axis=axis)


def multilabel_soft_margin(
    logits,
    labels,
    *,
    class_weights=None,
    axis=-1,
    weights=None,
    where=None,
    reduction="none",
) -> Array:
    """Reference for :func:`jaxloss.multilabel_soft_margin` (PyTorch's formula)."""
    return _binary._multilabel_soft_margin_call(
        _multilabel_soft_margin,
        logits,
        labels,
        class_weights=class_weights,
        axis=axis,
        weights=weights,
        where=where,
        reduction=reduction,
    )
