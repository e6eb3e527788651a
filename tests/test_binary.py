"""Binary and multi-label losses: documented values, boundaries, identities and errors.

The contract tests (tests/test_contract.py) check every rule against its reference;
the conformance tests check them against PyTorch and optax. This file checks what
neither covers: the conventions at p in {0, 1}, at infinite logits and at kinks,
the identities between the losses, precision in the tails, and the error messages.
"""

import math
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss
from jaxloss import reference

INF = math.inf


def rng(seed=0):
    return np.random.default_rng(seed)


def grads(f, *args, argnums=(0, 1)):
    """Gradients of sum(f(*args)) with respect to ``argnums``."""
    return jax.grad(lambda *a: jnp.sum(f(*a)), argnums=argnums)(*args)


def logits_labels(shape=(8, 5), seed=0, scale=3.0):
    r = rng(seed)
    x = jnp.asarray(r.normal(size=shape) * scale)
    hard = r.integers(0, 2, size=shape).astype(np.float64)
    y = jnp.asarray(np.where(r.uniform(size=shape) < 0.5, hard, r.uniform(size=shape)))
    return x, y


def f32(*xs):
    return tuple(jnp.asarray(x, jnp.float32) for x in xs)


# --- binary_cross_entropy


def test_bce_clamps_each_log_at_minus_100_and_keeps_torch_gradient_at_boundaries():
    p, y = f32([0.0, 1.0, 0.0, 1.0, 0.0, 1.0], [0.0, 1.0, 1.0, 0.0, 0.25, 0.25])
    np.testing.assert_allclose(jaxloss.binary_cross_entropy(p, y), [0, 0, 100, 100, 25, 75])
    gp, gy = grads(jaxloss.binary_cross_entropy, p, y)
    # (p - y) / max(p (1 - p), 1e-12): 0 where the label agrees, ∓1e12 · label otherwise.
    np.testing.assert_allclose(gp, [0, 0, -1e12, 1e12, -0.25e12, 0.75e12], rtol=1e-6)
    # ∂/∂y of the clamped value: ±100 (PyTorch's -logit(p) is infinite there).
    np.testing.assert_array_equal(gy, [100, -100, 100, -100, 100, -100])


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_bce_hessian_is_exact_at_probability_0_and_1(dtype):
    # The clamped logs are flat at p in {0, 1}: the derivative of ∂/∂y along p is 0 from
    # the clamped log and -1/(1 - p) or -1/p from the other; PyTorch's ∂/∂p, (p - y) / 1e-12
    # there, has derivatives 1e12 along p and -1e12 along y.
    p, y = (jnp.asarray(a, dtype) for a in ([0.0, 1.0, 0.0, 1.0], [0.3, 0.3, 1.0, 0.0]))
    both = jax.hessian(lambda a: jaxloss.binary_cross_entropy(a[0], a[1], reduction="sum"))(
        jnp.stack([p, y])
    )
    assert np.isfinite(both).all()
    np.testing.assert_array_equal(np.diagonal(both[1, :, 0, :]), [-1, -1, -1, -1])
    np.testing.assert_array_equal(np.diagonal(both[1, :, 1, :]), [0, 0, 0, 0])
    np.testing.assert_allclose(np.diagonal(both[0, :, 0, :]), [1e12] * 4, rtol=1e-6)
    np.testing.assert_allclose(np.diagonal(both[0, :, 1, :]), [-1e12] * 4, rtol=1e-6)


def test_bce_interior_gradient_is_the_textbook_one():
    p = jnp.asarray(rng(1).uniform(0.01, 0.99, 64))
    y = jnp.asarray(rng(2).uniform(0, 1, 64))
    gp, gy = grads(jaxloss.binary_cross_entropy, p, y)
    np.testing.assert_allclose(gp, -y / p + (1 - y) / (1 - p), rtol=1e-12)
    np.testing.assert_allclose(gy, jnp.log1p(-p) - jnp.log(p), rtol=1e-12)


