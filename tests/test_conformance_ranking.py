"""Conformance of the ranking losses with live optax and with torch transcriptions of rax.

* ``ranking_softmax`` against ``optax.losses.ranking_softmax_loss`` itself: values
  and gradients (scores and labels), with item ``where`` (padding) and item
  ``weights``, for every reduction (optax's ``reduce_fn`` None / ``jnp.sum`` /
  ``jnp.mean``).
* ``pairwise_logistic`` / ``pairwise_hinge``: rax is not installed, so rax's
  formula (``rax/_src/losses.py``: the pair grid ``s_i - s_j`` over the pairs with
  ``y_i > y_j`` and both items valid, each pair weighted by ``weights[i]``) is
  transcribed in torch and differentiated by torch autograd; rax's
  ``reduce_fn=jnp.sum`` per list is our per-list loss.
* ``listmle``: Xia et al.'s formula as rax computes it (sort by label, stable,
  padding last; a reversed ``logcumsumexp``), in torch.

Seeded random inputs; float64 with tight tolerances and float32 with float32 ones.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch

import jaxloss

DTYPES = ("float64", "float32")
TOL = {"float64": {"rtol": 1e-10, "atol": 1e-12}, "float32": {"rtol": 2e-5, "atol": 2e-6}}
SHAPE = (5, 7)


def _inputs(seed, dtype):
    rng = np.random.default_rng(seed)
    scores = (2 * rng.normal(size=SHAPE)).astype(dtype)
    labels = rng.integers(0, 4, SHAPE).astype(dtype)  # graded, with ties
    where = rng.uniform(size=SHAPE) < 0.75
    where[0] = False  # one fully padded list
    where[1, :-1] = False  # a list with one valid item
    weights = rng.uniform(0.2, 2.0, SHAPE).astype(dtype)
    return scores, labels, where, weights


def _close(got, want, dtype, what):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: {got.shape} != {want.shape}"
    assert got.dtype == np.dtype(dtype), f"{what}: {got.dtype}"
    np.testing.assert_allclose(got, want, err_msg=what, **TOL[dtype])


# --- ranking_softmax against optax

OPTAX_REDUCE = {"none": None, "sum": jnp.sum, "mean": jnp.mean}


VARIANTS = [(False, False), (True, True)]  # (padded, item weights)
VARIANT_IDS = ["dense", "padded-weighted"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("masked", "weighted"), VARIANTS, ids=VARIANT_IDS)
def test_ranking_softmax_matches_optax(dtype, masked, weighted):
    scores, labels, where, weights = _inputs(0, dtype)
    opts = {"where": jnp.asarray(where) if masked else None}
    if weighted:
        opts["weights"] = jnp.asarray(weights)
    s, y = jnp.asarray(scores), jnp.asarray(labels)
    for reduction, reduce_fn in OPTAX_REDUCE.items():
        value, vjp = jax.vjp(
            lambda s, y, r=reduction: jaxloss.ranking_softmax(s, y, reduction=r, **opts), s, y
        )
        ref, ref_vjp = jax.vjp(
            lambda s, y, f=reduce_fn: optax.losses.ranking_softmax_loss(s, y, reduce_fn=f, **opts),
            s, y,
        )  # fmt: skip
        _close(value, ref, dtype, f"value ({reduction})")
        ct = jnp.asarray(np.random.default_rng(1).normal(size=value.shape).astype(dtype))
        for name, a, b in zip(("scores", "labels"), vjp(ct), ref_vjp(ct), strict=True):
            _close(a, b, dtype, f"gradient w.r.t. {name} ({reduction})")


# --- rax's pairwise and ListMLE formulas, transcribed in torch


def _rax_pairwise(kind, margin, s, y, where, weights):
    """rax's pairwise loss grid summed per list (``reduce_fn=jnp.sum`` on each list)."""
    d = s[..., :, None] - s[..., None, :]
    if kind == "logistic":
        pair = torch.relu(-d) + torch.log1p(torch.exp(-torch.abs(d)))
    else:
        pair = torch.relu(margin - d)
    valid = y[..., :, None] > y[..., None, :]
    if where is not None:
        valid = valid & where[..., :, None] & where[..., None, :]
    if weights is not None:
        pair = pair * weights[..., :, None]
    return torch.where(valid, pair, torch.zeros_like(pair)).sum(dim=(-2, -1))


def _rax_listmle(s, y, where, weights):
    """Sort by label (descending, stable; padding last), reversed logcumsumexp."""
    valid = torch.ones_like(y, dtype=torch.bool) if where is None else where
    key = torch.where(valid, y, torch.full_like(y, -torch.inf))
    order = torch.sort(key, dim=-1, descending=True, stable=True).indices
    ss = torch.gather(s, -1, order)
    vs = torch.gather(valid, -1, order)
    x = torch.where(vs, ss, torch.full_like(ss, -torch.inf))
    lse = torch.flip(torch.logcumsumexp(torch.flip(x, [-1]), -1), [-1])
    terms = torch.where(vs, lse - ss, torch.zeros_like(ss))
    if weights is not None:
        terms = terms * torch.gather(weights, -1, order)
    return terms.sum(-1)


def _torch_value_grad(fn, scores, cotangent):
    s = torch.tensor(scores, requires_grad=True)
    out = fn(s)
    out.backward(torch.tensor(cotangent))
    return out.detach().numpy(), s.grad.numpy()


CASES = [
    ("pairwise_logistic", lambda *a: _rax_pairwise("logistic", 1.0, *a), {}),
    ("pairwise_hinge", lambda *a: _rax_pairwise("hinge", 1.0, *a), {}),
    ("pairwise_hinge-margin0.3", lambda *a: _rax_pairwise("hinge", 0.3, *a), {"margin": 0.3}),
    ("listmle", _rax_listmle, {}),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("masked", "weighted"), VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize(("name", "theirs", "options"), CASES, ids=[c[0] for c in CASES])
def test_matches_rax_formula_in_torch(name, theirs, options, dtype, masked, weighted):
    scores, labels, where, weights = _inputs(2, dtype)
    fn = getattr(jaxloss, name.split("-")[0])
    w = jnp.asarray(where) if masked else None
    iw = jnp.asarray(weights) if weighted else None
    cot = np.random.default_rng(3).normal(size=SHAPE[:-1]).astype(dtype)
    value, vjp = jax.vjp(lambda s: fn(s, jnp.asarray(labels), where=w, weights=iw, **options),
                         jnp.asarray(scores))  # fmt: skip
    (grad,) = vjp(jnp.asarray(cot))
    tw = torch.tensor(where) if masked else None
    tiw = torch.tensor(weights) if weighted else None
    ref, ref_grad = _torch_value_grad(
        lambda s: theirs(s, torch.tensor(labels), tw, tiw), scores, cot
    )
    _close(value, ref, dtype, "value")
    _close(grad, ref_grad, dtype, "gradient w.r.t. scores")
    # "sum" is rax's reduce_fn=jnp.sum over the whole batch.
    total = fn(jnp.asarray(scores), jnp.asarray(labels), where=w, weights=iw, reduction="sum",
               **options)  # fmt: skip
    _close(total, np.sum(ref), dtype, "sum")
