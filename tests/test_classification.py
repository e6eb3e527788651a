"""Classification-family behaviour a demanding user checks.

``ignore_index`` against ``where``, fully ignored batches, ``-inf`` logits used as
masks, out-of-range labels, extreme logits, bfloat16, the class axis, ``vmap``,
``jax.hessian``, non-unit cotangents, error messages, and the compiled memory of the
integer-label rule (no one-hot, no saved softmax).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import jaxloss
from jaxloss import reference
from jaxloss.testing import _DEFAULT_COMPILE as DEFAULT_COMPILE

CE = jaxloss.softmax_cross_entropy_with_integer_labels
SOFT = jaxloss.softmax_cross_entropy
NLL = jaxloss.negative_log_likelihood
INF = math.inf
C = 5
CLASS_WEIGHTS = jnp.asarray([0.5, 1.0, 2.0, 1.5, 0.25])

# Options of the integer-label loss that take different code paths in the rule.
CE_OPTIONS = {
    "plain": {},
    "smoothing": {"label_smoothing": 0.1},
    "weights-smoothing-z": {"class_weights": CLASS_WEIGHTS, "label_smoothing": 0.2, "z_loss": 1e-2},
}


def rng(seed=0):
    """A fresh seeded generator per use: no test's draws depend on which tests ran before."""
    return np.random.default_rng(seed)


def logits(seed=0, shape=(8, C), dtype=jnp.float64):
    return jnp.asarray(2 * rng(seed).normal(size=shape), dtype)


def labels(seed=1, shape=(8,)):
    return jnp.asarray(rng(seed).integers(0, C, size=shape), jnp.int32)


def value_and_grad(f, x, cotangent=None, *, jit=False):
    """Value and vjp of ``f`` at ``x`` with ``cotangent`` (ones when None).

    Eager by default: most tests share the [8, 5] float64 shape, whose primitives
    compile once for the whole file. ``jit=True`` for a one-off shape or dtype (one
    compilation instead of one per primitive).
    """

    def run(x, cotangent):
        out, vjp = jax.vjp(f, x)
        return out, vjp(jnp.ones_like(out) if cotangent is None else cotangent)[0]

    return (jax.jit(run) if jit else run)(x, cotangent)


# --- ignore_index is where=False


@pytest.mark.parametrize("reduction", ["none", "mean"])
@pytest.mark.parametrize("option", CE_OPTIONS)
@pytest.mark.parametrize("ignore_index", [-100, 2])
def test_ignore_index_is_exactly_where_false(ignore_index, option, reduction):
    """Same value and gradient, bit for bit, even with NaN logits in the ignored rows;
    ignored rows get exactly zero gradient."""
    y = labels().at[jnp.asarray([0, 3, 4])].set(ignore_index)
    x = logits().at[3].set(jnp.nan).at[4, 1].set(-INF)
    kw = CE_OPTIONS[option]
    ct = jnp.asarray(rng(2).normal(size=(8,))) if reduction == "none" else None
    ignored = value_and_grad(
        lambda x: CE(x, y, ignore_index=ignore_index, reduction=reduction, **kw), x, ct
    )
    masked = value_and_grad(
        lambda x: CE(x, y, where=y != ignore_index, reduction=reduction, **kw), x, ct
    )
    for a, b in zip(ignored, masked, strict=True):
        np.testing.assert_array_equal(a, b)
    value, grad = ignored
    assert np.isfinite(value).all() and np.isfinite(grad).all()
    np.testing.assert_array_equal(grad[jnp.asarray([0, 3, 4])], 0.0)
    if reduction == "none":
        np.testing.assert_array_equal(value[jnp.asarray([0, 3, 4])], 0.0)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("class_weights", [None, CLASS_WEIGHTS], ids=["plain", "weights"])
def test_nll_ignore_index_is_exactly_where_false(class_weights, reduction):
    y = labels().at[jnp.asarray([1, 5])].set(-100)
    lp = jax.nn.log_softmax(logits()).at[5].set(jnp.nan)
    ct = jnp.asarray(rng(2).normal(size=(8,))) if reduction == "none" else None
    kw = {"class_weights": class_weights, "reduction": reduction}
    ignored = value_and_grad(lambda lp: NLL(lp, y, ignore_index=-100, **kw), lp, ct)
    masked = value_and_grad(lambda lp: NLL(lp, y, where=y != -100, **kw), lp, ct)
    for a, b in zip(ignored, masked, strict=True):
        np.testing.assert_array_equal(a, b)
    assert np.isfinite(ignored[0]).all() and np.isfinite(ignored[1]).all()


def test_ignore_index_combines_with_where_and_weights():
    """Kept = where & (label != ignore_index); weights weight the kept examples."""
    x, y = logits(), labels().at[2].set(-1)
    where = jnp.asarray([True, True, True, False, True, True, True, True])
    weights = jnp.asarray(rng(3).uniform(0.5, 2.0, size=(8,)))
    got = CE(x, y, ignore_index=-1, where=where, weights=weights, reduction="mean")
    keep = np.asarray(where & (y != -1))
    per = np.asarray(CE(x, jnp.where(y < 0, 0, y)))
    want = (per * np.asarray(weights))[keep].sum() / np.asarray(weights)[keep].sum()
    np.testing.assert_allclose(got, want, rtol=1e-13)