def test_bce_uses_log1p_for_small_probabilities():
    # 1 - 1e-9 rounds to 1 in float32: log(1 - p) would give 0, log1p(-p) gives -1e-9.
    got = jaxloss.binary_cross_entropy(*f32([1e-9], [0.0]))
    np.testing.assert_allclose(got, [1e-9], rtol=1e-6)


def test_bce_outside_the_domain_is_nan_unless_excluded():
    p, y = f32([-0.1, 1.5, 0.5], [0.0, 1.0, 1.0])
    out = jaxloss.binary_cross_entropy(p, y)
    assert np.isnan(out[:2]).all() and np.isfinite(out[2])
    keep = jnp.array([False, False, True])
    value, g = jax.value_and_grad(
        lambda p: jaxloss.binary_cross_entropy(p, y, where=keep, reduction="mean")
    )(p)
    np.testing.assert_allclose(value, math.log(2), rtol=1e-6)
    np.testing.assert_array_equal(g[:2], [0, 0])


def test_bce_equals_sigmoid_bce_of_the_sigmoid():
    x, y = logits_labels(scale=2.0)
    np.testing.assert_allclose(
        jaxloss.binary_cross_entropy(jax.nn.sigmoid(x), y),
        jaxloss.sigmoid_binary_cross_entropy(x, y),
        rtol=1e-10,
    )


# --- sigmoid_binary_cross_entropy


def test_sigmoid_bce_infinite_logits():
    x, y = f32([-INF, INF, -INF, INF], [0.0, 1.0, 1.0, 0.0])
    np.testing.assert_array_equal(jaxloss.sigmoid_binary_cross_entropy(x, y), [0, 0, INF, INF])
    gx, gy = grads(jaxloss.sigmoid_binary_cross_entropy, x, y)
    np.testing.assert_array_equal(gx, [0, 0, -1, 1])
    np.testing.assert_array_equal(gy, [0, 0, 0, 0])
    # pos_weight scales the positive term's gradient; its own gradient is 0 there too.
    gx, gy, gw = grads(
        lambda x, y, w: jaxloss.sigmoid_binary_cross_entropy(x, y, pos_weight=w),
        x,
        y,
        jnp.float32(3.0),
        argnums=(0, 1, 2),
    )
    np.testing.assert_array_equal(gx, [0, 0, -3, 1])
    np.testing.assert_array_equal(gy, [0, 0, 0, 0])
    assert gw == 0


def test_sigmoid_bce_minus_inf_logits_work_as_masks_for_value_gradient_and_hessian():
    x, y = logits_labels((2, 4), seed=3)
    masked_x = x.at[:, 2:].set(-INF)
    masked_y = y.at[:, 2:].set(0.0)

    def loss(x):
        return jaxloss.sigmoid_binary_cross_entropy(x, masked_y, reduction="sum")

    value, g = jax.value_and_grad(loss)(masked_x)
    expected = jaxloss.sigmoid_binary_cross_entropy(x[:, :2], y[:, :2], reduction="sum")
    np.testing.assert_allclose(value, expected, rtol=1e-12)
    np.testing.assert_array_equal(g[:, 2:], 0)
    assert np.isfinite(jax.hessian(loss)(masked_x)).all()


def test_sigmoid_bce_large_logits_are_exact_and_tails_keep_relative_precision():
    x, y = f32([1e4, 1e4, -1e4, -1e4, 100.0, -100.0], [1.0, 0.0, 1.0, 0.0, 0.0, 1.0])
    np.testing.assert_array_equal(
        jaxloss.sigmoid_binary_cross_entropy(x, y), [0, 1e4, 1e4, 0, 100, 100]
    )
    # A confident correct prediction: ∂ℓ/∂x = -σ(-20) ≈ -2.06e-9, not a rounded 0.
    x, y = f32([20.0, -20.0, 30.0], [1.0, 0.0, 1.0])
    gx = grads(jaxloss.sigmoid_binary_cross_entropy, x, y)[0]
    expected = [-1 / (1 + math.exp(20)), 1 / (1 + math.exp(20)), -1 / (1 + math.exp(30))]
    np.testing.assert_allclose(gx, expected, rtol=1e-6)


