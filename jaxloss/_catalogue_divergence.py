"""Catalogue entries of the divergence family: divergences between distributions."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from . import _divergence
from . import _reference_divergence as ref
from ._entries import EdgeCase, Entry, Kink, Peers, f32

_FAMILY = "divergence"
_INF = math.inf
_HALF_LOG2 = 0.5 * math.log(2.0)

# --- samplers: (batch, classes), distributions over the last axis, no zero probability
# (finite differences and the autodiff reference need the interior)


def _log_probs_and_probs(key, shape, dtype, options):
    kp, kt = jax.random.split(key)
    log_p = jax.nn.log_softmax(jax.random.normal(kp, shape, jnp.float32), axis=-1)
    t = jax.nn.softmax(0.5 * jax.random.normal(kt, shape, jnp.float32), axis=-1)
    return log_p.astype(dtype), t.astype(dtype)


def _log_probs_pair(key, shape, dtype, options):
    kp, kt = jax.random.split(key)
    log_p = jax.nn.log_softmax(jax.random.normal(kp, shape, jnp.float32), axis=-1)
    log_t = jax.nn.log_softmax(0.5 * jax.random.normal(kt, shape, jnp.float32), axis=-1)
    return log_p.astype(dtype), log_t.astype(dtype)


def _measures(key, shape, dtype, options):
    kp, kt = jax.random.split(key)
    log_p = 0.7 * jax.random.normal(kp, shape, jnp.float32)
    t = jax.random.uniform(kt, shape, jnp.float32, 0.2, 3.0)
    return log_p.astype(dtype), t.astype(dtype)


def _logits_pair(key, shape, dtype, options):
    ks, kt = jax.random.split(key)
    return (
        2 * jax.random.normal(ks, shape, dtype),
        2 * jax.random.normal(kt, shape, dtype),
    )


_AXES = ({}, {"axis": None})

ENTRIES: tuple[Entry, ...] = (
    Entry(
        "kl_divergence",
        _divergence.kl_divergence,
        ref.kl_divergence,
        _FAMILY,
        "Σ t (log t − log p) per example, predictions as logs",
        _log_probs_and_probs,
        options=_AXES,
        kinks=(
            Kink(
                "t = 0 (also at log p = −inf): term 0, gradient 0 w.r.t. both",
                f32([[-_INF, 0.0], [-2.0, 0.0]], [[0.0, 1.0], [0.0, 1.0]]),
                f32([[0.0, -1.0], [0.0, -1.0]], [[0.0, 1.0], [0.0, 1.0]]),
            ),
        ),
        edge_cases=(
            EdgeCase(
                "−inf log-predictions at zero targets",
                f32([[-_INF, -_INF, 0.0]], [[0.0, 0.0, 1.0]]),
                value=f32([0.0])[0],
            ),
            EdgeCase("tiny targets", f32([[-1.0, -0.5]], [[1e-38, 1.0]])),
            EdgeCase("log-predictions −1e4", f32([[-1e4, 0.0]], [[0.5, 0.5]])),
        ),
        peers=Peers(torch="kl_div", optax="kl_divergence", keras="KLDivergence"),
    ),
    Entry(
        "kl_divergence_with_log_targets",
        _divergence.kl_divergence_with_log_targets,
        ref.kl_divergence_with_log_targets,
        _FAMILY,
        "Σ e^{log t} (log t − log p) per example, both as logs",
        _log_probs_pair,
        options=_AXES,
        kinks=(
            Kink(
                "log t = −inf (also at log p = −inf): term 0, gradient 0 w.r.t. both",
                f32([[-_INF, 0.0], [-2.0, 0.0]], [[-_INF, 0.0], [-_INF, 0.0]]),
                f32([[0.0, -1.0], [0.0, -1.0]], [[0.0, 1.0], [0.0, 1.0]]),
            ),
        ),
        edge_cases=(
            EdgeCase(
                "log t = −1e4 (exp underflows) at log p = −inf",
                f32([[-_INF, 0.0]], [[-1e4, 0.0]]),
                value=f32([0.0])[0],
            ),
            EdgeCase("log-predictions −1e4", f32([[-1e4, 0.0]], [[-0.5, -1.0]])),
        ),
        peers=Peers(torch="kl_div(log_target=True)", optax="kl_divergence_with_log_targets"),
    ),
    Entry(
        "generalized_kl_divergence",
        _divergence.generalized_kl_divergence,
        ref.generalized_kl_divergence,
        _FAMILY,
        "Σ t log(t/p) − t + p per example, unnormalised measures",
        _measures,
        options=_AXES,
        kinks=(
            Kink(
                "t = 0: term p, target gradient −1",
                f32([[-_INF, 0.0, 0.0]], [[0.0, 0.0, 1.0]]),
                f32([[0.0, 1.0, 0.0]], [[-1.0, -1.0, 0.0]]),
            ),
        ),
        edge_cases=(
            EdgeCase(
                "−inf log-predictions at zero targets",
                f32([[-_INF, 0.0]], [[0.0, 1.0]]),
                value=f32([0.0])[0],
            ),
            EdgeCase("log-predictions ±30", f32([[-30.0, 30.0]], [[1.0, 0.0]])),
        ),
        peers=Peers(optax="generalized_kl_divergence"),
    ),
    Entry(
        "js_divergence",
        _divergence.js_divergence,
        ref.js_divergence,
        _FAMILY,
        "½ KL(p ‖ m) + ½ KL(q ‖ m), m = (p + q)/2, both as logs",
        _log_probs_pair,
        options=_AXES,
        kinks=(
            Kink(
                "disjoint supports: gradient 0 w.r.t. the −inf inputs",
                f32([[-_INF, 0.0]], [[0.0, -_INF]]),
                f32([[0.0, _HALF_LOG2]], [[_HALF_LOG2, 0.0]]),
            ),
        ),
        edge_cases=(
            EdgeCase(
                "both −inf at a class",
                f32([[-_INF, 0.0]], [[-_INF, 0.0]]),
                value=f32([0.0])[0],
            ),
            EdgeCase("log-probabilities −1e4", f32([[-1e4, 0.0]], [[0.0, -1e4]])),
        ),
        peers=Peers(other="scipy.spatial.distance.jensenshannon (its square root)"),
    ),
    Entry(
        "distillation",
        _divergence.distillation,
        ref.distillation,
        _FAMILY,
        "T² KL(softmax(t/T) ‖ softmax(s/T)), Hinton's knowledge distillation",
        _logits_pair,
        options=({"temperature": 1.0}, {"temperature": 4.0}, {"temperature": 0.5, "axis": None}),
        kinks=(
            Kink(
                "a class masked (−inf) in both: gradient 0 there",
                f32([[-_INF, 1.0, 1.0]], [[-_INF, 1.0, 1.0]]),
                f32([[0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0]]),
                {"temperature": 2.0},
            ),
        ),
        edge_cases=(
            EdgeCase(
                "teacher −inf at a class, student not",
                f32([[3.0, 1.0, 1.0]], [[-_INF, 1.0, 1.0]]),
            ),
            EdgeCase("logits ±1e4", f32([[1e4, -1e4, 0.0]], [[-1e4, 1e4, 0.0]])),
            EdgeCase(
                "logits ±1e4 at T = 0.01",
                f32([[1e4, -1e4]], [[1e4, -1e4]]),
                {"temperature": 0.01},
                value=f32([0.0])[0],
            ),
        ),
        peers=Peers(other="Hinton KD: T² · F.kl_div(log_softmax(s/T), softmax(t/T))"),
    ),
)
