"""Regression-family values, identities, limits and documented conventions."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss
from jaxloss import reference


def rng(seed=1234):
    """A fresh seeded generator per use: no test's draws depend on which tests ran before."""
    return np.random.default_rng(seed)


D = jnp.asarray(rng().normal(0, 3, (64,)))  # float64: tests run with x64
Z = jnp.zeros_like(D)


def grad(f, *args, argnums=0):
    return jax.grad(lambda *a: jnp.sum(f(*a)), argnums=argnums)(*args)


def test_smooth_l1_is_huber_over_beta_and_l1_at_zero():
    for beta in (0.25, 1.0, 3.0):
        np.testing.assert_allclose(
            jaxloss.smooth_l1(D, beta=beta), jaxloss.huber(D, delta=beta) / beta, rtol=1e-12
        )
    np.testing.assert_array_equal(jaxloss.smooth_l1(D, beta=0.0), jnp.abs(D))
    np.testing.assert_array_equal(grad(lambda p: jaxloss.smooth_l1(p, beta=0.0), D), jnp.sign(D))


def test_pinball_half_is_half_absolute_error_and_is_asymmetric():
    np.testing.assert_allclose(jaxloss.pinball(D, Z, tau=0.5), 0.5 * jnp.abs(D), rtol=1e-12)
    under = jaxloss.pinball(jnp.array([0.0]), jnp.array([1.0]), tau=0.9)
    over = jaxloss.pinball(jnp.array([2.0]), jnp.array([1.0]), tau=0.9)
    np.testing.assert_allclose([under[0], over[0]], [0.9, 0.1])


def test_pinball_mean_is_minimised_at_the_quantile():
    y = jnp.asarray(rng().normal(size=(2001,)))
    taus = (0.1, 0.5, 0.9)
    for tau in taus:
        cands = jnp.linspace(-2.0, 2.0, 801)
        risks = jax.vmap(lambda c, tau=tau: jaxloss.pinball(c * jnp.ones_like(y), y, tau=tau,
                                                          reduction="mean"))(cands)  # fmt: skip
        best = float(cands[jnp.argmin(risks)])
        assert abs(best - float(jnp.quantile(y, tau))) < 0.01


def test_log_cosh_does_not_overflow_and_matches_small_error_limit():
    big = jnp.array([1e4, -1e5, 3e38], jnp.float32)
    np.testing.assert_allclose(jaxloss.log_cosh(big), jnp.abs(big) - math.log(2), rtol=1e-6)
    np.testing.assert_array_equal(grad(jaxloss.log_cosh, big), jnp.sign(big))
    small = jnp.array([1e-4, -3e-3])
    np.testing.assert_allclose(jaxloss.log_cosh(small), small**2 / 2, rtol=1e-5)


def test_rmse_axis_forms():
    x = jnp.asarray(rng().normal(size=(3, 4, 5)))
    np.testing.assert_allclose(
        jaxloss.root_mean_squared_error(x), jnp.sqrt(jnp.mean(x**2, axis=-1)), rtol=1e-12
    )
    np.testing.assert_allclose(
        jaxloss.root_mean_squared_error(x, axis=(1, 2)),
        jnp.sqrt(jnp.mean(x**2, axis=(1, 2))),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        jaxloss.root_mean_squared_error(x, axis=None), jnp.sqrt(jnp.mean(x**2)), rtol=1e-12
    )


def test_rmse_gradient_at_zero_is_zero_where_autodiff_gives_nan():
    zeros = jnp.zeros((2, 3))
    g = grad(lambda p: jaxloss.root_mean_squared_error(p, axis=None), zeros)
    np.testing.assert_array_equal(g, zeros)
    g_ref = grad(lambda p: reference.root_mean_squared_error(p, axis=None), zeros)
    assert bool(jnp.all(jnp.isnan(g_ref)))


def test_poisson_log_input_false_matches_keras_formula():
    rate = jnp.asarray(rng().uniform(0.1, 3, (32,)))
    y = jnp.asarray(rng().poisson(2.0, (32,)).astype(np.float64))
    got = jaxloss.poisson_nll(rate, y, log_input=False, eps=1e-7)
    np.testing.assert_allclose(got, rate - y * jnp.log(rate + 1e-7), rtol=1e-12)