def test_class_weighted_mean_divides_by_summed_label_weights():
    """PyTorch's normalisation: sum_n w_{y_n} l_n / sum_n w_{y_n} over the kept examples."""
    x, y = logits(), labels()
    per = CE(x, y)
    w = CLASS_WEIGHTS[y]
    got = CE(x, y, class_weights=CLASS_WEIGHTS, reduction="mean")
    np.testing.assert_allclose(got, jnp.sum(w * per) / jnp.sum(w), rtol=1e-13)
    np.testing.assert_allclose(
        CE(x, y, class_weights=CLASS_WEIGHTS, reduction="none"), w * per, rtol=1e-13
    )


# --- fully ignored batches


@pytest.mark.parametrize(
    "loss",
    [
        lambda x, y: CE(x, y, ignore_index=-100, reduction="mean"),
        lambda x, y: CE(x, y, ignore_index=-100, class_weights=CLASS_WEIGHTS,
                        label_smoothing=0.1, z_loss=1e-3, reduction="mean"),
        lambda x, y: CE(x, y, where=jnp.zeros(y.shape, bool), reduction="mean"),
        lambda x, y: NLL(x, y, ignore_index=-100, reduction="mean"),
        lambda x, y: NLL(x, y, ignore_index=-100, class_weights=CLASS_WEIGHTS, reduction="mean"),
        lambda x, y: SOFT(x, jax.nn.one_hot(y, C, dtype=x.dtype), where=jnp.zeros(y.shape, bool),
                          label_smoothing=0.1, reduction="mean"),
    ],
    ids=["ce", "ce-weights-smoothing-z", "ce-where", "nll", "nll-weights", "soft-where"],
)  # fmt: skip
def test_fully_ignored_mean_is_zero_with_zero_gradient(loss):
    """PyTorch gives NaN (0/0) here; jaxloss gives 0, so a batch of padding cannot
    poison training."""
    x = logits().at[0].set(jnp.nan)
    y = jnp.full((8,), -100, jnp.int32)
    value, grad = jax.value_and_grad(loss)(x, y)
    assert value == 0.0
    np.testing.assert_array_equal(grad, jnp.zeros_like(x))


# --- -inf logits as masks

MASKED = jnp.asarray([[3.0, -INF, 0.5, -INF, 1.0], [-1.0, 2.0, 0.0, 2.0, -INF],
                      [-INF, -INF, 0.3, -INF, -INF]])  # fmt: skip
MASKED_LABELS = jnp.asarray([0, 3, 2], jnp.int32)


