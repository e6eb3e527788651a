"""Divergence-family values, identities, limits and documented conventions."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss
from jaxloss import reference

INF = math.inf
LOG2 = math.log(2.0)


def rng(seed=1234):
    """A fresh seeded generator per use: no test's draws depend on which tests ran before."""
    return np.random.default_rng(seed)


def _log_softmax(x, axis=-1):
    x = x - x.max(axis, keepdims=True)
    return x - np.log(np.exp(x).sum(axis, keepdims=True))


def _dists(seed=0, shape=(5, 4)):
    """float64 log-probabilities and probabilities over the last axis, no zeros."""
    r = rng(seed)
    log_p = _log_softmax(r.normal(size=shape))
    t = np.exp(_log_softmax(1.5 * r.normal(size=shape)))
    return jnp.asarray(log_p), jnp.asarray(t)


def grads(fn, *args, **kwargs):
    """Value and gradients of ``sum(fn(*args))`` with respect to every argument."""
    return jax.value_and_grad(lambda *a: jnp.sum(fn(*a, **kwargs)), argnums=(0, 1))(*args)


# --- kl_divergence


def test_kl_divergence_value_and_gradient_formulas():
    log_p, t = _dists()
    value, (g_lp, g_t) = grads(jaxloss.kl_divergence, log_p, t)
    np.testing.assert_allclose(
        jaxloss.kl_divergence(log_p, t), jnp.sum(t * (jnp.log(t) - log_p), -1), rtol=1e-13
    )
    np.testing.assert_allclose(g_lp, -t, rtol=1e-13)
    np.testing.assert_allclose(g_t, jnp.log(t) - log_p + 1, rtol=1e-13)
    assert float(value) > 0


def test_kl_divergence_is_zero_at_equal_distributions_and_non_negative():
    log_p, t = _dists(1)
    np.testing.assert_allclose(jaxloss.kl_divergence(jnp.log(t), t), 0.0, atol=1e-15)
    assert bool(jnp.all(jaxloss.kl_divergence(log_p, t) >= 0))


def test_zero_targets_are_inert_even_at_minus_inf_log_predictions():
    """A class with t = 0 adds exactly 0 and gets gradient 0 w.r.t. both inputs, whatever
    log_predictions holds there (-inf, finite); the rest is unchanged."""
    log_p, t = _dists(2, (4, 6))
    zero = jnp.zeros((4, 6), bool).at[:, 4:].set(True)
    t0 = jnp.where(zero, 0.0, t)
    lp0 = log_p.at[:, 4].set(-INF)  # -inf where the target is 0
    value, (g_lp, g_t) = grads(jaxloss.kl_divergence, lp0, t0)
    kept, (k_lp, k_t) = grads(jaxloss.kl_divergence, log_p[:, :4], t0[:, :4])
    np.testing.assert_allclose(value, kept, rtol=1e-14)
    np.testing.assert_array_equal(g_lp[:, 4:], 0)
    np.testing.assert_array_equal(g_t[:, 4:], 0)
    np.testing.assert_allclose(g_lp[:, :4], k_lp, rtol=1e-14)
    np.testing.assert_allclose(g_t[:, :4], k_t, rtol=1e-14)
    # The plain reference (what autodiff of the textbook formula gives) is NaN there.
    _, (_, ref_t) = grads(reference.kl_divergence, log_p, t0)
    assert bool(jnp.all(jnp.isnan(ref_t[:, 4:])))


def test_zero_targets_leave_classes_out_under_jit_and_vmap():
    log_p, t = _dists(3, (3, 5))
    t0 = t.at[:, 0].set(0.0)
    f = jax.jit(jax.vmap(jax.grad(lambda a, b: jaxloss.kl_divergence(a, b), argnums=1)))
    g = f(log_p.at[:, 0].set(-INF), t0)
    assert bool(jnp.all(jnp.isfinite(g)))
    np.testing.assert_array_equal(g[:, 0], 0)


def test_positive_target_at_zero_prediction_is_infinite():
    lp = jnp.array([[-INF, 0.0]])
    t = jnp.array([[0.25, 0.75]])
    assert jaxloss.kl_divergence(lp, t)[0] == INF
    assert jaxloss.kl_divergence_with_log_targets(lp, jnp.log(t))[0] == INF
    assert jaxloss.generalized_kl_divergence(lp, t)[0] == INF
    for dtype in (jnp.float32, jnp.float64):  # even for a tiny target (above 2**53 tiny)
        tiny = jnp.array([[jnp.finfo(dtype).tiny * 2.0**60, 1.0]], dtype)
        assert jaxloss.kl_divergence(lp.astype(dtype), tiny)[0] == INF


