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

from . import _likelihood, _regression, _robust
from ._reduce import apply_pair as _pair
from ._reference_binary import binary_cross_entropy as binary_cross_entropy
from ._reference_binary import hinge as hinge
from ._reference_binary import multilabel_soft_margin as multilabel_soft_margin
from ._reference_binary import perceptron as perceptron
from ._reference_binary import sigmoid_binary_cross_entropy as sigmoid_binary_cross_entropy
from ._reference_binary import sigmoid_focal as sigmoid_focal
from ._reference_binary import soft_margin as soft_margin
from ._reference_binary import squared_hinge as squared_hinge
from ._reference_classification import negative_log_likelihood as negative_log_likelihood
from ._reference_classification import softmax_cross_entropy as softmax_cross_entropy
from ._reference_classification import (
    softmax_cross_entropy_with_integer_labels as softmax_cross_entropy_with_integer_labels,
)
from ._reference_contrastive import additive_angular_margin as additive_angular_margin
from ._reference_contrastive import info_nce as info_nce
from ._reference_contrastive import ntxent as ntxent
from ._reference_contrastive import sigmoid_pairwise as sigmoid_pairwise
from ._reference_contrastive import supervised_contrastive as supervised_contrastive
from ._reference_detection import ciou as ciou
from ._reference_detection import diou as diou
from ._reference_detection import giou as giou
from ._reference_divergence import distillation as distillation
from ._reference_divergence import generalized_kl_divergence as generalized_kl_divergence
from ._reference_divergence import js_divergence as js_divergence
from ._reference_divergence import kl_divergence as kl_divergence
from ._reference_divergence import kl_divergence_with_log_targets as kl_divergence_with_log_targets
from ._reference_embedding import batch_all_triplet as batch_all_triplet
from ._reference_embedding import batch_hard_triplet as batch_hard_triplet
from ._reference_embedding import circle as circle
from ._reference_embedding import contrastive as contrastive
from ._reference_embedding import cosine_distance as cosine_distance
from ._reference_embedding import cosine_embedding as cosine_embedding
from ._reference_embedding import cosine_similarity as cosine_similarity
from ._reference_embedding import hinge_embedding as hinge_embedding
from ._reference_embedding import margin_ranking as margin_ranking
from ._reference_embedding import npairs as npairs
from ._reference_embedding import triplet_margin as triplet_margin
from ._reference_embedding import triplet_margin_with_distance as triplet_margin_with_distance
from ._reference_large_vocab import (
    linear_softmax_cross_entropy as linear_softmax_cross_entropy,
)
from ._reference_large_vocab import (
    vocab_parallel_softmax_cross_entropy as vocab_parallel_softmax_cross_entropy,
)
from ._reference_margin import multi_margin as multi_margin
from ._reference_margin import multiclass_hinge as multiclass_hinge
from ._reference_margin import multilabel_margin as multilabel_margin
from ._reference_margin import sparsemax as sparsemax
from ._reference_margin import zero_one as zero_one
from ._reference_ranking import listmle as listmle
from ._reference_ranking import pairwise_hinge as pairwise_hinge
from ._reference_ranking import pairwise_logistic as pairwise_logistic
from ._reference_ranking import ranking_softmax as ranking_softmax
from ._reference_reweighted import generalized_cross_entropy as generalized_cross_entropy
from ._reference_reweighted import poly_cross_entropy as poly_cross_entropy
from ._reference_reweighted import softmax_focal as softmax_focal
from ._reference_segmentation import dice as dice
from ._reference_segmentation import focal_tversky as focal_tversky
from ._reference_segmentation import generalized_dice as generalized_dice
from ._reference_segmentation import jaccard as jaccard
from ._reference_segmentation import lovasz_hinge as lovasz_hinge
from ._reference_segmentation import tversky as tversky
from ._reference_sequence import ctc as ctc