@pytest.mark.parametrize("option", CE_OPTIONS)
def test_minus_inf_logits_are_masks(option):
    """Finite value and gradient, zero gradient at the masked classes, and the value
    and gradient of the loss on the unmasked classes alone (smoothing spread over
    those only, class weights following their classes), from the documented formula
    evaluated here in numpy."""
    kw = CE_OPTIONS[option]
    ct = np.asarray([0.7, -1.3, 2.0])
    value, grad = value_and_grad(lambda x: CE(x, MASKED_LABELS, **kw), MASKED, jnp.asarray(ct))
    assert np.isfinite(value).all() and np.isfinite(grad).all()
    np.testing.assert_array_equal(np.where(np.isinf(MASKED), grad, 0.0), 0.0)
    eps, z = kw.get("label_smoothing", 0.0), kw.get("z_loss", 0.0)
    w_all = np.asarray(kw.get("class_weights", np.ones(C)))
    for i in range(MASKED.shape[0]):
        keep = np.isfinite(np.asarray(MASKED[i]))
        x, w = np.asarray(MASKED[i])[keep], w_all[keep]
        y = int(np.flatnonzero(np.flatnonzero(keep) == int(MASKED_LABELS[i]))[0])
        lse = np.log(np.sum(np.exp(x - x.max()))) + x.max()
        k = keep.sum()
        want = (1 - eps) * w[y] * (lse - x[y]) + eps / k * np.sum(w * (lse - x)) + z * lse**2
        a = (1 - eps) * w[y] + eps / k * w.sum() + 2 * z * lse
        want_grad = a * np.exp(x - lse) - (1 - eps) * w[y] * np.eye(k)[y] - eps / k * w
        np.testing.assert_allclose(value[i], want, rtol=1e-13)
        np.testing.assert_allclose(grad[i, keep], ct[i] * want_grad, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_soft_labels_with_minus_inf_logits_and_zero_targets_there(smoothing):
    t = jnp.asarray([[0.5, 0.0, 0.5, 0.0, 0.0], [0.0, 0.9, 0.1, 0.0, 0.0],
                     [0.0, 0.0, 1.0, 0.0, 0.0]])  # fmt: skip
    ct = jnp.asarray([0.7, -1.3, 2.0])
    value, vjp = jax.vjp(lambda x, t: SOFT(x, t, label_smoothing=smoothing), MASKED, t)
    gx, gt = vjp(ct)
    assert np.isfinite(value).all() and np.isfinite(gx).all() and np.isfinite(gt).all()
    masked = np.isinf(MASKED)
    np.testing.assert_array_equal(np.where(masked, gx, 0.0), 0.0)
    np.testing.assert_array_equal(np.where(masked, gt, 0.0), 0.0)
    for i in range(MASKED.shape[0]):
        keep = np.flatnonzero(~masked[i])
        sub = SOFT(MASKED[i, keep], t[i, keep], label_smoothing=smoothing)
        np.testing.assert_allclose(value[i], sub, rtol=1e-13)


@pytest.mark.parametrize("option", CE_OPTIONS)
def test_label_on_a_masked_class_is_inf_with_finite_gradient(option):
    y = jnp.asarray([1, 4, 2], jnp.int32)  # rows 0 and 1 point at -inf logits
    value, grad = value_and_grad(lambda x: CE(x, y, **CE_OPTIONS[option]), MASKED)
    assert value[0] == INF and value[1] == INF and np.isfinite(value[2])
    assert np.isfinite(grad).all()
    value, vjp = jax.vjp(lambda x, t: SOFT(x, t), MASKED, jax.nn.one_hot(y, C, dtype=MASKED.dtype))
    assert value[0] == INF and np.isfinite(value[2])
    assert all(np.isfinite(g).all() for g in vjp(jnp.ones(3)))


def test_all_but_one_class_masked_is_zero_loss():
    """One finite logit: probability 1, loss 0 (also smoothed: all mass on that class)."""
    for kw in ({}, {"label_smoothing": 0.3}, {"z_loss": 0.0}):
        value, grad = jax.value_and_grad(lambda x, kw=kw: CE(x, MASKED_LABELS[2:], **kw).sum())(
            MASKED[2:]
        )
        assert value == 0.0
        np.testing.assert_allclose(grad, 0.0, atol=1e-15)


# --- out-of-range labels

OUT_OF_RANGE = [C, C + 7, -1, -100]


@pytest.mark.parametrize("bad", OUT_OF_RANGE)
@pytest.mark.parametrize("option", CE_OPTIONS)
def test_out_of_range_label_is_nan_for_that_example_only(option, bad):
    """NaN at the example, never a silently wrong class; the other examples' values
    and gradient rows are those of the batch without it."""
    x, y = logits(), labels().at[3].set(bad)
    kw = CE_OPTIONS[option]
    ct = jnp.asarray(rng(4).normal(size=(8,)))
    value, grad = value_and_grad(lambda x: CE(x, y, **kw), x, ct)
    assert np.isnan(value[3])
    others = np.arange(8) != 3
    ok_value, ok_grad = value_and_grad(lambda x: CE(x, y, where=jnp.asarray(others), **kw), x, ct)
    np.testing.assert_allclose(value[others], ok_value[others], rtol=1e-14)
    np.testing.assert_allclose(grad[others], ok_grad[others], rtol=1e-14)
    assert np.isnan(CE(x, y, reduction="mean", **kw))


@pytest.mark.parametrize("bad", OUT_OF_RANGE)
def test_nll_out_of_range_label_is_nan_for_that_example_only(bad):
    lp, y = jax.nn.log_softmax(logits()), labels().at[6].set(bad)
    value = NLL(lp, y)
    assert np.isnan(value[6])
    np.testing.assert_array_equal(np.isnan(value), np.arange(8) == 6)
    others = np.arange(8) != 6
    np.testing.assert_allclose(value[others], -lp[others, y[others]], rtol=1e-15)


def test_minus_100_is_only_ignored_when_asked():
    """Unlike PyTorch, -100 is an ordinary (out-of-range) label by default."""
    x, y = logits(), labels().at[0].set(-100)
    assert np.isnan(CE(x, y)[0])
    assert CE(x, y, ignore_index=-100)[0] == 0.0


# --- extreme logits


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_logits_of_plus_minus_1e4_are_finite_and_exact(dtype):
    x = jnp.asarray([[1e4, -1e4, 0.0, 5e3, -3e3], [-1e4, -1e4, -1e4, -1e4, -1e4]], dtype)
    y = jnp.asarray([1, 2], jnp.int32)
    kw = {"label_smoothing": 0.1, "z_loss": 1e-4}
    value, grad = value_and_grad(lambda x: CE(x, y, **kw), x, jit=True)
    # Row 0: lse = 1e4 exactly (in float32 too); row 1: uniform, lse = -1e4 + log 5.
    lse = np.asarray([1e4, -1e4 + math.log(5)])
    want = np.asarray([
        0.9 * 2e4 + 0.1 * (5 * 1e4 - (1e4 - 1e4 + 0 + 5e3 - 3e3)) / 5 + 1e-4 * lse[0] ** 2,
        math.log(5) + 1e-4 * lse[1] ** 2,
    ])  # fmt: skip
    np.testing.assert_allclose(value, want, rtol=1e-6 if dtype == jnp.float32 else 1e-12)
    assert value.dtype == dtype and grad.dtype == dtype
    assert np.isfinite(grad).all()
    p0 = np.asarray([0.0, 0.0, 0.0, 0.0, 0.0])
    p0[0] = 1.0
    want_g0 = (1 + 2e-4 * lse[0]) * p0 - 0.9 * np.eye(C)[1] - 0.1 / C
    np.testing.assert_allclose(grad[0], want_g0, rtol=1e-5, atol=1e-6)
    soft = SOFT(x, jax.nn.one_hot(y, C, dtype=dtype))
    # lse - x_y loses up to half an ulp of |x| (5e-4 at 1e4 in float32).
    np.testing.assert_allclose(
        soft, [2e4, math.log(5)], rtol=1e-6, atol=float(jnp.finfo(dtype).eps) * 1e4
    )


# --- dtypes


@pytest.mark.parametrize("reduction", ["none", "mean"])
@pytest.mark.parametrize("option", ["plain", "weights-smoothing-z"])
def test_bfloat16_runs_in_float32(option, reduction):
    """bfloat16 logits: value and gradient in bfloat16, equal to the float32
    computation on the same numbers up to the final rounding to bfloat16."""
    kw = dict(CE_OPTIONS[option])
    if "class_weights" in kw:
        kw["class_weights"] = kw["class_weights"].astype(jnp.float32)
    x = logits(5, (64, C), jnp.bfloat16)
    y = labels(6, (64,))
    f = lambda x: CE(x, y, reduction=reduction, **kw)  # noqa: E731
    ct = None
    if reduction == "none":
        ct = jnp.asarray(rng(7).normal(size=(64,)), jnp.bfloat16)
    v16, g16 = value_and_grad(f, x, ct)
    v32, g32 = value_and_grad(
        f, x.astype(jnp.float32), None if ct is None else ct.astype(jnp.float32)
    )
    assert v16.dtype == jnp.bfloat16 and g16.dtype == jnp.bfloat16
    assert v32.dtype == jnp.float32
    bf16 = {"rtol": 2.0**-8, "atol": 1e-6}
    np.testing.assert_allclose(np.float32(v16), v32, **bf16)
    np.testing.assert_allclose(np.float32(g16), g32, **bf16)


def test_soft_and_nll_bfloat16_dtypes():
    x = logits(5, (64, C), jnp.bfloat16)
    t = jax.nn.softmax(logits(8, (64, C), jnp.float32)).astype(jnp.bfloat16)
    value, vjp = jax.vjp(lambda x, t: SOFT(x, t, reduction="mean"), x, t)
    gx, gt = vjp(jnp.ones((), jnp.bfloat16))
    assert (value.dtype, gx.dtype, gt.dtype) == (jnp.bfloat16,) * 3
    want = SOFT(x.astype(jnp.float32), t.astype(jnp.float32), reduction="mean")
    np.testing.assert_allclose(np.float32(value), want, rtol=2.0**-8)
    lp = jax.nn.log_softmax(x.astype(jnp.float32)).astype(jnp.bfloat16)
    g = jax.grad(lambda lp: NLL(lp, labels(9, (64,)), reduction="mean").astype(jnp.float32))(lp)
    assert NLL(lp, labels(9, (64,))).dtype == jnp.bfloat16 and g.dtype == jnp.bfloat16


@pytest.mark.parametrize("label_dtype", [jnp.int8, jnp.uint8, jnp.int16, jnp.int32, jnp.int64])
def test_any_integer_label_dtype(label_dtype):
    x, y = logits(), labels()
    np.testing.assert_array_equal(
        CE(x, y.astype(label_dtype), label_smoothing=0.1), CE(x, y, label_smoothing=0.1)
    )
    np.testing.assert_array_equal(NLL(x, y.astype(label_dtype)), NLL(x, y))


# --- the class axis


@pytest.mark.parametrize("option", ["weights-smoothing-z"])
def test_class_axis_1_equals_moving_it_last(option):
    """PyTorch's [N, C, H, W] layout with axis=1 is the [N, H, W, C] layout with axis=-1."""
    x = logits(10, (3, C, 4, 2))
    y = labels(11, (3, 4, 2))
    ct = jnp.asarray(rng(12).normal(size=(3, 4, 2)))
    kw = CE_OPTIONS[option]
    value, grad = value_and_grad(lambda x: CE(x, y, axis=1, **kw), x, ct, jit=True)
    value_last, grad_last = value_and_grad(
        lambda x: CE(x, y, axis=-1, **kw), jnp.moveaxis(x, 1, -1), ct, jit=True
    )
    np.testing.assert_allclose(value, value_last, rtol=1e-14)
    np.testing.assert_allclose(grad, jnp.moveaxis(grad_last, -1, 1), rtol=1e-13, atol=1e-16)


def test_class_axis_1_of_soft_labels_and_nll():
    x, y = logits(10, (3, C, 4, 2)), labels(11, (3, 4, 2))
    t = jax.nn.softmax(logits(13, (3, C, 4, 2)), axis=1)
    np.testing.assert_allclose(
        SOFT(x, t, axis=1, label_smoothing=0.1),
        SOFT(jnp.moveaxis(x, 1, -1), jnp.moveaxis(t, 1, -1), label_smoothing=0.1),
        rtol=1e-14,
    )
    np.testing.assert_allclose(NLL(x, y, axis=1), NLL(jnp.moveaxis(x, 1, -1), y), rtol=1e-14)


def test_unbatched_logits_with_a_scalar_label():
    x, y = logits()[0], labels()[0]
    assert CE(x, y).shape == ()
    np.testing.assert_allclose(CE(x, y), CE(x[None], y[None])[0], rtol=1e-15)


# --- transformations


@pytest.mark.parametrize("option", ["weights-smoothing-z"])
def test_vmap_over_a_batch(option):
    """vmap over a leading axis = the batched call; per-group means under vmap."""
    x = logits(14, (4, 8, C))
    y = labels(15, (4, 8)).at[0, 0].set(-100)
    kw = {**CE_OPTIONS[option], "ignore_index": -100}
    mapped, means, grads = jax.jit(
        lambda x, y: (
            jax.vmap(lambda x, y: CE(x, y, **kw))(x, y),
            jax.vmap(lambda x, y: CE(x, y, reduction="mean", **kw))(x, y),
            jax.vmap(jax.grad(lambda x, y: CE(x, y, reduction="sum", **kw)))(x, y),
        )
    )(x, y)
    for g in range(4):
        np.testing.assert_allclose(mapped[g], CE(x[g], y[g], **kw), rtol=1e-14)
        np.testing.assert_allclose(means[g], CE(x[g], y[g], reduction="mean", **kw), rtol=1e-14)
        want = jax.grad(lambda x, g=g: CE(x, y[g], reduction="sum", **kw))(x[g])
        np.testing.assert_allclose(grads[g], want, rtol=1e-13, atol=1e-16)


def test_hessian_integer_labels():
    """H = (1 + 2 z lse) (diag p - p pᵀ) + 2 z p pᵀ (the label terms are linear)."""
    x, y = logits()[0], labels()[0]
    smoothing, z = 0.2, 0.3
    h = jax.jit(jax.hessian(lambda x: CE(x, y, label_smoothing=smoothing, z_loss=z)))(x)
    p = np.asarray(jax.nn.softmax(x))
    lse = float(jax.nn.logsumexp(x))
    want = (1 + 2 * z * lse) * (np.diag(p) - np.outer(p, p)) + 2 * z * np.outer(p, p)
    np.testing.assert_allclose(h, want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("option", ["plain", "weights-smoothing-z"])
def test_hessian_matches_reference(option):
    kw = {**CE_OPTIONS[option], "reduction": "mean"}
    x, y = logits(16, (3, C)), labels(17, (3,))
    h = jax.jit(jax.hessian(lambda x: CE(x, y, **kw)))(x)
    want = jax.jit(
        jax.hessian(lambda x: reference.softmax_cross_entropy_with_integer_labels(x, y, **kw))
    )(x)
    np.testing.assert_allclose(h, want, rtol=1e-11, atol=1e-14)


def test_soft_labels_hessian_matches_reference():
    """Second derivatives in the logits, the labels and across them."""
    x, t = logits(16, (3, C)), jax.nn.softmax(logits(18, (3, C)))
    h = jax.jit(jax.hessian(lambda x, t: SOFT(x, t, label_smoothing=0.1), argnums=(0, 1)))(x, t)
    want = jax.jit(
        jax.hessian(
            lambda x, t: reference.softmax_cross_entropy(x, t, label_smoothing=0.1), argnums=(0, 1)
        )
    )(x, t)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-14), h, want)