def test_negative_targets_give_nan_not_a_number():
    lp = jnp.log(jnp.array([[0.5, 0.5]]))
    t = jnp.array([[-0.5, 1.5]])
    assert bool(jnp.isnan(jaxloss.kl_divergence(lp, t)[0]))
    assert bool(jnp.isnan(jaxloss.generalized_kl_divergence(lp, t)[0]))


def test_hessian_of_a_composite_is_finite_with_zero_targets():
    log_p, t = _dists(4, (2, 4))
    t0 = t.at[:, 1].set(0.0)
    h = jax.hessian(lambda a: jaxloss.kl_divergence(a, t0, reduction="sum") ** 2)(log_p)
    h_ref = jax.hessian(lambda a: reference.kl_divergence(a, t0, reduction="sum") ** 2)(log_p)
    assert bool(jnp.all(jnp.isfinite(h)))
    np.testing.assert_allclose(h, h_ref, rtol=1e-12, atol=1e-14)


# --- kl_divergence_with_log_targets


def test_log_targets_is_kl_of_the_exponential():
    log_p, t = _dists(5)
    log_t = jnp.log(t)
    np.testing.assert_allclose(
        jaxloss.kl_divergence_with_log_targets(log_p, log_t),
        jaxloss.kl_divergence(log_p, t),
        rtol=1e-13,
    )
    _, (g_lp, g_lt) = grads(jaxloss.kl_divergence_with_log_targets, log_p, log_t)
    _, (k_lp, k_t) = grads(jaxloss.kl_divergence, log_p, t)
    np.testing.assert_allclose(g_lp, k_lp, rtol=1e-13)
    np.testing.assert_allclose(g_lt, t * k_t, rtol=1e-13)  # chain rule through t = e^lt


def test_log_targets_minus_inf_and_underflow_add_zero():
    lp = jnp.array([[-INF, -INF, 0.0]], jnp.float32)
    lt = jnp.array([[-INF, -200.0, 0.0]], jnp.float32)  # e^-200 underflows in float32
    value, (g_lp, g_lt) = grads(jaxloss.kl_divergence_with_log_targets, lp, lt)
    assert float(value) == 0.0
    np.testing.assert_array_equal(g_lp, [[0.0, 0.0, -1.0]])
    np.testing.assert_array_equal(g_lt, [[0.0, 0.0, 1.0]])


# --- generalized_kl_divergence


def test_generalized_kl_is_kl_plus_mass_difference_and_zero_at_equality():
    r = rng(6)
    log_p = jnp.asarray(r.normal(size=(4, 5)))
    t = jnp.asarray(r.uniform(0.1, 3.0, size=(4, 5)))  # unnormalised
    got = jaxloss.generalized_kl_divergence(log_p, t)
    np.testing.assert_allclose(
        got, jaxloss.kl_divergence(log_p, t) + jnp.sum(jnp.exp(log_p) - t, -1), rtol=1e-12
    )
    assert bool(jnp.all(got >= 0))
    np.testing.assert_allclose(jaxloss.generalized_kl_divergence(jnp.log(t), t), 0, atol=1e-14)
    _, (g_lp, g_t) = grads(jaxloss.generalized_kl_divergence, log_p, t)
    np.testing.assert_allclose(g_lp, jnp.exp(log_p) - t, rtol=1e-13)
    np.testing.assert_allclose(g_t, jnp.log(t) - log_p, rtol=1e-13)


def test_generalized_kl_at_zero_targets():
    lp = jnp.array([[-INF, 0.0, jnp.log(2.0)]])
    t = jnp.array([[0.0, 0.0, 1.0]])
    value, (g_lp, g_t) = grads(jaxloss.generalized_kl_divergence, lp, t)
    # terms: 0 (p = t = 0), p = 1, and 1 * log(1/2) - 1 + 2
    np.testing.assert_allclose(value, 1.0 + (1.0 - LOG2), rtol=1e-14)
    np.testing.assert_allclose(g_lp, [[0.0, 1.0, 1.0]], rtol=1e-14)
    np.testing.assert_allclose(g_t, [[-1.0, -1.0, -LOG2]], rtol=1e-14)


# --- js_divergence


