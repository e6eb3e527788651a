"""Behaviour of the contrastive losses: masking, documented conventions, identities, errors."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss


def _rng(seed=0):
    return np.random.default_rng(seed)


def _z(n=8, d=4, seed=0):
    return jnp.asarray(_rng(seed).normal(size=(n, d)))


# --- where: an excluded example leaves the batch


@pytest.mark.parametrize("name", ["ntxent", "supervised_contrastive"])
def test_where_drops_examples_like_a_smaller_batch(name):
    fn = getattr(jaxloss, name)
    z, y = _z(10), jnp.asarray([0, 0, 1, 1, 2, 2, 0, 1, 3, 3], jnp.int32)
    keep = jnp.asarray([1, 1, 1, 0, 1, 1, 0, 1, 1, 1], bool)
    dirty = jnp.where(keep[:, None], z, jnp.nan)
    bad_labels = jnp.where(keep, y, 99)  # excluded labels must not create positives either

    def f(z, tau):
        return fn(z, bad_labels, tau, where=keep, reduction="sum")

    value, (gz, gt) = jax.jit(jax.value_and_grad(f, (0, 1)))(dirty, 0.3)
    small_value, (gz_small, gt_small) = jax.jit(
        jax.value_and_grad(lambda z, t: fn(z, y[keep], t, reduction="sum"), (0, 1))
    )(z[keep], 0.3)
    np.testing.assert_allclose(value, small_value, rtol=1e-12)
    np.testing.assert_allclose(gz[keep], gz_small, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(gt, gt_small, rtol=1e-10)
    assert np.all(np.asarray(gz)[~np.asarray(keep)] == 0)


@pytest.mark.parametrize("name", ["info_nce", "sigmoid_pairwise"])
def test_where_drops_pairs_like_a_smaller_batch(name):
    fn = getattr(jaxloss, name)
    q, k = _z(7), _z(7, seed=1)
    keep = jnp.asarray([1, 0, 1, 1, 0, 1, 1], bool)
    extra = (2.0, -1.0) if name == "sigmoid_pairwise" else (0.5,)
    nan = jnp.where(keep[:, None], q, jnp.nan), jnp.where(keep[:, None], k, jnp.inf)
    got = jax.jit(
        jax.value_and_grad(lambda q, k: fn(q, k, *extra, where=keep, reduction="mean"), (0, 1))
    )
    want = jax.jit(jax.value_and_grad(lambda q, k: fn(q, k, *extra, reduction="mean"), (0, 1)))
    (v1, (gq1, gk1)), (v2, (gq2, gk2)) = got(*nan), want(q[keep], k[keep])
    np.testing.assert_allclose(v1, v2, rtol=1e-12)
    np.testing.assert_allclose(gq1[keep], gq2, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(gk1[keep], gk2, rtol=1e-10, atol=1e-14)
    assert np.all(np.asarray(gq1)[~np.asarray(keep)] == 0)


def test_everything_masked_gives_zero_mean_and_zero_gradient():
    z = _z(4)
    none = jnp.zeros(4, bool)
    for f in (
        lambda z: jaxloss.ntxent(z, jnp.zeros(4, jnp.int32), where=none, reduction="mean"),
        lambda z: jaxloss.info_nce(z, z, where=none, reduction="mean"),
        lambda z: jaxloss.sigmoid_pairwise(z, z, where=none, reduction="mean"),
    ):
        value, grad = jax.jit(jax.value_and_grad(f))(z)
        assert float(value) == 0 and np.all(np.asarray(grad) == 0)


@pytest.mark.parametrize("bad", [math.nan, 0.0])
@pytest.mark.parametrize("name", ["ntxent", "supervised_contrastive", "info_nce"])
def test_masked_problem_temperature_gets_zero_gradient_and_hvp(name, bad):
    # A learnt temperature gone NaN or 0 in a problem whose examples are all excluded:
    # the other problem's loss and every derivative stay finite, the bad one's are 0.
    z = jnp.asarray(_rng(3).normal(size=(2, 4, 3)), jnp.float32)
    y = jnp.asarray([[0, 0, 1, 1]] * 2, jnp.int32)
    keep = jnp.asarray([[False] * 4, [True] * 4])

    def mean(z, tau):
        if name == "info_nce":
            return jaxloss.info_nce(z, z[:, ::-1], tau, where=keep, reduction="mean")
        return getattr(jaxloss, name)(z, y, tau, where=keep, reduction="mean")

    tau = jnp.asarray([bad, 0.5], jnp.float32)
    grad = jax.grad(mean, argnums=(0, 1))
    t = (jnp.asarray(_rng(4).normal(size=z.shape), jnp.float32), jnp.ones(2, jnp.float32))
    (gz, gt), (hz, ht) = jax.jvp(grad, (z, tau), t)
    assert np.isfinite(float(mean(z, tau)))
    for x in (gz, gt, hz, ht):
        assert np.all(np.isfinite(np.asarray(x)))
    assert gt[0] == 0 and ht[0] == 0
    assert np.all(np.asarray(gz[0]) == 0) and np.all(np.asarray(hz[0]) == 0)


# --- documented conventions


def test_ntxent_mean_is_over_positive_pairs():
    z, y = _z(6), jnp.asarray([0, 0, 0, 1, 1, 2], jnp.int32)
    per_anchor = np.asarray(jaxloss.ntxent(z, y, 0.2))
    pairs = np.asarray([2, 2, 2, 1, 1, 0])
    assert per_anchor[5] == 0  # no positive: adds 0
    np.testing.assert_allclose(jaxloss.ntxent(z, y, 0.2, reduction="mean"),
                               np.sum(per_anchor) / pairs.sum(), rtol=1e-12)  # fmt: skip
    w = np.asarray([1.0, 2.0, 0.5, 1.0, 3.0, 1.0])
    np.testing.assert_allclose(jaxloss.ntxent(z, y, 0.2, weights=jnp.asarray(w), reduction="mean"),
                               np.sum(w * per_anchor) / np.sum(w * pairs), rtol=1e-12)  # fmt: skip


def test_ntxent_without_positive_pairs_is_zero_not_nan():
    z = _z(4)
    value, grad = jax.value_and_grad(
        lambda z: jaxloss.ntxent(z, jnp.arange(4, dtype=jnp.int32), reduction="mean")
    )(z)
    assert float(value) == 0 and np.all(np.asarray(grad) == 0)


def test_supcon_anchor_without_positives_adds_zero_and_counts_in_the_mean():
    z, y = _z(5), jnp.asarray([0, 0, 1, 1, 7], jnp.int32)
    per = np.asarray(jaxloss.supervised_contrastive(z, y, 0.5))
    assert per[4] == 0
    np.testing.assert_allclose(jaxloss.supervised_contrastive(z, y, 0.5, reduction="mean"),
                               np.sum(per) / 5, rtol=1e-12)  # fmt: skip
    # The lonely anchor is still a negative of the others: its gradient is not zero.
    g = jax.grad(lambda z: jaxloss.supervised_contrastive(z, y, 0.5, reduction="sum"))(z)
    assert np.any(np.asarray(g[4]) != 0)


def test_supcon_single_positive_equals_ntxent_only_with_one_negative_set():
    """With exactly one positive per anchor, SupCon's denominator adds the positive to
    NT-Xent's negatives: the two agree (SimCLR's NT-Xent is SupCon with 2 views)."""
    z, y = _z(6), jnp.asarray([0, 0, 1, 1, 2, 2], jnp.int32)
    np.testing.assert_allclose(jaxloss.supervised_contrastive(z, y, 0.3),
                               jaxloss.ntxent(z, y, 0.3), rtol=1e-12)  # fmt: skip


def test_info_nce_symmetric_is_the_mean_of_both_directions():
    q, k = _z(6), _z(6, seed=1)
    both = jaxloss.info_nce(q, k, 0.3)
    one = jaxloss.info_nce(q, k, 0.3, symmetric=False)
    other = jaxloss.info_nce(k, q, 0.3, symmetric=False)
    np.testing.assert_allclose(both, 0.5 * (one + other), rtol=1e-12)


def test_info_nce_learnt_logit_scale_through_autodiff():
    """CLIP's parametrisation: temperature = exp(-logit_scale)."""
    q, k = _z(6), _z(6, seed=1)

    def clip(logit_scale):
        return jaxloss.info_nce(q, k, jnp.exp(-logit_scale), reduction="mean")

    s = jnp.log(1 / 0.07)
    eps = 1e-6
    fd = (clip(s + eps) - clip(s - eps)) / (2 * eps)
    np.testing.assert_allclose(jax.grad(clip)(s), fd, rtol=1e-6)