@pytest.mark.parametrize("pos_weight_shape", [(), (1,), (5,), (8, 1), (8, 5)])
def test_sigmoid_bce_pos_weight_broadcasts_like_torch(pos_weight_shape):
    x, y = logits_labels()
    pw = jnp.asarray(rng(4).uniform(0.5, 3.0, pos_weight_shape))
    got = jaxloss.sigmoid_binary_cross_entropy(x, y, pos_weight=pw)
    log_sig = jax.nn.log_sigmoid
    w = jnp.broadcast_to(pw, x.shape)
    np.testing.assert_allclose(got, -(w * y * log_sig(x) + (1 - y) * log_sig(-x)), rtol=1e-12)
    # Its gradient (PyTorch has none) is the reference's, reduced to pos_weight's shape.
    fns = (jaxloss.sigmoid_binary_cross_entropy, reference.sigmoid_binary_cross_entropy)
    ours, theirs = (jax.grad(lambda w, f=f: jnp.sum(f(x, y, pos_weight=w) * x))(pw) for f in fns)
    assert ours.shape == pw.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_sigmoid_bce_label_smoothing_is_keras_and_scales_the_label_gradient():
    x, y = logits_labels()
    eps = 0.2
    smoothed = y * (1 - eps) + eps / 2
    np.testing.assert_allclose(
        jaxloss.sigmoid_binary_cross_entropy(x, y, label_smoothing=eps),
        jaxloss.sigmoid_binary_cross_entropy(x, smoothed),
        rtol=1e-12,
    )
    gy = grads(lambda y: jaxloss.sigmoid_binary_cross_entropy(x, y, label_smoothing=eps), y,
               argnums=0)  # fmt: skip
    np.testing.assert_allclose(gy, -(1 - eps) * x, rtol=1e-12)
    # ε = 1 makes every label ½.
    np.testing.assert_allclose(
        jaxloss.sigmoid_binary_cross_entropy(x, y, label_smoothing=1.0),
        jaxloss.sigmoid_binary_cross_entropy(x, jnp.full_like(y, 0.5)),
        rtol=1e-12,
    )


def test_sigmoid_bce_accepts_integer_and_boolean_labels():
    x, y = logits_labels()
    hard = y > 0.5
    expected = jaxloss.sigmoid_binary_cross_entropy(x, hard.astype(x.dtype))
    for labels in (hard, hard.astype(jnp.int32)):
        np.testing.assert_array_equal(jaxloss.sigmoid_binary_cross_entropy(x, labels), expected)


def test_sigmoid_bce_dtypes_of_outputs_and_gradients():
    x, y = logits_labels()
    for dtype in (jnp.bfloat16, jnp.float16, jnp.float32):
        xd = x.astype(dtype)
        out = jaxloss.sigmoid_binary_cross_entropy(xd, y, pos_weight=jnp.ones(5))
        assert out.dtype == dtype
        gx, gy, gw = grads(
            lambda a, b, w: jaxloss.sigmoid_binary_cross_entropy(a, b, pos_weight=w),
            xd,
            y,
            jnp.ones(5),
            argnums=(0, 1, 2),
        )
        assert (gx.dtype, gy.dtype, gw.dtype) == (dtype, y.dtype, jnp.float64)


# --- sigmoid_focal


def test_focal_with_gamma_zero_is_sigmoid_bce():
    x, y = logits_labels()
    args = (x, y)
    np.testing.assert_allclose(
        jaxloss.sigmoid_focal(*args, gamma=0.0), jaxloss.sigmoid_binary_cross_entropy(*args)
    )
    for a, b in zip(
        grads(lambda x, y: jaxloss.sigmoid_focal(x, y, gamma=0.0), *args),
        grads(jaxloss.sigmoid_binary_cross_entropy, *args),
        strict=True,
    ):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("alpha", [None, 0.25, 0.9])
