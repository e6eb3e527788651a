"""Catalogue entries of the contrastive losses (embedding family).

The batch losses compare the examples of a batch with each other, so a single
example has no loss: their samplers read the shape ``(N, D)`` as one batch of ``N``
embeddings of ``D`` features and draw two independent batches, ``[2, N, D]`` (with
a temperature, scale or bias per batch, ``[2]``); the harness's ``vmap`` check maps
over those two. ``additive_angular_margin`` reads ``(N, C)`` as examples and classes,
and draws the target cosines away from the margin's switches (``c = 0``,
``c = cos(π − m)``), where its value jumps.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from . import _contrastive
from . import _reference_contrastive as ref
from ._entries import EdgeCase, Entry, Kink, Peers

_FAMILY = "embedding"
_GROUPS = 2


def _f(*xs):
    return tuple(np.asarray(x, np.float32) for x in xs)


def _labelled(key, shape, dtype, options):
    kz, ky, kt = jax.random.split(key, 3)
    n, d = shape[0], shape[-1]
    z = jax.random.normal(kz, (_GROUPS, n, d), dtype)
    # About n/2 classes: most anchors have a positive, some have none.
    y = jax.random.randint(ky, (_GROUPS, n), 0, max(n // 2, 1), jnp.int32)
    tau = jax.random.uniform(kt, (_GROUPS,), dtype, 0.3, 1.0)
    return z, y, tau


def _towers(key, shape, dtype, options):
    kq, kk, kt = jax.random.split(key, 3)
    n, d = shape[0], shape[-1]
    q = jax.random.normal(kq, (_GROUPS, n, d), dtype)
    k = q + jax.random.normal(kk, (_GROUPS, n, d), dtype)  # partners are correlated
    tau = jax.random.uniform(kt, (_GROUPS,), dtype, 0.3, 1.0)
    if not options.get("normalize", True):
        q, k = q / math.sqrt(d), k / math.sqrt(d)
    return q, k, tau


def _sigmoid_towers(key, shape, dtype, options):
    ka, kb = jax.random.split(key)
    x, y, _ = _towers(ka, shape, dtype, options)
    kt, kb2 = jax.random.split(kb)
    t = jax.random.uniform(kt, (_GROUPS,), dtype, 1.0, 4.0)
    b = jax.random.uniform(kb2, (_GROUPS,), dtype, -3.0, -1.0)
    return x, y, t, b


def _cosines(key, shape, dtype, options):
    kc, ky, km, ks = jax.random.split(key, 4)
    n, c = shape[0], shape[-1]
    cos = jax.random.uniform(kc, (n, c), dtype, -0.8, 0.9)
    y = jax.random.randint(ky, (n,), 0, c, jnp.int32)
    # Target cosines in ±[0.1, 0.8]: away from 0 (easy margin) and cos(π − m) ≈ −0.88.
    sign = jnp.where(jax.random.bernoulli(ks, 0.7, (n,)), 1.0, -1.0).astype(dtype)
    target = sign * jax.random.uniform(km, (n,), dtype, 0.1, 0.8)
    hot = jnp.arange(c, dtype=jnp.int32)[None, :] == y[:, None]
    return jnp.where(hot, target[:, None], cos), y


def _aam_kink_grads(cos_row, label, scale, margin):
    """The rule's documented gradient of the loss at a target cosine of ±1 (float64)."""
    z = [scale * c for c in cos_row]
    cy = cos_row[label]
    z[label] = scale * cy * math.cos(margin)  # sin θ = 0: φ = c cos m, φ' = cos m
    e = [math.exp(v - max(z)) for v in z]
    p = [v / sum(e) for v in e]
    g = [scale * pk for pk in p]
    g[label] = scale * (p[label] - 1) * math.cos(margin)
    return np.asarray([g], np.float32)


_Z2 = [[1.0, 0.0, 0.5], [0.0, 1.0, -0.5], [0.6, 0.8, 0.0], [-1.0, 0.0, 0.3]]