def test_js_divergence_formula_symmetry_and_bounds():
    log_p, t = _dists(7, (6, 5))
    log_q = jnp.log(t)
    p, q = jnp.exp(log_p), t
    m = 0.5 * (p + q)
    expected = 0.5 * jnp.sum(p * jnp.log(p / m) + q * jnp.log(q / m), -1)
    ab, (ga, gb) = grads(jaxloss.js_divergence, log_p, log_q)
    ba, (gb2, ga2) = grads(jaxloss.js_divergence, log_q, log_p)
    np.testing.assert_allclose(jaxloss.js_divergence(log_p, log_q), expected, rtol=1e-12)
    np.testing.assert_allclose(ab, ba, rtol=1e-14)
    np.testing.assert_allclose(ga, ga2, rtol=1e-14)
    np.testing.assert_allclose(gb, gb2, rtol=1e-14)
    np.testing.assert_allclose(ga, 0.5 * p * jnp.log(p / m), rtol=1e-11)
    js = jaxloss.js_divergence(log_p, log_q)
    assert bool(jnp.all((js > 0) & (js < LOG2)))
    np.testing.assert_allclose(jaxloss.js_divergence(log_p, log_p), 0, atol=1e-15)


def test_js_divergence_at_zero_probabilities():
    a = jnp.array([[0.0, -INF, -INF], [jnp.log(0.5), jnp.log(0.5), -INF]])
    b = jnp.array([[-INF, 0.0, -INF], [jnp.log(0.5), -INF, jnp.log(0.5)]])
    _, (ga, gb) = grads(jaxloss.js_divergence, a, b, reduction="none")
    per = jaxloss.js_divergence(a, b)
    np.testing.assert_allclose(per, [LOG2, 0.5 * LOG2], rtol=1e-14)  # disjoint: log 2
    assert bool(jnp.all(jnp.isfinite(ga))) and bool(jnp.all(jnp.isfinite(gb)))
    np.testing.assert_array_equal(ga[a == -INF], 0)
    np.testing.assert_array_equal(gb[b == -INF], 0)
    np.testing.assert_allclose(ga[0, 0], 0.5 * LOG2, rtol=1e-14)


def _hessian_of_sum(fn, a, b, **kwargs):
    """The Hessian of ``sum(fn(a, b))`` with respect to the stacked pair ``(a, b)``."""
    return jax.hessian(lambda ab: jnp.sum(fn(ab[0], ab[1], **kwargs)))(jnp.stack([a, b]))


def test_js_divergence_hessian_at_a_class_where_both_are_zero():
    # The limit of a class whose probabilities both go to 0: it leaves the Hessian
    # (forward over reverse) as a class at log-probability -300 does, up to e^-300.
    a = jnp.array([[-INF, math.log(0.25), math.log(0.75)]])
    b = jnp.array([[-INF, math.log(0.6), math.log(0.4)]])
    h = _hessian_of_sum(jaxloss.js_divergence, a, b)
    assert bool(jnp.all(jnp.isfinite(h)))
    near = _hessian_of_sum(jaxloss.js_divergence, a.at[0, 0].set(-300), b.at[0, 0].set(-300))
    np.testing.assert_allclose(h, near, rtol=1e-12, atol=1e-100)


# --- distillation


def _softmax(x, axis=-1):
    return np.exp(_log_softmax(x, axis))