@pytest.mark.parametrize("option", [*CE_OPTIONS, "ignore"])
def test_random_cotangent_matches_reference(option):
    """reduction="none" with a random cotangent (not just the gradient of a sum)."""
    kw = CE_OPTIONS.get(option, {"ignore_index": 1, "class_weights": CLASS_WEIGHTS})
    x, y = logits(19, (8, C)), labels(20, (8,))
    ct = jnp.asarray(rng(21).normal(size=(8,)))
    got = value_and_grad(lambda x: CE(x, y, **kw), x, ct)
    want = value_and_grad(
        lambda x: reference.softmax_cross_entropy_with_integer_labels(x, y, **kw), x, ct
    )
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_soft_labels_random_cotangent_matches_reference(smoothing):
    """Gradients w.r.t. logits and labels; labels that do not sum to one."""
    x = logits(22, (8, C))
    t = jnp.asarray(rng(23).uniform(size=(8, C))).at[:, 0].set(0.0)
    ct = jnp.asarray(rng(24).normal(size=(8,)))
    out, vjp = jax.vjp(lambda x, t: SOFT(x, t, label_smoothing=smoothing), x, t)
    ref_out, ref_vjp = jax.vjp(
        lambda x, t: reference.softmax_cross_entropy(x, t, label_smoothing=smoothing), x, t
    )
    np.testing.assert_allclose(out, ref_out, rtol=1e-13)
    for a, b in zip(vjp(ct), ref_vjp(ct), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_nll_random_cotangent_matches_reference():
    lp, y = jax.nn.log_softmax(logits(25, (8, C))), labels(26, (8,))
    ct = jnp.asarray(rng(27).normal(size=(8,)))
    kw = {"class_weights": CLASS_WEIGHTS}
    got = value_and_grad(lambda lp: NLL(lp, y, **kw), lp, ct)
    want = value_and_grad(lambda lp: reference.negative_log_likelihood(lp, y, **kw), lp, ct)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-14)


