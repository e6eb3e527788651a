"""Behaviour of the segmentation losses beyond the catalogue contract: the axes
convention, the identities within the family, empty masks, where / ignore_index,
the Lovász hinge's ties and labels, and the error messages."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss
from jaxloss import reference, testing

OVERLAP = ("dice", "generalized_dice", "tversky", "focal_tversky", "jaccard")


def _images(seed=0, shape=(3, 4, 5, 3)):
    rng = np.random.default_rng(seed)
    z = jnp.asarray(rng.normal(size=shape) * 1.5)
    t = jnp.asarray(np.eye(shape[-1])[rng.integers(0, shape[-1], size=shape[:-1])])
    return z, t


# --- identities and the axes convention


def test_family_identities():
    z, t = _images()
    tv = lambda a, b, **kw: jaxloss.tversky(z, t, alpha=a, beta=b, **kw)  # noqa: E731
    np.testing.assert_allclose(jaxloss.dice(z, t), tv(0.5, 0.5), rtol=1e-14)
    np.testing.assert_allclose(jaxloss.jaccard(z, t), tv(1.0, 1.0), rtol=1e-14)
    np.testing.assert_allclose(
        jaxloss.focal_tversky(z, t, alpha=0.3, beta=0.7, gamma=1.0), tv(0.3, 0.7), rtol=1e-14
    )
    # The exponent acts per class, before the class mean: one class shows it.
    z1, t1 = z[..., :1], t[..., :1]
    np.testing.assert_allclose(
        jaxloss.focal_tversky(z1, t1, gamma=2.0), jaxloss.tversky(z1, t1) ** 2, rtol=1e-13
    )
    # Generalized Dice with a balanced batch is Dice with class weights C u_c / sum(u).
    f = np.asarray(jnp.sum(t, axis=(0, 1, 2)))
    u = 1 / (f * f + 1e-7)
    np.testing.assert_allclose(
        jaxloss.generalized_dice(z, t), jaxloss.dice(z, t, class_weights=3 * u / u.sum()),
        rtol=1e-13,
    )  # fmt: skip


@pytest.mark.parametrize("name", OVERLAP)
def test_channels_first_and_spatial_axes(name):
    loss = getattr(jaxloss, name)
    z, t = _images(1)
    expected = loss(z, t)
    # Channels first: the class axis moved, the same per-image losses.
    zf, tf = jnp.moveaxis(z, -1, 1), jnp.moveaxis(t, -1, 1)
    np.testing.assert_allclose(loss(zf, tf, axis=1), expected, rtol=1e-13)
    np.testing.assert_allclose(loss(z, t, spatial_axes=(1, 2)), expected, rtol=1e-13)
    # An extra example axis: [B, T, H, W, C] with spatial (2, 3) gives [B, T] losses.
    z5, t5 = jnp.stack([z, z[::-1]], axis=1), jnp.stack([t, t[::-1]], axis=1)
    got = loss(z5, t5, spatial_axes=(2, 3))
    assert got.shape == (3, 2)
    if name != "generalized_dice":  # its weights are computed over the whole batch
        np.testing.assert_allclose(got[:, 0], expected, rtol=1e-13)
        # One image at a time under vmap: pass the spatial axes of the image.
        per = jax.vmap(lambda a, b: loss(a, b, spatial_axes=(0, 1)))(z, t)
        np.testing.assert_allclose(per, expected, rtol=1e-13)


@pytest.mark.parametrize("name", OVERLAP)
def test_binary_class_axis_is_sigmoid(name):
    loss = getattr(jaxloss, name)
    rng = np.random.default_rng(2)
    z = jnp.asarray(rng.normal(size=(3, 6, 1)))
    t = jnp.asarray((rng.uniform(size=(3, 6, 1)) < 0.5).astype(float))
    np.testing.assert_allclose(
        loss(z, t), loss(jax.nn.sigmoid(z), t, apply_softmax=False), rtol=1e-13
    )


# --- documented values


@pytest.mark.parametrize("name", OVERLAP)
@pytest.mark.parametrize("smooth", [1.0, 0.0])
def test_empty_masks_give_zero_with_finite_gradients(name, smooth):
    loss = getattr(jaxloss, name)
    p = jnp.zeros((2, 5, 3))
    value, grads = jax.value_and_grad(
        lambda p, t: loss(p, t, apply_softmax=False, smooth=smooth, reduction="sum"), (0, 1)
    )(p, p)
    assert float(value) == 0.0
    for g in grads:
        assert bool(jnp.all(jnp.isfinite(g)))
    if smooth == 0.0 or name == "focal_tversky":
        assert all(float(jnp.max(jnp.abs(g))) == 0.0 for g in grads)


def test_dice_gradient_at_empty_mask_is_documented():
    # ∂L/∂p = ½/s per class, averaged over 3 classes.
    g = jax.grad(lambda p: jaxloss.dice(p, jnp.zeros_like(p), apply_softmax=False, smooth=2.0)[0])(
        jnp.zeros((1, 4, 3))
    )
    np.testing.assert_allclose(g, np.full((1, 4, 3), 0.5 / 2.0 / 3))


def test_generalized_dice_absent_class_dominates():
    z, t = _images(3)
    t = t.at[..., 2].set(0.0).at[..., 0].add(1 - jnp.sum(t, -1))  # class 2 absent
    per = jaxloss.generalized_dice(z, t)
    p2 = jax.nn.softmax(z, -1)[..., 2]
    e = 0.5 * jnp.sum(p2, axis=(1, 2))  # E of class 2: its predicted mass / 2
    np.testing.assert_allclose(per, e / (e + 1.0), rtol=1e-6)  # weights ≈ (0, 0, 3) / 3


def test_neg_inf_logits_mask_a_class():
    z, t = _images(4)
    t = t.at[..., 2].set(0.0).at[..., 0].add(1 - jnp.sum(t, -1))
    zm = z.at[..., 2].set(-jnp.inf)
    for name in OVERLAP:
        v, g = jax.value_and_grad(lambda z, n=name: getattr(jaxloss, n)(z, t, reduction="sum"))(zm)
        assert np.isfinite(v) and bool(jnp.all(jnp.isfinite(g)))
        assert float(jnp.max(jnp.abs(g[..., 2]))) == 0.0


# --- where, weights, dtypes


@pytest.mark.parametrize("name", OVERLAP)
def test_where_excludes_examples_even_with_nan(name):
    loss = getattr(jaxloss, name)
    z, t = _images(5)
    keep = jnp.array([True, False, True])
    zn = z.at[1].set(jnp.nan)
    v, g = jax.value_and_grad(lambda z: loss(z, t, where=keep, reduction="mean"))(zn)
    if name == "generalized_dice":  # excluded examples leave the class sizes too
        sub = loss(z[keep], t[keep], reduction="mean")
    else:
        sub = jnp.mean(loss(z, t)[keep])
    np.testing.assert_allclose(v, sub, rtol=1e-12)
    assert float(jnp.max(jnp.abs(g[1]))) == 0.0 and bool(jnp.all(jnp.isfinite(g)))


def test_bfloat16_inputs():
    z, t = _images(6)
    tb = t.astype(jnp.bfloat16)
    out, g = jax.value_and_grad(lambda z: jaxloss.dice(z, tb, reduction="mean"))(
        z.astype(jnp.bfloat16)
    )
    assert out.dtype == jnp.bfloat16 and g.dtype == jnp.bfloat16
    np.testing.assert_allclose(float(out), float(jaxloss.dice(z, t, reduction="mean")), rtol=2e-2)


def test_many_classes_take_the_reduction_path():
    # More than 8 classes: class reductions are jnp.max / jnp.sum, not unrolled.
    z, t = _images(7, (2, 3, 4, 11))
    report = testing.check_loss(
        jaxloss.tversky, reference.tversky, (z, t), argnums=(0, 1),
        options=({"alpha": 0.2, "beta": 0.9},), checks=("value", "gradient"),
    )  # fmt: skip
    report.raise_for_failure()


def test_channels_first_and_sigmoid_pass_the_harness():
    z, t = _images(8, (3, 5, 4, 3))
    zf, tf = jnp.moveaxis(z, -1, 1), jnp.moveaxis(t, -1, 1)
    testing.check_loss(
        jaxloss.focal_tversky, reference.focal_tversky, (zf, tf), argnums=(0, 1),
        options=({"axis": 1, "gamma": 1.5},), checks=("value", "gradient"),
    ).raise_for_failure()  # fmt: skip
    testing.check_loss(
        jaxloss.jaccard, reference.jaccard, (z[..., :1], t[..., :1]), argnums=(0, 1),
        checks=("value", "gradient"),
    ).raise_for_failure()  # fmt: skip


# --- lovasz_hinge


def _lovasz_inputs(seed=0, shape=(3, 5, 4)):
    rng = np.random.default_rng(seed)
    return (jnp.asarray(rng.normal(size=shape)),
            jnp.asarray((rng.uniform(size=shape) < 0.4).astype(np.int32)))  # fmt: skip


def test_lovasz_ignore_index_removes_pixels():
    z, y = _lovasz_inputs(1)
    drop = np.random.default_rng(2).uniform(size=y.shape) < 0.3
    yi = jnp.where(drop, 255, y)
    got = jaxloss.lovasz_hinge(z, yi, ignore_index=255)
    for i in range(z.shape[0]):
        keep = ~drop[i]
        one = jaxloss.lovasz_hinge(z[i][keep], y[i][keep], per_image=False)
        np.testing.assert_allclose(got[i], one, rtol=1e-13)


def test_lovasz_per_image_false_is_one_image():
    z, y = _lovasz_inputs(3)
    np.testing.assert_allclose(
        jaxloss.lovasz_hinge(z, y, per_image=False),
        jaxloss.lovasz_hinge(jnp.reshape(z, (1, -1)), jnp.reshape(y, (1, -1)))[0],
        rtol=1e-14,
    )


def test_lovasz_documented_values():
    z = jnp.array([[0.5, -3.0, 2.0], [0.5, -3.0, 2.0]])
    y = jnp.array([[0, 0, 0], [1, 1, 1]])
    got = jaxloss.lovasz_hinge(z, y)
    np.testing.assert_allclose(got, [1 + 2.0, np.mean(np.maximum(1 - np.array([0.5, -3, 2]), 0))])
    # All ignored: 0 with zero gradient.
    v, g = jax.value_and_grad(
        lambda z: jaxloss.lovasz_hinge(z, jnp.full((2, 3), 7), ignore_index=7, reduction="sum")
    )(z)
    assert float(v) == 0.0 and float(jnp.max(jnp.abs(g))) == 0.0


def test_lovasz_ties_value_is_order_free():
    z = jnp.zeros((1, 6))
    y = jnp.array([[1, 0, 1, 0, 0, 1]])
    perm = np.array([3, 0, 5, 1, 4, 2])
    np.testing.assert_allclose(
        jaxloss.lovasz_hinge(z, y), jaxloss.lovasz_hinge(z[:, perm], y[:, perm]), rtol=1e-14
    )


def test_lovasz_bad_labels_give_nan_with_zero_gradient():
    z, y = _lovasz_inputs(4)
    y = y.at[1, 0, 0].set(2)
    g = jax.grad(lambda z: jnp.sum(jnp.nan_to_num(jaxloss.lovasz_hinge(z, y))))(z)
    losses = np.asarray(jaxloss.lovasz_hinge(z, y))
    assert np.isnan(losses[1]) and np.all(np.isfinite(losses[[0, 2]]))
    assert float(jnp.max(jnp.abs(g[1]))) == 0.0


def test_lovasz_where_excludes_images_and_hessian_is_zero():
    z, y = _lovasz_inputs(5)
    keep = jnp.array([True, False, True])
    v, g = jax.value_and_grad(lambda z: jaxloss.lovasz_hinge(z, y, where=keep, reduction="mean"))(
        z.at[1].set(jnp.nan)
    )
    np.testing.assert_allclose(v, jnp.mean(jaxloss.lovasz_hinge(z, y)[keep]), rtol=1e-13)
    assert float(jnp.max(jnp.abs(g[1]))) == 0.0
    h = jax.hessian(lambda z: jaxloss.lovasz_hinge(z, y[0], reduction="sum"))(z[0])
    assert float(jnp.max(jnp.abs(h))) == 0.0


# --- errors


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: jaxloss.dice(jnp.zeros((2, 3)), jnp.zeros((2, 4))), ValueError,
         r"dice: predictions and targets must have the same shape, got \(2, 3\) and \(2, 4\)"),
        (lambda: jaxloss.dice(jnp.zeros((2, 3)), jnp.zeros((2, 3), int)), TypeError,
         "dice: targets must have a floating dtype"),
        (lambda: jaxloss.dice(jnp.zeros((2, 3)), jnp.zeros((2, 3)), class_weights=jnp.ones(4)),
         ValueError, r"class_weights must have shape \(3,\)"),
        (lambda: jaxloss.jaccard(jnp.zeros((2, 3)), jnp.zeros((2, 3)), smooth=-1.0), ValueError,
         "jaccard: smooth must be in"),
        (lambda: jaxloss.focal_tversky(jnp.zeros((2, 3)), jnp.zeros((2, 3)), gamma=0.0),
         ValueError, "focal_tversky: gamma must be in"),
        (lambda: jaxloss.tversky(jnp.zeros((2, 3)), jnp.zeros((2, 3)), alpha=-0.1), ValueError,
         "tversky: alpha must be in"),
        (lambda: jaxloss.dice(jnp.zeros((2, 3, 4)), jnp.zeros((2, 3, 4)), spatial_axes=(1, 2)),
         ValueError, "include the class axis"),
        (lambda: jaxloss.dice(jnp.zeros((2, 3)), jnp.zeros((2, 3)), axis=2), ValueError,
         "axis 2 is out of range"),
        (lambda: jaxloss.generalized_dice(jnp.zeros(()), jnp.zeros(())), ValueError,
         "must have a class axis"),
        (lambda: jaxloss.lovasz_hinge(jnp.zeros((2, 3)), jnp.zeros((2, 3))), TypeError,
         "lovasz_hinge: labels must have an integer dtype"),
        (lambda: jaxloss.lovasz_hinge(jnp.zeros(()), jnp.zeros((), int)), ValueError,
         "per_image=True needs a leading image axis"),
        (lambda: jaxloss.lovasz_hinge(jnp.zeros((2, 3)), jnp.zeros((2, 3), int), reduction="avg"),
         ValueError, "reduction must be one of"),
    ],
)  # fmt: skip
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize(
    "name", ["dice", "generalized_dice", "tversky", "focal_tversky", "jaccard"]
)
def test_export_with_a_symbolic_class_count(name):
    from jax import export

    fn = getattr(jaxloss, name)
    (c,) = export.symbolic_shape("c")
    spec = jax.ShapeDtypeStruct((4, c), jnp.float32)
    r = np.random.default_rng(31)
    for classes in (3, 1, 12):  # 12: past the unrolled class reductions
        p = jnp.asarray(r.uniform(size=(4, classes)), jnp.float32)
        t = jnp.asarray(r.uniform(size=(4, classes)) < 0.5, jnp.float32)
        for apply in (False,):

            def f(p, t, a=apply):
                return fn(p, t, apply_softmax=a, reduction="mean")

            for g in (f, jax.grad(f)):
                exported = export.export(jax.jit(g))(spec, spec)
                np.testing.assert_allclose(exported.call(p, t), g(p, t), rtol=1e-5, atol=1e-7)
    # The activation (sigmoid for one class, softmax otherwise) needs the count itself.
    with pytest.raises(ValueError, match=rf"^{name}: with apply_softmax=True the class axis 1 "
                       r"must have a static size .* apply_softmax=False"):  # fmt: skip
        export.export(jax.jit(lambda p, t: fn(p, t, apply_softmax=True)))(spec, spec)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_focal_tversky_and_its_reference_are_nan_only_for_the_image_with_a_nan_pixel(bad):
    r = np.random.default_rng(3)
    z = r.normal(size=(3, 4, 4, 3))
    t = np.eye(3)[r.integers(0, 3, size=(3, 4, 4))]
    z[1, 2, 0, 1] = bad
    opts = {"alpha": 0.3, "beta": 0.7, "gamma": 0.75}
    got = jaxloss.focal_tversky(z, t, **opts)
    want = reference.focal_tversky(z, t, **opts)
    assert np.isnan(got[1]) and np.isnan(want[1])
    np.testing.assert_allclose(got[::2], want[::2], rtol=1e-10)
    assert np.all(np.isfinite(want[::2]))