@pytest.mark.parametrize("temperature", [1.0, 3.0, 0.5])
def test_distillation_textbook_value_and_both_gradients(temperature):
    r = rng(8)
    s, t = 2 * r.normal(size=(4, 6)), 2 * r.normal(size=(4, 6))
    T = temperature
    p, q = _softmax(t / T), _softmax(s / T)
    kl = np.sum(p * (np.log(p) - np.log(q)), -1)
    _, (gs, gt) = grads(jaxloss.distillation, jnp.asarray(s), jnp.asarray(t), temperature=T)
    np.testing.assert_allclose(
        jaxloss.distillation(s, t, temperature=T), T**2 * kl, rtol=1e-12, atol=1e-14
    )
    np.testing.assert_allclose(gs, T * (q - p), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(
        gt, T * p * (np.log(p) - np.log(q) - kl[:, None]), rtol=1e-10, atol=1e-14
    )
    # Same as KL with log targets on the tempered log-softmaxes, times T².
    np.testing.assert_allclose(
        jaxloss.distillation(s, t, temperature=T),
        T**2
        * jaxloss.kl_divergence_with_log_targets(
            jax.nn.log_softmax(s / T), jax.nn.log_softmax(t / T)
        ),
        rtol=1e-12,
        atol=1e-14,
    )


def test_distillation_stop_gradient_teacher_and_shift_invariance():
    r = rng(9)
    s, t = jnp.asarray(r.normal(size=(3, 5))), jnp.asarray(r.normal(size=(3, 5)))

    def f(s, t):
        return jaxloss.distillation(s, jax.lax.stop_gradient(t), temperature=2.0).sum()

    g_s, g_t = jax.grad(f, argnums=(0, 1))(s, t)
    np.testing.assert_array_equal(g_t, 0)
    assert bool(jnp.any(g_s != 0))
    shifted = jaxloss.distillation(s + 7.0, t - 3.0, temperature=2.0)
    np.testing.assert_allclose(shifted, jaxloss.distillation(s, t, temperature=2.0), rtol=1e-12)
    # Student logit gradients sum to zero over the classes (softmax's invariance).
    np.testing.assert_allclose(g_s.sum(-1), 0, atol=1e-15)


def test_distillation_masked_classes_and_infinite_loss():
    s = jnp.array([[-INF, 1.0, 2.0], [-INF, 1.0, 2.0], [3.0, 1.0, 2.0]])
    t = jnp.array([[-INF, 0.0, 1.0], [0.0, 0.0, 1.0], [-INF, 0.0, 1.0]])
    out = jaxloss.distillation(s, t, temperature=2.0)
    np.testing.assert_allclose(
        out[0], jaxloss.distillation(s[:1, 1:], t[:1, 1:], temperature=2.0)[0], rtol=1e-14
    )
    assert out[1] == INF  # the student rules out a class the teacher allows
    assert bool(jnp.isfinite(out[2]))  # the teacher rules out a class the student allows
    _, (gs, gt) = grads(jaxloss.distillation, s[::2], t[::2], temperature=2.0)
    assert bool(jnp.all(jnp.isfinite(gs))) and bool(jnp.all(jnp.isfinite(gt)))
    np.testing.assert_array_equal(gt[:, 0], 0)
    np.testing.assert_array_equal(gs[0, 0], 0)


@pytest.mark.parametrize("temperature", [1.0, 2.0])
def test_distillation_hessian_where_the_teacher_rules_out_a_class(temperature):
    # A -inf teacher logit times the temperature's (absent) tangent must not give
    # inf · 0: the Hessian is the limit of a teacher logit going to -inf.
    s = jnp.array([[3.0, 1.0, 1.0]])
    t = jnp.array([[-INF, 1.0, 1.0]])
    h = _hessian_of_sum(jaxloss.distillation, s, t, temperature=temperature)
    assert bool(jnp.all(jnp.isfinite(h)))
    near = _hessian_of_sum(
        jaxloss.distillation, s, t.at[0, 0].set(-800 * temperature), temperature=temperature
    )
    np.testing.assert_allclose(h, near, rtol=1e-12, atol=1e-300)


def test_distillation_large_logits_and_small_temperature():
    s = jnp.array([[1e4, -1e4, 0.0]], jnp.float32)
    t = jnp.array([[-1e4, 1e4, 0.0]], jnp.float32)
    value, (gs, gt) = grads(jaxloss.distillation, s, t)
    np.testing.assert_allclose(value, 2e4, rtol=1e-6)
    np.testing.assert_allclose(gs, [[1.0, -1.0, 0.0]], atol=1e-6)
    assert bool(jnp.all(jnp.isfinite(gt)))
    same = jaxloss.distillation(s, s, temperature=0.01)
    assert float(same[0]) == 0.0


# --- conventions: reductions, axis, weights, where


def test_mean_is_batchmean_and_sum():
    log_p, t = _dists(10, (6, 5))
    per = jaxloss.kl_divergence(log_p, t)
    assert per.shape == (6,)
    np.testing.assert_allclose(jaxloss.kl_divergence(log_p, t, reduction="mean"), per.sum() / 6)
    np.testing.assert_allclose(jaxloss.kl_divergence(log_p, t, reduction="sum"), per.sum())


@pytest.mark.parametrize(
    "fn",
    [
        jaxloss.kl_divergence,
        jaxloss.kl_divergence_with_log_targets,
        jaxloss.generalized_kl_divergence,
        jaxloss.js_divergence,
        jaxloss.distillation,
    ],
    ids=lambda f: f.__name__,
)
def test_axis_forms(fn):
    r = rng(11)
    a, b = jnp.asarray(r.normal(size=(3, 4, 5)) - 2), jnp.asarray(r.normal(size=(3, 4, 5)) - 2)
    if fn in (jaxloss.kl_divergence, jaxloss.generalized_kl_divergence):
        b = jnp.exp(b)
    moved = fn(jnp.moveaxis(a, 1, -1), jnp.moveaxis(b, 1, -1))
    np.testing.assert_allclose(fn(a, b, axis=1), moved, rtol=1e-13)
    both = fn(a.reshape(3, 20), b.reshape(3, 20))
    np.testing.assert_allclose(fn(a, b, axis=(1, 2)), both, rtol=1e-12)
    assert fn(a, b, axis=None).shape == ()
    np.testing.assert_allclose(fn(a, b, axis=None), fn(a.ravel(), b.ravel()), rtol=1e-12)


def test_where_excludes_examples_with_nan_inputs():
    log_p, t = _dists(12, (4, 3))
    keep = jnp.array([True, False, True, True])
    dirty_lp, dirty_t = log_p.at[1].set(jnp.nan), t.at[1].set(-1.0)
    for fn, second in ((jaxloss.kl_divergence, dirty_t), (jaxloss.js_divergence, dirty_lp)):
        value, (g_a, g_b) = grads(fn, dirty_lp, second, where=keep, reduction="mean")
        clean, _ = grads(fn, log_p[keep], (t if fn is jaxloss.kl_divergence else log_p)[keep],
                         reduction="mean")  # fmt: skip
        np.testing.assert_allclose(value, clean, rtol=1e-13)
        np.testing.assert_array_equal(g_a[1], 0)
        np.testing.assert_array_equal(g_b[1], 0)


def test_weights_are_per_example():
    log_p, t = _dists(13, (4, 3))
    w = jnp.array([1.0, 0.0, 2.0, 1.0])
    per = jaxloss.kl_divergence(log_p, t)
    np.testing.assert_allclose(
        jaxloss.kl_divergence(log_p, t, weights=w, reduction="mean"), (w * per).sum() / w.sum()
    )


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16, jnp.float32])
def test_low_precision_dtypes_round_once(dtype):
    log_p, t = _dists(14, (3, 4))
    a, b = log_p.astype(dtype), t.astype(dtype)
    value, (ga, gb) = grads(jaxloss.kl_divergence, a, b)
    assert value.dtype == dtype and ga.dtype == dtype and gb.dtype == dtype
    exact = jaxloss.kl_divergence(a.astype(jnp.float32), b.astype(jnp.float32))
    np.testing.assert_array_equal(jaxloss.kl_divergence(a, b), exact.astype(dtype))