@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("aligned", [True, False])
def test_info_nce_hvp_at_a_tiny_temperature_is_not_nan(symmetric, aligned):
    """At τ = 1e-30 the logits are ~1e30 and the tangent of 1/τ, -dτ/τ² ~ 1e60, is beyond
    float32: the softmax's tangents took 0·∞ where a probability is 0 and ∞ - ∞ where it
    is 1, and the Hessian-vector product was NaN. Aligned towers (each query nearest its
    own key) have loss 0 and an exactly zero second derivative; otherwise the exact one is
    ~1e58, which float32 gives saturated (the tangent of 1/τ held at the largest finite
    value) with the right signs, or ±inf."""
    r = _rng(5)
    q, k, tq, tk = (r.normal(size=(6, 5)).astype(np.float32) for _ in range(4))
    if aligned:
        k = q + np.float32(0.01) * k
    tau, tt = np.float32(1e-30), np.float32(0.7)

    def hvp(q, k, tau, tq, tk, tt):
        def mean(*a):
            return jaxloss.info_nce(*a, symmetric=symmetric, reduction="mean")

        vg = jax.value_and_grad(mean, (0, 1, 2))
        return jax.jvp(vg, (q, k, tau), (tq, tk, tt))[1][1]

    got = [np.asarray(g) for g in jax.jit(hvp)(q, k, tau, tq, tk, tt)]
    with jax.enable_x64(True):
        want = jax.jit(hvp)(*(np.asarray(x, np.float64) for x in (q, k, tau, tq, tk, tt)))
        want = [np.asarray(w) for w in want]
    for g, w in zip(got, want, strict=True):
        assert not np.any(np.isnan(g)), g
        if aligned:
            np.testing.assert_array_equal(w, 0)
            np.testing.assert_array_equal(g, 0)
        else:
            assert np.all(np.abs(w) > np.finfo(np.float32).max)
            np.testing.assert_array_equal(np.sign(g), np.sign(w))


