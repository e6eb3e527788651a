"""Catalogue entries of the embedding family.

The samplers read the catalogue shape ``(batch, features)`` as pairs or triplets
of ``[batch, features]`` vectors; the in-batch losses get ``batch`` independent
batches of 8 embeddings (``[batch, 8, features]``, labels ``[batch, 8]`` from 3
classes, so that some anchors lack a positive), the leading axis being the one
the ``vmap`` check maps over. Samples stay away from the hinges and ties where
the finite-difference check would straddle a kink.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from . import _embedding
from . import _reference_embedding as ref
from ._entries import EdgeCase, Entry, Kink, Peers
from ._entries import f32 as _f

_FAMILY = "embedding"
_GROUP = 8


def _l1(x1, x2):
    """An L1 distance, for the ``distance=`` option."""
    return jnp.sum(jnp.abs(x1 - x2), axis=-1)


def _pair(key, shape, dtype, options):
    ka, kb, kr = jax.random.split(key, 3)
    a = jax.random.normal(ka, shape, dtype)
    b = jax.random.normal(kb, shape, dtype)
    # Rows of norm 1 or 3: clearly below or above an epsilon floor of 4 (norm² 1, 9).
    radius = jnp.where(jax.random.bernoulli(kr, 0.5, (*shape[:-1], 1)), 3.0, 1.0).astype(dtype)
    unit = lambda x: x / jnp.linalg.norm(x, axis=-1, keepdims=True)  # noqa: E731
    return radius * unit(a), 2 * b


def _signs(key, shape):
    return jnp.where(jax.random.bernoulli(key, 0.5, shape), 1, -1).astype(jnp.int32)


def _cosine_embedding(key, shape, dtype, options):
    k1, k2, kt = jax.random.split(key, 3)
    return (
        jax.random.normal(k1, shape, dtype),
        jax.random.normal(k2, shape, dtype),
        _signs(kt, shape[:-1]),
    )


def _triplet(key, shape, dtype, options):
    ka, kp, kn = jax.random.split(key, 3)
    return tuple(jax.random.normal(k, shape, dtype) for k in (ka, kp, kn))


def _contrastive(key, shape, dtype, options):
    kd, ky = jax.random.split(key)
    m = options.get("margin", 1.0)
    d = jax.random.uniform(kd, shape, dtype, 0.05, 2.5)
    d = jnp.where(jnp.abs(d - m) < 0.1, d + 0.25, d)  # away from d = m
    return d, jax.random.bernoulli(ky, 0.5, shape).astype(dtype)


def _ranking(key, shape, dtype, options):
    k1, k2, kt = jax.random.split(key, 3)
    return (
        jax.random.normal(k1, shape, dtype),
        jax.random.normal(k2, shape, dtype),
        _signs(kt, shape).astype(dtype),
    )


def _hinge_embedding(key, shape, dtype, options):
    kx, kt = jax.random.split(key)
    x = jax.random.uniform(kx, shape, dtype, 0.0, 2.0)
    x = jnp.where(jnp.abs(x - options.get("margin", 1.0)) < 0.05, x + 0.1, x)
    return x, _signs(kt, shape)


def _groups(key, shape, dtype, options):
    ke, ky = jax.random.split(key)
    e = jax.random.normal(ke, (shape[0], _GROUP, shape[-1]), dtype)
    return e, jax.random.randint(ky, (shape[0], _GROUP), 0, 3, jnp.int32)


def _unit_groups(key, shape, dtype, options):
    e, y = _groups(key, shape, dtype, options)
    return e / jnp.linalg.norm(e, axis=-1, keepdims=True), y


def _npairs(key, shape, dtype, options):
    ka, kp, ky = jax.random.split(key, 3)
    g = (shape[0], _GROUP, shape[-1])
    return (
        jax.random.normal(ka, g, dtype),
        jax.random.normal(kp, g, dtype),
        jax.random.randint(ky, g[:2], 0, 5, jnp.int32),
    )


def _ints(x):
    return np.asarray(x, np.int32)


_ZERO23 = np.zeros((2, 3), np.float32)
# Coincident embeddings 0 and 1 (same label), a negative at distance 5.
_COINCIDENT = (np.asarray([[0, 0], [0, 0], [3, 4]], np.float32), _ints([0, 0, 1]))

ENTRIES: tuple[Entry, ...] = (
    Entry(
        "cosine_similarity",
        _embedding.cosine_similarity,
        ref.cosine_similarity,
        _FAMILY,
        "⟨a, b⟩ / (‖a‖ ‖b‖), norms floored at sqrt(ε)",
        _pair,
        options=({}, {"epsilon": 4.0}),
        kinks=(
            Kink(
                "zero vector: similarity 0, gradient 0",
                _f([[0, 0, 0], [1, 2, 2]], [[1, 2, 3], [0, 0, 0]]),
                (_ZERO23, _ZERO23),
            ),
        ),
        edge_cases=(
            EdgeCase("zero vectors", _f([[0, 0], [0, 0]], [[0, 0], [1, 1]]), value=_f([0, 0])[0]),
            EdgeCase("entries ±1e4", _f([[1e4, -1e4]], [[-1e4, 3.0]])),
            # (Entries near 1e-20 are right too, but their second derivatives, ~1e40,
            # overflow float32.)
            EdgeCase(
                "entries 1e20 and 1e30 (squared norms overflow float32)",
                _f([[3e20, 4e20], [3e30, 4e30]], [[4e20, 3e20], [4e30, 3e30]]),
                value=_f([0.96, 0.96])[0],
            ),
        ),
        peers=Peers(
            torch="cosine_similarity", optax="cosine_similarity", keras="CosineSimilarity (negated)"
        ),
    ),
    Entry(
        "cosine_distance",
        _embedding.cosine_distance,
        ref.cosine_distance,
        _FAMILY,
        "1 − cosine_similarity",
        _pair,
        options=({}, {"epsilon": 4.0}),
        kinks=(
            Kink(
                "zero vector: distance 1, gradient 0",
                _f([[0, 0, 0], [1, 2, 2]], [[1, 2, 3], [0, 0, 0]]),
                (_ZERO23, _ZERO23),
            ),
        ),
        edge_cases=(
            EdgeCase("zero vectors", _f([[0, 0], [0, 0]], [[0, 0], [1, 1]]), value=_f([1, 1])[0]),
        ),
        peers=Peers(optax="cosine_distance", keras="CosineSimilarity (+1)"),
    ),
    Entry(
        "cosine_embedding",
        _embedding.cosine_embedding,
        ref.cosine_embedding,
        _FAMILY,
        "1 − cos for t = 1, max(0, cos − m) for t = −1",
        _cosine_embedding,
        options=({}, {"margin": 0.3}),
        kinks=(
            Kink(
                "t = −1 at the hinge cos = m: subgradient 0",
                (*_f([[1, 0]], [[1, 1]]), _ints([-1])),
                (np.zeros((1, 2), np.float32), np.zeros((1, 2), np.float32)),
                {"margin": math.sqrt(0.5)},
            ),
        ),
        edge_cases=(
            EdgeCase("zero vectors", (*_f([[0, 0], [0, 0]], [[0, 0], [1, 1]]), _ints([1, -1]))),
            EdgeCase("entries ±1e4", (*_f([[1e4, -1e4]], [[-1e4, 3.0]]), _ints([1]))),
        ),
        peers=Peers(torch="cosine_embedding_loss"),
    ),
    Entry(
        "triplet_margin",
        _embedding.triplet_margin,
        ref.triplet_margin,
        _FAMILY,
        "max(0, m + ‖a − p + ε‖_p − ‖a − n + ε‖_p), optional swap",
        _triplet,
        argnums=(0, 1, 2),
        options=(
            {},
            {"norm_degree": 1.0, "swap": True},
            {"norm_degree": 3.0, "margin": 2.0},
            {"norm_degree": math.inf, "eps": 0.0, "margin": 1.5},
        ),
        kinks=(
            Kink(
                "anchor = positive, eps = 0: the norm's subgradient 0",
                _f([[0, 0]], [[0, 0]], [[0.6, 0.8]]),
                _f([[0.6, 0.8]], [[0, 0]], [[-0.6, -0.8]]),
                {"eps": 0.0, "margin": 2.0},
            ),
        ),
        edge_cases=(
            EdgeCase(
                "anchor = positive (eps = 0, p = 2)",
                _f([[1, 2]], [[1, 2]], [[1, 2.5]]),
                {"eps": 0.0},
            ),
            EdgeCase(
                "anchor = positive (eps = 0, p = 3)",
                _f([[1, 2]], [[1, 2]], [[1, 2.5]]),
                {"eps": 0.0, "norm_degree": 3.0},
            ),
            EdgeCase(
                "entries ±1e4, p = 3",
                _f([[1e4, -1e4]], [[-1e4, 0]], [[0, 1e4]]),
                {"norm_degree": 3.0},
            ),
        ),
        peers=Peers(torch="triplet_margin_loss", optax="triplet_margin_loss", keras=None),
    ),
    Entry(
        "triplet_margin_with_distance",
        _embedding.triplet_margin_with_distance,
        ref.triplet_margin_with_distance,
        _FAMILY,
        "max(0, m + δ(a, p) − δ(a, n)) for a distance callable δ",
        _triplet,
        argnums=(0, 1, 2),
        options=({}, {"distance": _l1, "swap": True, "margin": 2.0}),
        edge_cases=(EdgeCase("anchor = positive", _f([[1, 2]], [[1, 2]], [[1, 2.5]])),),
        peers=Peers(torch="triplet_margin_with_distance_loss"),
    ),
    Entry(
        "batch_hard_triplet",
        _embedding.batch_hard_triplet,
        ref.batch_hard_triplet,
        _FAMILY,
        "hardest in-batch positive and negative per anchor",
        _groups,
        argnums=(0,),
        options=(
            {},
            {"soft": True, "metric": "cosine"},
            {"metric": "squared_euclidean", "margin": 0.5},
        ),
        kinks=(
            Kink(
                "coincident positive: the distance's subgradient 0",
                _COINCIDENT,
                (np.asarray([[0.6, 0.8], [0.6, 0.8], [-1.2, -1.6]], np.float32),),
                {"margin": 10.0},
            ),
        ),
        edge_cases=(
            EdgeCase(
                "no positive in the batch",
                (_f([[0, 1], [1, 0]])[0], _ints([0, 1])),
                value=np.zeros(2, np.float32),
            ),
            EdgeCase("all coincident", (np.ones((3, 2), np.float32), _ints([0, 0, 1]))),
        ),
        peers=Peers(other="TensorFlow Addons TripletHardLoss"),
    ),
    Entry(
        "batch_all_triplet",
        _embedding.batch_all_triplet,
        ref.batch_all_triplet,
        _FAMILY,
        "every in-batch triplet; mean over active triplets",
        _groups,
        argnums=(0,),
        options=({}, {"soft": True}, {"metric": "cosine", "margin": 0.3}),
        kinks=(
            Kink(
                "coincident positive: the distance's subgradient 0",
                _COINCIDENT,
                (np.asarray([[0.6, 0.8], [0.6, 0.8], [-1.2, -1.6]], np.float32),),
                {"margin": 10.0},
            ),
        ),
        edge_cases=(
            EdgeCase(
                "no positive in the batch",
                (_f([[0, 1], [1, 0]])[0], _ints([0, 1])),
                value=np.zeros(2, np.float32),
            ),
            EdgeCase("all coincident", (np.ones((3, 2), np.float32), _ints([0, 0, 1]))),
        ),
        peers=Peers(other="batch_all_triplet_loss (TF); pytorch-metric-learning TripletMarginLoss"),
    ),
    Entry(
        "contrastive",
        _embedding.contrastive,
        ref.contrastive,
        _FAMILY,
        "y d² + (1 − y) max(0, m − d)², y = 1 similar",
        _contrastive,
        options=({}, {"margin": 2.0}),
        edge_cases=(
            EdgeCase("zero distance", _f([0.0, 0.0], [1.0, 0.0]), value=_f([0.0, 1.0])[0]),
        ),
        peers=Peers(other="TensorFlow Addons contrastive_loss"),
    ),
    Entry(
        "margin_ranking",
        _embedding.margin_ranking,
        ref.margin_ranking,
        _FAMILY,
        "max(0, m − y (x1 − x2))",
        _ranking,
        argnums=(0, 1, 2),
        options=({}, {"margin": 0.5}),
        kinks=(
            Kink(
                "at the hinge: subgradient 0",
                _f([1.0], [0.5], [1.0]),
                _f([0.0], [0.0], [0.0]),
                {"margin": 0.5},
            ),
        ),
        edge_cases=(
            EdgeCase("scores ±1e4", _f([1e4, -1e4], [-1e4, 1e4], [1.0, 1.0])),
            EdgeCase(
                "infinite score difference, loss 0",
                _f([math.inf, 0.0], [0.0, -math.inf], [1.0, 1.0]),
                value=_f([0.0, 0.0])[0],
            ),
        ),
        peers=Peers(torch="margin_ranking_loss"),
    ),
    Entry(
        "hinge_embedding",
        _embedding.hinge_embedding,
        ref.hinge_embedding,
        _FAMILY,
        "x for t = 1, max(0, m − x) for t = −1",
        _hinge_embedding,
        argnums=(0,),
        options=({}, {"margin": 0.5}),
        kinks=(Kink("t = −1 at x = m: subgradient 0", (*_f([1.0]), _ints([-1])), _f([0.0])),),
        edge_cases=(EdgeCase("inputs ±1e4", (*_f([1e4, -1e4]), _ints([1, -1]))),),
        peers=Peers(torch="hinge_embedding_loss"),
    ),
    Entry(
        "npairs",
        _embedding.npairs,
        ref.npairs,
        _FAMILY,
        "softmax CE of anchors · positivesᵀ against the same-label positives",
        _npairs,
        argnums=(0, 1),
        edge_cases=(
            EdgeCase(
                "entries ±1e2 (logits ±1e4)",
                (*_f([[1e2, 0], [0, 1e2]], [[1e2, 0], [-1e2, 0]]), _ints([0, 1])),
            ),
        ),
        peers=Peers(other="TensorFlow Addons npairs_loss"),
    ),
    Entry(
        "circle",
        _embedding.circle,
        ref.circle,
        _FAMILY,
        "Sun et al.'s circle loss of in-batch cosine similarities",
        _unit_groups,
        argnums=(0,),
        options=({"gamma": 8.0}, {"gamma": 32.0, "margin": 0.25}),
        edge_cases=(
            EdgeCase(
                "no negative in the batch",
                (_f([[0, 1], [1, 0]])[0], _ints([0, 0])),
                value=np.zeros(2, np.float32),
            ),
            EdgeCase(
                "default gamma 80, coincident", (_f([[0, 1], [0, 1], [1, 0]])[0], _ints([0, 1, 1]))
            ),
        ),
        peers=Peers(keras="CircleLoss"),
    ),
)
