"""Live conformance of the contrastive losses: optax's ntxent, and torch oracles written
from the papers' reference code (CLIP's two cross-entropies, SigLIP's log-sigmoids,
SupCon's ``SupConLoss``, ArcFace's ``ArcMarginProduct`` / CosFace), on seeded inputs.

Values and gradients (embeddings and temperature / scale / bias) in float64 (tight)
and float32, for every reduction.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
import torch.nn.functional as F

import jaxloss

TOL = {np.float64: 1e-10, np.float32: 2e-5}
DTYPES = [np.float64, np.float32]


def _close(got, want, dtype):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    tol = TOL[dtype]
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * (1 + np.max(np.abs(want))))


def _t(x, grad=True):
    return torch.tensor(np.asarray(x), requires_grad=grad)


REDUCTIONS = ("none", "mean", "sum")


def _jax_value_and_grads(f, args, argnums):
    """Per reduction: the value, the gradients under a fixed cotangent, and the cotangent
    (one jitted function for the three)."""

    def run(*args):
        out = {}
        for reduction in REDUCTIONS:
            value = f(*args, reduction=reduction)
            cot = jnp.linspace(0.5, 1.5, value.size, dtype=value.dtype).reshape(value.shape)
            grads = jax.grad(lambda *a, r=reduction, c=cot: jnp.sum(f(*a, reduction=r) * c),
                             argnums)(*args)  # fmt: skip
            out[reduction] = (value, grads, cot)
        return out

    return jax.tree.map(np.asarray, jax.jit(run)(*args))


def _torch_grads(out, cot, leaves):
    torch.sum(out * torch.tensor(cot, dtype=out.dtype)).backward()
    return [x.grad.numpy() for x in leaves]


def _reduce(per, reduction):
    return per if reduction == "none" else per.mean() if reduction == "mean" else per.sum()


# --- ntxent vs optax


def _optax_ntxent(z, labels, tau):
    with jax.numpy_dtype_promotion("standard"), jax.numpy_rank_promotion("allow"):
        return optax.losses.ntxent(z, labels, tau)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", [0, 1])
def test_ntxent_matches_optax(dtype, seed):
    rng = np.random.default_rng(seed)
    n = 10
    z = jnp.asarray(rng.normal(size=(n, 6)).astype(dtype))
    # groups of 1 (no positive), 2 and 3
    labels = jnp.asarray(rng.permutation([0, 0, 1, 1, 1, 2, 3, 3, 4, 5]), jnp.int32)
    tau = jnp.asarray(dtype(0.07 + 0.3 * seed))

    @jax.jit
    def run(z, t):
        ours = jax.value_and_grad(lambda z, t: jaxloss.ntxent(z, labels, t, reduction="mean"),
                                  (0, 1))(z, t)  # fmt: skip
        theirs = jax.value_and_grad(lambda z, t: _optax_ntxent(z, labels, t), (0, 1))(z, t)
        per = jaxloss.ntxent(z, labels, t)
        return ours, theirs, per, jaxloss.ntxent(z, labels, t, reduction="sum")

    got, want, per, total = jax.tree.map(np.asarray, run(z, tau))
    _close(got[0], want[0], dtype)
    _close(got[1][0], want[1][0], dtype)
    _close(got[1][1], want[1][1], dtype)
    # "sum" and "none" are the pair-count-weighted pieces of optax's mean
    pairs = np.asarray([np.sum(labels == labels[i]) - 1 for i in range(n)])
    _close(np.sum(per) / pairs.sum(), want[0], dtype)
    _close(total, float(want[0]) * pairs.sum(), dtype)


# --- info_nce vs CLIP's loss in torch


def _torch_clip(q, k, tau, symmetric, normalize):
    if normalize:
        q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
    logits = q @ k.T / tau
    target = torch.arange(q.shape[0])
    row = F.cross_entropy(logits, target, reduction="none")
    if not symmetric:
        return row
    return 0.5 * (row + F.cross_entropy(logits.T, target, reduction="none"))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("symmetric, normalize", [(True, True), (False, True), (True, False)])
def test_info_nce_matches_clip(dtype, symmetric, normalize):
    rng = np.random.default_rng(3)
    q = rng.normal(size=(8, 5)).astype(dtype)
    k = (q + rng.normal(size=(8, 5))).astype(dtype)
    if not normalize:
        q, k = q / 2, k / 2
    tau = dtype(0.3)

    def f(q, k, t, reduction):
        return jaxloss.info_nce(q, k, t, symmetric=symmetric, normalize=normalize,
                                reduction=reduction)  # fmt: skip

    results = _jax_value_and_grads(f, (q, k, jnp.asarray(tau)), (0, 1, 2))
    for reduction, (out, grads, cot) in results.items():
        tq, tk, tt = _t(q), _t(k), _t(tau)
        ref = _reduce(_torch_clip(tq, tk, tt, symmetric, normalize), reduction)
        _close(out, ref.detach().numpy(), dtype)
        for g, w in zip(grads, _torch_grads(ref, cot, [tq, tk, tt]), strict=True):
            _close(g, w, dtype)


# --- sigmoid_pairwise vs SigLIP's loss in torch


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("normalize", [True, False])
def test_sigmoid_pairwise_matches_siglip(dtype, normalize):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(7, 5)).astype(dtype)
    y = (x + rng.normal(size=(7, 5))).astype(dtype)
    t, b = dtype(math.exp(math.log(10.0))), dtype(-10.0 if normalize else -1.0)
    if not normalize:
        x, y = x / 3, y / 3

    def f(x, y, t, b, reduction):
        return jaxloss.sigmoid_pairwise(x, y, t, b, normalize=normalize, reduction=reduction)

    args = (x, y, jnp.asarray(t), jnp.asarray(b))
    for reduction, (out, grads, cot) in _jax_value_and_grads(f, args, (0, 1, 2, 3)).items():
        tx, ty, tt, tb = _t(x), _t(y), _t(t), _t(b)
        zx, zy = (F.normalize(tx, dim=-1), F.normalize(ty, dim=-1)) if normalize else (tx, ty)
        logits = zx @ zy.T * tt + tb
        labels = 2 * torch.eye(7, dtype=logits.dtype) - 1
        per_row = -torch.sum(F.logsigmoid(labels * logits), dim=1)
        ref = _reduce(per_row, reduction)  # "mean": the paper's −1/|B| Σ_ij
        _close(out, ref.detach().numpy(), dtype)
        for g, w in zip(grads, _torch_grads(ref, cot, [tx, ty, tt, tb]), strict=True):
            _close(g, w, dtype)


# --- supervised_contrastive vs SupConLoss (HobbitLong/SupContrast), rewritten in torch


def _supcon_loss(features, labels, temperature, base_temperature):
    """SupConLoss.forward, contrast_mode="all", features [bsz, n_views, D]."""
    batch_size = features.shape[0]
    labels = labels.contiguous().view(-1, 1)
    mask = torch.eq(labels, labels.T).to(features.dtype)
    contrast_count = features.shape[1]
    contrast_feature = torch.cat(torch.unbind(features, dim=1), dim=0)
    anchor_feature, anchor_count = contrast_feature, contrast_count
    anchor_dot_contrast = torch.div(torch.matmul(anchor_feature, contrast_feature.T), temperature)
    logits_max, _ = torch.max(anchor_dot_contrast, dim=1, keepdim=True)
    logits = anchor_dot_contrast - logits_max.detach()
    mask = mask.repeat(anchor_count, contrast_count)
    logits_mask = torch.scatter(
        torch.ones_like(mask), 1, torch.arange(batch_size * anchor_count).view(-1, 1), 0
    )
    mask = mask * logits_mask
    exp_logits = torch.exp(logits) * logits_mask
    log_prob = logits - torch.log(exp_logits.sum(1, keepdim=True))
    mask_pos_pairs = mask.sum(1)
    mask_pos_pairs = torch.where(mask_pos_pairs < 1e-6, 1, mask_pos_pairs)
    mean_log_prob_pos = (mask * log_prob).sum(1) / mask_pos_pairs
    # The reference's factor τ/τ_base is 1 at its defaults (τ = τ_base = 0.07); jaxloss
    # leaves it out, so here it is the constant 1 (a learnt τ would otherwise see it).
    loss = (
        -(1.0 if base_temperature is None else temperature / base_temperature) * mean_log_prob_pos
    )
    return loss.view(anchor_count, batch_size)  # per anchor, before the reference's .mean()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("views", [1, 2])
def test_supervised_contrastive_matches_supcon_reference(dtype, views):
    rng = np.random.default_rng(5)
    bsz, d = 6, 4
    feats = rng.normal(size=(bsz, views, d)).astype(dtype)
    labels = np.asarray([0, 1, 0, 2, 1, 3])  # class 2 and 3: positives only with 2 views
    tau = dtype(0.2)
    # jaxloss takes the flattened views, view-major as torch.cat(unbind(features, 1)).
    z = np.concatenate([feats[:, v] for v in range(views)], axis=0)
    y = jnp.asarray(np.tile(labels, views), jnp.int32)

    def f(z, t, reduction):
        return jaxloss.supervised_contrastive(z, y, t, reduction=reduction)

    for reduction, (out, grads, cot) in _jax_value_and_grads(f, (z, jnp.asarray(tau)),
                                                             (0, 1)).items():  # fmt: skip
        tf, tt = _t(feats), _t(tau)
        per = _supcon_loss(F.normalize(tf, dim=-1), torch.tensor(labels), tt, None).reshape(-1)
        ref = _reduce(per, reduction)
        _close(out, ref.detach().numpy(), dtype)
        gf, gt = _torch_grads(ref, cot, [tf, tt])
        _close(grads[0], np.concatenate([gf[:, v] for v in range(views)], axis=0), dtype)
        _close(grads[1], gt, dtype)


# --- additive_angular_margin vs ArcMarginProduct / CosFace in torch


def _arc_margin_product(cosine, label, s, m, easy_margin):
    cos_m, sin_m = math.cos(m), math.sin(m)
    th, mm = math.cos(math.pi - m), math.sin(math.pi - m) * m
    sine = torch.sqrt((1.0 - torch.pow(cosine, 2)).clamp(0, 1))
    phi = cosine * cos_m - sine * sin_m
    if easy_margin:
        phi = torch.where(cosine > 0, phi, cosine)
    else:
        phi = torch.where(cosine > th, phi, cosine - mm)
    one_hot = F.one_hot(label, cosine.shape[1]).to(cosine.dtype)
    return (one_hot * phi + (1.0 - one_hot) * cosine) * s


def _cosface(cosine, label, s, m):
    one_hot = F.one_hot(label, cosine.shape[1]).to(cosine.dtype)
    return s * (cosine - one_hot * m)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "options",
    [
        {"scale": 64.0, "margin": 0.5},
        {"scale": 30.0, "margin": 0.3, "easy_margin": True},
        {"scale": 64.0, "margin": 0.0, "cosine_margin": 0.35},
    ],
)
def test_additive_angular_margin_matches_arcface_cosface(dtype, options):
    rng = np.random.default_rng(6)
    n, c = 9, 7
    cos = rng.uniform(-0.99, 0.99, (n, c)).astype(dtype)
    labels = rng.integers(0, c, n)
    # Target cosines on both sides of 0 and of cos(π − m), incl. the fallback region.
    cos[np.arange(n), labels] = np.linspace(-0.98, 0.95, n).astype(dtype)

    def f(x, reduction):
        return jaxloss.additive_angular_margin(x, jnp.asarray(labels, jnp.int32),
                                               reduction=reduction, **options)  # fmt: skip

    for reduction, (out, (g,), cot) in _jax_value_and_grads(f, (cos,), (0,)).items():
        tc, tl = _t(cos), torch.tensor(labels)
        if options["margin"] == 0.0:
            logits = _cosface(tc, tl, options["scale"], options["cosine_margin"])
        else:
            logits = _arc_margin_product(tc, tl, options["scale"], options["margin"],
                                         options.get("easy_margin", False))  # fmt: skip
        ref = F.cross_entropy(logits, tl, reduction=reduction)
        _close(out, ref.detach().numpy(), dtype)
        (want,) = _torch_grads(ref, cot, [tc])
        _close(g, want, dtype)