def test_sigmoid_pairwise_mean_is_the_papers_normalisation():
    x, y = _z(5), _z(5, seed=1)
    t, b = 4.0, -2.0
    xn = np.asarray(x) / np.linalg.norm(x, axis=1, keepdims=True)
    yn = np.asarray(y) / np.linalg.norm(y, axis=1, keepdims=True)
    logits = t * xn @ yn.T + b
    labels = 2 * np.eye(5) - 1
    paper = -np.sum(np.log(1 / (1 + np.exp(-labels * logits)))) / 5
    np.testing.assert_allclose(jaxloss.sigmoid_pairwise(x, y, t, b, reduction="mean"), paper,
                               rtol=1e-12)  # fmt: skip


def test_leading_axes_are_independent_batches():
    z = jnp.asarray(_rng(3).normal(size=(3, 6, 4)))
    y = jnp.asarray(_rng(4).integers(0, 3, (3, 6)), jnp.int32)
    tau = jnp.asarray([0.2, 0.5, 1.0])
    got = jaxloss.supervised_contrastive(z, y, tau)
    want = jnp.stack([jaxloss.supervised_contrastive(z[i], y[i], tau[i]) for i in range(3)])
    np.testing.assert_allclose(got, want, rtol=1e-12)
    got = jaxloss.info_nce(z, z[::-1], 0.3)  # a scalar temperature broadcasts
    want = jnp.stack([jaxloss.info_nce(z[i], z[2 - i], 0.3) for i in range(3)])
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_zero_embeddings_and_tiny_temperatures_stay_finite():
    z = jnp.zeros((4, 3)).at[0].set(1e-30)
    for f in (
        lambda z, t: jaxloss.ntxent(z, jnp.asarray([0, 0, 1, 1]), t, reduction="sum"),
        lambda z, t: jaxloss.supervised_contrastive(
            z, jnp.asarray([0, 0, 1, 1]), t, reduction="sum"
        ),
        lambda z, t: jaxloss.info_nce(z, z, t, reduction="sum"),
        lambda z, t: jaxloss.sigmoid_pairwise(z, z, 1 / t, 0.0, reduction="sum"),
    ):
        for zz, t in ((z, 0.1), (_z(4, 3), 1e-4)):
            value, grads = jax.jit(jax.value_and_grad(f, (0, 1)))(zz, t)
            assert np.isfinite(value) and all(np.all(np.isfinite(g)) for g in grads)