def test_poisson_full_target_gradient_is_finite_at_zero():
    g = grad(lambda t: jaxloss.poisson_nll(jnp.zeros(3), t, full=True), jnp.array([0.0, 0.5, 2.0]))
    assert bool(jnp.all(jnp.isfinite(g)))
    np.testing.assert_allclose(g, [0.0, 0.0, math.log(2.0) + 0.25])


def test_gaussian_nll_variance_gradient_passes_straight_through_clamp():
    p, t = jnp.array([1.0]), jnp.array([0.0])
    g = grad(lambda v: jaxloss.gaussian_nll(p, t, v, eps=0.5), jnp.array([0.1]))
    np.testing.assert_allclose(g, [0.5 * (1 / 0.5 - 1 / 0.25)])
    neg = jaxloss.gaussian_nll(p, t, jnp.array([-3.0]), eps=0.5)
    np.testing.assert_allclose(neg, jaxloss.gaussian_nll(p, t, jnp.array([0.5])))


@pytest.mark.parametrize("power", [1.0, 2.0])
def test_tweedie_is_continuous_in_power_at_the_closed_forms(power):
    eta = jnp.asarray(rng().normal(0, 0.5, (32,)))
    y = jnp.asarray(rng().uniform(0.2, 3, (32,)))
    at = jaxloss.tweedie(eta, y, power=power)
    for near in (power - 1e-6, power + 1e-6):
        if near < 1:
            continue
        np.testing.assert_allclose(jaxloss.tweedie(eta, y, power=near), at, rtol=1e-4, atol=1e-6)


def test_tweedie_special_cases():
    eta = jnp.asarray(rng().normal(0, 0.5, (32,)))
    y = jnp.asarray(rng().uniform(0.0, 3, (32,))).at[0].set(0.0)
    mu = jnp.exp(eta)
    # p = 1 is twice the Poisson deviance, and differs from poisson_nll by a target-only term.
    poisson_dev = 2 * (jax.scipy.special.xlogy(y, y / mu) - y + mu)
    np.testing.assert_allclose(jaxloss.tweedie(eta, y, power=1.0), poisson_dev, rtol=1e-10)
    np.testing.assert_allclose(
        jaxloss.tweedie(eta, y, power=1.0) / 2 - jaxloss.poisson_nll(eta, y),
        jax.scipy.special.xlogy(y, y) - y,
        atol=1e-10,
    )
    # Zero at a perfect prediction, for every power.
    for power in (1.0, 1.3, 2.0, 3.0):
        np.testing.assert_allclose(jaxloss.tweedie(jnp.log(y[1:]), y[1:], power=power), 0,
                                   atol=1e-12)  # fmt: skip


def test_general_robust_special_cases_and_limits():
    x = jnp.asarray(rng().normal(0, 2, (64,)))
    c = 0.7
    z = (x / c) ** 2

    def rho(alpha):
        return jaxloss.general_robust(x, alpha=alpha, scale=c)

    np.testing.assert_allclose(rho(2.0), z / 2, rtol=1e-12)
    # The textbook sqrt(z + 1) - 1 cancels for small z; jaxloss's rational form does not.
    np.testing.assert_allclose(rho(1.0), jnp.sqrt(z + 1) - 1, rtol=1e-9)
    np.testing.assert_allclose(rho(0.0), jnp.log(z / 2 + 1), rtol=1e-10)
    np.testing.assert_allclose(rho(-2.0), 2 * z / (z + 4), rtol=1e-12)
    np.testing.assert_allclose(rho(-2.0 + 1e-9), rho(-2.0), rtol=1e-6)  # general formula agrees
    np.testing.assert_allclose(rho(1.0 + 1e-9), rho(1.0), rtol=1e-6)
    np.testing.assert_allclose(rho(-math.inf), 1 - jnp.exp(-z / 2), rtol=1e-12)
    # Near the removable singularities the general formula meets the closed forms.
    np.testing.assert_allclose(rho(1e-7), rho(0.0), rtol=1e-6)
    np.testing.assert_allclose(rho(2.0 - 1e-7), rho(2.0), rtol=1e-6)
    np.testing.assert_allclose(rho(-1e6), rho(-math.inf), rtol=1e-5)
    # alpha = 1 is charbonnier with eps = scale, scaled by 1/scale.
    np.testing.assert_allclose(rho(1.0), jaxloss.charbonnier(x, eps=c) / c, rtol=1e-9)