# --- documented values


def test_documented_values():
    x = jnp.asarray([[2.0, 0.0, -INF], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(
        CE(x, jnp.asarray([0, 2])), [math.log(1 + math.exp(-2)), math.log(3)], rtol=1e-15
    )
    # Label smoothing 1: the uniform target over the finite classes.
    np.testing.assert_allclose(
        CE(x, jnp.asarray([0, 2]), label_smoothing=1.0),
        [-0.5 * (jax.nn.log_softmax(x[0])[0] + jax.nn.log_softmax(x[0])[1]), math.log(3)],
        rtol=1e-15,
    )
    np.testing.assert_allclose(
        SOFT(x[:1], jnp.asarray([[0.5, 0.5, 0.0]])), [1 + math.log(1 + math.exp(-2))], rtol=1e-15
    )


# --- errors

ERRORS = [
    (lambda x, y: CE(x, y[:, None]), ValueError,
     r"softmax_cross_entropy_with_integer_labels: labels must have the shape of logits "
     r"without its class axis 1, i.e. \(8,\) for logits \(8, 5\), got \(8, 1\)"),
    (lambda x, y: CE(x, y[:4]), ValueError, r"labels must have the shape .* got \(4,\)"),
    (lambda x, y: CE(x, y.astype(jnp.float32)), TypeError,
     r"softmax_cross_entropy_with_integer_labels: labels must have an integer dtype, "
     r"got float32"),
    (lambda x, y: CE(x, jax.nn.one_hot(y, C, dtype=jnp.int32)), ValueError,
     r"got \(8, 5\); pass class indices, not one-hot vectors \(softmax_cross_entropy takes "
     r"probability labels\)"),
    (lambda x, y: CE(x, jax.nn.one_hot(y, C)), TypeError, r"look like one-hot"),
    (lambda x, y: SOFT(x, y), TypeError,
     r"softmax_cross_entropy: labels are integer class indices of shape \(8,\); .* use "
     r"softmax_cross_entropy_with_integer_labels"),
    (lambda x, y: SOFT(x, x[:, :4]), ValueError,
     r"softmax_cross_entropy: logits and labels must have the same shape, got \(8, 5\) and "
     r"\(8, 4\)"),
    (lambda x, y: CE(x, y, class_weights=jnp.ones(4)), ValueError,
     r"class_weights must have one weight per class, shape \(5,\), got \(4,\)"),
    (lambda x, y: CE(x, y, class_weights=jnp.ones((1, C))), ValueError,
     r"class_weights must have one weight per class, shape \(5,\), got \(1, 5\)"),
    (lambda x, y: CE(x, y, class_weights=jnp.ones(C, jnp.int32)), TypeError,
     r"class_weights must have a floating dtype"),
    (lambda x, y: NLL(x, y, class_weights=jnp.ones(3)), ValueError,
     r"negative_log_likelihood: class_weights must have one weight per class, shape \(5,\)"),
    (lambda x, y: CE(x, y, label_smoothing=1.5), ValueError,
     r"label_smoothing must be in \[0, 1\], got 1.5"),
    (lambda x, y: CE(x, y, label_smoothing=-0.1), ValueError,
     r"label_smoothing must be in \[0, 1\], got -0.1"),
    (lambda x, y: SOFT(x, x, label_smoothing=2.0), ValueError,
     r"softmax_cross_entropy: label_smoothing must be in \[0, 1\], got 2"),
    (lambda x, y: CE(x, y, z_loss=-1e-4), ValueError, r"z_loss must be in \[0, inf\)"),
    (lambda x, y: CE(x, y, axis=2), ValueError,
     r"softmax_cross_entropy_with_integer_labels: axis 2 is out of range for inputs with 2 "
     r"dimensions"),
    (lambda x, y: CE(x, y, axis=-3), ValueError, r"axis -3 is out of range"),
    (lambda x, y: SOFT(x, x, axis=5), ValueError, r"softmax_cross_entropy: axis 5 is out of range"),
    (lambda x, y: NLL(x, y, axis=2), ValueError, r"negative_log_likelihood: axis 2 is out of"),
    (lambda x, y: CE(x, y, axis=1.0), TypeError, r"axis must be an int or a non-empty tuple"),
    (lambda x, y: CE(x[0, 0], y[0]), ValueError, r"logits must have a class axis, got a scalar"),
    (lambda x, y: CE(y[:, None] * jnp.ones((1, C), jnp.int32), y), TypeError,
     r"logits must have a floating dtype, got int32"),
    (lambda x, y: CE(x, y, ignore_index=1.0), TypeError, r"ignore_index must be an int, got 1.0"),
    (lambda x, y: CE(x, y, reduction="avg"), ValueError, r"reduction must be one of"),
    (lambda x, y: CE(x, y, where=jnp.ones((8, C), bool)), ValueError,
     r"where must be broadcastable to the loss shape \(8,\), got \(8, 5\)"),
    (lambda x, y: CE(x, y, weights=jnp.ones(C)), ValueError,
     r"weights must be broadcastable to the loss shape \(8,\), got \(5,\)"),
    (lambda x, y: jax.jit(lambda s: CE(x, y, label_smoothing=s))(0.1), TypeError,
     r"label_smoothing must be a static Python number, got a traced array"),
]  # fmt: skip


@pytest.mark.parametrize(("call", "error", "match"), ERRORS, ids=[e[2][:40] for e in ERRORS])
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call(logits(), labels())


# --- memory of the compiled rule


@pytest.mark.parametrize(
    "kw",
    [{}, {"label_smoothing": 0.1}, {"label_smoothing": 0.1, "class_weights": True},
     {"z_loss": 1e-4, "ignore_index": -100}],
    ids=["plain", "smoothing", "smoothing-weights", "z-ignore"],
)  # fmt: skip
def test_compiled_temp_memory_has_no_classes_sized_buffer(kw):
    """jit(value_and_grad(mean)) at [512, 4096] float32 needs less temporary memory
    than one [N, C] float32 buffer: no one-hot, no saved softmax, no [N, C] temporary."""
    n, c = 512, 4096
    kw = dict(kw)
    if kw.get("class_weights"):
        kw["class_weights"] = jnp.linspace(0.5, 2.0, c, dtype=jnp.float32)
    fn = jax.jit(jax.value_and_grad(lambda x, y: CE(x, y, reduction="mean", **kw)))
    compiled = fn.lower(
        jax.ShapeDtypeStruct((n, c), jnp.float32), jax.ShapeDtypeStruct((n,), jnp.int32)
    ).compile(DEFAULT_COMPILE)  # what a user's jax.jit compiles (conftest compiles fast)
    temp = compiled.memory_analysis().temp_size_in_bytes
    assert temp < n * c * 4, f"{temp} bytes of temporaries >= one [N, C] float32 buffer"


def _fixed_inputs():
    rng = np.random.default_rng(0)
    return jnp.asarray(2 * rng.normal(size=(8, C))), jnp.asarray(rng.integers(0, C, 8), jnp.int32)


# Class weights are differentiable (the rule returns their gradient).
@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_class_weights_gradient_matches_reference(smoothing, reduction):
    x, y = _fixed_inputs()
    kw = {"label_smoothing": smoothing, "reduction": reduction}
    got = jax.grad(lambda w: CE(x, y, class_weights=w, **kw))(CLASS_WEIGHTS)
    want = jax.grad(
        lambda w: reference.softmax_cross_entropy_with_integer_labels(x, y, class_weights=w, **kw)
    )(CLASS_WEIGHTS)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_nll_class_weights_gradient_matches_reference(reduction):
    x, y = _fixed_inputs()
    lp = jax.nn.log_softmax(x)
    got = jax.grad(
        lambda w: jaxloss.negative_log_likelihood(lp, y, class_weights=w, reduction=reduction)
    )(CLASS_WEIGHTS)
    want = jax.grad(
        lambda w: reference.negative_log_likelihood(lp, y, class_weights=w, reduction=reduction)
    )(CLASS_WEIGHTS)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


# lse - x_y loses half an ulp of |x| in float32 (torch and optax's log_softmax do not).
def test_float32_precision_at_large_logits_matches_torch():
    x = np.asarray([[-9999.0, -1e4, -1e4, -1e4, -1e4]], np.float32)
    y = np.asarray([2])
    want = F.cross_entropy(torch.tensor(x), torch.tensor(y), reduction="none").numpy()
    np.testing.assert_allclose(want, [math.log(math.e + 4)], rtol=1e-6)  # 1.9048325
    np.testing.assert_allclose(CE(jnp.asarray(x), jnp.asarray(y, jnp.int32)), want, rtol=1e-5)
    soft = jaxloss.softmax_cross_entropy(jnp.asarray(x), jax.nn.one_hot(jnp.asarray(y), C))
    np.testing.assert_allclose(soft, want, rtol=1e-5)


# The smoothing fast path counts a -inf class as finite when the row also holds a
#    logit >= 5e29 (max(x, -1e30) sums to more than -5e29).
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_smoothing_mask_detection_with_a_huge_logit(dtype):
    x = jnp.asarray([[6e29, -jnp.inf, 0.0, 0.0, 0.0]], dtype)
    y = jnp.asarray([0], jnp.int32)
    got = CE(x, y, label_smoothing=0.1)
    want = reference.softmax_cross_entropy_with_integer_labels(x, y, label_smoothing=0.1)
    np.testing.assert_allclose(got, want, rtol=1e-6)  # got 6.8e28, want 4.5e28


# With class weights, an out-of-range label's gradient row is NaN even under a zero
#    cotangent (the reference gives 0), so `jnp.where(valid, loss, 0)` after
#    reduction="none" poisons the whole gradient.
def test_out_of_range_label_with_zero_cotangent_has_zero_gradient():
    x, y = _fixed_inputs()
    y = y.at[3].set(C)
    valid = y < C
    for kw in ({}, {"class_weights": CLASS_WEIGHTS}, {"label_smoothing": 0.1}):
        g = jax.grad(lambda x, kw=kw: jnp.sum(jnp.where(valid, CE(x, y, **kw), 0.0)))(x)
        assert np.isfinite(g).all(), kw


# --- fully masked rows, empty batches, class weights and tuple axes of probability labels


@pytest.mark.parametrize("option", [{}, {"label_smoothing": 0.1}, {"class_weights": CLASS_WEIGHTS}])
def test_soft_labels_fully_masked_row_is_zero_and_does_not_poison_the_mean(option):
    x = logits(3, (4, C)).at[2].set(-INF)
    t = jnp.asarray(rng(4).dirichlet(np.ones(C), 4)).at[2].set(0.0)
    per = SOFT(x, t, **option)
    assert per[2] == 0.0 and bool(jnp.all(jnp.isfinite(per)))
    mean, g = jax.value_and_grad(lambda x: SOFT(x, t, reduction="mean", **option))(x)
    rows = jnp.asarray([0, 1, 3])
    want, g_want = jax.value_and_grad(lambda x: SOFT(x, t[rows], reduction="sum", **option))(
        x[rows]
    )
    np.testing.assert_allclose(mean, want / 4, rtol=1e-12)
    np.testing.assert_allclose(g[rows], g_want / 4, rtol=1e-12, atol=1e-15)
    assert bool(jnp.all(g[2] == 0))
    h = jax.hessian(lambda x: jnp.sum(SOFT(x, t, **option)))(x)
    assert bool(jnp.all(jnp.isfinite(h)))
    gt = jax.grad(lambda t: SOFT(x, t, reduction="mean", **option))(t)
    assert bool(jnp.all(gt[2] == 0)) and bool(jnp.all(jnp.isfinite(gt)))


EMPTY = {
    "ce": lambda x, **kw: CE(x, jnp.zeros(x.shape[:-1], jnp.int32), **kw),
    "ce-options": lambda x, **kw: CE(
        x,
        jnp.zeros(x.shape[:-1], jnp.int32),
        label_smoothing=0.1,
        class_weights=CLASS_WEIGHTS,
        z_loss=1e-3,
        **kw,
    ),
    "soft": lambda x, **kw: SOFT(x, jnp.zeros(x.shape), **kw),
    "soft-options": lambda x, **kw: SOFT(
        x, jnp.zeros(x.shape), label_smoothing=0.1, class_weights=CLASS_WEIGHTS, **kw
    ),
    "nll": lambda x, **kw: NLL(x, jnp.zeros(x.shape[:-1], jnp.int32), **kw),
    "nll-weights": lambda x, **kw: NLL(
        x, jnp.zeros(x.shape[:-1], jnp.int32), class_weights=CLASS_WEIGHTS, **kw
    ),
}


@pytest.mark.parametrize("batch", [(0,), (3, 0)])
@pytest.mark.parametrize("loss", EMPTY)
def test_empty_batch_gives_empty_none_and_zero_sum_and_mean(loss, batch):
    f = EMPTY[loss]
    x = jnp.zeros((*batch, C))
    assert f(x).shape == batch
    for reduction in ("sum", "mean"):
        for kw in ({}, {"weights": jnp.ones(batch)}, {"where": jnp.ones(batch, bool)}):
            value, g = jax.jit(
                jax.value_and_grad(lambda x, r=reduction, kw=kw: f(x, reduction=r, **kw))
            )(x)
            assert value == 0.0 and g.shape == x.shape


def test_soft_class_weights_value_gradients_and_reference():
    x, t = logits(5, (6, C)), jnp.asarray(rng(6).dirichlet(np.ones(C), 6))
    got = SOFT(x, t, class_weights=CLASS_WEIGHTS)
    want = -jnp.sum(CLASS_WEIGHTS[None, :] * t * jax.nn.log_softmax(x), -1)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    ct = jnp.asarray(rng(7).normal(size=6))
    for smoothing in (0.0, 0.3):

        def f(fn, smoothing=smoothing):
            return lambda x, t, w: jnp.sum(
                ct * fn(x, t, class_weights=w, label_smoothing=smoothing)
            )

        grads = jax.grad(f(SOFT), (0, 1, 2))(x, t, CLASS_WEIGHTS)
        ref = jax.grad(f(reference.softmax_cross_entropy), (0, 1, 2))(x, t, CLASS_WEIGHTS)
        for a, b in zip(grads, ref, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
        assert bool(jnp.all(grads[2] != 0))


def test_tuple_axis_flattens_the_named_axes_in_their_order():
    x = logits(8, (2, 3, 4, 5))
    flat = jnp.transpose(x, (0, 2, 3, 1)).reshape(2, 4, 15)
    y = jnp.asarray(rng(9).integers(0, 15, (2, 4)), jnp.int32)
    np.testing.assert_allclose(CE(x, y, axis=(3, 1)), CE(flat, y), rtol=1e-12)
    t = jax.nn.softmax(flat, -1)
    tx = jnp.transpose(t.reshape(2, 4, 5, 3), (0, 3, 1, 2))
    np.testing.assert_allclose(SOFT(x, tx, axis=[3, 1]), SOFT(flat, t), rtol=1e-12)
    g = jax.grad(lambda x: CE(x, y, axis=(3, 1), reduction="mean"))(x)
    g_flat = jax.grad(lambda f: CE(f, y, reduction="mean"))(flat)
    np.testing.assert_allclose(jnp.transpose(g, (0, 2, 3, 1)).reshape(2, 4, 15), g_flat)
    assert SOFT(x, jax.nn.softmax(x.reshape(-1)).reshape(x.shape), axis=None).shape == ()


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda: CE(jnp.zeros((2, 3, 4)), jnp.zeros(2, jnp.int32), axis=(1, 1)),
            ValueError,
            r"softmax_cross_entropy_with_integer_labels: axis \(1, 1\) repeats",
        ),
        (
            lambda: CE(jnp.zeros((2, 3)), jnp.zeros(2, jnp.int32), axis=None),
            TypeError,
            "axis must be an int or a non-empty tuple of ints, got None",
        ),
        (
            lambda: SOFT(jnp.zeros((2, 3)), jnp.zeros((2, 3)), axis=()),
            TypeError,
            "softmax_cross_entropy: axis must be an int, a non-empty tuple of ints or None",
        ),
        (
            lambda: SOFT(jnp.zeros((2, 3)), jnp.zeros((2, 3)), axis=(0, 5)),
            ValueError,
            "axis 5 is out of range",
        ),
        (
            lambda: SOFT(jnp.zeros((2, 3)), jnp.zeros((2, 3)), class_weights=jnp.ones(2)),
            ValueError,
            r"softmax_cross_entropy: class_weights must have one weight per class",
        ),
    ],
)
def test_tuple_axis_and_soft_class_weight_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
