"""Behaviour of the box losses: torchvision's CIoU gradient convention, degenerate boxes,
masking, symmetry, errors."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss
from jaxloss import catalogue, reference, testing

LOSSES = ["giou", "diou", "ciou"]


def test_ciou_default_passes_the_harness_checks_of_its_gradient():
    """α constant (torchvision's CIoU): the gradient is not the value's derivative by
    design, so the catalogue checks ``alpha_gradient=True``; here the checks that
    compare the default's rule with its reference (autodiff with α stopped) run."""
    entry = catalogue.get("ciou")
    checks = ["value", "gradient", "vmap", "hessian"]  # the rest is shared with the catalogue
    # Jitted (one compilation per configuration): 3x faster than op-by-op eager checks.
    fn = jax.jit(jaxloss.ciou, static_argnames=("reduction",))
    ref = jax.jit(reference.ciou, static_argnames=("reduction",))
    report = testing.check_loss(
        fn, ref, entry.inputs(0), argnums=(0, 1), checks=checks, name="ciou"
    )
    report.raise_for_failure()


def test_ciou_alpha_gradient_differs_only_by_v_dalpha():
    p, t = catalogue.get("ciou").inputs(1, dtype=jnp.float64)
    g0 = jax.grad(lambda p: jnp.sum(jaxloss.ciou(p, t)))(p)
    g1 = jax.grad(lambda p: jnp.sum(jaxloss.ciou(p, t, alpha_gradient=True)))(p)
    np.testing.assert_allclose(jaxloss.ciou(p, t), jaxloss.ciou(p, t, alpha_gradient=True))
    assert not np.allclose(g0, g1)
    # The exact gradient is the value's derivative.
    fd = jax.grad(lambda p: jnp.sum(reference.ciou(p, t, alpha_gradient=True)))(p)
    np.testing.assert_allclose(g1, fd, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", LOSSES)
def test_identical_and_swapped_boxes(name):
    fn = getattr(jaxloss, name)
    p, t = catalogue.get(name).inputs(2, dtype=jnp.float64)
    np.testing.assert_allclose(fn(p, t), fn(t, p), rtol=1e-12)  # symmetric, as torchvision
    # (CIoU's IoU term keeps torchvision's eps = 1e-7.)
    np.testing.assert_allclose(fn(p, p, eps=0.0), 0.0, atol=1e-15 if name != "ciou" else 1e-6)
    g = jax.grad(lambda q: jnp.sum(fn(q, p, eps=0.0)))(p)
    if name != "ciou":
        assert np.all(np.asarray(g) == 0)


@pytest.mark.parametrize("name", LOSSES)
def test_disjoint_boxes_still_get_a_gradient(name):
    fn = getattr(jaxloss, name)
    p = jnp.asarray([0.0, 0.0, 1.0, 1.0])
    t = jnp.asarray([3.0, 0.0, 4.0, 1.0])
    g = jax.grad(lambda p: fn(p, t))(p)
    assert float(g[0] + g[2]) < 0  # moving the box right, towards the target, lowers it
    assert 1.0 < float(fn(p, t)) < 2.0


@pytest.mark.parametrize("name", LOSSES)
def test_where_weights_and_batch_axes(name):
    fn = getattr(jaxloss, name)
    p, t = catalogue.get(name).inputs(3, shape=(2, 3, 5), dtype=jnp.float64)
    assert fn(p, t).shape == (2, 3)
    where = jnp.asarray([[True, False, True], [False, False, True]])
    nan_p = jnp.where(where[..., None], p, jnp.nan)
    value, grad = jax.value_and_grad(lambda p: fn(p, t, where=where, reduction="mean"))(nan_p)
    np.testing.assert_allclose(value, jnp.mean(fn(p, t)[where]), rtol=1e-12)
    assert np.all(np.asarray(grad)[~np.asarray(where)] == 0)
    w = jnp.asarray([1.0, 2.0, 3.0])
    np.testing.assert_allclose(
        fn(p, t, weights=w, reduction="mean"),
        jnp.sum(w[None, :] * fn(p, t)) / (2 * jnp.sum(w)),
        rtol=1e-12,
    )


def test_degenerate_boxes_documented_values():
    zero = jnp.zeros((1, 4))
    for name in LOSSES:
        np.testing.assert_allclose(getattr(jaxloss, name)(zero, zero), [1.0])
    point = jnp.asarray([[1.0, 1.0, 1.0, 1.0]])
    box = jnp.asarray([[0.0, 0.0, 2.0, 2.0]])
    np.testing.assert_allclose(jaxloss.giou(point, box), [1.0])
    np.testing.assert_allclose(jaxloss.ciou(point, box), [1 + 0.0625 / (1.25 + 1e-7)])
    # Height 0: the aspect angle is ±π/2 by the width's sign.
    flat = jnp.asarray([[0.0, 1.0, 3.0, 1.0]])
    v = 4 / math.pi**2 * (math.pi / 4 - math.pi / 2) ** 2
    np.testing.assert_allclose(
        jaxloss.ciou(flat, box) - jaxloss.diou(flat, box), [v * v / (1 + v + 1e-7)], rtol=1e-6
    )


def test_integer_target_boxes_and_bfloat16():
    p = jnp.asarray([[0.0, 0.0, 2.0, 2.0]], jnp.bfloat16)
    t = jnp.asarray([[1, 1, 3, 3]], jnp.int32)
    out = jaxloss.giou(p, t)
    assert out.dtype == jnp.bfloat16
    np.testing.assert_allclose(np.asarray(out, np.float32), [1 - 1 / 7 + 2 / 9], rtol=1e-2)


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        ((jnp.zeros((2, 5)), jnp.zeros((2, 5))), {}, ValueError, r"\[\.\.\., 4\]"),
        ((jnp.zeros((2, 4)), jnp.zeros((3, 4))), {}, ValueError, "same shape"),
        ((jnp.zeros((2, 4), jnp.int32), jnp.zeros((2, 4))), {}, TypeError, "float"),
        ((jnp.zeros((2, 4)), jnp.zeros((2, 4))), {"eps": -1.0}, ValueError, "eps"),
        ((jnp.zeros((2, 4)), jnp.zeros((2, 4))), {"where": jnp.ones((2, 4), bool)}, ValueError,
         "where"),
        ((jnp.zeros((2, 4)), jnp.zeros((2, 4))), {"reduction": "max"}, ValueError, "reduction"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("name", LOSSES)
def test_errors_name_the_problem(name, args, kwargs, error, match):
    with pytest.raises(error, match=match) as info:
        getattr(jaxloss, name)(*args, **kwargs)
    assert name in str(info.value)


def test_ciou_alpha_gradient_must_be_a_bool():
    with pytest.raises(TypeError, match="ciou: alpha_gradient"):
        jaxloss.ciou(jnp.zeros(4), jnp.zeros(4), alpha_gradient="yes")


def test_giou_hessian_at_a_box_coordinate_of_minus_1e30_is_finite_and_exact():
    # A box 1e30 wide: JAX's rule for the enclosure quotient formed x dy · y^-2, which is
    # inf · 0 in float32, where the second derivative is of order 1.
    p = jnp.array([[-1e30, 2.74, 5.56, 3.54]])
    t = jnp.array([[0.38, 1.92, 1.11, 4.61]])
    dp = jnp.array([[0.5, -1.2, 0.3, 2.0]])
    dt = jnp.array([[-0.7, 0.4, 1.1, -0.2]])

    def hvp(fn, dtype):
        grad = jax.grad(lambda p, t: fn(p, t, reduction="sum"), argnums=(0, 1))
        cast = [jnp.asarray(a, dtype) for a in (p, t, dp, dt)]
        return jax.jvp(grad, cast[:2], cast[2:])[1]

    want = hvp(reference.giou, jnp.float64)
    got = hvp(jaxloss.giou, jnp.float32)
    for g, w in zip(got, want, strict=True):
        assert bool(jnp.all(jnp.isfinite(g)))
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-6)