@pytest.mark.parametrize("gamma", [0.5, 1.0, 2.0, 2.5])
def test_focal_is_lin_et_al(alpha, gamma):
    x, y = logits_labels(seed=5)
    p = jax.nn.sigmoid(x)
    p_t = y * p + (1 - y) * (1 - p)
    ce = jaxloss.sigmoid_binary_cross_entropy(x, y)
    a_t = 1.0 if alpha is None else alpha * y + (1 - alpha) * (1 - y)
    np.testing.assert_allclose(
        jaxloss.sigmoid_focal(x, y, alpha=alpha, gamma=gamma),
        a_t * (1 - p_t) ** gamma * ce,
        rtol=1e-9,
        atol=1e-300,
    )


@pytest.mark.parametrize("gamma", [0.25, 0.5, 1.5])
def test_focal_gradient_stays_finite_and_accurate_where_one_minus_p_t_vanishes(gamma):
    # Confident correct predictions: 1 - p_t = σ(-|x|) is tiny (or 0 in float32), where
    # (1 - p_t)^(γ-1) is huge or infinite for γ < 1.
    x = jnp.array([10.0, 30.0, -30.0, 80.0, 1e4, -INF])
    y = jnp.array([1.0, 1.0, 0.0, 1.0, 1.0, 0.0])
    gx, gy = grads(lambda x, y: jaxloss.sigmoid_focal(x, y, gamma=gamma), x, y)
    rx, ry = grads(lambda x, y: reference.sigmoid_focal(x, y, gamma=gamma), x[:4], y[:4])
    np.testing.assert_allclose(gx[:4], rx, rtol=1e-9)
    np.testing.assert_allclose(gy[:4], ry, rtol=1e-9)
    np.testing.assert_array_equal([gx[4:], gy[4:]], 0)
    for dtype in (jnp.float32, jnp.bfloat16):
        g32 = grads(lambda x, y: jaxloss.sigmoid_focal(x, y, gamma=gamma), x.astype(dtype), y)
        assert all(np.isfinite(np.asarray(g, np.float64)).all() for g in g32)


def test_focal_non_integer_gamma_meets_the_integer_path():
    x, y = logits_labels(seed=6)
    for gamma in (1.0, 2.0, 3.0):
        near = jaxloss.sigmoid_focal(x, y, gamma=gamma + 1e-9)
        np.testing.assert_allclose(near, jaxloss.sigmoid_focal(x, y, gamma=gamma), rtol=1e-7)


def test_focal_infinite_logits():
    x, y = f32([-INF, INF, -INF, INF], [0.0, 1.0, 1.0, 0.0])
    for opts in ({}, {"alpha": 0.25, "gamma": 0.5}):
        np.testing.assert_array_equal(jaxloss.sigmoid_focal(x, y, **opts), [0, 0, INF, INF])
        gx, gy = grads(lambda x, y, o=opts: jaxloss.sigmoid_focal(x, y, **o), x, y)
        alpha = opts.get("alpha")
        a1, a0 = (1.0, 1.0) if alpha is None else (alpha, 1 - alpha)
        np.testing.assert_allclose(gx, [0, 0, -a1, a0])
        np.testing.assert_array_equal(gy, [0, 0, 0, 0])


