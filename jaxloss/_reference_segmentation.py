"""Plain-jnp references of the segmentation family.

Textbook formulas differentiated by autodiff alone, sharing the public losses'
argument handling (``_segmentation._*_call``). They differ from the rules only at
the points the rules document: autodiff of ``R**γ`` at ``R = 0`` (here guarded by
a double ``where``), and of ``max(e, 0)`` at a Lovász hinge error of exactly 0
(autodiff gives half the slope).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from . import _segmentation as _s

__all__ = ["dice", "focal_tversky", "generalized_dice", "jaccard", "lovasz_hinge", "tversky"]

Array = jax.Array


def _overlap(z, t, cfg):
    if cfg.activation == "softmax":
        p = jax.nn.softmax(z, axis=cfg.axis)
    elif cfg.activation == "sigmoid":
        p = jax.nn.sigmoid(z)
    else:
        p = z
    s = cfg.spatial
    tp = jnp.sum(p * t, axis=s)
    fp = jnp.sum(p * (1 - t), axis=s)
    fn = jnp.sum((1 - p) * t, axis=s)
    num = cfg.alpha * fp + cfg.beta * fn
    den = tp + num + cfg.smooth
    if cfg.smooth == 0.0:  # empty mask with no smoothing: loss 0 (double where)
        den = jnp.where(den == 0, 1, den)
    r = num / den
    if cfg.gamma != 1.0:
        # R = 0 (double where) gives 0; NaN stays NaN.
        r = jnp.where(r == 0, 0, jnp.where(r == 0, 1, r) ** cfg.gamma)
    return _s._to_last(r, cfg)


_overlap_jit = jax.jit(_overlap, static_argnums=(2,))


def dice(
    predictions,
    targets,
    *,
    class_weights=None,
    smooth=1.0,
    apply_softmax=True,
    ignore_background=False,
    axis=-1,
    spatial_axes=None,
    weights=None,
    where=None,
    reduction="none",
) -> Array:
    """Reference for :func:`jaxloss.dice`."""
    return _s._overlap_call(
        "dice", _overlap_jit, predictions, targets, alpha=0.5, beta=0.5, smooth=smooth,
        class_weights=class_weights, apply_softmax=apply_softmax,
        ignore_background=ignore_background, axis=axis, spatial_axes=spatial_axes,
        weights=weights, where=where, reduction=reduction,
    )  # fmt: skip


def generalized_dice(
    predictions,
    targets,
    *,
    smooth=1.0,
    apply_softmax=True,
    ignore_background=False,
    axis=-1,
    spatial_axes=None,
    weights=None,
    where=None,
    reduction="none",
) -> Array:
    """Reference for :func:`jaxloss.generalized_dice`."""
    return _s._overlap_call(
        "generalized_dice", _overlap_jit, predictions, targets, alpha=0.5, beta=0.5,
        smooth=smooth, generalized=True, apply_softmax=apply_softmax,
        ignore_background=ignore_background, axis=axis, spatial_axes=spatial_axes,
        weights=weights, where=where, reduction=reduction,
    )  # fmt: skip


def tversky(
    predictions,
    targets,
    *,
    alpha=0.5,
    beta=0.5,
    smooth=1.0,
    class_weights=None,
    apply_softmax=True,
    ignore_background=False,
    axis=-1,
    spatial_axes=None,
    weights=None,
    where=None,
    reduction="none",
) -> Array:
    """Reference for :func:`jaxloss.tversky`."""
    alpha, beta = _s._tversky_weights("tversky", alpha, beta)
    return _s._overlap_call(
        "tversky", _overlap_jit, predictions, targets, alpha=alpha, beta=beta, smooth=smooth,
        class_weights=class_weights, apply_softmax=apply_softmax,
        ignore_background=ignore_background, axis=axis, spatial_axes=spatial_axes,
        weights=weights, where=where, reduction=reduction,
    )  # fmt: skip


def focal_tversky(
    predictions,
    targets,
    *,
    alpha=0.5,
    beta=0.5,
    gamma=0.75,
    smooth=1.0,
    class_weights=None,
    apply_softmax=True,
    ignore_background=False,
    axis=-1,
    spatial_axes=None,
    weights=None,
    where=None,
    reduction="none",
) -> Array:
    """Reference for :func:`jaxloss.focal_tversky`."""
    alpha, beta = _s._tversky_weights("focal_tversky", alpha, beta)
    gamma = _s._checks.static_float("focal_tversky", "gamma", gamma, low=0.0, low_open=True)
    return _s._overlap_call(
        "focal_tversky", _overlap_jit, predictions, targets, alpha=alpha, beta=beta,
        gamma=gamma, smooth=smooth, class_weights=class_weights,
        apply_softmax=apply_softmax, ignore_background=ignore_background, axis=axis,
        spatial_axes=spatial_axes, weights=weights, where=where, reduction=reduction,
    )  # fmt: skip


def jaccard(
    predictions,
    targets,
    *,
    class_weights=None,
    smooth=1.0,
    apply_softmax=True,
    ignore_background=False,
    axis=-1,
    spatial_axes=None,
    weights=None,
    where=None,
    reduction="none",
) -> Array:
    """Reference for :func:`jaxloss.jaccard`."""
    return _s._overlap_call(
        "jaccard", _overlap_jit, predictions, targets, alpha=1.0, beta=1.0, smooth=smooth,
        class_weights=class_weights, apply_softmax=apply_softmax,
        ignore_background=ignore_background, axis=axis, spatial_axes=spatial_axes,
        weights=weights, where=where, reduction=reduction,
    )  # fmt: skip


def _lovasz_hinge(z, y, per_image, ignore_index):
    rows = z.shape[0] if per_image and z.ndim else 1
    z, y = jnp.reshape(z, (rows, -1)), jnp.reshape(y, (rows, -1))
    valid = (y == 0) | (y == 1)
    bad = jnp.any(~valid & (y != ignore_index), axis=-1) if ignore_index is not None else (
        jnp.any(~valid, axis=-1))  # fmt: skip
    gt = (y == 1).astype(z.dtype)
    errors = 1 - jnp.where(valid, z, 0) * (2 * gt - 1)
    order = jnp.argsort(jnp.where(valid, -errors, jnp.inf), axis=-1, stable=True)
    errors_sorted = jnp.take_along_axis(errors, order, axis=-1)
    valid_sorted = jnp.take_along_axis(valid, order, axis=-1)
    gt_sorted = jnp.take_along_axis(gt, order, axis=-1)
    # Uncounted pixels (sorted last) leave the intersection and the union as they
    # are, i.e. they are removed; a row without any counted pixel gives 0.
    gts = jnp.sum(gt_sorted, axis=-1, keepdims=True)
    intersection = gts - jnp.cumsum(gt_sorted, axis=-1)
    union = gts + jnp.cumsum(jnp.where(valid_sorted, 1 - gt_sorted, 0), axis=-1)
    jac = jnp.where(union > 0, 1 - intersection / jnp.where(union > 0, union, 1), 0)
    grad = jnp.concatenate([jac[:, :1], jac[:, 1:] - jac[:, :-1]], axis=-1)
    hinge = jnp.where(valid_sorted, jax.nn.relu(errors_sorted), 0)
    loss = jnp.where(bad, jnp.nan, jnp.sum(hinge * grad, axis=-1))
    return jnp.reshape(loss, (rows,) if per_image else ())


_lovasz_hinge_jit = jax.jit(_lovasz_hinge, static_argnums=(2, 3))


def lovasz_hinge(
    logits, labels, *, per_image=True, ignore_index=None, weights=None, where=None,
    reduction="none",
) -> Array:  # fmt: skip
    """Reference for :func:`jaxloss.lovasz_hinge` (sort, gather, autodiff)."""
    return _s._lovasz_hinge_call(
        _lovasz_hinge_jit, logits, labels, per_image=per_image, ignore_index=ignore_index,
        weights=weights, where=where, reduction=reduction,
    )  # fmt: skip
