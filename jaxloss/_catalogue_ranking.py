"""Catalogue entries of the ranking family: listwise softmax, pairwise logistic and hinge, ListMLE.

The samplers read the shape as (lists, list_size): scores from a normal
distribution and graded integer labels 0..3 (stored as floats, ties included).
The pairwise hinge keeps each list away from its kinks (the finite-difference
check runs at the sample): every list is the best of several candidate draws,
the one whose ordered pairs are farthest from ``s_i - s_j = margin``.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from . import _ranking
from . import _reference_ranking as ref
from ._entries import EdgeCase, Entry, Kink, Peers

_FAMILY = "ranking"
_CANDIDATES = 16


def _draw_one(key, shape):
    ks, ky = jax.random.split(key)
    s = 1.5 * jax.random.normal(ks, shape, jnp.float32)
    y = jax.random.randint(ky, shape, 0, 4, jnp.int32).astype(jnp.float32)
    return s, y


def _hinge_distance(margin, s, y):
    """Per list, the distance of its ordered pairs to the hinge."""
    above = y[..., :, None] > y[..., None, :]
    d = jnp.abs(s[..., :, None] - s[..., None, :] - margin)
    return jnp.min(jnp.where(above, d, jnp.inf), axis=(-2, -1))


@functools.partial(jax.jit, static_argnums=(1, 2, 3))
def _draw(key, shape, dtype, margin):
    if margin is None:
        s, y = _draw_one(key, shape)
        return s.astype(dtype), y.astype(dtype)
    s, y = jax.vmap(lambda k: _draw_one(k, shape))(jax.random.split(key, _CANDIDATES))
    best = jnp.argmax(jax.vmap(functools.partial(_hinge_distance, margin))(s, y), axis=0)
    idx = jnp.reshape(best, (1, *best.shape, 1))
    s = jnp.take_along_axis(s, idx, axis=0)[0]
    y = jnp.take_along_axis(y, idx, axis=0)[0]
    return s.astype(dtype), y.astype(dtype)


def _sampler(hinge: bool):
    def sample(key, shape, dtype, options):
        margin = float(options.get("margin", 1.0)) if hinge else None
        return _draw(key, tuple(shape), jnp.dtype(dtype), margin)

    return sample


def _args(s, y):
    return (np.asarray(s, np.float32), np.asarray(y, np.float32))


_INF = math.inf
_BIG = _args([[1e4, -1e4, 0.0, 5e3]], [[0.0, 2.0, 1.0, 1.0]])

ENTRIES: tuple[Entry, ...] = (
    Entry(
        "ranking_softmax",
        _ranking.ranking_softmax,
        ref.ranking_softmax,
        _FAMILY,
        "Σ_i y_i (logsumexp(s) − s_i) per list",
        _sampler(False),
        options=({},),
        edge_cases=(
            EdgeCase("scores ±1e4", _BIG),
            EdgeCase(
                "-inf scores with label 0 (masks)",
                _args([[-_INF, 0.0, 1.0], [2.0, -_INF, -_INF]], [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]),
                value=np.asarray([math.log1p(math.e), 0.0], np.float32),
            ),
            EdgeCase("all labels 0", _args([[3.0, -1.0]], [[0.0, 0.0]]), value=np.zeros(1)),
        ),
        peers=Peers(optax="ranking_softmax_loss", other="rax softmax_loss (normalised labels)"),
    ),
    Entry(
        "pairwise_logistic",
        _ranking.pairwise_logistic,
        ref.pairwise_logistic,
        _FAMILY,
        "Σ_{y_i > y_j} log(1 + exp(−(s_i − s_j))) per list",
        _sampler(False),
        argnums=(0,),
        edge_cases=(
            EdgeCase("scores ±1e4", _BIG),
            EdgeCase(
                "equal labels", _args([[3.0, -1.0, 0.5]], [[1.0, 1.0, 1.0]]), value=np.zeros(1)
            ),
        ),
        peers=Peers(other="rax pairwise_logistic_loss; TF-Ranking PairwiseLogisticLoss"),
    ),
    Entry(
        "pairwise_hinge",
        _ranking.pairwise_hinge,
        ref.pairwise_hinge,
        _FAMILY,
        "Σ_{y_i > y_j} max(0, m − (s_i − s_j)) per list",
        _sampler(True),
        argnums=(0,),
        options=({"margin": 1.0}, {"margin": 0.5}),
        kinks=(
            Kink(
                "s_0 − s_1 = margin: subgradient 0 for that pair (the other two pairs active)",
                _args([[1.0, 0.0, 0.5]], [[2.0, 1.0, 0.0]]),
                (np.asarray([[-1.0, -1.0, 2.0]], np.float32),),
                {"margin": 1.0},
            ),
        ),
        edge_cases=(EdgeCase("scores ±1e4", _BIG),),
        peers=Peers(other="rax pairwise_hinge_loss; TF-Ranking PairwiseHingeLoss"),
    ),
    Entry(
        "listmle",
        _ranking.listmle,
        ref.listmle,
        _FAMILY,
        "−log Plackett–Luce likelihood of the labels' order (ties: list order)",
        _sampler(False),
        argnums=(0,),
        edge_cases=(
            EdgeCase("scores ±1e4", _BIG),
            EdgeCase("one item", _args([[2.0]], [[1.0]]), value=np.zeros(1)),
        ),
        peers=Peers(other="rax listmle_loss; allRank listMLE"),
    ),
)