ENTRIES: tuple[Entry, ...] = (
    Entry(
        "ntxent",
        _contrastive.ntxent,
        ref.ntxent,
        _FAMILY,
        "NT-Xent (SimCLR): Σ_p −log(e^{s_ip} / (e^{s_ip} + Σ_neg e^{s_in})), cosine / τ",
        _labelled,
        argnums=(0, 2),
        edge_cases=(
            EdgeCase(
                "zero embeddings",
                (np.zeros((4, 3), np.float32), np.asarray([0, 0, 1, 1]), np.float32(0.1)),
            ),
            EdgeCase(
                "one label: no negatives, loss 0",
                (np.asarray(_Z2, np.float32), np.zeros(4, np.int32), np.float32(0.1)),
                value=np.zeros(4, np.float32),
            ),
            EdgeCase(
                "temperature 1e-3 and entries ±1e4",
                (1e4 * np.asarray(_Z2, np.float32), np.asarray([0, 0, 1, 1]), np.float32(1e-3)),
            ),
        ),
        peers=Peers(optax="ntxent", other="pytorch-metric-learning NTXentLoss"),
    ),
    Entry(
        "supervised_contrastive",
        _contrastive.supervised_contrastive,
        ref.supervised_contrastive,
        _FAMILY,
        "SupCon L_out: −1/|P(i)| Σ_p log softmax_{a≠i}(s_ia)_p",
        _labelled,
        argnums=(0, 2),
        options=({}, {"normalize": False}),
        edge_cases=(
            EdgeCase(
                "zero embeddings",
                (np.zeros((4, 3), np.float32), np.asarray([0, 0, 1, 1]), np.float32(0.1)),
            ),
            EdgeCase(
                "unique labels: no positives, loss 0",
                (np.asarray(_Z2, np.float32), np.arange(4, dtype=np.int32), np.float32(0.1)),
                value=np.zeros(4, np.float32),
            ),
            EdgeCase(
                "temperature 1e-3 and entries ±1e4",
                (1e4 * np.asarray(_Z2, np.float32), np.asarray([0, 0, 1, 1]), np.float32(1e-3)),
            ),
        ),
        peers=Peers(other="SupConLoss (HobbitLong/SupContrast)"),
    ),
    Entry(
        "info_nce",
        _contrastive.info_nce,
        ref.info_nce,
        _FAMILY,
        "InfoNCE / CLIP: ½(CE(s) + CE(sᵀ)) with s = q̂k̂ᵀ/τ, row i matches",
        _towers,
        argnums=(0, 1, 2),
        options=({}, {"symmetric": False}, {"normalize": False}),
        edge_cases=(
            EdgeCase(
                "zero embeddings",
                (np.zeros((3, 2), np.float32), np.zeros((3, 2), np.float32), np.float32(0.1)),
            ),
            EdgeCase(
                "temperature 1e-3 and entries ±1e4",
                (
                    1e4 * np.asarray(_Z2, np.float32),
                    -1e4 * np.asarray(_Z2, np.float32),
                    np.float32(1e-3),
                ),
            ),
            EdgeCase(
                "raw dot products 1e4",
                (
                    1e2 * np.asarray(_Z2, np.float32),
                    1e2 * np.asarray(_Z2, np.float32)[::-1],
                    np.float32(1.0),
                ),
                {"normalize": False},
            ),
        ),
        peers=Peers(other="open_clip ClipLoss; cross_entropy(logits) both ways"),
    ),
    Entry(
        "sigmoid_pairwise",
        _contrastive.sigmoid_pairwise,
        ref.sigmoid_pairwise,
        _FAMILY,
        "SigLIP: Σ_j −log σ(z_ij (t x̂_i·ŷ_j + b)), z = +1 on the diagonal",
        _sigmoid_towers,
        argnums=(0, 1, 2, 3),
        options=({}, {"normalize": False}),
        edge_cases=(
            EdgeCase(
                "zero embeddings",
                (
                    np.zeros((3, 2), np.float32),
                    np.zeros((3, 2), np.float32),
                    np.float32(10.0),
                    np.float32(-10.0),
                ),
            ),
            EdgeCase(
                "logits ±1e4",
                (
                    np.asarray(_Z2, np.float32),
                    -np.asarray(_Z2, np.float32),
                    np.float32(1e4),
                    np.float32(0.0),
                ),
            ),
        ),
        peers=Peers(other="big_vision SigLIP sigmoid loss"),
    ),
    Entry(
        "additive_angular_margin",
        _contrastive.additive_angular_margin,
        ref.additive_angular_margin,
        _FAMILY,
        "ArcFace / CosFace: CE(s·[cos(θ_y + m) − m₃ at the label, c elsewhere])",
        _cosines,
        argnums=(0,),
        options=(
            {"scale": 4.0},
            {"scale": 8.0, "margin": 0.3, "easy_margin": True},
            {"scale": 4.0, "margin": 0.0, "cosine_margin": 0.35},
        ),
        kinks=(
            Kink(
                "target cosine 1 (sin θ = 0): φ'(c) = cos m",
                (np.asarray([[1.0, 0.0, -0.5]], np.float32), np.asarray([0], np.int32)),
                (_aam_kink_grads([1.0, 0.0, -0.5], 0, 2.0, 0.5),),
                {"scale": 2.0, "margin": 0.5},
            ),
        ),
        edge_cases=(
            EdgeCase(
                "cosines ±1 and 1 + 1e-7 at the targets, scale 64",
                (
                    np.asarray([[1.0, -1.0], [-1.0, 1.0], [1.0000001, 0.0]], np.float32),
                    np.asarray([0, 0, 0], np.int32),
                ),
            ),
            EdgeCase(
                "easy margin at c = -1",
                (np.asarray([[-1.0, 1.0]], np.float32), np.asarray([0], np.int32)),
                {"easy_margin": True},
            ),
        ),
        peers=Peers(other="insightface ArcFace / CosFace (ArcMarginProduct)"),
    ),
)