@pytest.mark.parametrize("name", ["supervised_contrastive", "ntxent"])
def test_float32_gradient_with_huge_logits_matches_float64(name):
    """Logits ~1e7 (raw embeddings x3000, a temperature that is not a power of two): the
    backward pass reads s_ij for s_ji, so the forward's similarities must be exactly
    symmetric, or exp(s - lse) turns their rounding into an O(1) gradient error."""
    r = _rng(11)
    z = (r.normal(size=(16, 8)) * 3000).astype(np.float32)
    y = jnp.asarray(r.integers(0, 4, 16), jnp.int32)
    fn, ref = getattr(jaxloss, name), getattr(jaxloss.reference, name)
    opts = {"normalize": False} if name == "supervised_contrastive" else {}
    tau = 0.93 if name == "supervised_contrastive" else 0.00093

    def grad(f, z):
        return jax.jit(jax.grad(lambda z: f(z, y, tau, reduction="mean", **opts)))(z)

    g32 = np.asarray(grad(fn, jnp.asarray(z)), np.float64)
    g64 = np.asarray(grad(ref, jnp.asarray(z, jnp.float64)))
    assert np.max(np.abs(g32 - g64)) <= 2e-5 * np.max(np.abs(g64))


_EMPTY_CALLS = {
    "ntxent": lambda m, e, y, t, r: m.ntxent(e, y, t, reduction=r),
    "supervised_contrastive": lambda m, e, y, t, r: m.supervised_contrastive(e, y, t, reduction=r),
    "info_nce": lambda m, e, y, t, r: m.info_nce(e, e[..., ::-1], t, reduction=r),
    "sigmoid_pairwise": lambda m, e, y, t, r: m.sigmoid_pairwise(e, e, t, -t, reduction=r),
}


@pytest.mark.parametrize("module", ["jaxloss", "reference"])
@pytest.mark.parametrize("name", sorted(_EMPTY_CALLS))
@pytest.mark.parametrize("shape", [(0, 4), (2, 0, 4), (0, 3, 4)])
def test_empty_batch_is_an_empty_none_and_a_zero_sum_and_mean(name, shape, module):
    m = jaxloss if module == "jaxloss" else jaxloss.reference
    call = _EMPTY_CALLS[name]
    e = jnp.asarray(_rng(5).normal(size=shape))
    y = jnp.zeros(shape[:-1], jnp.int32)
    tau = jnp.full(shape[:-2], 0.5)
    assert call(m, e, y, tau, "none").shape == shape[:-1]
    for reduction in ("sum", "mean"):
        f = jax.jit(jax.value_and_grad(lambda e, t, r=reduction: call(m, e, y, t, r), (0, 1)))
        value, (ge, gt) = f(e, tau)
        assert float(value) == 0.0
        assert ge.shape == shape and gt.shape == shape[:-2]
        np.testing.assert_array_equal(ge, 0.0)
        np.testing.assert_array_equal(gt, 0.0)


_EXPORT_CALLS = {
    "ntxent": lambda e, y: jaxloss.ntxent(e, y, 0.5, reduction="mean"),
    "supervised_contrastive": lambda e, y: jaxloss.supervised_contrastive(
        e, y, 0.5, reduction="mean"
    ),
    "info_nce": lambda e, y: jaxloss.info_nce(e, e[..., ::-1], 0.5, reduction="mean"),
    "sigmoid_pairwise": lambda e, y: jaxloss.sigmoid_pairwise(
        e, e[..., ::-1], 10.0, -5.0, reduction="mean"
    ),
}