__all__ = [
    "absolute_error",
    "absolute_percentage_error",
    "additive_angular_margin",
    "batch_all_triplet",
    "batch_hard_triplet",
    "binary_cross_entropy",
    "charbonnier",
    "ciou",
    "circle",
    "contrastive",
    "cosine_distance",
    "cosine_embedding",
    "cosine_similarity",
    "ctc",
    "dice",
    "diou",
    "distillation",
    "focal_tversky",
    "gaussian_nll",
    "general_robust",
    "generalized_cross_entropy",
    "generalized_dice",
    "generalized_kl_divergence",
    "giou",
    "hinge",
    "hinge_embedding",
    "huber",
    "info_nce",
    "jaccard",
    "js_divergence",
    "kl_divergence",
    "kl_divergence_with_log_targets",
    "linear_softmax_cross_entropy",
    "listmle",
    "log_cosh",
    "lovasz_hinge",
    "margin_ranking",
    "multi_margin",
    "multiclass_hinge",
    "multilabel_margin",
    "multilabel_soft_margin",
    "negative_log_likelihood",
    "npairs",
    "ntxent",
    "pairwise_hinge",
    "pairwise_logistic",
    "perceptron",
    "pinball",
    "poisson_nll",
    "poly_cross_entropy",
    "ranking_softmax",
    "root_mean_squared_error",
    "sigmoid_binary_cross_entropy",
    "sigmoid_focal",
    "sigmoid_pairwise",
    "smooth_l1",
    "soft_margin",
    "softmax_cross_entropy",
    "softmax_cross_entropy_with_integer_labels",
    "softmax_focal",
    "sparsemax",
    "squared_error",
    "squared_hinge",
    "squared_log_error",
    "supervised_contrastive",
    "triplet_margin",
    "triplet_margin_with_distance",
    "tversky",
    "tweedie",
    "vocab_parallel_softmax_cross_entropy",
    "zero_one",
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
    return _robust._huber_call(
        _huber, predictions, targets, delta=delta, weights=weights, where=where, reduction=reduction
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
    return _robust._smooth_l1_call(
        _smooth_l1,
        predictions,
        targets,
        beta=beta,
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
    return _regression._absolute_percentage_error_call(
        lambda p, t, e: 100 * jnp.abs(p - t) / jnp.maximum(jnp.abs(t), e),
        predictions,
        targets,
        eps=eps,
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
    return _regression._root_mean_squared_error_call(
        lambda p, t, axes: jnp.sqrt(jnp.mean((p - t) ** 2, axis=axes)),
        predictions,
        targets,
        axis=axis,
        weights=weights,
        where=where,
        reduction=reduction,
    )


def _pinball(p, t, tau):
    r = t - p
    return jnp.where(r >= 0, tau * r, (tau - 1) * r)


def pinball(
    predictions, targets=None, *, tau=0.5, weights=None, where=None, reduction="none"
) -> Array:
    """Reference for :func:`jaxloss.pinball`."""
    return _regression._pinball_call(
        _pinball, predictions, targets, tau=tau, weights=weights, where=where, reduction=reduction
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
    return _likelihood._poisson_nll_call(
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
    return _likelihood._gaussian_nll_call(
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


def charbonnier(
    predictions, targets=None, *, eps=1e-3, weights=None, where=None, reduction="none"
) -> Array:
    """Reference for :func:`jaxloss.charbonnier`: ``sqrt(d**2 + eps**2) - eps``."""
    return _robust._charbonnier_call(
        lambda p, t, e: jnp.sqrt((p - t) ** 2 + e**2) - e,
        predictions,
        targets,
        eps=eps,
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
    return _likelihood._tweedie_call(
        _tweedie,
        predictions,
        targets,
        power=power,
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
    return _robust._general_robust_call(
        _general_robust,
        predictions,
        targets,
        alpha=alpha,
        scale=scale,
        weights=weights,
        where=where,
        reduction=reduction,
    )
