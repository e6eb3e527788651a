"""Catalogue entries of the classification family:
reweighted softmax cross-entropy: softmax focal, poly-1, generalized CE.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from . import _reference_reweighted as ref
from . import _reweighted
from ._entries import EdgeCase, Entry, Kink, Peers, f32

_FAMILY = "classification"
_LOG2 = math.log(2.0)
_INF = math.inf

# Per-class weights for a sampler shape of (batch, 5).
_ALPHA5 = np.array([0.25, 1.0, 0.5, 2.0, 0.75], np.float32)


def _soft_labels(key, shape, dtype, options):
    """Logits ~ 2 N(0, 1) and probability labels along the last axis, some of them one-hot."""
    kx, ky, kh = jax.random.split(key, 3)
    logits = 2 * jax.random.normal(kx, shape, dtype)
    soft = jax.nn.softmax(1.5 * jax.random.normal(ky, shape, jnp.float32), axis=-1)
    hard = jax.nn.one_hot(jnp.argmax(soft, axis=-1), shape[-1], dtype=jnp.float32)
    onehot = jax.random.bernoulli(kh, 0.3, (*shape[:-1], 1))
    return logits, jnp.where(onehot, hard, soft).astype(dtype)


def _integer_labels(key, shape, dtype, options):
    """Logits ~ 2 N(0, 1) and class indices in [0, C) of the batch shape."""
    kx, ky = jax.random.split(key)
    logits = 2 * jax.random.normal(kx, shape, dtype)
    return logits, jax.random.randint(ky, shape[:-1], 0, shape[-1])


def _focal_kink_grads():
    # logits [0, 0, -inf], labels [1, 0, 0], α = 1/4, γ = 2: p = (½, ½, 0).
    v0 = 0.25 * 0.25 * (2 * 0.5 * -_LOG2 / 0.5 - 1)
    return f32([[0.5 * v0, -0.5 * v0, 0.0]], [[_LOG2 / 16, _LOG2 / 16, 0.0]])


ENTRIES: tuple[Entry, ...] = (
    Entry(
        "softmax_focal",
        _reweighted.softmax_focal,
        ref.softmax_focal,
        _FAMILY,
        "−Σ α y (1 − p)^γ log p, p = softmax(x)",
        _soft_labels,
        argnums=(0, 1),
        options=(
            {"gamma": 2.0},
            {"gamma": 0.5, "alpha": 1.0},
            {"gamma": 1.5, "alpha": _ALPHA5},
            {"gamma": 0.0, "alpha": 1.0},
        ),
        kinks=(
            Kink(
                "−inf logit, zero label: adds 0, gradient 0; label gradient taken as 0",
                f32([[0.0, 0.0, -_INF]], [[1.0, 0.0, 0.0]]),
                _focal_kink_grads(),
                {"alpha": 0.25, "gamma": 2.0},
            ),
            Kink(
                "p = 1, γ = ½: gradient at its limit 0 (d(1 − p)^γ/dp is infinite)",
                f32([[0.0, -_INF]], [[1.0, 0.0]]),
                f32([[0.0, 0.0]], [[0.0, 0.0]]),
                {"gamma": 0.5},
            ),
        ),
        edge_cases=(
            EdgeCase(
                "p = 1 exactly, γ = ½",
                f32([[1e4, 0.0]], [[1.0, 0.0]]),
                {"gamma": 0.5},
                value=f32([0.0])[0],
            ),
            EdgeCase(
                "−inf mask and zero labels",
                f32([[0.0, 1.0, -_INF], [3.0, -_INF, -_INF]], [[0.3, 0.7, 0.0], [0.0, 0.0, 0.0]]),
                {"gamma": 0.7},
            ),
            EdgeCase(
                "logits ±1e4",
                f32([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]], [[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]]),
            ),
        ),
        peers=Peers(
            keras="CategoricalFocalCrossentropy",
            other="softmax counterpart of torchvision/optax sigmoid_focal_loss",
        ),
    ),
    Entry(
        "poly_cross_entropy",
        _reweighted.poly_cross_entropy,
        ref.poly_cross_entropy,
        _FAMILY,
        "CE + ε Σ y (1 − p) (Poly-1)",
        _soft_labels,
        argnums=(0, 1),
        options=({"epsilon": 2.0}, {"epsilon": -1.0}, {"epsilon": 0.5}),
        kinks=(
            Kink(
                "−inf logit, zero label: gradient 0; label gradient drops −log p",
                f32([[0.0, 0.0, -_INF]], [[1.0, 0.0, 0.0]]),
                f32([[-1.0, 1.0, 0.0]], [[1 + _LOG2, 1 + _LOG2, 2.0]]),
                {"epsilon": 2.0},
            ),
        ),
        edge_cases=(
            EdgeCase(
                "−inf mask and zero labels",
                f32([[0.0, 1.0, -_INF], [3.0, -_INF, -_INF]], [[0.3, 0.7, 0.0], [0.0, 0.0, 0.0]]),
            ),
            EdgeCase(
                "logits ±1e4",
                f32([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]], [[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]]),
            ),
            EdgeCase("p_t = 1", f32([[1e4, 0.0]], [[1.0, 0.0]]), value=f32([0.0])[0]),
        ),
        peers=Peers(optax="poly_loss_cross_entropy"),
    ),
    Entry(
        "generalized_cross_entropy",
        _reweighted.generalized_cross_entropy,
        ref.generalized_cross_entropy,
        _FAMILY,
        "(1 − p_y^q) / q, integer labels (L_q loss)",
        _integer_labels,
        argnums=(0,),
        options=({"q": 0.7}, {"q": 1.0}, {"q": 0.1, "ignore_index": 2}),
        kinks=(
            Kink(
                "−inf target logit: value 1/q, gradient 0 (the limit)",
                (*f32([[0.0, -_INF]]), np.array([1], np.int32)),
                f32([[0.0, 0.0]]),
                {"q": 0.5},
            ),
        ),
        edge_cases=(
            EdgeCase(
                "−inf target and non-target logits",
                (*f32([[0.0, -_INF, 1.0], [-_INF, 2.0, 0.0]]), np.array([1, 1], np.int32)),
                {"q": 0.7},
                value=f32([1 / 0.7, -math.expm1(-0.7 * math.log1p(math.exp(-2))) / 0.7])[0],
            ),
            EdgeCase(
                "logits ±1e4",
                (*f32([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0]]), np.array([1, 1], np.int32)),
                value=f32([1 / 0.7, 0.0])[0],
            ),
            EdgeCase(
                "ignored label out of range",
                (*f32([[1.0, 2.0], [0.5, 0.0]]), np.array([-100, 0], np.int32)),
                {"ignore_index": -100},
            ),
        ),
        peers=Peers(other="Zhang & Sabuncu 2018 L_q loss"),
    ),
)
