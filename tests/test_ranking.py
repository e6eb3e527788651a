"""Behaviour of the ranking losses: padding, item and list masks and weights, ties, errors."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss

LOSSES = ["ranking_softmax", "pairwise_logistic", "pairwise_hinge", "listmle"]


def _fn(name):
    return getattr(jaxloss, name)


def _lists(seed=0, shape=(3, 6)):
    rng = np.random.default_rng(seed)
    s = jnp.asarray(rng.normal(size=shape))
    y = jnp.asarray(rng.integers(0, 4, shape).astype(np.float64))
    return s, y


@pytest.mark.parametrize("name", LOSSES)
def test_padding_is_the_shorter_list(name):
    """Padding items (NaN inside) change nothing and get exactly zero gradient; a fully
    padded list is 0 with zero gradient and is left out of the mean."""
    fn = _fn(name)
    s, y = _lists()
    where = jnp.asarray([[True] * 4 + [False] * 2, [True] * 6, [False] * 6])
    dirty_s = jnp.where(where, s, jnp.nan)
    dirty_y = jnp.where(where, y, jnp.nan)
    value, grad = jax.value_and_grad(lambda s: fn(s, dirty_y, where=where, reduction="sum"))(
        dirty_s
    )
    short = fn(s[0, :4], y[0, :4]) + fn(s[1], y[1])
    np.testing.assert_allclose(value, short, rtol=1e-12)
    g_short = jax.grad(lambda a: fn(a, y[0, :4]))(s[0, :4])
    np.testing.assert_allclose(grad[0, :4], g_short, rtol=1e-12)
    assert np.all(np.asarray(grad[0, 4:]) == 0) and np.all(np.asarray(grad[2]) == 0)
    per_list = fn(dirty_s, dirty_y, where=where)
    assert float(per_list[2]) == 0.0
    mean = fn(dirty_s, dirty_y, where=where, reduction="mean")
    np.testing.assert_allclose(mean, short / 2, rtol=1e-12)


@pytest.mark.parametrize("name", LOSSES)
def test_list_mask_equals_item_mask_of_whole_lists(name):
    fn = _fn(name)
    s, y = _lists(1)
    lists = jnp.asarray([True, False, True])
    items = jnp.broadcast_to(lists[:, None], s.shape)
    for reduction in ("none", "mean", "sum"):
        a = fn(s, y, where=lists, reduction=reduction)
        b = fn(s, y, where=items, reduction=reduction)
        c = fn(s, y, where=lists[:, None], reduction=reduction)  # (3, 1): an item mask
        np.testing.assert_allclose(a, b, rtol=1e-12)
        np.testing.assert_allclose(a, c, rtol=1e-12)


@pytest.mark.parametrize("name", LOSSES)
def test_list_weights_give_a_weighted_mean(name):
    fn = _fn(name)
    s, y = _lists(2)
    w = jnp.asarray([1.0, 2.0, 0.5])
    losses = fn(s, y)
    np.testing.assert_allclose(fn(s, y, weights=w), w * losses, rtol=1e-12)
    np.testing.assert_allclose(
        fn(s, y, weights=w, reduction="mean"), jnp.sum(w * losses) / jnp.sum(w), rtol=1e-12
    )


def test_item_weights_follow_optax_and_rax():
    s, y = _lists(3)
    w = jnp.asarray(np.random.default_rng(0).uniform(0.5, 2.0, s.shape))
    # ranking_softmax: the weights multiply the labels.
    np.testing.assert_allclose(
        jaxloss.ranking_softmax(s, y, weights=w), jaxloss.ranking_softmax(s, y * w), rtol=1e-12
    )
    # pairwise: a pair is weighted by its higher-labelled item; the mean stays unweighted.
    d = s[:, :, None] - s[:, None, :]
    pairs = jnp.where(y[:, :, None] > y[:, None, :], w[:, :, None] * jnp.logaddexp(0.0, -d), 0)
    np.testing.assert_allclose(
        jaxloss.pairwise_logistic(s, y, weights=w), jnp.sum(pairs, (1, 2)), rtol=1e-12
    )
    np.testing.assert_allclose(
        jaxloss.pairwise_logistic(s, y, weights=w, reduction="mean"),
        jnp.mean(jnp.sum(pairs, (1, 2))),
        rtol=1e-12,
    )


def _plackett_luce(s, order):
    s = np.asarray(s)[list(order)]
    return sum(math.log(np.sum(np.exp(s[r:]))) - s[r] for r in range(len(s)))


def test_listmle_ties_keep_the_list_order():
    s = jnp.asarray([0.3, -1.0, 2.0, 0.5])
    y = jnp.asarray([1.0, 2.0, 1.0, 0.0])
    # Decreasing label, ties (items 0 and 2) in list order: 1, 0, 2, 3.
    np.testing.assert_allclose(jaxloss.listmle(s, y), _plackett_luce(s, (1, 0, 2, 3)), rtol=1e-12)
    # Integer labels give the same.
    np.testing.assert_allclose(jaxloss.listmle(s, y.astype(jnp.int32)), jaxloss.listmle(s, y))


def test_listmle_and_pairwise_at_extreme_scores():
    s = jnp.asarray([1e4, -1e4])
    y = jnp.asarray([0.0, 1.0])
    assert float(jaxloss.listmle(s, y)) == 2e4
    np.testing.assert_allclose(jax.grad(lambda s: jaxloss.listmle(s, y))(s), [1.0, -1.0])
    assert float(jaxloss.pairwise_logistic(s, y)) == 2e4
    assert float(jaxloss.pairwise_hinge(s, y, margin=1.0)) == 2e4 + 1


def test_listmle_wide_score_spread_takes_the_exact_path():
    """Scores spanning more than 60: one exp per pair, shifted per row (the fast path
    would underflow); values and gradients still equal the reference's."""
    s, y = _lists(5)
    s = 100 * s
    where = jnp.asarray(np.random.default_rng(1).uniform(size=s.shape) < 0.8)
    value, grad = jax.value_and_grad(lambda s: jaxloss.listmle(s, y, where=where, reduction="sum"))(
        s
    )
    ref, ref_grad = jax.value_and_grad(
        lambda s: jaxloss.reference.listmle(s, y, where=where, reduction="sum")
    )(s)
    np.testing.assert_allclose(value, ref, rtol=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-10, atol=1e-12)