@pytest.mark.parametrize("name", sorted(_EXPORT_CALLS))
@pytest.mark.parametrize("symbolic", ["problems", "batch"])
def test_shape_polymorphic_export(name, symbolic):
    """jax.export with a symbolic batch-of-problems axis or batch axis, value and grad."""
    from jax import export

    (b,) = export.symbolic_shape("b")
    shape = (3, 8, 16) if symbolic == "problems" else (12, 16)
    spec = (b, 8, 16) if symbolic == "problems" else (b, 16)
    r = _rng(21)
    e = jnp.asarray(r.normal(size=shape), jnp.float32)
    y = jnp.asarray(r.integers(0, 3, shape[:-1]), jnp.int32)
    f = _EXPORT_CALLS[name]
    for g in (f, jax.grad(f)):
        exported = export.export(jax.jit(g))(
            jax.ShapeDtypeStruct(spec, jnp.float32), jax.ShapeDtypeStruct(spec[:-1], jnp.int32)
        )
        np.testing.assert_allclose(exported.call(e, y), g(e, y), rtol=1e-5, atol=1e-7)


def test_low_precision_inputs_compute_in_float32():
    z = _z(6).astype(jnp.bfloat16)
    y = jnp.asarray([0, 0, 1, 1, 2, 2], jnp.int32)
    out = jaxloss.supervised_contrastive(z, y, 0.5)
    assert out.dtype == jnp.bfloat16
    ref = jaxloss.supervised_contrastive(z.astype(jnp.float32), y, 0.5)
    np.testing.assert_allclose(out.astype(np.float32), ref, rtol=2e-2)
    g = jax.grad(lambda z: jnp.sum(jaxloss.info_nce(z, z[::-1], 0.5)))(z)
    assert g.dtype == jnp.bfloat16


# --- additive_angular_margin


def _cos(n=5, c=4, seed=0):
    return jnp.asarray(_rng(seed).uniform(-0.9, 0.9, (n, c)))


def test_aam_without_margins_is_scaled_cross_entropy():
    cos, y = _cos(), jnp.asarray([0, 3, 1, 2, 2], jnp.int32)
    got = jaxloss.additive_angular_margin(cos, y, scale=8.0, margin=0.0)
    want = jaxloss.softmax_cross_entropy_with_integer_labels(8.0 * cos, y)
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_aam_cosface_subtracts_the_margin_from_the_target_logit():
    cos, y = _cos(), jnp.asarray([0, 3, 1, 2, 2], jnp.int32)
    got = jaxloss.additive_angular_margin(cos, y, scale=8.0, margin=0.0, cosine_margin=0.35)
    shifted = cos - 0.35 * jax.nn.one_hot(y, 4, dtype=cos.dtype)
    want = jaxloss.softmax_cross_entropy_with_integer_labels(8.0 * shifted, y)
    np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("easy", [False, True])
def test_aam_target_logit_and_fallbacks(easy):
    m = 0.5
    th = math.cos(math.pi - m)
    cy = np.asarray([0.7, 0.2, -0.3, th - 0.01, -0.99])
    cos = jnp.asarray(np.stack([cy, np.zeros(5)], axis=1))
    y = jnp.zeros(5, jnp.int32)
    loss = np.asarray(jaxloss.additive_angular_margin(cos, y, scale=1.0, margin=m,
                                                      easy_margin=easy))  # fmt: skip
    # Two classes, the other cosine 0: loss = softplus(0 − φ(c_y)).
    phi = -np.log(np.expm1(loss))
    arc = np.cos(np.arccos(cy) + m)
    if easy:
        want = np.where(cy > 0, arc, cy)
    else:
        want = np.where(cy > th, arc, cy - math.sin(math.pi - m) * m)
    np.testing.assert_allclose(phi, want, rtol=1e-9)


def test_aam_gradient_at_the_poles_is_finite_and_documented():
    cos = jnp.asarray([[1.0, 0.0], [1.0 + 1e-7, 0.0], [-1.0, 0.5]])
    y = jnp.zeros(3, jnp.int32)
    g = jax.jit(jax.grad(lambda c: jnp.sum(jaxloss.additive_angular_margin(c, y, scale=2.0))))(cos)
    assert np.all(np.isfinite(g))
    # c = 1: φ = c cos m, φ' = cos m, z = (2 cos m, 0).
    p0 = 1 / (1 + math.exp(-2 * math.cos(0.5)))
    np.testing.assert_allclose(g[0], [2 * (p0 - 1) * math.cos(0.5), 2 * (1 - p0)], rtol=1e-12)