EXTREME_LOGITS = [50.0, -50.0, 1e4, -1e4, 1e30, -1e30, INF, -INF]


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
@pytest.mark.parametrize(
    "fn, labels, opts",
    [
        (jaxloss.sigmoid_focal, (0.0, 1.0), {}),
        (jaxloss.sigmoid_focal, (0.0, 1.0), {"gamma": 0.5, "alpha": 0.25}),
        (jaxloss.sigmoid_focal, (0.0, 1.0), {"gamma": 1.5}),
        (jaxloss.sigmoid_focal, (0.0, 1.0), {"gamma": 1.0}),
        (jaxloss.sigmoid_binary_cross_entropy, (0.0, 1.0), {}),
        (jaxloss.soft_margin, (-1.0, 1.0), {}),
        (jaxloss.squared_hinge, (-1.0, 1.0), {}),
        (jaxloss.hinge, (-1.0, 1.0), {}),
    ],
    ids=[
        "focal",
        "focal-0.5",
        "focal-1.5",
        "focal-1",
        "bce",
        "soft_margin",
        "squared_hinge",
        "hinge",
    ],
)
def test_hessian_is_finite_at_extreme_logits(fn, labels, opts, dtype):
    # Confident logits (|x| > 44 in float32, > 354 in float64) once gave NaN: a rule's
    # derivative divided by a square that underflows, or multiplied 0 by an inf residual
    # (sigmoid_focal's label derivative at |x| = 1e30 overflowed where q^γ was 0).
    for x in EXTREME_LOGITS:
        for label in labels:
            y = jnp.asarray(label, dtype)
            value = fn(jnp.asarray(x, dtype), y, **opts)
            if not np.isfinite(value):
                continue
            h = jax.hessian(lambda x, y=y: fn(x, y, **opts))(jnp.asarray(x, dtype))
            assert np.isfinite(h), (x, label, h)
            if value == 0:  # confidently right: the curvature underflows too
                assert abs(float(h)) < 1e-15, (x, label, h)
            both = jax.hessian(lambda a: fn(a[0], a[1], **opts))(jnp.asarray([x, label], dtype))
            assert np.all(np.isfinite(both)), (x, label, both)