def test_ranking_softmax_masks_and_empty_lists():
    s = jnp.asarray([[-jnp.inf, 0.0, 1.0], [-jnp.inf, -jnp.inf, -jnp.inf]])
    y = jnp.asarray([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    value, (gs, gy) = jax.value_and_grad(
        lambda s, y: jaxloss.ranking_softmax(s, y, reduction="sum"), argnums=(0, 1)
    )(s, y)
    np.testing.assert_allclose(value, math.log1p(math.e), rtol=1e-12)
    assert np.isfinite(np.asarray(gs)).all() and np.isfinite(np.asarray(gy)).all()
    assert float(gs[0, 0]) == 0.0 and float(gy[0, 0]) == 0.0  # the -inf item: a mask


def test_hinge_margin_and_kink():
    s = jnp.asarray([1.0, 0.0])
    y = jnp.asarray([1.0, 0.0])
    assert float(jaxloss.pairwise_hinge(s, y, margin=1.0)) == 0.0
    np.testing.assert_array_equal(jax.grad(lambda s: jaxloss.pairwise_hinge(s, y))(s), [0, 0])
    assert float(jaxloss.pairwise_hinge(s, y, margin=1.5)) == 0.5
    assert float(jaxloss.pairwise_hinge(s, y, margin=-1.0)) == 0.0


@pytest.mark.parametrize("name", LOSSES)
def test_bfloat16_and_batch_axes(name):
    fn = _fn(name)
    s, y = _lists(4, (2, 3, 5))
    out = fn(s.astype(jnp.bfloat16), y)
    assert out.dtype == jnp.bfloat16 and out.shape == (2, 3)
    np.testing.assert_allclose(np.asarray(out, np.float64), fn(s, y), rtol=3e-2, atol=3e-2)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"scores": jnp.zeros(()), "labels": jnp.zeros(())}, ValueError, "list axis"),
        ({"scores": jnp.zeros((2, 3)), "labels": jnp.zeros((2, 4))}, ValueError, r"\(2, 3\)"),
        ({"scores": jnp.zeros((2, 3), jnp.int32), "labels": jnp.zeros((2, 3))}, TypeError, "float"),
        ({"where": jnp.ones((2, 3))}, TypeError, "boolean"),
        ({"where": jnp.ones((2, 2), bool)}, ValueError, "scores' shape"),
        ({"where": jnp.ones((3,), bool)}, ValueError, r"loss shape \(2,\)"),
        ({"where": jnp.ones((1, 2, 3), bool)}, ValueError, "more than the scores"),
        ({"weights": jnp.ones((2, 2))}, ValueError, "weights"),
        ({"reduction": "avg"}, ValueError, "reduction"),
    ],
)
@pytest.mark.parametrize("name", LOSSES)
def test_errors_name_the_problem(name, kwargs, error, match):
    args = {"scores": jnp.zeros((2, 3)), "labels": jnp.zeros((2, 3)), **kwargs}
    with pytest.raises(error, match=match) as info:
        _fn(name)(args.pop("scores"), args.pop("labels"), **args)
    assert name in str(info.value)


def test_hinge_margin_must_be_finite():
    with pytest.raises(ValueError, match="pairwise_hinge: margin"):
        jaxloss.pairwise_hinge(jnp.zeros(3), jnp.zeros(3), margin=math.inf)