def test_aam_out_of_range_label_is_nan_with_zero_gradient():
    cos, y = _cos(3), jnp.asarray([0, 4, -1], jnp.int32)
    _, g = jax.value_and_grad(
        lambda c: jnp.sum(jnp.where(jnp.arange(3) == 0,
                                    jaxloss.additive_angular_margin(c, y), 0))
    )(cos)  # fmt: skip
    per = jaxloss.additive_angular_margin(cos, y)
    assert np.isfinite(per[0]) and np.all(np.isnan(per[1:]))
    assert np.all(np.isfinite(g)) and np.all(np.asarray(g[1:]) == 0)


def test_aam_class_axis():
    cos, y = _cos(), jnp.asarray([0, 3, 1, 2, 2], jnp.int32)
    np.testing.assert_allclose(jaxloss.additive_angular_margin(cos.T, y, axis=0),
                               jaxloss.additive_angular_margin(cos, y), rtol=1e-12)  # fmt: skip


def test_aam_where_excludes_bad_rows():
    cos = _cos(3).at[1].set(jnp.nan)
    y = jnp.asarray([0, 99, 2], jnp.int32)
    where = jnp.asarray([True, False, True])
    value, g = jax.value_and_grad(
        lambda c: jaxloss.additive_angular_margin(c, y, where=where, reduction="mean")
    )(cos)
    assert np.isfinite(value) and np.all(np.asarray(g[1]) == 0) and np.all(np.isfinite(g))


# --- errors


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: jaxloss.ntxent(jnp.zeros(4), jnp.zeros(4, jnp.int32)), ValueError,
         r"ntxent: embeddings must have shape \[..., batch, features\], got \(4,\)"),
        (lambda: jaxloss.ntxent(jnp.zeros((4, 2)), jnp.zeros(3, jnp.int32)), ValueError,
         r"ntxent: labels must have .* \(4,\), got \(3,\)"),
        (lambda: jaxloss.supervised_contrastive(jnp.zeros((4, 2)), jnp.zeros(4)), TypeError,
         "supervised_contrastive: labels must have an integer dtype"),
        (lambda: jaxloss.supervised_contrastive(jnp.zeros((4, 2), jnp.int32),
                                                jnp.zeros(4, jnp.int32)), TypeError,
         "supervised_contrastive: embeddings must have a floating dtype"),
        (lambda: jaxloss.info_nce(jnp.zeros((4, 2)), jnp.zeros((4, 3))), ValueError,
         r"info_nce: query and key must have the same shape, got \(4, 2\) and \(4, 3\)"),
        (lambda: jaxloss.info_nce(jnp.zeros((2, 4, 2)), jnp.zeros((2, 4, 2)), jnp.ones(3)),
         ValueError, r"info_nce: temperature must be broadcastable to the batch shape .*\(2,\)"),
        (lambda: jaxloss.info_nce(jnp.zeros((4, 2)), jnp.zeros((4, 2)), symmetric=1), TypeError,
         "info_nce: symmetric must be True or False"),
        (lambda: jaxloss.info_nce(jnp.zeros((4, 2)), jnp.zeros((4, 2)), axis_name=["d"]),
         TypeError, "info_nce: axis_name must be a mesh axis name"),
        (lambda: jaxloss.sigmoid_pairwise(jnp.zeros((4, 2)), jnp.zeros((4, 2)), reduction="avg"),
         ValueError, "sigmoid_pairwise: reduction must be one of"),
        (lambda: jaxloss.sigmoid_pairwise(jnp.zeros((4, 2)), jnp.zeros((4, 2)),
                                          where=jnp.ones(3, bool)), ValueError,
         r"sigmoid_pairwise: where must be broadcastable to the loss shape \(4,\)"),
        (lambda: jaxloss.additive_angular_margin(jnp.zeros((4, 3)), jnp.zeros(3, jnp.int32)),
         ValueError, r"additive_angular_margin: labels must have .* \(4,\), got \(3,\)"),
        (lambda: jaxloss.additive_angular_margin(jnp.zeros((4, 3)), jnp.zeros(4, jnp.int32),
                                                 margin=4.0), ValueError,
         r"additive_angular_margin: margin must be in \[0, 3.14159"),
        (lambda: jaxloss.additive_angular_margin(jnp.zeros((4, 3)), jnp.zeros(4, jnp.int32),
                                                 scale=0.0), ValueError,
         "additive_angular_margin: scale must be in"),
    ],
)  # fmt: skip
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf, np.asarray([0.5, -0.5])])
@pytest.mark.parametrize("name", ["ntxent", "info_nce", "supervised_contrastive", "sigmoid"])
def test_known_temperature_or_scale_must_be_finite_and_positive(name, bad):
    z, y = jnp.zeros((2, 4, 3)), jnp.zeros((2, 4), jnp.int32)
    calls = {
        "ntxent": lambda t: jaxloss.ntxent(z, y, t),
        "info_nce": lambda t: jaxloss.info_nce(z, z, t),
        "supervised_contrastive": lambda t: jaxloss.supervised_contrastive(z, y, t),
        "sigmoid": lambda t: jaxloss.sigmoid_pairwise(z, z, t),
    }
    arg = "scale" if name == "sigmoid" else "temperature"
    fn = "sigmoid_pairwise" if name == "sigmoid" else name
    with pytest.raises(ValueError, match=rf"{fn}: {arg} must be finite and > 0, got "):
        calls[name](bad)
    calls[name](1)  # a Python int is a number like any other
    # A traced temperature cannot be checked: it is used as given (documented).
    out = jax.jit(calls[name])(jnp.asarray(bad, jnp.float32))
    assert out.shape == (2, 4)


