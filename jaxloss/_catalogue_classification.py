"""Catalogue entries of the classification family:
softmax cross-entropy with integer or probability labels, and NLL.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from . import _classification
from . import _reference_classification as ref
from ._entries import EdgeCase, Entry, Peers

_CLASSIFICATION = "classification"

_CLASS_WEIGHTS = np.asarray([0.5, 1.0, 2.0, 1.5, 0.25], np.float32)


def _logits_labels(key, shape, dtype, options):
    """Logits [batch, classes] and integer labels [batch]."""
    kx, ky = jax.random.split(key)
    return (
        2 * jax.random.normal(kx, shape, dtype),
        jax.random.randint(ky, shape[:-1], 0, shape[-1], jnp.int32),
    )


def _logits_probabilities(key, shape, dtype, options):
    kx, kt, kz = jax.random.split(key, 3)
    t = jax.nn.softmax(2 * jax.random.normal(kt, shape, jnp.float32))
    # Some exact zeros, as in one-hot and top-k targets.
    t = jnp.where(jax.random.bernoulli(kz, 0.2, shape), 0.0, t)
    return 2 * jax.random.normal(kx, shape, dtype), t.astype(dtype)


def _log_probs_labels(key, shape, dtype, options):
    x, y = _logits_labels(key, shape, dtype, options)
    return jax.nn.log_softmax(x.astype(jnp.float32)).astype(dtype), y


_INF = math.inf
_MASKED = (np.asarray([[3.0, -_INF, 0.5, -_INF, 1.0], [-1e4, 1e4, 0.0, 2.0, -_INF]], np.float32),
           np.asarray([0, 1], np.int32))  # fmt: skip
_HUGE = (np.asarray([[1e4, -1e4, 0.0, 5e3, -3e3]], np.float32), np.asarray([1], np.int32))

ENTRIES: tuple[Entry, ...] = (
    Entry(
        "softmax_cross_entropy_with_integer_labels",
        _classification.softmax_cross_entropy_with_integer_labels,
        ref.softmax_cross_entropy_with_integer_labels,
        _CLASSIFICATION,
        "lse(x) − x_y, with ignore_index, smoothing, class weights, z-loss",
        _logits_labels,
        argnums=(0,),
        options=(
            {},
            {"label_smoothing": 0.1, "z_loss": 1e-3},
            {"class_weights": _CLASS_WEIGHTS, "ignore_index": 2, "label_smoothing": 0.2},
        ),
        edge_cases=(
            EdgeCase("-inf logits as masks", _MASKED),
            EdgeCase("-inf logits as masks, smoothing", _MASKED, {"label_smoothing": 0.1}),
            EdgeCase(
                "logits ±1e4",
                _HUGE,
                {"label_smoothing": 0.1, "z_loss": 1e-4},
                value=np.float32([0.9 * 2e4 + 0.1 * (5e4 - 2e3) / 5 + 1e-4 * 1e8]),
            ),
        ),
        peers=Peers(
            torch="cross_entropy",
            optax="softmax_cross_entropy_with_integer_labels",
            keras="SparseCategoricalCrossentropy",
        ),
    ),
    Entry(
        "softmax_cross_entropy",
        _classification.softmax_cross_entropy,
        ref.softmax_cross_entropy,
        _CLASSIFICATION,
        "Σ t (lse(x) − x), probability labels",
        _logits_probabilities,
        options=(
            {},
            {"label_smoothing": 0.1},
            {"class_weights": _CLASS_WEIGHTS, "label_smoothing": 0.2},
        ),
        edge_cases=(
            EdgeCase(
                "-inf logits as masks (zero targets there)",
                (_MASKED[0], np.asarray([[0.5, 0, 0.5, 0, 0], [0, 0.9, 0.1, 0, 0]], np.float32)),
            ),
            EdgeCase(
                "-inf logits, smoothing",
                (_MASKED[0], np.asarray([[1.0, 0, 0, 0, 0], [0, 0, 0, 1.0, 0]], np.float32)),
                {"label_smoothing": 0.1},
            ),
            EdgeCase(
                "a row of -inf logits (zero targets), class weights, smoothing",
                (np.full((1, 5), -_INF, np.float32), np.zeros((1, 5), np.float32)),
                {"class_weights": _CLASS_WEIGHTS, "label_smoothing": 0.1},
                value=np.float32([0.0]),
            ),
        ),
        peers=Peers(
            torch="cross_entropy (probability targets)",
            optax="softmax_cross_entropy",
            keras="CategoricalCrossentropy",
        ),
    ),
    Entry(
        "negative_log_likelihood",
        _classification.negative_log_likelihood,
        ref.negative_log_likelihood,
        _CLASSIFICATION,
        "−w_y lp_y",
        _log_probs_labels,
        argnums=(0,),
        options=({}, {"class_weights": _CLASS_WEIGHTS, "ignore_index": 1}),
        edge_cases=(
            EdgeCase(
                "-inf log-probabilities off the label",
                (np.asarray([[-_INF, -0.1, -_INF]], np.float32), np.asarray([1], np.int32)),
                value=np.float32([0.1]),
            ),
        ),
        peers=Peers(torch="nll_loss"),
    ),
)