def test_general_robust_gradient_is_bounded_for_alpha_below_one():
    x = jnp.linspace(-1e3, 1e3, 101)
    for alpha in (-math.inf, -2.0, 0.0, 1.0):
        g = grad(lambda p, alpha=alpha: jaxloss.general_robust(p, alpha=alpha), x)
        assert float(jnp.max(jnp.abs(g))) <= 1.0 + 1e-12


def test_absolute_percentage_error_is_a_percentage():
    got = jaxloss.absolute_percentage_error(jnp.array([110.0, -45.0]), jnp.array([100.0, -50.0]))
    np.testing.assert_allclose(got, [10.0, 10.0], rtol=1e-12)


def test_squared_log_error_outside_domain_is_nan_not_clamped():
    assert bool(jnp.isnan(jaxloss.squared_log_error(jnp.array([-2.0]), jnp.array([1.0]))[0]))


def test_targets_none_means_zeros():
    for fn in (jaxloss.squared_error, jaxloss.huber, jaxloss.log_cosh, jaxloss.charbonnier):
        np.testing.assert_array_equal(fn(D), fn(D, Z))


def test_reference_supports_forward_mode():
    jac = jax.jacfwd(lambda p: reference.gaussian_nll(p, Z, jnp.ones_like(D)))(D)
    np.testing.assert_allclose(jnp.diag(jac), D, rtol=1e-12)
    _, tangent = jax.jvp(
        lambda p: reference.huber(p, Z, reduction="sum"), (D,), (jnp.ones_like(D),)
    )
    np.testing.assert_allclose(tangent, jnp.sum(jnp.clip(D, -1, 1)), rtol=1e-12)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
@pytest.mark.parametrize("alpha", [-math.inf, -10.0, -2.0, -0.5])
def test_general_robust_bounded_shapes_have_finite_derivatives_at_infinite_errors(alpha, dtype):
    # alpha < 0 bounds the loss (1 at alpha = -inf), so its value is finite at any error:
    # its gradient and curvature tend to 0 there, not NaN (x * exp(-x²/2) at x = inf).
    for scale in (1.0, 1e-3):
        for d in (math.inf, -math.inf, 1e20, -1e30):

            def f(p, s=scale):
                return jaxloss.general_robust(p, jnp.zeros((), dtype), alpha=alpha, scale=s)

            p = jnp.asarray(d, dtype)
            assert np.isfinite(f(p))
            assert abs(float(jax.grad(f)(p))) < 1e-18, (d, scale)
            assert abs(float(jax.hessian(f)(p))) < 1e-18, (d, scale)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
@pytest.mark.parametrize("size", [1e-30, 1e-20, 1e20, 1e30])
def test_root_mean_squared_error_is_exact_over_the_whole_range(size, dtype):
    # Scaled by the largest error before squaring: neither 0 (underflow) nor inf (overflow).
    d = jnp.asarray([[3.0, -4.0, 0.0, 1.0]], dtype)
    p = d * jnp.asarray(size, dtype)

    def f(p):
        return jaxloss.root_mean_squared_error(p, reduction="sum")

    want = math.sqrt(26 / 4)
    np.testing.assert_allclose(float(f(p)) / size, want, rtol=1e-6)
    np.testing.assert_allclose(jax.grad(f)(p), d / (4 * want), rtol=1e-6)
    # Curvature (I - u u^T)/(n r) with u = d/|d|, scaled by the size: finite, not inf/NaN.
    u = np.asarray(d[0], np.float64) / np.linalg.norm(np.asarray(d[0], np.float64))
    h = np.asarray(jax.hessian(f)(p), np.float64).reshape(4, 4) * size
    np.testing.assert_allclose(h, (np.eye(4) - np.outer(u, u)) / (4 * want), rtol=1e-5, atol=1e-6)
    # Still the subgradient 0 at zero error, and inf at an infinite one.
    assert np.all(jax.grad(f)(jnp.zeros_like(p)) == 0)
    assert float(f(p.at[0, 1].set(-jnp.inf))) == math.inf