# --- errors


def test_errors_name_the_function_and_argument():
    p = jnp.zeros((3, 4), jnp.float32)
    with pytest.raises(TypeError, match="kl_divergence: log_predictions must have a floating"):
        jaxloss.kl_divergence(p.astype(jnp.int32), p)
    with pytest.raises(TypeError, match="kl_divergence: targets must have a floating dtype"):
        jaxloss.kl_divergence(p, p > 0)
    with pytest.raises(TypeError, match="distillation: teacher_logits must have a floating"):
        jaxloss.distillation(p, p.astype(jnp.int32))
    msg = (
        r"js_divergence: log_predictions and log_targets must have the same shape, "
        r"got \(3, 4\) and \(3, 1\); broadcast explicitly"
    )
    with pytest.raises(ValueError, match=msg):
        jaxloss.js_divergence(p, p[:, :1])
    with pytest.raises(ValueError, match="kl_divergence_with_log_targets: axis 2 is out of range"):
        jaxloss.kl_divergence_with_log_targets(p, p, axis=2)
    with pytest.raises(ValueError, match="generalized_kl_divergence: reduction must be one of"):
        jaxloss.generalized_kl_divergence(p, p, reduction="batchmean")
    with pytest.raises(ValueError, match="kl_divergence: weights must be broadcastable to the"):
        jaxloss.kl_divergence(p, p, weights=jnp.ones((4,)))


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf])
def test_distillation_temperature_must_be_positive_and_finite(bad):
    p = jnp.zeros((2, 3))
    with pytest.raises(ValueError, match="distillation: temperature must be"):
        jaxloss.distillation(p, p, temperature=bad)


def test_distillation_temperature_is_static():
    p = jnp.zeros((2, 3))
    with pytest.raises(TypeError, match="distillation: temperature must be a static Python"):
        jax.jit(lambda T: jaxloss.distillation(p, p, temperature=T))(2.0)
    f = jax.jit(jaxloss.distillation, static_argnames=("temperature",))
    np.testing.assert_allclose(f(p, p, temperature=2.0), 0.0)
