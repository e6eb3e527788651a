"""Catalogue entries of the classification family: multiclass margin losses, sparsemax, zero-one.

The samplers draw ``[..., C]`` scores (the shape's last axis is the class axis,
the others are examples) with integer labels, and keep each example away from
the points where the loss or its gradient has a kink (the finite-difference check
runs at the sample): every example is the best of several candidate draws, the
one whose distance to the nearest kink is largest.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from . import _margin
from . import _reference_margin as ref
from ._entries import EdgeCase, Entry, Kink, Peers

_FAMILY = "classification"
_CANDIDATES = 16


def _scores_labels(key, shape, scale):
    kx, ky = jax.random.split(key)
    x = scale * jax.random.normal(kx, shape, jnp.float32)
    return x, jax.random.randint(ky, shape[:-1], 0, shape[-1], jnp.int32)


def _targets(key, shape):
    """Scores and -1-terminated target lists: a random number (0 to C) of distinct
    classes, then -1, then junk in [-1, C) that the loss must ignore."""
    kx, kp, kn, kj = jax.random.split(key, 4)
    c = shape[-1]
    x = 1.5 * jax.random.normal(kx, shape, jnp.float32)
    perm = jnp.argsort(jax.random.uniform(kp, shape), axis=-1).astype(jnp.int32)
    n = jax.random.randint(kn, (*shape[:-1], 1), 0, c + 1, jnp.int32)
    pos = jax.lax.broadcasted_iota(jnp.int32, shape, len(shape) - 1)
    junk = jax.random.randint(kj, shape, -1, c, jnp.int32)
    return x, jnp.where(pos < n, perm, jnp.where(pos == n, -1, junk))


def _is_label(x, y):
    return jax.lax.broadcasted_iota(y.dtype, x.shape, x.ndim - 1) == y[..., None]


def _top_gap(z):
    """The gap between the largest and the second largest entry of the last axis."""
    if z.shape[-1] < 2:
        return jnp.full(z.shape[:-1], jnp.inf, z.dtype)
    s = jnp.sort(z, axis=-1)
    return s[..., -1] - s[..., -2]


def _distance(kind, margin, x, y):
    """Per example, the distance of the scores to the nearest kink of the loss."""
    if kind == "multi_margin":
        d = jnp.abs(x - jnp.take_along_axis(x, y[..., None], -1) + margin)
        return jnp.min(jnp.where(_is_label(x, y), jnp.inf, d), axis=-1)
    if kind == "multiclass_hinge":
        return _top_gap(
            jnp.where(_is_label(x, y), 0, x - jnp.take_along_axis(x, y[..., None], -1) + 1)
        )
    if kind == "sparsemax":
        top = jnp.max(x, axis=-1, keepdims=True)
        return jnp.min(jnp.abs(x - top - _margin._sparsemax_threshold(x, top)), axis=-1)
    if kind == "multilabel_margin":
        counts, _ = _margin._decode_targets(y, x.shape[-1])
        target = counts > 0
        pair = target[..., :, None] & ~target[..., None, :]
        d = jnp.abs(1 - x[..., :, None] + x[..., None, :])
        return jnp.min(jnp.where(pair, d, jnp.inf), axis=(-2, -1))
    return _top_gap(x)  # zero_one: a unique maximum


_SCALES = {"multi_margin": 2.0, "multiclass_hinge": 1.5, "sparsemax": 1.0, "zero_one": 2.0}


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4))
def _draw(key, shape, dtype, kind, margin):
    """Per example, the best of several candidate draws: the one farthest from the kinks."""

    def one(k):
        if kind == "multilabel_margin":
            return _targets(k, shape)
        return _scores_labels(k, shape, _SCALES[kind])

    x, y = jax.vmap(one)(jax.random.split(key, _CANDIDATES))
    best = jnp.argmax(jax.vmap(functools.partial(_distance, kind, margin))(x, y), axis=0)
    idx = jnp.reshape(best, (1, *best.shape))
    x = jnp.take_along_axis(x, idx[..., None], axis=0)[0]
    y = jnp.take_along_axis(y, jnp.reshape(idx, idx.shape + (1,) * (y.ndim - idx.ndim)), axis=0)
    return x.astype(dtype), y[0]


def _sampler(kind):
    def sample(key, shape, dtype, options):
        return _draw(key, tuple(shape), jnp.dtype(dtype), kind, options.get("margin", 1.0))

    return sample


def _args(x, y):
    """A kink or edge-case input: float32 scores, int32 labels."""
    return (np.asarray(x, np.float32), np.asarray(y, np.int32))


_INF = math.inf

ENTRIES: tuple[Entry, ...] = (
    Entry(
        "multi_margin",
        _margin.multi_margin,
        ref.multi_margin,
        _FAMILY,
        "Weston–Watkins: w_y/C Σ_{i≠y} max(0, m − x_y + x_i)^p",
        _sampler("multi_margin"),
        argnums=(0,),
        options=(
            {"p": 1},
            {"p": 2, "margin": 0.5},
            {"p": 1, "margin": 2.0, "class_weights": (0.5, 1.0, 2.0, 1.5, 0.25)},
        ),
        kinks=(
            Kink(
                "p = 1, m − x_y + x_i = 0: subgradient 0 for that term (PyTorch's)",
                _args([[0.0, 1.0, 0.0], [2.0, 0.5, -0.5]], [1, 1]),
                (np.asarray([[0, 0, 0], [1 / 3, -1 / 3, 0]], np.float32),),
                {"p": 1, "margin": 1.0},
            ),
            Kink(
                "p = 2 at the hinge: gradient 0 (differentiable)",
                _args([[0.0, 1.0, 0.0]], [1]),
                (np.zeros((1, 3), np.float32),),
                {"p": 2},
            ),
        ),
        edge_cases=(
            EdgeCase("scores ±1e4", _args([[1e4, -1e4, 0.0]], [1]), {"p": 2}),
            EdgeCase(
                "-inf scores of wrong classes",
                _args([[-_INF, 2.0, -_INF], [0.5, -_INF, 0.0]], [1, 0]),
                {"p": 1},
                value=np.asarray([0.0, 0.5 / 3], np.float32),
            ),
        ),
        peers=Peers(torch="multi_margin_loss"),
    ),
    Entry(
        "multiclass_hinge",
        _margin.multiclass_hinge,
        ref.multiclass_hinge,
        _FAMILY,
        "Crammer–Singer: max(0, 1 + max_{i≠y} x_i − x_y)",
        _sampler("multiclass_hinge"),
        argnums=(0,),
        kinks=(
            Kink(
                "all scores equal: +1 split between the tied wrong classes",
                _args([[0.0, 0.0, 0.0]], [0]),
                (np.asarray([[-1, 0.5, 0.5]], np.float32),),
            ),
            Kink(
                "at the hinge x_y = 1 + x_k: (e_k − e_y)/2",
                _args([[2.0, 1.0, -3.0]], [0]),
                (np.asarray([[-0.5, 0.5, 0]], np.float32),),
            ),
        ),
        edge_cases=(
            EdgeCase(
                "scores ±1e4",
                _args([[1e4, -1e4, 0.0]], [1]),
                value=np.asarray([2e4 + 1], np.float32),
            ),
            EdgeCase(
                "-inf scores of wrong classes",
                _args([[-_INF, 2.0, -_INF], [0.5, -_INF, 0.0]], [1, 0]),
                value=np.asarray([0.0, 0.5], np.float32),
            ),
        ),
        peers=Peers(optax="multiclass_hinge_loss", keras="CategoricalHinge (one-hot labels)"),
    ),
    Entry(
        "multilabel_margin",
        _margin.multilabel_margin,
        ref.multilabel_margin,
        _FAMILY,
        "1/C Σ_{j∈T} Σ_{i∉T} max(0, 1 − x_j + x_i), -1-terminated targets",
        _sampler("multilabel_margin"),
        argnums=(0,),
        kinks=(
            Kink(
                "1 − x_j + x_i = 0: subgradient 0 for that pair (PyTorch's)",
                _args([[0.0, 1.0, 0.0]], [[1, -1, 2]]),
                (np.zeros((1, 3), np.float32),),
            ),
        ),
        edge_cases=(
            EdgeCase("scores ±1e4", _args([[1e4, -1e4, 0.0]], [[1, -1, 0]])),
            EdgeCase(
                "no targets, all targets",
                _args([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]], [[-1, 0, 1], [2, 0, 1]]),
                value=np.zeros(2, np.float32),
            ),
            EdgeCase(
                "-inf scores of non-targets",
                _args([[-_INF, 2.0, -_INF]], [[1, -1, -1]]),
                value=np.zeros(1, np.float32),
            ),
        ),
        peers=Peers(torch="multilabel_margin_loss"),
    ),
    Entry(
        "sparsemax",
        _margin.sparsemax,
        ref.sparsemax,
        _FAMILY,
        "Fenchel–Young loss of sparsemax, integer labels",
        _sampler("sparsemax"),
        argnums=(0,),
        kinks=(
            Kink(
                "on the support's boundary: gradient p − e_y, continuous",
                _args([[1.0, 0.0, -2.0]], [1]),
                (np.asarray([[1, -1, 0]], np.float32),),
            ),
        ),
        edge_cases=(
            EdgeCase("scores ±1e4", _args([[1e4, -1e4, 0.0]], [0]), value=np.zeros(1, np.float32)),
            EdgeCase(
                "-inf scores of wrong classes",
                _args([[-_INF, 2.0, -_INF], [0.5, -_INF, 0.0]], [1, 2]),
                value=np.asarray([0.0, 0.5625], np.float32),
            ),
        ),
        peers=Peers(optax="multiclass_sparsemax_loss"),
    ),
    Entry(
        "zero_one",
        _margin.zero_one,
        ref.zero_one,
        _FAMILY,
        "[argmax(x) ≠ y]; gradient 0",
        _sampler("zero_one"),
        argnums=(0,),
        kinks=(
            Kink(
                "tied maxima: gradient 0",
                _args([[1.0, 1.0, 0.0]], [1]),
                (np.zeros((1, 3), np.float32),),
            ),
        ),
        edge_cases=(
            EdgeCase(
                "ties go to the first maximum",
                _args([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0]], [0, 1]),
                value=np.asarray([0.0, 1.0], np.float32),
            ),
            EdgeCase(
                "±inf scores",
                _args([[_INF, -_INF, 0.0], [-_INF, -_INF, 1e4]], [0, 1]),
                value=np.asarray([0.0, 1.0], np.float32),
            ),
        ),
        peers=Peers(other="misclassification rate (1 − accuracy)"),
    ),
)
