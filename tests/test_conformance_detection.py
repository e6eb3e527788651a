"""Conformance of giou / diou / ciou with torchvision's box losses, transcribed in torch.

torchvision is not a dependency (only torch is installed), so its three losses
are written out here in torch as torchvision 0.2x has them
(``torchvision/ops/giou_loss.py``, ``diou_loss.py``, ``ciou_loss.py``,
``_utils._loss_inter_union``): the masked intersection, ``eps`` in the IoU and
enclosure denominators, CIoU calling the DIoU part with the default ``eps`` and
computing ``alpha`` under ``torch.no_grad()``. Values and gradients with respect
to both box sets are compared on seeded random boxes (overlapping or not), in
float64 (tight) and float32, for every reduction and two ``eps``; then on
degenerate boxes, wherever torchvision's own result is finite.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

import jaxloss

DTYPES = ("float64", "float32")
TOL = {"float64": {"rtol": 1e-10, "atol": 1e-12}, "float32": {"rtol": 2e-5, "atol": 2e-6}}


# --- torchvision, transcribed


def _loss_inter_union(boxes1, boxes2):
    x1, y1, x2, y2 = boxes1.unbind(dim=-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(dim=-1)
    xkis1 = torch.max(x1, x1g)
    ykis1 = torch.max(y1, y1g)
    xkis2 = torch.min(x2, x2g)
    ykis2 = torch.min(y2, y2g)
    intsctk = torch.zeros_like(x1)
    mask = (ykis2 > ykis1) & (xkis2 > xkis1)
    intsctk[mask] = (xkis2[mask] - xkis1[mask]) * (ykis2[mask] - ykis1[mask])
    unionk = (x2 - x1) * (y2 - y1) + (x2g - x1g) * (y2g - y1g) - intsctk
    return intsctk, unionk


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def generalized_box_iou_loss(boxes1, boxes2, reduction="none", eps=1e-7):
    intsctk, unionk = _loss_inter_union(boxes1, boxes2)
    iouk = intsctk / (unionk + eps)
    x1, y1, x2, y2 = boxes1.unbind(dim=-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(dim=-1)
    xc1 = torch.min(x1, x1g)
    yc1 = torch.min(y1, y1g)
    xc2 = torch.max(x2, x2g)
    yc2 = torch.max(y2, y2g)
    area_c = (xc2 - xc1) * (yc2 - yc1)
    miouk = iouk - ((area_c - unionk) / (area_c + eps))
    return _reduce(1 - miouk, reduction)


def _diou_iou_loss(boxes1, boxes2, eps=1e-7):
    intsct, union = _loss_inter_union(boxes1, boxes2)
    iou = intsct / (union + eps)
    x1, y1, x2, y2 = boxes1.unbind(dim=-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(dim=-1)
    xc1 = torch.min(x1, x1g)
    yc1 = torch.min(y1, y1g)
    xc2 = torch.max(x2, x2g)
    yc2 = torch.max(y2, y2g)
    diagonal_distance_squared = ((xc2 - xc1) ** 2) + ((yc2 - yc1) ** 2) + eps
    x_p = (x2 + x1) / 2
    y_p = (y2 + y1) / 2
    x_g = (x1g + x2g) / 2
    y_g = (y1g + y2g) / 2
    centers_distance_squared = ((x_p - x_g) ** 2) + ((y_p - y_g) ** 2)
    loss = 1 - iou + (centers_distance_squared / diagonal_distance_squared)
    return loss, iou


def distance_box_iou_loss(boxes1, boxes2, reduction="none", eps=1e-7):
    return _reduce(_diou_iou_loss(boxes1, boxes2, eps)[0], reduction)


def complete_box_iou_loss(boxes1, boxes2, reduction="none", eps=1e-7):
    diou_loss, iou = _diou_iou_loss(boxes1, boxes2)
    x1, y1, x2, y2 = boxes1.unbind(dim=-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(dim=-1)
    w_pred = x2 - x1
    h_pred = y2 - y1
    w_gt = x2g - x1g
    h_gt = y2g - y1g
    v = (4 / (torch.pi**2)) * torch.pow((torch.atan(w_gt / h_gt) - torch.atan(w_pred / h_pred)), 2)
    with torch.no_grad():
        alpha = v / (1 - iou + v + eps)
    return _reduce(diou_loss + alpha * v, reduction)


PAIRS = [
    ("giou", jaxloss.giou, generalized_box_iou_loss),
    ("diou", jaxloss.diou, distance_box_iou_loss),
    ("ciou", jaxloss.ciou, complete_box_iou_loss),
]


# --- harness


def _boxes(seed, n, dtype):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 4, (2, n, 2))
    wh = rng.uniform(0.3, 3, (2, n, 2))
    boxes = np.concatenate([xy, xy + wh], axis=-1).astype(dtype)
    return boxes[0], boxes[1]


def _run_both(ours, theirs, p, t, reduction, eps, cot):
    tp = torch.tensor(p, requires_grad=True)
    tt = torch.tensor(t, requires_grad=True)
    out = theirs(tp, tt, reduction=reduction, eps=eps)
    out.backward(torch.tensor(cot) if reduction == "none" else None)
    value, vjp = jax.vjp(lambda a, b: ours(a, b, eps=eps, reduction=reduction), jnp.asarray(p),
                         jnp.asarray(t))  # fmt: skip
    grads = vjp(jnp.asarray(cot) if reduction == "none" else jnp.ones((), value.dtype))
    return (value, *grads), (out.detach().numpy(), tp.grad.numpy(), tt.grad.numpy())


def _close(got, want, dtype, what):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: {got.shape} != {want.shape}"
    assert got.dtype == np.dtype(dtype), f"{what}: {got.dtype}"
    np.testing.assert_allclose(got, want, err_msg=what, **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("name", "ours", "theirs"), PAIRS, ids=[p[0] for p in PAIRS])
def test_matches_torchvision(name, ours, theirs, dtype):
    p, t = _boxes(0, 40, dtype)
    assert (p[:, 2] < t[:, 0]).any() and (p[:, 2] > t[:, 0]).any()  # disjoint and overlapping
    cot = np.random.default_rng(1).normal(size=40).astype(dtype)
    for eps in (1e-7, 0.5):
        for reduction in ("none", "mean", "sum"):
            got, want = _run_both(ours, theirs, p, t, reduction, eps, cot)
            for what, a, b in zip(("value", "grad boxes1", "grad boxes2"), got, want, strict=True):
                _close(a, b, dtype, f"{what} (eps={eps}, {reduction})")


# Degenerate boxes on which torchvision is finite: coincident edges (ties of max/min,
# gradient split equally by both), identical boxes, zero-width and zero-height boxes
# against proper ones, inverted boxes (x2 < x1 or y2 < y1), touching boxes.
DEGENERATE = np.asarray(
    [
        [[0, 0, 2, 2], [0, 0, 2, 2]],
        [[0, 0, 2, 2], [0, 1, 2, 3]],
        [[1, 0, 1, 2], [0, 0, 2, 2]],
        [[0, 1, 3, 1], [1, 0, 2, 3]],
        [[2, 0, 0, 2], [0, 0, 2, 2]],
        [[2, 2, 0, 0], [1, 1, 3, 3]],
        [[0, 0, 1, 1], [1, 0, 2, 1]],
        [[0, 0, 1, 1], [1, 1, 2, 2]],
    ],
    np.float64,
)


@pytest.mark.parametrize(("name", "ours", "theirs"), PAIRS, ids=[p[0] for p in PAIRS])
def test_degenerate_boxes_match_torchvision_where_it_is_finite(name, ours, theirs):
    p, t = DEGENERATE[:, 0], DEGENERATE[:, 1]
    cot = np.linspace(0.5, 1.5, len(p))
    got, want = _run_both(ours, theirs, p, t, "none", 1e-7, cot)
    for what, a, b in zip(("value", "grad boxes1", "grad boxes2"), got, want, strict=True):
        a, b = np.asarray(a), np.asarray(b)
        assert np.isfinite(a).all(), f"{what}: {a}"
        ok = np.isfinite(b)
        np.testing.assert_allclose(a[ok], b[ok], rtol=1e-10, atol=1e-12, err_msg=what)
    if name != "ciou":  # torchvision's CIoU divides by a zero height here
        assert all(np.isfinite(np.asarray(w)).all() for w in want)


def test_ciou_point_box_is_finite_where_torchvision_is_nan():
    p = np.asarray([[1.0, 1.0, 1.0, 1.0]])
    t = np.asarray([[0.0, 0.0, 2.0, 2.0]])
    got, want = _run_both(jaxloss.ciou, complete_box_iou_loss, p, t, "none", 1e-7, np.ones(1))
    assert np.isnan(want[0]).all()
    assert all(np.isfinite(np.asarray(g)).all() for g in got)
    # θ = 0 for the point box: v = (4/π²)(π/4)² = 1/4, α = v / (1 + v), DIoU = 1.
    np.testing.assert_allclose(np.asarray(got[0]), [1 + 0.25 * 0.25 / (1.25 + 1e-7)], rtol=1e-12)