@pytest.mark.parametrize("bad", [math.nan, -math.inf])
def test_sigmoid_pairwise_known_bias_must_be_finite(bad):
    z = jnp.zeros((4, 3))
    with pytest.raises(ValueError, match="sigmoid_pairwise: bias must be finite, got "):
        jaxloss.sigmoid_pairwise(z, z, 10.0, bad)
    jaxloss.sigmoid_pairwise(z, z, 10.0, -3.0)


@pytest.mark.parametrize("name", ["ntxent", "supervised_contrastive"])
def test_hessian_is_finite_without_negatives_or_positives(name):
    """jax.hessian (forward over the rule) stays finite in rows whose loss is 0 by
    convention, and equals the reference's."""
    z = _z(4, 3)
    fn, ref = getattr(jaxloss, name), getattr(jaxloss.reference, name)
    for labels in ([0, 0, 0, 0], [0, 1, 2, 3]):
        y = jnp.asarray(labels, jnp.int32)
        h = jax.hessian(lambda z, y=y: fn(z, y, 0.5, reduction="mean"))(z)
        h_ref = jax.hessian(lambda z, y=y: ref(z, y, 0.5, reduction="mean"))(z)
        assert np.all(np.isfinite(h))
        np.testing.assert_allclose(h, h_ref, atol=1e-12)


def test_additive_angular_margin_hvp_is_finite_at_a_minus_inf_cosine():
    # A masked class (cosine -inf) gave a NaN Hessian-vector product: 0 · ∞ in the
    # backward's tangent. Its exact second derivative is 0 (its probability is 0).
    c = jnp.asarray(np.random.default_rng(0).uniform(-1, 1, (3, 5)), jnp.float32)
    c = c.at[0, 0].set(-jnp.inf)
    y = jnp.array([1, 0, 2])
    t = jnp.asarray(np.random.default_rng(1).normal(size=c.shape), jnp.float32)

    def mean(x):
        return jaxloss.additive_angular_margin(x, y, reduction="mean")

    (v, g), (_, h) = jax.jvp(jax.value_and_grad(mean), (c,), (t,))
    assert np.isfinite(v) and np.all(np.isfinite(g)) and np.all(np.isfinite(h))
    assert float(g[0, 0]) == 0.0 and float(h[0, 0]) == 0.0