def test_focal_hessian_matches_the_reference_over_a_wide_range():
    x = jnp.asarray(np.linspace(-40.0, 40.0, 41))
    y = jnp.asarray(rng(21).uniform(size=41)).at[::2].set(1.0).at[1::4].set(0.0)
    for opts in ({}, {"gamma": 0.5, "alpha": 0.25}, {"gamma": 1.5}):
        h = jax.hessian(lambda x, y, o=opts: jaxloss.sigmoid_focal(x, y, **o, reduction="sum"),
                        (0, 1))(x, y)  # fmt: skip
        r = jax.hessian(lambda x, y, o=opts: reference.sigmoid_focal(x, y, **o, reduction="sum"),
                        (0, 1))(x, y)  # fmt: skip
        for a, b in zip(jax.tree.leaves(h), jax.tree.leaves(r), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


# --- hinge, squared_hinge, perceptron, soft_margin

MARGIN_LOSSES = [jaxloss.hinge, jaxloss.squared_hinge, jaxloss.perceptron, jaxloss.soft_margin]


def scores_targets(shape=(8, 5), seed=7):
    r = rng(seed)
    return jnp.asarray(r.normal(size=shape) * 2), jnp.asarray(r.choice([-1.0, 1.0], size=shape))


def test_margin_values():
    s, y = scores_targets()
    m = y * s
    np.testing.assert_array_equal(jaxloss.hinge(s, y), jnp.maximum(0, 1 - m))
    np.testing.assert_array_equal(jaxloss.squared_hinge(s, y), jnp.maximum(0, 1 - m) ** 2)
    np.testing.assert_array_equal(jaxloss.perceptron(s, y), jnp.maximum(0, -m))
    np.testing.assert_allclose(jaxloss.soft_margin(s, y), jnp.log1p(jnp.exp(-m)), rtol=1e-12)


def test_hinge_and_perceptron_take_the_subgradient_zero_at_their_kinks():
    s, y = f32([1.0, -1.0, 0.5, 2.0], [1.0, -1.0, 2.0, 0.5])  # y s = 1
    np.testing.assert_array_equal(grads(jaxloss.hinge, s, y), np.zeros((2, 4)))
    # Autodiff of jnp.maximum (optax's hinge_loss) splits the tie: half of -y.
    assert float(jax.grad(lambda s: reference.hinge(s, jnp.float32(1.0)))(jnp.float32(1.0))) == -0.5
    s, y = f32([0.0, 0.0, 3.0], [1.0, -1.0, 0.0])  # y s = 0
    np.testing.assert_array_equal(grads(jaxloss.perceptron, s, y), np.zeros((2, 3)))
    # squared_hinge is continuously differentiable: gradient 0 at y s = 1.
    np.testing.assert_array_equal(grads(jaxloss.squared_hinge, *f32([1.0], [1.0])), [[0], [0]])


def test_margin_losses_at_infinite_scores():
    s, y = f32([INF, -INF, -INF, INF], [1.0, -1.0, 1.0, -1.0])
    for fn in MARGIN_LOSSES:
        np.testing.assert_array_equal(fn(s, y), [0, 0, INF, INF], err_msg=fn.__name__)
        gs, gy = grads(fn, s, y)
        np.testing.assert_array_equal(gy, [0, 0, 0, 0], err_msg=fn.__name__)
        expected = [0, 0, -INF, INF] if fn is jaxloss.squared_hinge else [0, 0, -1, 1]
        np.testing.assert_array_equal(gs, expected, err_msg=fn.__name__)


@pytest.mark.parametrize("fn", [jaxloss.squared_hinge, jaxloss.soft_margin])
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_margin_hessian_is_zero_at_infinite_and_huge_margins(fn, dtype):
    # y s = +inf or 1e30: the loss is 0 (or e^-1e30) near there in every direction, so
    # its second derivative is 0, also along a target tangent > 1, under which the
    # margin's tangent (the target's tangent times the clipped score) overflows.
    s, y = (jnp.asarray(a, dtype) for a in ([-INF, INF, 1e30, -1e30, 0.5], [-1, 1, 1, -1, 1]))
    grad = jax.grad(lambda s, y: fn(s, y, reduction="sum"), argnums=(0, 1))
    hs, hy = jax.jvp(grad, (s, y), (jnp.ones_like(s), 3 * jnp.ones_like(y)))[1]
    np.testing.assert_array_equal(hs[:4], 0)
    np.testing.assert_array_equal(hy[:4], 0)
    want = jax.jvp(
        jax.grad(lambda s, y: getattr(reference, fn.__name__)(s, y, reduction="sum"), (0, 1)),
        (s[4:], y[4:]),
        (jnp.ones_like(s[4:]), 3 * jnp.ones_like(y[4:])),
    )[1]
    np.testing.assert_allclose(hs[4:], want[0], rtol=1e-6)
    np.testing.assert_allclose(hy[4:], want[1], rtol=1e-6)


def test_soft_margin_is_sigmoid_bce_of_zero_one_labels_and_does_not_overflow():
    s, y = scores_targets()
    np.testing.assert_allclose(
        jaxloss.soft_margin(s, y), jaxloss.sigmoid_binary_cross_entropy(s, (1 + y) / 2), rtol=1e-12
    )
    big, t = f32([200.0, -200.0, 1e4], [-1.0, -1.0, -1.0])
    np.testing.assert_array_equal(jaxloss.soft_margin(big, t), [200.0, 0.0, 1e4])
    assert np.isinf(reference.soft_margin(big, t)[0])  # PyTorch's formula overflows
    gs, gt = grads(jaxloss.soft_margin, big, t)
    np.testing.assert_array_equal(gs, [1.0, 0.0, 1.0])
    np.testing.assert_array_equal(gt, [-200.0, 0.0, -1e4])


def test_squared_hinge_matches_keras_after_label_conversion_and_last_axis_mean():
    s = jnp.asarray(rng(8).normal(size=(6, 4)))
    labels01 = jnp.asarray(rng(9).integers(0, 2, size=(6, 4)).astype(np.float64))
    # keras.losses.squared_hinge(y_true, y_pred): {0, 1} labels become ±1, then the mean
    # of max(1 - y s, 0)² over the last axis.
    keras = jnp.mean(jnp.maximum(1 - (2 * labels01 - 1) * s, 0) ** 2, axis=-1)
    ours = jaxloss.squared_hinge(s, 2 * labels01 - 1).mean(-1)
    np.testing.assert_allclose(ours, keras, rtol=1e-12)


@pytest.mark.parametrize("fn", MARGIN_LOSSES, ids=lambda f: f.__name__)
def test_margin_losses_refuse_boolean_targets_and_take_integers(fn):
    s, y = scores_targets()
    with pytest.raises(TypeError, match=rf"^{fn.__name__}: targets must be -1 or \+1, got a "):
        fn(s, y > 0)
    np.testing.assert_array_equal(fn(s, y.astype(jnp.int32)), fn(s, y))


# --- multilabel_soft_margin


def test_multilabel_soft_margin_is_the_class_mean_of_sigmoid_bce():
    x, y = logits_labels((7, 5))
    w = jnp.asarray(rng(10).uniform(0.1, 2.0, (1, 5)))
    per = jaxloss.sigmoid_binary_cross_entropy(x, y)
    np.testing.assert_allclose(jaxloss.multilabel_soft_margin(x, y), per.mean(-1), rtol=1e-12)
    np.testing.assert_allclose(
        jaxloss.multilabel_soft_margin(x, y, class_weights=w[0]), (per * w).mean(-1), rtol=1e-12
    )
    np.testing.assert_allclose(
        jaxloss.multilabel_soft_margin(x, y, class_weights=2.0), 2 * per.mean(-1), rtol=1e-12
    )
    # "mean" averages examples (PyTorch), whatever the class weights.
    np.testing.assert_allclose(
        jaxloss.multilabel_soft_margin(x, y, class_weights=w[0], reduction="mean"),
        (per * w).mean(-1).mean(),
        rtol=1e-12,
    )


def test_multilabel_soft_margin_axis_and_shapes():
    x, y = logits_labels((3, 5, 4))
    w = jnp.asarray(rng(11).uniform(0.1, 2.0, 5))
    got = jaxloss.multilabel_soft_margin(x, y, class_weights=w, axis=1)
    moved = jaxloss.multilabel_soft_margin(
        jnp.moveaxis(x, 1, -1), jnp.moveaxis(y, 1, -1), class_weights=w
    )
    assert got.shape == (3, 4)
    np.testing.assert_allclose(got, moved, rtol=1e-12)
    # One example without a batch axis gives a scalar.
    assert jaxloss.multilabel_soft_margin(x[0, :, 0], y[0, :, 0]).shape == ()
    gw = jax.grad(lambda w: jaxloss.multilabel_soft_margin(x, y, class_weights=w, axis=1).sum())(w)
    rw = jax.grad(lambda w: reference.multilabel_soft_margin(x, y, class_weights=w, axis=1).sum())(
        w
    )
    np.testing.assert_allclose(gw, rw, rtol=1e-12)


def test_multilabel_soft_margin_where_excludes_whole_examples_even_with_nan():
    x, y = logits_labels((6, 5))
    keep = jnp.array([True, False, True, True, False, True])
    dirty = x.at[1].set(jnp.nan).at[4, 2].set(INF)
    value, g = jax.value_and_grad(
        lambda x: jaxloss.multilabel_soft_margin(x, y, where=keep, reduction="mean")
    )(dirty)
    np.testing.assert_allclose(value, jaxloss.multilabel_soft_margin(x[keep], y[keep]).mean())
    np.testing.assert_array_equal(g[~np.asarray(keep)], 0)


def test_multilabel_soft_margin_masks_classes_with_minus_inf_logits():
    x, y = logits_labels((4, 6), seed=12)
    masked = x.at[:, 4:].set(-INF)
    labels = y.at[:, 4:].set(0.0)
    g = jax.grad(lambda x: jaxloss.multilabel_soft_margin(x, labels).sum())(masked)
    np.testing.assert_array_equal(g[:, 4:], 0)
    np.testing.assert_allclose(
        jaxloss.multilabel_soft_margin(masked, labels),
        jaxloss.multilabel_soft_margin(x[:, :4], y[:, :4]) * 4 / 6,
        rtol=1e-12,
    )


# --- errors


@pytest.mark.parametrize(
    ("fn", "first", "second"),
    [
        (jaxloss.binary_cross_entropy, "probabilities", "labels"),
        (jaxloss.sigmoid_binary_cross_entropy, "logits", "labels"),
        (jaxloss.sigmoid_focal, "logits", "labels"),
        (jaxloss.hinge, "predictor_outputs", "targets"),
        (jaxloss.squared_hinge, "predictor_outputs", "targets"),
        (jaxloss.perceptron, "predictor_outputs", "targets"),
        (jaxloss.soft_margin, "predictions", "targets"),
        (jaxloss.multilabel_soft_margin, "logits", "labels"),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_errors_name_the_function_the_arguments_and_both_shapes(fn, first, second):
    name = fn.__name__
    x = jnp.zeros((3, 4))
    with pytest.raises(TypeError, match=rf"^{name}: {first} must have a floating dtype"):
        fn(jnp.zeros((3, 4), jnp.int32), x)
    msg = re.escape(
        f"{name}: {first} and {second} must have the same shape, got (3, 4) and (3, 4, 1); "
        f"{first} lacks the trailing size-1 axis of {second}: pass {first}[..., None]"
    )
    with pytest.raises(ValueError, match=msg):
        fn(x, jnp.zeros((3, 4, 1)))
    with pytest.raises(ValueError, match=rf"^{name}: reduction must be one of"):
        fn(x, x, reduction="batchmean")


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda x: jaxloss.sigmoid_binary_cross_entropy(x, x, pos_weight=jnp.ones(3)),
            ValueError,
            re.escape(
                "sigmoid_binary_cross_entropy: pos_weight must be broadcastable to the "
                "logits' shape (3, 4), got (3,)"
            ),
        ),
        (
            lambda x: jaxloss.sigmoid_binary_cross_entropy(x, x, pos_weight=jnp.ones(4) > 0),
            TypeError,
            "pos_weight must be a number or a numeric array",
        ),
        (
            lambda x: jaxloss.sigmoid_binary_cross_entropy(x, x, label_smoothing=1.5),
            ValueError,
            r"label_smoothing must be in \[0, 1\], got 1.5",
        ),
        (
            lambda x: jaxloss.sigmoid_focal(x, x, alpha=-0.1),
            ValueError,
            r"sigmoid_focal: alpha must be in \[0, 1\]",
        ),
        (
            lambda x: jaxloss.sigmoid_focal(x, x, gamma=-1.0),
            ValueError,
            r"sigmoid_focal: gamma must be in \[0, inf\)",
        ),
        (
            lambda x: jaxloss.multilabel_soft_margin(x, x, class_weights=jnp.ones(3)),
            ValueError,
            re.escape(
                "multilabel_soft_margin: class_weights must have shape (4,), one weight per "
                "class along axis -1 of logits (3, 4), got (3,)"
            ),
        ),
        (
            lambda x: jaxloss.multilabel_soft_margin(x, x, axis=2),
            ValueError,
            "multilabel_soft_margin: axis 2 is out of range for inputs with 2 dimensions",
        ),
        (
            lambda x: jaxloss.multilabel_soft_margin(x[0, 0], x[0, 0]),
            ValueError,
            "multilabel_soft_margin: logits must have a class axis, got a scalar",
        ),
    ],
)
def test_invalid_hyperparameters(call, error, message):
    with pytest.raises(error, match=message):
        call(jnp.zeros((3, 4)))


def test_traced_hyperparameters_are_type_errors():
    x = jnp.zeros(3)
    with pytest.raises(TypeError, match="label_smoothing must be a static Python number"):
        jax.jit(lambda x, e: jaxloss.sigmoid_binary_cross_entropy(x, x, label_smoothing=e))(x, 0.1)
    with pytest.raises(TypeError, match="gamma must be a static Python number"):
        jax.jit(lambda x, g: jaxloss.sigmoid_focal(x, x, gamma=g))(x, 2.0)
    # pos_weight is data: it may be traced, and is differentiable.
    out = jax.jit(lambda x, w: jaxloss.sigmoid_binary_cross_entropy(x, x, pos_weight=w))(x, 2.0)
    np.testing.assert_allclose(out, jaxloss.sigmoid_binary_cross_entropy(x, x, pos_weight=2.0))
