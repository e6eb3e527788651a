"""Plain-jnp references of the box losses: torchvision's formulas, differentiated by autodiff.

``jnp.maximum``/``jnp.minimum`` split the gradient equally at ties, as torch does;
the only additions to torchvision's code are the conventions that keep degenerate
boxes finite (a zero denominator counts as 1; the aspect angle of a box of height
0 is ±π/2 with zero gradient). Argument handling is shared with the public losses.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from . import _detection

__all__ = ["ciou", "diou", "giou"]


def _safe(den):
    return jnp.where(den == 0, 1, den)


def _inter_union(p, t):
    x1, y1, x2, y2 = (p[..., i] for i in range(4))
    X1, Y1, X2, Y2 = (t[..., i] for i in range(4))
    xk1, yk1 = jnp.maximum(x1, X1), jnp.maximum(y1, Y1)
    xk2, yk2 = jnp.minimum(x2, X2), jnp.minimum(y2, Y2)
    inter = jnp.where((yk2 > yk1) & (xk2 > xk1), (xk2 - xk1) * (yk2 - yk1), 0)
    union = (x2 - x1) * (y2 - y1) + (X2 - X1) * (Y2 - Y1) - inter
    return inter, union


def _enclosing(p, t):
    xc1 = jnp.minimum(p[..., 0], t[..., 0])
    yc1 = jnp.minimum(p[..., 1], t[..., 1])
    xc2 = jnp.maximum(p[..., 2], t[..., 2])
    yc2 = jnp.maximum(p[..., 3], t[..., 3])
    return xc2 - xc1, yc2 - yc1


def _giou(p, t, kind, eps):
    inter, union = _inter_union(p, t)
    iou = inter / _safe(union + eps)
    cw, ch = _enclosing(p, t)
    area_c = cw * ch
    return 1 - (iou - (area_c - union) / _safe(area_c + eps))


def _diou_iou(p, t, eps):
    inter, union = _inter_union(p, t)
    iou = inter / _safe(union + eps)
    cw, ch = _enclosing(p, t)
    diag = _safe(cw**2 + ch**2 + eps)
    xp, yp = (p[..., 2] + p[..., 0]) / 2, (p[..., 3] + p[..., 1]) / 2
    xg, yg = (t[..., 0] + t[..., 2]) / 2, (t[..., 1] + t[..., 3]) / 2
    return 1 - iou + ((xp - xg) ** 2 + (yp - yg) ** 2) / diag, iou


def _diou(p, t, kind, eps):
    return _diou_iou(p, t, eps)[0]


def _angle(w, h):
    return jnp.where(h != 0, jnp.arctan(w / _safe(h)), jnp.sign(w) * (math.pi / 2))


def _ciou(p, t, kind, eps):
    loss, iou = _diou_iou(p, t, 1e-7)  # torchvision calls it without its eps
    w, h = p[..., 2] - p[..., 0], p[..., 3] - p[..., 1]
    wg, hg = t[..., 2] - t[..., 0], t[..., 3] - t[..., 1]
    v = (4 / math.pi**2) * (_angle(wg, hg) - _angle(w, h)) ** 2
    alpha = v / _safe(1 - iou + v + eps)
    if kind == "ciou":  # torchvision: under no_grad
        alpha = jax.lax.stop_gradient(alpha)
    return loss + alpha * v


def giou(predictions, targets, *, eps=1e-7, weights=None, where=None, reduction="none"):
    """Reference for :func:`jaxloss.giou` (torchvision's generalized_box_iou_loss)."""
    return _detection._box_call(
        _giou, "giou", predictions, targets, eps=eps, weights=weights, where=where,
        reduction=reduction,
    )  # fmt: skip


def diou(predictions, targets, *, eps=1e-7, weights=None, where=None, reduction="none"):
    """Reference for :func:`jaxloss.diou` (torchvision's distance_box_iou_loss)."""
    return _detection._box_call(
        _diou, "diou", predictions, targets, eps=eps, weights=weights, where=where,
        reduction=reduction,
    )  # fmt: skip


def ciou(
    predictions,
    targets,
    *,
    eps=1e-7,
    alpha_gradient=False,
    weights=None,
    where=None,
    reduction="none",
):
    """Reference for :func:`jaxloss.ciou` (torchvision's complete_box_iou_loss)."""
    kind = "ciou_alpha" if alpha_gradient else "ciou"
    return _detection._box_call(
        _ciou, kind, predictions, targets, eps=eps, weights=weights, where=where,
        reduction=reduction,
    )  # fmt: skip
