"""Catalogue entries of the classification family:
binary and multi-label losses on probabilities, logits or margins.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from . import _binary
from . import _reference_binary as ref
from ._entries import EdgeCase, Entry, Kink, Peers, f32

_FAMILY = "classification"
_INF = math.inf

# --- samplers: shape (batch, classes); every sample stays away from kinks.


def _labels(key, shape, dtype):
    """Half hard 0/1 labels, half soft labels in [0, 1]."""
    kh, ks, kb = jax.random.split(key, 3)
    hard = jax.random.bernoulli(kh, 0.5, shape).astype(dtype)
    soft = jax.random.uniform(ks, shape, dtype)
    return jnp.where(jax.random.bernoulli(kb, 0.5, shape), hard, soft)


def _probabilities(key, shape, dtype, options):
    """p in [0.1, 0.9]: closer to 0 or 1, the third derivative of log p (2/p³) makes the
    second-order finite differences too inaccurate for their tolerance, for the reference too."""
    kp, ky = jax.random.split(key)
    return jax.random.uniform(kp, shape, dtype, 0.1, 0.9), _labels(ky, shape, dtype)


def _logits(key, shape, dtype, options):
    kx, ky = jax.random.split(key)
    return 3 * jax.random.normal(kx, shape, dtype), _labels(ky, shape, dtype)


def _moderate_logits(key, shape, dtype, options):
    """Logits in [-3, 3]: with hard labels, 1 - p_t >= σ(-3) stays far above the finite
    differences' step, whose perturbed labels leave [0, 1] (where a fractional power of
    1 - p_t is NaN)."""
    kx, ky = jax.random.split(key)
    return jnp.clip(2 * jax.random.normal(kx, shape, dtype), -3, 3), _labels(ky, shape, dtype)


def _signs(key, shape, dtype):
    return jnp.where(jax.random.bernoulli(key, 0.5, shape), 1, -1).astype(dtype)


def _margins(offset):
    """Scores s with y s = offset ± U(0.1, 2.5) (at least 0.1 from the kink), targets ±1."""

    def sample(key, shape, dtype, options):
        ky, km, ks = jax.random.split(key, 3)
        y = _signs(ky, shape, dtype)
        margin = offset + _signs(ks, shape, dtype) * jax.random.uniform(km, shape, dtype, 0.1, 2.5)
        return y * margin, y

    return sample


def _scores(key, shape, dtype, options):
    kx, ky = jax.random.split(key)
    return 3 * jax.random.normal(kx, shape, dtype), _signs(ky, shape, dtype)


# --- documented points

_LOGIT_LIMITS = "infinite logits: logit gradient its limit, label gradient 0"
_INF_LOGITS = f32([-_INF, _INF, -_INF, _INF], [0, 1, 1, 0])
_LARGE_LOGITS = f32([1e4, 1e4, -1e4, -1e4], [1, 0, 1, 0])


def _logit_edges(*options):
    """±1e4 logits (finite values and gradients) and infinite logits on matching labels."""
    cases = [EdgeCase("logits ±1e4", _LARGE_LOGITS, opts) for opts in options]
    cases.append(EdgeCase("logits ±1e4, value", _LARGE_LOGITS, value=f32([0, 1e4, 1e4, 0])[0]))
    cases.append(
        EdgeCase(
            "-inf logit, label 0 (a mask); +inf, label 1",
            f32([-_INF, _INF], [0, 1]),
            value=f32([0, 0])[0],
        )
    )
    return tuple(cases)


ENTRIES: tuple[Entry, ...] = (
    Entry(
        "binary_cross_entropy",
        _binary.binary_cross_entropy,
        ref.binary_cross_entropy,
        _FAMILY,
        "−(y log p + (1 − y) log(1 − p)), logs clamped at −100 (PyTorch)",
        _probabilities,
        kinks=(
            Kink(
                "p in {0, 1}: PyTorch's floored denominator, clamped logs",
                f32([0, 1, 0, 1], [0, 1, 1, 0]),
                f32([0, 0, -1e12, 1e12], [100, -100, 100, -100]),
            ),
        ),
        edge_cases=(
            EdgeCase("p in {0, 1}, soft label", f32([0, 1], [0.3, 0.3]), value=f32([30, 70])[0]),
            EdgeCase("p = 1e-30 and 1 - 6e-8", f32([1e-30, 1 - 2**-24], [1, 0])),
        ),
        peers=Peers(torch="binary_cross_entropy", keras="BinaryCrossentropy"),
    ),
    Entry(
        "sigmoid_binary_cross_entropy",
        _binary.sigmoid_binary_cross_entropy,
        ref.sigmoid_binary_cross_entropy,
        _FAMILY,
        "y' softplus(−x) w₊ + (1 − y') softplus(x); pos_weight, label smoothing",
        _logits,
        options=({}, {"label_smoothing": 0.1}, {"pos_weight": 3.0}),
        kinks=(Kink(_LOGIT_LIMITS, _INF_LOGITS, f32([0, 0, -1, 1], [0, 0, 0, 0])),),
        edge_cases=_logit_edges({"label_smoothing": 0.2, "pos_weight": 2.0}),
        peers=Peers(
            torch="binary_cross_entropy_with_logits",
            optax="sigmoid_binary_cross_entropy",
            keras="BinaryCrossentropy(from_logits)",
        ),
    ),
    Entry(
        "sigmoid_focal",
        _binary.sigmoid_focal,
        ref.sigmoid_focal,
        _FAMILY,
        "α_t (1 − p_t)^γ · sigmoid cross-entropy",
        _moderate_logits,
        options=(
            {},
            {"alpha": 0.25, "gamma": 0.5},
            {"gamma": 1.5},
            {"alpha": 0.75, "gamma": 0.0},
        ),
        kinks=(Kink(_LOGIT_LIMITS, _INF_LOGITS, f32([0, 0, -1, 1], [0, 0, 0, 0])),),
        edge_cases=(
            *_logit_edges({"alpha": 0.25, "gamma": 0.5}, {"gamma": 3.7}),
            # Confident logits: 1 - p_t ~ e^-50, whose square underflows in float32.
            *(
                EdgeCase("logits ±50", f32([50, 50, -50, -50], [1, 0, 1, 0]), opts)
                for opts in ({}, {"alpha": 0.25, "gamma": 0.5})
            ),
        ),
        peers=Peers(
            optax="sigmoid_focal_loss",
            keras="BinaryFocalCrossentropy(from_logits)",
            other="torchvision.ops.sigmoid_focal_loss",
        ),
    ),
    Entry(
        "hinge",
        _binary.hinge,
        ref.hinge,
        _FAMILY,
        "max(0, 1 − y s), targets ±1",
        _margins(1.0),
        kinks=(
            Kink(
                "y s = 1: subgradient 0",
                f32([1, -1, 0.5], [1, -1, 2]),
                f32([0, 0, 0], [0, 0, 0]),
            ),
        ),
        edge_cases=(
            EdgeCase("scores ±1e30", f32([1e30, -1e30], [1, 1]), value=f32([0, 1e30])[0]),
            EdgeCase("infinite score of the right sign", f32([_INF, -_INF], [1, -1])),
        ),
        peers=Peers(optax="hinge_loss", keras="Hinge"),
    ),
    Entry(
        "squared_hinge",
        _binary.squared_hinge,
        ref.squared_hinge,
        _FAMILY,
        "max(0, 1 − y s)², targets ±1",
        _margins(1.0),
        edge_cases=(
            EdgeCase("scores ±1e4", f32([1e4, -1e4], [1, 1]), value=f32([0, (1 + 1e4) ** 2])[0]),
            EdgeCase("infinite score of the right sign", f32([_INF, -_INF], [1, -1])),
        ),
        peers=Peers(keras="SquaredHinge"),
    ),
    Entry(
        "perceptron",
        _binary.perceptron,
        ref.perceptron,
        _FAMILY,
        "max(0, −y s), targets ±1",
        _margins(0.0),
        kinks=(
            Kink(
                "y s = 0: subgradient 0",
                f32([0, 0, 2], [1, -1, 0]),
                f32([0, 0, 0], [0, 0, 0]),
            ),
        ),
        edge_cases=(
            EdgeCase("scores ±1e30", f32([1e30, -1e30], [1, 1]), value=f32([0, 1e30])[0]),
            EdgeCase("infinite score of the right sign", f32([_INF, -_INF], [1, -1])),
        ),
        peers=Peers(optax="perceptron_loss"),
    ),
    Entry(
        "soft_margin",
        _binary.soft_margin,
        ref.soft_margin,
        _FAMILY,
        "log(1 + exp(−y x)), targets ±1",
        _scores,
        kinks=(
            Kink(
                "infinite predictions: gradient its limit, target gradient 0",
                f32([_INF, -_INF, _INF], [1, 1, -1]),
                f32([0, -1, 1], [0, 0, 0]),
            ),
        ),
        edge_cases=(
            EdgeCase("predictions ±1e4", f32([1e4, -1e4], [1, 1]), value=f32([0, 1e4])[0]),
            EdgeCase(
                "infinite prediction of the right sign",
                f32([_INF, -_INF], [1, -1]),
                value=f32([0, 0])[0],
            ),
        ),
        peers=Peers(torch="soft_margin_loss"),
    ),
    Entry(
        "multilabel_soft_margin",
        _binary.multilabel_soft_margin,
        ref.multilabel_soft_margin,
        _FAMILY,
        "class mean of the sigmoid cross-entropy, per example (PyTorch)",
        _logits,
        options=({}, {"class_weights": 2.5}),
        kinks=(
            Kink(
                _LOGIT_LIMITS,
                f32([[-_INF, _INF], [-_INF, _INF]], [[0, 1], [1, 0]]),
                f32([[0, 0], [-0.5, 0.5]], [[0, 0], [0, 0]]),
            ),
        ),
        edge_cases=(
            EdgeCase(
                "logits ±1e4 and -inf masks",
                f32([[1e4, -1e4, -_INF], [-1e4, 1e4, 0]], [[1, 0, 0], [1, 0, 0.5]]),
                value=f32([0, 2e4 / 3 + math.log(2) / 3])[0],
            ),
            EdgeCase(
                "logits ±1e4, class weights",
                f32([[1e4, -1e4], [-1e4, 1e4]], [[0.5, 0], [1, 0]]),
                {"class_weights": np.array([2.0, 0.5], np.float32)},
            ),
        ),
        peers=Peers(torch="multilabel_soft_margin_loss"),
    ),
)
