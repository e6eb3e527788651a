"""Reweighted softmax cross-entropy: softmax_focal, poly_cross_entropy,
generalized_cross_entropy.

The semantics a user relies on beyond the catalogue's contract checks: the limits
that make each loss a known one (γ = 0 focal and ε = 0 poly are cross-entropy, q = 1
GCE is half the L1 distance of the probabilities), ``-inf`` logits as masks,
``p = 1`` with ``γ < 1``, per-class ``alpha`` and its gradient, any class axis,
``ignore_index`` and out-of-range labels, and the error messages.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss
from jaxloss import reference

SOFT = (jaxloss.softmax_focal, jaxloss.poly_cross_entropy)
INF = jnp.inf


def _soft(seed, shape, axis=-1):
    rng = np.random.default_rng(seed)
    x = 2 * rng.normal(size=shape)
    y = np.exp(rng.normal(size=shape))
    return jnp.asarray(x), jnp.asarray(y / y.sum(axis=axis, keepdims=True))


def _grads(fn, *args, argnums=(0, 1), **kw):
    # Jitted: one compilation instead of dozens of eager primitives (test time).
    return jax.jit(jax.grad(lambda *a: jnp.sum(fn(*a, **kw)), argnums=argnums))(*args)


def _close(a, b, rtol=1e-12, atol=1e-13):
    for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(u), np.asarray(v), rtol=rtol, atol=atol)


# --- limits that are known losses


def test_focal_gamma0_alpha1_is_soft_label_cross_entropy():
    x, y = _soft(0, (7, 5))

    def ce(x, y):
        return -jnp.sum(y * jax.nn.log_softmax(x), axis=-1)

    ours = jaxloss.softmax_focal(x, y, gamma=0.0, alpha=1.0)
    _close(ours, ce(x, y))
    _close(_grads(jaxloss.softmax_focal, x, y, gamma=0.0, alpha=1.0), _grads(ce, x, y))


def test_focal_scalar_alpha_scales_the_loss():
    x, y = _soft(1, (4, 6))
    one = jaxloss.softmax_focal(x, y, alpha=1.0, gamma=2.5)
    _close(jaxloss.softmax_focal(x, y, alpha=0.3, gamma=2.5), 0.3 * one)
    # Keras's default alpha is 0.25.
    _close(jaxloss.softmax_focal(x, y, gamma=2.5), 0.25 * one)


def test_poly_epsilon0_is_cross_entropy_and_penalty_is_one_minus_pt():
    x, y = _soft(2, (5, 4))
    ce = jaxloss.poly_cross_entropy(x, y, epsilon=0.0)
    _close(ce, -jnp.sum(y * jax.nn.log_softmax(x), axis=-1))
    pt = jnp.sum(y * jax.nn.softmax(x), axis=-1)
    _close(jaxloss.poly_cross_entropy(x, y, epsilon=3.0), ce + 3.0 * (1 - pt))


def test_gce_q1_is_half_the_l1_distance_of_probabilities():
    x, _ = _soft(3, (6, 5))
    labels = jnp.array([0, 4, 2, 2, 1, 3])
    p = jax.nn.softmax(x)
    l1 = jnp.sum(jnp.abs(jax.nn.one_hot(labels, 5, dtype=x.dtype) - p), axis=-1)
    _close(jaxloss.generalized_cross_entropy(x, labels, q=1.0), 0.5 * l1)


def test_gce_small_q_approaches_cross_entropy_without_cancellation():
    x, _ = _soft(4, (6, 5))
    labels = jnp.array([0, 4, 2, 2, 1, 3])
    ce = -jnp.take_along_axis(jax.nn.log_softmax(x), labels[:, None], axis=-1)[:, 0]
    q = 1e-6
    gce = jaxloss.generalized_cross_entropy(x, labels, q=q)
    # (1 - p^q)/q = -log p - q log² p / 2 + ...: the first-order term, to f64 precision.
    _close(gce, ce - q * ce**2 / 2, rtol=1e-10, atol=0)
    x32 = x.astype(jnp.float32)
    np.testing.assert_allclose(
        jaxloss.generalized_cross_entropy(x32, labels, q=1e-7),
        np.asarray(ce, np.float32),
        rtol=2e-6,
    )


def test_gce_gradient_is_cross_entropy_gradient_times_p_y_to_the_q():
    x, _ = _soft(5, (6, 5))
    labels = jnp.array([0, 4, 2, 2, 1, 3])
    q = 0.7
    p = jax.nn.softmax(x)
    py = jnp.take_along_axis(p, labels[:, None], axis=-1)
    want = py**q * (p - jax.nn.one_hot(labels, 5, dtype=x.dtype))
    _close(_grads(jaxloss.generalized_cross_entropy, x, labels, argnums=0, q=q), want)


# --- documented values (closed forms)


def test_focal_closed_form_two_classes():
    # p = sigmoid(d) for logits (d, 0); one-hot label on class 0.
    d, gamma, alpha = 1.3, 2.0, 0.4
    p = 1 / (1 + math.exp(-d))
    want = -alpha * (1 - p) ** gamma * math.log(p)
    got = jaxloss.softmax_focal(jnp.array([d, 0.0]), jnp.array([1.0, 0.0]), alpha=alpha)
    assert abs(float(got) - want) < 1e-14
    # dℓ/dd = α (1-p)^γ [γ p log p - (1 - p)] (chain rule through p = σ(d)).
    gd = alpha * (1 - p) ** gamma * (gamma * p * math.log(p) - (1 - p))
    g = jax.grad(lambda x: jaxloss.softmax_focal(x, jnp.array([1.0, 0.0]), alpha=alpha))(
        jnp.array([d, 0.0])
    )
    _close(g, jnp.array([gd, -gd]))


# --- -inf logits as masks and p = 1


@pytest.mark.parametrize("fn", SOFT, ids=lambda f: f.__name__)
def test_minus_inf_logit_with_zero_label_is_the_class_removed(fn):
    x, y = _soft(6, (4, 5))
    y = y.at[:, 2].set(0.0)
    masked = x.at[:, 2].set(-INF)
    kept = jnp.delete(x, 2, axis=1), jnp.delete(y, 2, axis=1)
    _close(fn(masked, y), fn(*kept))
    gx, gy = _grads(fn, masked, y)
    gx_kept, gy_kept = _grads(fn, *kept)
    assert np.all(np.asarray(gx[:, 2]) == 0)
    _close(jnp.delete(gx, 2, axis=1), gx_kept)
    _close(jnp.delete(gy, 2, axis=1), gy_kept)
    assert np.all(np.isfinite(np.asarray(gy)))


def test_focal_label_gradient_at_masked_class_is_zero_poly_is_epsilon():
    x = jnp.array([[0.5, -INF, 1.0]])
    y = jnp.array([[0.4, 0.0, 0.6]])
    _, gy = _grads(jaxloss.softmax_focal, x, y, gamma=2.0)
    assert float(gy[0, 1]) == 0.0
    _, gy = _grads(jaxloss.poly_cross_entropy, x, y, epsilon=1.5)
    assert float(gy[0, 1]) == 1.5


@pytest.mark.parametrize("fn", SOFT, ids=lambda f: f.__name__)
def test_positive_label_on_masked_class_is_enormous_but_finite(fn):
    x = jnp.array([[0.0, -INF]], jnp.float32)
    y = jnp.array([[0.5, 0.5]], jnp.float32)
    value = fn(x, y)
    assert np.isfinite(value).all() and float(value[0]) > 1e37
    assert all(np.isfinite(np.asarray(g)).all() for g in _grads(fn, x, y))


@pytest.mark.parametrize("gamma", [0.25, 0.5, 0.7, 1.0, 2.0])
def test_focal_gradient_at_p_equal_1_is_the_limit(gamma):
    labels = jnp.array([1.0, 0.0, 0.0])
    # Exactly p = 1 (the other classes underflow), and the confident limit.
    at_one = _grads(jaxloss.softmax_focal, jnp.array([800.0, 0.0, -3.0]), labels, gamma=gamma)
    assert all(np.isfinite(np.asarray(g)).all() for g in at_one)
    assert float(jaxloss.softmax_focal(jnp.array([800.0, 0.0, -3.0]), labels, gamma=gamma)) == 0
    near = _grads(jaxloss.softmax_focal, jnp.array([40.0, 0.0, -3.0]), labels, gamma=gamma)
    _close(at_one[0], near[0], rtol=0, atol=1e-8)


def test_focal_gradient_is_continuous_approaching_p_1_for_small_gamma():
    labels = jnp.array([1.0, 0.0])
    gamma = 0.5
    for d in (5.0, 10.0, 20.0):
        x = jnp.array([d, 0.0])
        ours = _grads(jaxloss.softmax_focal, x, labels, gamma=gamma)
        ref = _grads(reference.softmax_focal, x, labels, gamma=gamma)
        _close(ours, ref, rtol=1e-6, atol=1e-14)


def test_gce_masked_target_gives_one_over_q_with_zero_gradient():
    x = jnp.array([[0.0, -INF, 2.0]])
    labels = jnp.array([1])
    _close(jaxloss.generalized_cross_entropy(x, labels, q=0.4), jnp.array([2.5]))
    g = _grads(jaxloss.generalized_cross_entropy, x, labels, argnums=0, q=0.4)
    assert np.all(np.asarray(g) == 0)


def test_all_masked_row_is_nan():
    x = jnp.full((1, 3), -INF)
    assert np.isnan(jaxloss.poly_cross_entropy(x, jnp.array([[1.0, 0.0, 0.0]]))).all()
    assert np.isnan(jaxloss.generalized_cross_entropy(x, jnp.array([0]))).all()


# --- alpha


def test_focal_per_class_alpha():
    x, y = _soft(7, (5, 4))
    alpha = jnp.array([0.1, 0.5, 1.0, 2.0])
    got = jaxloss.softmax_focal(x, y, alpha=alpha, gamma=1.5)
    per_class = [
        jaxloss.softmax_focal(
            x, y * jax.nn.one_hot(c, 4, dtype=y.dtype)[None], alpha=1.0, gamma=1.5
        )
        for c in range(4)
    ]
    _close(got, sum(a * l for a, l in zip(alpha, per_class, strict=True)))
    # Equal per-class weights are the scalar; (1,) and full-rank arrays broadcast.
    same = jaxloss.softmax_focal(x, y, alpha=0.3, gamma=1.5)
    _close(jaxloss.softmax_focal(x, y, alpha=jnp.full(4, 0.3), gamma=1.5), same)
    _close(jaxloss.softmax_focal(x, y, alpha=jnp.array([0.3]), gamma=1.5), same)
    _close(jaxloss.softmax_focal(x, y, alpha=jnp.full((1, 4), 0.3), gamma=1.5), same)
    _close(jaxloss.softmax_focal(x, y, alpha=jnp.asarray(0.3), gamma=1.5), same)


@pytest.mark.parametrize("alpha_shape", [(), (1,), (4,), (5, 4), (1, 4)], ids=str)
def test_focal_alpha_gradient_matches_reference(alpha_shape):
    x, y = _soft(8, (5, 4))
    alpha = jnp.asarray(np.random.default_rng(9).uniform(0.1, 2.0, alpha_shape))

    def loss(fn):
        return lambda x, y, a: fn(x, y, alpha=a, gamma=0.7, reduction="mean")

    ours = jax.grad(loss(jaxloss.softmax_focal), argnums=(0, 1, 2))(x, y, alpha)
    ref = jax.grad(loss(reference.softmax_focal), argnums=(0, 1, 2))(x, y, alpha)
    assert ours[2].shape == alpha.shape
    _close(ours, ref, rtol=1e-10, atol=1e-13)


def test_focal_alpha_under_jit_is_an_argument():
    x, y = _soft(10, (3, 4))
    f = jax.jit(lambda x, y, a: jaxloss.softmax_focal(x, y, alpha=a, reduction="sum"))
    a = jnp.array([0.2, 0.4, 0.6, 0.8])
    _close(f(x, y, a), jaxloss.softmax_focal(x, y, alpha=a, reduction="sum"))


# --- any class axis


@pytest.mark.parametrize("axis", [0, 1, -2])
@pytest.mark.parametrize("fn", SOFT, ids=lambda f: f.__name__)
def test_soft_losses_along_any_axis(fn, axis):
    shape = (3, 5, 4, 2)
    x, y = _soft(11, shape, axis=axis)
    kw = {"alpha": jnp.linspace(0.5, 1.5, shape[axis])} if fn is jaxloss.softmax_focal else {}
    ours = fn(x, y, axis=axis, **kw)
    last = fn(jnp.moveaxis(x, axis, -1), jnp.moveaxis(y, axis, -1), **kw)
    _close(ours, last)
    g = _grads(fn, x, y, axis=axis, **kw)
    g_last = _grads(fn, jnp.moveaxis(x, axis, -1), jnp.moveaxis(y, axis, -1), **kw)
    _close(g, [jnp.moveaxis(v, -1, axis) for v in g_last])


@pytest.mark.parametrize("axis", [0, 1])
def test_gce_along_any_axis_nchw(axis):
    shape = (2, 5, 3, 4)
    x, _ = _soft(12, shape)
    lshape = tuple(d for i, d in enumerate(shape) if i != axis % 4)
    labels = jnp.asarray(np.random.default_rng(13).integers(0, shape[axis], lshape))
    ours = jaxloss.generalized_cross_entropy(x, labels, axis=axis, ignore_index=1)
    flat = jaxloss.generalized_cross_entropy(jnp.moveaxis(x, axis, -1), labels, ignore_index=1)
    _close(ours, flat)
    g = _grads(jaxloss.generalized_cross_entropy, x, labels, argnums=0, axis=axis)
    g_ref = _grads(reference.generalized_cross_entropy, x, labels, argnums=0, axis=axis)
    _close(g, g_ref)


# --- ignore_index, where, out-of-range labels


def test_gce_ignore_index_is_where_false():
    x, _ = _soft(14, (8, 5))
    labels = jnp.array([0, -100, 2, 4, -100, 1, 3, 0])
    keep = labels != -100
    for reduction in ("none", "mean", "sum"):
        ignored = jaxloss.generalized_cross_entropy(
            x, labels, ignore_index=-100, reduction=reduction
        )
        masked = jaxloss.generalized_cross_entropy(
            x, jnp.where(keep, labels, 0), where=keep, reduction=reduction
        )
        _close(ignored, masked)
    g = _grads(
        jaxloss.generalized_cross_entropy, x, labels, argnums=0, ignore_index=-100, reduction="mean"
    )
    assert np.all(np.asarray(g)[~np.asarray(keep)] == 0)
    # The mean divides by the examples kept (PyTorch's ignore_index convention).
    per = jaxloss.generalized_cross_entropy(x, labels, ignore_index=-100)
    mean = jaxloss.generalized_cross_entropy(x, labels, ignore_index=-100, reduction="mean")
    _close(mean, jnp.sum(per) / 6)


def test_gce_fully_ignored_mean_is_zero_with_zero_gradient():
    x, _ = _soft(15, (3, 4))
    labels = jnp.full((3,), 7)
    value, g = jax.value_and_grad(
        lambda x: jaxloss.generalized_cross_entropy(x, labels, ignore_index=7, reduction="mean")
    )(x)
    assert float(value) == 0.0 and np.all(np.asarray(g) == 0)


def test_gce_in_range_ignore_index_and_unsigned_void_label():
    x, _ = _soft(16, (5, 4))
    labels = jnp.array([0, 1, 2, 3, 1])
    got = jaxloss.generalized_cross_entropy(x, labels, ignore_index=1)
    assert np.all(np.asarray(got)[[1, 4]] == 0) and np.all(np.asarray(got)[[0, 2, 3]] > 0)
    # Segmentation's void label 255 in uint8 labels.
    u8 = jnp.array([0, 255, 2, 3, 255], jnp.uint8)
    got = jaxloss.generalized_cross_entropy(x, u8, ignore_index=255, reduction="mean")
    want = jaxloss.generalized_cross_entropy(
        x, jnp.array([0, 0, 2, 3, 0]), where=jnp.array([True, False, True, True, False]),
        reduction="mean",
    )  # fmt: skip
    _close(got, want)


def test_gce_out_of_range_labels_give_nan_for_their_row_only():
    x, _ = _soft(17, (4, 3))
    labels = jnp.array([0, 3, -1, 2])
    value = np.asarray(jaxloss.generalized_cross_entropy(x, labels))
    assert np.isnan(value[[1, 2]]).all() and np.isfinite(value[[0, 3]]).all()
    g = np.asarray(_grads(jaxloss.generalized_cross_entropy, x, labels, argnums=0))
    assert np.isnan(g[[1, 2]]).all() and np.isfinite(g[[0, 3]]).all()
    # Excluded by where, they are harmless.
    where = jnp.array([True, False, False, True])
    assert np.isfinite(jaxloss.generalized_cross_entropy(x, labels, where=where)).all()
    uint = jnp.array([0, 2**32 - 1, 1, 2], jnp.uint32)
    assert np.isnan(np.asarray(jaxloss.generalized_cross_entropy(x, uint))[1])


@pytest.mark.parametrize("fn", SOFT, ids=lambda f: f.__name__)
def test_where_excludes_nan_rows_and_weights_weigh_the_mean(fn):
    x, y = _soft(18, (5, 4))
    where = jnp.array([True, False, True, True, False])
    dirty_x = x.at[1].set(jnp.nan).at[4, 0].set(INF)
    dirty_y = y.at[1].set(jnp.nan)
    w = jnp.array([1.0, 5.0, 2.0, 0.5, 3.0])
    got = fn(dirty_x, dirty_y, where=where, weights=w, reduction="mean")
    per = fn(x, y)
    keep = np.asarray(where)
    _close(got, jnp.sum((per * w)[keep]) / jnp.sum(w[keep]))
    g = _grads(fn, dirty_x, dirty_y, where=where, weights=w, reduction="mean")
    for gi in g:
        assert np.all(np.asarray(gi)[~keep] == 0) and np.isfinite(np.asarray(gi)).all()


# --- dtypes and transformations


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16, jnp.float32])
def test_low_precision_inputs_return_their_dtype(dtype):
    x, y = _soft(19, (3, 4))
    x, y = x.astype(dtype), y.astype(dtype)
    labels = jnp.array([0, 3, 1], jnp.int8)
    for fn, args in (
        (jaxloss.softmax_focal, (x, y)),
        (jaxloss.poly_cross_entropy, (x, y)),
        (jaxloss.generalized_cross_entropy, (x, labels)),
    ):
        value = fn(*args, reduction="mean")
        assert value.dtype == dtype
        g = jax.grad(lambda x, fn=fn, args=args: fn(x, *args[1:], reduction="mean"))(x)
        assert g.dtype == dtype and np.isfinite(np.asarray(g, np.float32)).all()


def test_hessian_of_focal_with_general_gamma_matches_reference():
    # The catalogue checks γ in {0, ½, 1.5, 2}; this is the exp(γ log q) branch.
    x, y = _soft(20, (3, 4))
    h = jax.jit(jax.hessian(lambda x: jaxloss.softmax_focal(x, y, gamma=2.7, reduction="sum")))
    hr = jax.jit(jax.hessian(lambda x: reference.softmax_focal(x, y, gamma=2.7, reduction="sum")))
    _close(h(x), hr(x), rtol=1e-9, atol=1e-12)


def test_vmap_over_labels_and_logits():
    x, _ = _soft(21, (6, 5))
    labels = jnp.array([0, 4, 2, 2, 1, 3])
    per = jax.vmap(lambda x, l: jaxloss.generalized_cross_entropy(x, l, q=0.3))(x, labels)
    _close(per, jaxloss.generalized_cross_entropy(x, labels, q=0.3))


# --- errors


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: jaxloss.softmax_focal(jnp.ones((2, 3)), jnp.ones((2, 4))), ValueError,
         r"softmax_focal: logits and labels must have the same shape, got \(2, 3\) and \(2, 4\)"),
        (lambda: jaxloss.softmax_focal(jnp.ones((2, 3), jnp.int32), jnp.ones((2, 3))), TypeError,
         "softmax_focal: logits must have a floating dtype, got int32"),
        (lambda: jaxloss.softmax_focal(jnp.ones((2, 3)), jnp.ones((2, 3), jnp.int32)), TypeError,
         r"softmax_focal: labels must be probabilities .* jax.nn.one_hot"),
        (lambda: jaxloss.softmax_focal(jnp.ones((2, 3)), jnp.ones((2, 3)), gamma=-1.0),
         ValueError, r"softmax_focal: gamma must be in \[0, inf\), got -1"),
        (lambda: jaxloss.softmax_focal(jnp.ones((2, 3)), jnp.ones((2, 3)), alpha=-0.5),
         ValueError, r"softmax_focal: alpha must be in \[0, inf\), got -0.5"),
        (lambda: jaxloss.softmax_focal(jnp.ones((2, 3)), jnp.ones((2, 3)), alpha=jnp.ones(4)),
         ValueError, r"softmax_focal: alpha must be a scalar or hold one weight per class, "
                     r"i.e. have shape \(3,\) along axis 1 of logits \(2, 3\), got \(4,\)"),
        (lambda: jaxloss.softmax_focal(jnp.ones((2, 3)), jnp.ones((2, 3)), alpha=jnp.ones((3, 3))),
         ValueError, r"softmax_focal: alpha must be broadcastable to the logits' shape"),
        (lambda: jaxloss.softmax_focal(jnp.ones((2, 3)), jnp.ones((2, 3)), axis=2), ValueError,
         "softmax_focal: axis 2 is out of range for inputs with 2 dimensions"),
        (lambda: jaxloss.softmax_focal(jnp.ones(()), jnp.ones(())), ValueError,
         "softmax_focal: logits must have a class axis, got a scalar"),
        (lambda: jaxloss.poly_cross_entropy(jnp.ones((2, 3)), jnp.ones((2, 3)),
                                            epsilon=float("nan")),
         ValueError, "poly_cross_entropy: epsilon must be finite"),
        (lambda: jaxloss.poly_cross_entropy(jnp.ones((2, 3)), jnp.ones((2, 3)), reduction="avg"),
         ValueError, "poly_cross_entropy: reduction must be one of"),
        (lambda: jaxloss.poly_cross_entropy(jnp.ones((2, 3)), jnp.ones((2, 3)),
                                            weights=jnp.ones(3)),
         ValueError, r"poly_cross_entropy: weights must be broadcastable to the loss shape \(2,\)"),
        (lambda: jaxloss.generalized_cross_entropy(jnp.ones((2, 3)), jnp.ones(2)), TypeError,
         "generalized_cross_entropy: labels must have an integer dtype, got float"),
        (lambda: jaxloss.generalized_cross_entropy(jnp.ones((2, 3)), jnp.zeros((2, 3), int)),
         ValueError, r"generalized_cross_entropy: labels must have the shape of logits without "
                     r"its class axis 1, i.e. \(2,\) for logits \(2, 3\), got \(2, 3\)"),
        (lambda: jaxloss.generalized_cross_entropy(jnp.ones((2, 3)), jnp.zeros(2, int), q=0.0),
         ValueError, r"generalized_cross_entropy: q must be in \(0, 1\], got 0"),
        (lambda: jaxloss.generalized_cross_entropy(jnp.ones((2, 3)), jnp.zeros(2, int), q=1.5),
         ValueError, r"generalized_cross_entropy: q must be in \(0, 1\], got 1.5"),
        (lambda: jaxloss.generalized_cross_entropy(jnp.ones((2, 3)), jnp.zeros(2, int),
                                                   ignore_index=1.0),
         TypeError, "generalized_cross_entropy: ignore_index must be an int"),
        (lambda: jaxloss.generalized_cross_entropy(jnp.ones((2, 3)), jnp.zeros(2, int),
                                                   where=jnp.ones(2)),
         TypeError, "generalized_cross_entropy: where must be a boolean array"),
    ],
)  # fmt: skip
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_traced_gamma_is_refused_with_advice():
    x, y = _soft(22, (2, 3))
    with pytest.raises(TypeError, match="softmax_focal: gamma must be a static Python number"):
        jax.jit(lambda x, y, g: jaxloss.softmax_focal(x, y, gamma=g))(x, y, 2.0)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
@pytest.mark.parametrize("gamma", [2.0, 0.5, 1.5])
def test_softmax_focal_hessian_is_finite_at_a_confident_class(gamma, dtype):
    # One logit far above the others: 1 - p underflows to 0, where the rule's ratio
    # log p / (1 - p) and (1 - p)^γ once gave NaN second derivatives.
    labels = jnp.asarray([[1.0, 0.0, 0.0, 0.0], [0.0, 0.5, 0.5, 0.0]], dtype)
    for big in (50.0, 1e4, -1e4):
        x = jnp.asarray([[0.3, -0.2, 0.1, 0.0], [1.0, 0.2, -0.5, 0.4]], dtype).at[:, 0].set(big)

        def f(x):
            return jaxloss.softmax_focal(x, labels, gamma=gamma, reduction="sum")

        h = jax.hessian(f)(x)
        assert np.all(np.isfinite(h)), (big, h)
    x = jnp.asarray(np.random.default_rng(41).normal(size=(2, 4)) * 3, dtype)
    h = jax.hessian(lambda x: jaxloss.softmax_focal(x, labels, gamma=gamma, reduction="sum"))(x)
    r = jax.hessian(lambda x: reference.softmax_focal(x, labels, gamma=gamma, reduction="sum"))(x)
    np.testing.assert_allclose(h, r, rtol=1e-4, atol=1e-5)
