"""The shared reduction / weights / where conventions, on explicit numbers."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss

P = jnp.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], jnp.float32)
T = jnp.zeros((2, 3), jnp.float32)
L = np.asarray(P) ** 2  # squared_error(P, T)
W = jnp.array([[1.0, 0.0, 2.0], [0.5, 1.0, 1.0]], jnp.float32)
M = jnp.array([[True, False, True], [False, True, True]])


def test_none_mean_sum():
    np.testing.assert_array_equal(jaxloss.squared_error(P, T), L)
    np.testing.assert_allclose(jaxloss.squared_error(P, T, reduction="mean"), L.mean())
    np.testing.assert_allclose(jaxloss.squared_error(P, T, reduction="sum"), L.sum())


def test_weights_multiply_and_weighted_mean_divides_by_total_weight():
    w = np.asarray(W)
    np.testing.assert_allclose(jaxloss.squared_error(P, T, weights=W), w * L)
    np.testing.assert_allclose(
        jaxloss.squared_error(P, T, weights=W, reduction="sum"), (w * L).sum()
    )
    np.testing.assert_allclose(
        jaxloss.squared_error(P, T, weights=W, reduction="mean"), (w * L).sum() / w.sum(), rtol=1e-6
    )


def test_weights_broadcast_per_row():
    rows = jnp.array([[2.0], [0.0]], jnp.float32)
    got = jaxloss.squared_error(P, T, weights=rows, reduction="mean")
    np.testing.assert_allclose(got, L[0].mean(), rtol=1e-6)


def test_where_excludes_from_value_and_count():
    m = np.asarray(M)
    np.testing.assert_array_equal(jaxloss.squared_error(P, T, where=M), np.where(m, L, 0))
    np.testing.assert_allclose(jaxloss.squared_error(P, T, where=M, reduction="mean"), L[m].mean())
    np.testing.assert_allclose(
        jaxloss.squared_error(P, T, where=M, weights=W, reduction="mean"),
        (np.asarray(W) * L)[m].sum() / np.asarray(W)[m].sum(),
        rtol=1e-6,
    )


def test_where_broadcasts_like_weights():
    cols = jnp.array([True, False, True])
    got = jaxloss.squared_error(P, T, where=cols, reduction="mean")
    np.testing.assert_allclose(got, L[:, [0, 2]].mean())


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_fully_masked_is_zero_with_zero_gradient(reduction):
    none = jnp.zeros((2, 3), bool)
    bad = P.at[0, 0].set(jnp.nan)
    value, grad = jax.value_and_grad(
        lambda p: jaxloss.squared_log_error(p, T, where=none, weights=W, reduction=reduction)
    )(bad)
    assert float(value) == 0.0
    np.testing.assert_array_equal(grad, np.zeros((2, 3)))


def test_zero_total_weight_mean_is_zero():
    zero = jnp.zeros((2, 3), jnp.float32)
    assert float(jaxloss.huber(P, T, weights=zero, reduction="mean")) == 0.0


@pytest.mark.parametrize(
    ("loss", "bad"),
    [
        (lambda p, m: jaxloss.squared_log_error(p, T, where=m, reduction="mean"), -5.0),
        (lambda p, m: jaxloss.gaussian_nll(T, T, p, where=m, reduction="sum"), -jnp.inf),
        (lambda p, m: jaxloss.tweedie(T, p, power=2.0, where=m, reduction="mean"), 0.0),
        (lambda p, m: jaxloss.huber(p, T, where=m, reduction="mean"), jnp.nan),
    ],
)
def test_out_of_domain_inputs_under_where_false_leak_nothing(loss, bad):
    m = jnp.array([[False, True, True], [True, True, True]])
    x = P.at[0, 0].set(bad)
    value, grad = jax.value_and_grad(lambda p: loss(p, m))(x)
    clean_value, clean_grad = jax.value_and_grad(lambda p: loss(p, m))(P)
    np.testing.assert_allclose(value, clean_value)
    assert float(grad[0, 0]) == 0.0
    np.testing.assert_allclose(grad, clean_grad)


def test_low_precision_is_computed_in_float32_and_returned_in_input_dtype():
    x = jnp.ones((4096,), jnp.bfloat16)
    total = jaxloss.squared_error(x, jnp.zeros_like(x), reduction="sum")
    assert total.dtype == jnp.bfloat16
    assert float(total) == 4096.0  # a bfloat16 accumulator would stall at 256
    grad = jax.grad(lambda p: jaxloss.squared_error(p, jnp.zeros_like(p), reduction="sum"))(x)
    assert grad.dtype == jnp.bfloat16


def test_mixed_dtypes_follow_predictions_and_gradients_follow_each_input():
    p = P.astype(jnp.bfloat16)
    value, (gp, gt) = jax.value_and_grad(
        lambda p, t: jaxloss.huber(p, t, reduction="mean"), argnums=(0, 1)
    )(p, T)
    assert value.dtype == jnp.bfloat16 and gp.dtype == jnp.bfloat16 and gt.dtype == jnp.float32


def test_float64_stays_float64():
    p = P.astype(jnp.float64)
    assert jaxloss.log_cosh(p, T).dtype == jnp.float64
    assert jaxloss.log_cosh(p, T.astype(jnp.float64)).dtype == jnp.float64


def test_integer_targets_are_accepted():
    counts = jnp.array([[0, 1, 2], [3, 4, 5]], jnp.int32)
    got = jaxloss.poisson_nll(P, counts)
    np.testing.assert_allclose(got, jaxloss.poisson_nll(P, counts.astype(jnp.float32)))


def test_apply_conventions_for_a_users_loss():
    def cube(p, t, *, weights=None, where=None, reduction="none"):
        return jaxloss.apply_conventions(
            "cube", lambda p, t: jnp.abs(p - t) ** 3, (p, t),
            weights=weights, where=where, reduction=reduction,
        )  # fmt: skip

    bad = P.at[0, 1].set(jnp.nan)
    value, grad = jax.value_and_grad(lambda p: cube(p, T, where=M, reduction="mean"))(bad)
    np.testing.assert_allclose(value, (np.abs(np.asarray(P)) ** 3)[np.asarray(M)].mean(), rtol=1e-6)
    assert float(grad[0, 1]) == 0.0 and bool(jnp.all(jnp.isfinite(grad)))
    with pytest.raises(TypeError, match="cube: predictions must have a floating dtype"):
        cube(jnp.ones((2,), jnp.int32), jnp.ones((2,), jnp.float32))
    with pytest.raises(ValueError, match=r"cube: predictions and inputs\[1\] must have the same"):
        cube(P, jnp.ones((3, 2), jnp.float32))


def test_apply_conventions_with_a_reduced_axis_and_safe_values():
    def row_log_norm(p, *, where=None, reduction="none"):
        # log of the row norm: log(0) at an all-zero row, which safe=1 keeps away.
        return jaxloss.apply_conventions("row_log_norm", lambda p: jnp.log(jnp.sum(p * p, -1)),
                                         (p,), safe=(1.0,), axes=(-1,), where=where,
                                         reduction=reduction)  # fmt: skip

    x = P.at[1].set(0.0)
    keep = jnp.array([True, False])
    value, grad = jax.value_and_grad(lambda p: row_log_norm(p, where=keep, reduction="sum"))(x)
    np.testing.assert_allclose(value, np.log(14.0), rtol=1e-6)
    np.testing.assert_array_equal(grad[1], np.zeros(3))
