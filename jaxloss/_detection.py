r"""Bounding-box regression losses: generalized, distance and complete IoU (GIoU, DIoU, CIoU).

Boxes are ``[..., 4]`` arrays ``[x1, y1, x2, y2]``; each loss returns one value
per box pair (``predictions.shape[:-1]``). The formulas are torchvision's
(``generalized_box_iou_loss``, ``distance_box_iou_loss``,
``complete_box_iou_loss``), including where their ``eps`` enters, so values and
gradients agree with torchvision to float32 round-off for the boxes it expects
(``x1 < x2``, ``y1 < y2``). Notation for a predicted box :math:`b` and a target
:math:`b'`:

* intersection :math:`I`, of width :math:`\min(x_2, x'_2) - \max(x_1, x'_1)` and
  the like height, counted only when both are positive (else :math:`|I| = 0`);
* union :math:`|U| = w h + w' h' - |I|` with :math:`w = x_2 - x_1`, :math:`h = y_2 - y_1`;
* :math:`\mathrm{IoU} = |I| / (|U| + \varepsilon)`;
* the smallest enclosing box :math:`C`, of width :math:`c_w = \max(x_2, x'_2) - \min(x_1, x'_1)`
  and height :math:`c_h`.

Degenerate boxes keep finite values and gradients: zero-area boxes, coincident
boxes, and "inverted" boxes with ``x2 < x1`` (their width is negative, as in
torchvision: they never intersect anything, and their signed area enters the
union). Two conventions make this hold everywhere:

* where two coordinates tie in a ``max``/``min`` (coincident edges), the
  gradient is split equally between them, as ``jnp.maximum`` and
  ``torch.maximum`` do;
* a denominator that is exactly 0 (possible only with ``eps = 0``, or inverted
  boxes whose signed areas cancel) is replaced by 1, and gets no gradient.

The rules save only the two box arrays and recompute everything else in the
backward pass, in one elementwise fusion.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from . import _checks
from ._fusion import unshared
from ._reduce import compute_dtype, mask_of, reduce

__all__ = ["ciou", "diou", "giou"]

_TV_EPS = 1e-7  # torchvision's default eps, which its CIoU uses for the IoU and DIoU terms
_K = 4 / math.pi**2
_UNIT = (0.0, 0.0, 1.0, 1.0)  # the box excluded entries are replaced by


def _transposed(kind):
    return kind != "giou"


def _safe(den):
    """A denominator, with an exact 0 replaced by 1 (see the module docstring)."""
    return jnp.where(den == 0, 1, den)


@jax.custom_jvp
def _quotient(x, y):
    """``x / y`` whose derivative is ``(dx - (x / y) dy) / y``: JAX's rule for a division
    forms ``x dy · y^-2``, which at box sizes near 1e30 in float32 is ``inf · 0`` = NaN
    (``x dy`` overflows, ``y^-2`` underflows), or 0 where it is of order 1 once
    multiplied by a 1e30 side (``g / |C|`` times ``c_w``), in ``jax.hessian``."""
    return x / y


@_quotient.defjvp
def _quotient_jvp(primals, tangents):
    x, y = primals
    dx, dy = tangents
    q = x / y
    return q, (dx - q * dy) / y


def _atan_ratio(w, h):
    """atan(w / h), torchvision's aspect angle; ±π/2 at h = 0 (0 when w = h = 0 too)."""
    return jnp.where(h != 0, jnp.arctan(w / _safe(h)), jnp.sign(w) * (math.pi / 2))


def _max_share(a, b):
    """∂max(a, b)/∂a: 1, 0, or ½ at a tie (∂/∂b is one minus it)."""
    return jnp.where(a > b, 1.0, jnp.where(a == b, 0.5, 0.0)).astype(a.dtype)


def _min_share(a, b):
    """∂min(a, b)/∂a: 1, 0, or ½ at a tie."""
    return jnp.where(a < b, 1.0, jnp.where(a == b, 0.5, 0.0)).astype(a.dtype)


def _forward(p, t, kind, eps, aspect_term=True):
    """The loss and the intermediates the rule needs, from the boxes (without CIoU's
    aspect term when ``aspect_term`` is False: the backward pass saves it instead)."""
    # Layout, measured on CPU at [1M, 4] (jit(value_and_grad(mean))): DIoU/CIoU run
    # 1.5x faster with the coordinates moved to the front first, GIoU 2.5x faster
    # slicing the [..., 4] layout directly inside its fusions.
    if _transposed(kind):
        x1, y1, x2, y2 = jnp.moveaxis(p, -1, 0)
        X1, Y1, X2, Y2 = jnp.moveaxis(t, -1, 0)
    else:
        x1, y1, x2, y2 = (p[..., i] for i in range(4))
        X1, Y1, X2, Y2 = (t[..., i] for i in range(4))
    iw = jnp.minimum(x2, X2) - jnp.maximum(x1, X1)
    ih = jnp.minimum(y2, Y2) - jnp.maximum(y1, Y1)
    overlap = (iw > 0) & (ih > 0)
    inter = jnp.where(overlap, iw * ih, 0)
    w1, h1, w2, h2 = x2 - x1, y2 - y1, X2 - X1, Y2 - Y1
    union = w1 * h1 + w2 * h2 - inter
    ciou = kind.startswith("ciou")
    e_iou = _TV_EPS if ciou else eps
    du = _safe(union + e_iou)
    iou = _quotient(inter, du)
    cw = jnp.maximum(x2, X2) - jnp.minimum(x1, X1)
    ch = jnp.maximum(y2, Y2) - jnp.minimum(y1, Y1)
    v = dict(
        x1=x1, y1=y1, x2=x2, y2=y2, X1=X1, Y1=Y1, X2=X2, Y2=Y2, iw=iw, ih=ih,
        overlap=overlap, w1=w1, h1=h1, w2=w2, h2=h2, union=union, du=du, iou=iou,
        cw=cw, ch=ch, e_iou=e_iou,
    )  # fmt: skip
    if kind == "giou":
        area_c = cw * ch
        dc = _safe(area_c + eps)
        enclosure = _quotient(area_c - union, dc)
        v.update(area_c=area_c, dc=dc, enclosure=enclosure)
        return 1 - iou + enclosure, v
    dx = 0.5 * ((x1 + x2) - (X1 + X2))
    dy = 0.5 * ((y1 + y2) - (Y1 + Y2))
    diag_raw = cw * cw + ch * ch + e_iou
    diag = _safe(diag_raw)
    distance = _quotient(dx * dx + dy * dy, diag)
    v.update(dx=dx, dy=dy, diag_raw=diag_raw, diag=diag, distance=distance)
    loss = 1 - iou + distance
    if ciou and aspect_term:
        dtheta = _atan_ratio(w2, h2) - _atan_ratio(w1, h1)
        aspect = _K * dtheta * dtheta
        # torchvision computes α under no_grad: a constant in every derivative
        # (unless alpha_gradient=True, kind "ciou_alpha").
        alpha = aspect / _safe(1 - iou + aspect + eps)
        if kind == "ciou":
            alpha = jax.lax.stop_gradient(alpha)
        v.update(dtheta=dtheta, alpha=alpha)
        loss = loss + alpha * aspect
    return loss, v


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _box(p, t, kind, eps):
    return _box_fwd(p, t, kind, eps)[0]


def _box_fwd(p, t, kind, eps):
    loss, v = _forward(p, t, kind, eps)
    if not kind.startswith("ciou"):
        return loss, (p, t)
    # CIoU saves α and α·Δθ (two per-box numbers) rather than recompute the arctans.
    return loss, (p, t, v["alpha"], v["alpha"] * v["dtheta"])


def _angle_grads(w, h):
    """(∂θ/∂w, ∂θ/∂h) of θ = atan(w / h); 0 at h = 0, where θ is taken as ±π/2."""
    inv = jnp.where(h != 0, 1 / _safe(w * w + h * h), 0)
    return h * inv, -w * inv


def _box_bwd(kind, eps, res, g):
    (p, t, *aspect), (e,) = unshared(res, eps)
    _, v = _forward(p, t, kind, e, aspect_term=False)
    x1, y1, x2, y2 = v["x1"], v["y1"], v["x2"], v["y2"]
    X1, Y1, X2, Y2 = v["X1"], v["Y1"], v["X2"], v["Y2"]
    # ℓ = 1 − IoU + (GIoU: enclosure | DIoU, CIoU: distance [+ α v]), IoU = |I| / (|U| + ε).
    g_iou = -g
    g_aspect = None
    if aspect:
        alpha, alpha_dtheta = aspect
        g_aspect = g * alpha_dtheta  # g α Δθ
        if kind == "ciou_alpha":
            # α v = v² / (1 − IoU + v + ε): ∂/∂v = α(2 − α), ∂/∂IoU = α².
            g_aspect = g_aspect * (2 - alpha)
            g_iou = g_iou + g * alpha * alpha
    g_inter = _quotient(g_iou, v["du"])
    g_union = jnp.where(v["union"] + v["e_iou"] != 0, _quotient(-g_iou * v["iou"], v["du"]), 0)
    if kind == "giou":
        # enclosure = (|C| − |U|) / (|C| + ε)
        dc = v["dc"]
        g_union = g_union - _quotient(g, dc)
        g_area_c = _quotient(g * (1 - jnp.where(v["area_c"] + e != 0, v["enclosure"], 0)), dc)
        g_cw, g_ch = g_area_c * v["ch"], g_area_c * v["cw"]
        g_dx = g_dy = None
    else:
        # distance = (dx² + dy²) / (c_w² + c_h² + ε)
        diag = v["diag"]
        g_cen = _quotient(g, diag)
        g_diag = jnp.where(v["diag_raw"] != 0, _quotient(-g * v["distance"], diag), 0)
        g_cw, g_ch = 2 * g_diag * v["cw"], 2 * g_diag * v["ch"]
        g_dx, g_dy = 2 * g_cen * v["dx"], 2 * g_cen * v["dy"]
    # |U| = w h + w' h' − |I|
    g_inter = g_inter - g_union
    w1, h1, w2, h2 = v["w1"], v["h1"], v["w2"], v["h2"]
    g_w1, g_h1 = g_union * h1, g_union * w1
    g_w2, g_h2 = g_union * h2, g_union * w2
    if g_aspect is not None:
        # v = (4/π²)(θ' − θ)², θ = atan(w / h).
        g_theta = 2 * _K * g_aspect
        aw, ah = _angle_grads(w1, h1)
        bw, bh = _angle_grads(w2, h2)
        g_w1, g_h1 = g_w1 - g_theta * aw, g_h1 - g_theta * ah
        g_w2, g_h2 = g_w2 + g_theta * bw, g_h2 + g_theta * bh
    # |I| = i_w i_h where both are positive.
    g_iw = jnp.where(v["overlap"], g_inter * v["ih"], 0)
    g_ih = jnp.where(v["overlap"], g_inter * v["iw"], 0)

    def side(lo, hi, LO, HI, g_i, g_c, g_size, g_size_t, g_d):
        """Gradients of one axis's four coordinates (lo, hi of each box)."""
        s_hi, s_lo = _min_share(hi, HI), _max_share(lo, LO)  # intersection edges
        c_hi, c_lo = _max_share(hi, HI), _min_share(lo, LO)  # enclosing edges
        d_hi = g_i * s_hi + g_c * c_hi + g_size
        d_lo = -g_i * s_lo - g_c * c_lo - g_size
        d_HI = g_i * (1 - s_hi) + g_c * (1 - c_hi) + g_size_t
        d_LO = -g_i * (1 - s_lo) - g_c * (1 - c_lo) - g_size_t
        if g_d is not None:  # the centre offset (lo + hi − LO − HI) / 2
            half = 0.5 * g_d
            d_hi, d_lo, d_HI, d_LO = d_hi + half, d_lo + half, d_HI - half, d_LO - half
        return d_lo, d_hi, d_LO, d_HI

    gx1, gx2, gX1, gX2 = side(x1, x2, X1, X2, g_iw, g_cw, g_w1, g_w2, g_dx)
    gy1, gy2, gY1, gY2 = side(y1, y2, Y1, Y2, g_ih, g_ch, g_h1, g_h2, g_dy)
    if not _transposed(kind):
        return jnp.stack([gx1, gy1, gx2, gy2], -1), jnp.stack([gX1, gY1, gX2, gY2], -1)
    return (
        jnp.moveaxis(jnp.stack([gx1, gy1, gx2, gy2]), 0, -1),
        jnp.moveaxis(jnp.stack([gX1, gY1, gX2, gY2]), 0, -1),
    )


_box.defvjp(_box_fwd, _box_bwd)


def _box_call(core, kind, predictions, targets, *, eps, weights, where, reduction):
    """Argument handling shared by the box losses and their references."""
    fn = kind[:4]
    reduction = _checks.reduction(fn, reduction)
    p = _checks.float_array(fn, "predictions", predictions)
    t = _checks.data_array(fn, "targets", targets)
    _checks.same_shape(fn, "predictions", p, "targets", t)
    if p.ndim == 0 or p.shape[-1] != 4:
        raise ValueError(
            f"{fn}: boxes must have shape [..., 4] ([x1, y1, x2, y2] along the last axis), "
            f"got {p.shape}"
        )
    eps = _checks.static_float(fn, "eps", eps, low=0.0)
    dtype = compute_dtype(p, t) if jnp.issubdtype(t.dtype, jnp.floating) else compute_dtype(p)
    mask = mask_of(fn, where, p.shape[:-1])
    ps, ts = p.astype(dtype), t.astype(dtype)
    if mask is not None:
        unit = jnp.asarray(_UNIT, dtype)
        ps = jnp.where(mask[..., None], ps, unit)
        ts = jnp.where(mask[..., None], ts, unit)
    losses = core(ps, ts, kind, eps)
    return reduce(fn, losses, weights=weights, mask=mask, reduction=reduction).astype(p.dtype)


_COMMON = r"""
    Args:
      predictions: ``[..., 4]`` boxes ``[x1, y1, x2, y2]``, any float dtype.
      targets: ``[..., 4]`` boxes of the same shape (any real dtype).
      eps: {eps}{extra}
      weights: optional weights broadcastable to ``predictions.shape[:-1]``.
      where: optional boolean mask broadcastable to ``predictions.shape[:-1]``.
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
      Per-box losses ``predictions.shape[:-1]`` (``"none"``) or a scalar, in the
      dtype of ``predictions``.

    Raises:
      TypeError: non-float ``predictions``, complex ``targets`` or a non-boolean ``where``.
      ValueError: boxes not of shape ``[..., 4]``, ``targets`` of another shape,
        ``eps < 0`` or an unknown ``reduction``.
"""


def giou(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    eps: float = 1e-7,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    return _box_call(
        _box, "giou", predictions, targets, eps=eps, weights=weights, where=where,
        reduction=reduction,
    )  # fmt: skip


giou.__doc__ = (
    r"""Generalized IoU loss: 1 − IoU plus the enclosing box's share not covered by the union.

    torchvision's ``generalized_box_iou_loss``; ``diou`` and ``ciou`` replace the
    enclosure term. Non-overlapping boxes still get a gradient (through the
    enclosing box :math:`C`). With the notation of the module (:math:`|I|`,
    :math:`|U|`, :math:`|C| = c_w c_h`):

    .. math::

        \ell = 1 - \frac{|I|}{|U| + \varepsilon} + \frac{|C| - |U|}{|C| + \varepsilon},
        \qquad
        \frac{\partial \ell}{\partial |I|} = -\frac{1}{|U| + \varepsilon}, \quad
        \frac{\partial \ell}{\partial |U|} = \frac{\mathrm{IoU}}{|U| + \varepsilon}
            - \frac{1}{|C| + \varepsilon}, \quad
        \frac{\partial \ell}{\partial |C|} = \frac{|U| + \varepsilon}{(|C| + \varepsilon)^2},

    taken with :math:`|U|` counting :math:`|I|` (``∂|U|/∂|I| = −1``), and chained
    through :math:`\partial |I| / \partial x_1 = -h_I [x_1 \ge x'_1]` (½ at a tie),
    :math:`\partial |U| / \partial x_1 = -h` and the like for every coordinate of
    both boxes. Identical boxes give 0 with gradient 0 (``eps = 0``; :math:`O(\varepsilon)`
    otherwise). The loss lies in [0, 2] for proper boxes.
"""
    + _COMMON.format(
        eps="the :math:`\\varepsilon` of both denominators (torchvision's 1e-7).", extra=""
    )
    + r"""
    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> boxes = jnp.array([[0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 1.0, 1.0]])
      >>> jaxloss.giou(boxes, jnp.array([[1.0, 1.0, 3.0, 3.0], [2.0, 0.0, 3.0, 1.0]]))
      Array([1.0793651, 1.3333334], dtype=float32)

    References:
      Rezatofighi et al., "Generalized Intersection over Union: A Metric and A Loss
      for Bounding Box Regression", CVPR 2019.
    """
)


def diou(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    eps: float = 1e-7,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    return _box_call(
        _box, "diou", predictions, targets, eps=eps, weights=weights, where=where,
        reduction=reduction,
    )  # fmt: skip


diou.__doc__ = (
    r"""Distance IoU loss: 1 − IoU plus the squared centre distance over the enclosing diagonal.

    torchvision's ``distance_box_iou_loss``; ``ciou`` adds an aspect-ratio term,
    ``giou`` is the area-based variant. With the centre offsets
    :math:`d_x = \tfrac12(x_1 + x_2 - x'_1 - x'_2)`, :math:`d_y` likewise, and
    :math:`D = c_w^2 + c_h^2 + \varepsilon`:

    .. math::

        \ell = 1 - \frac{|I|}{|U| + \varepsilon} + \frac{d_x^2 + d_y^2}{D}, \qquad
        \frac{\partial \ell}{\partial d_x} = \frac{2 d_x}{D}, \quad
        \frac{\partial \ell}{\partial c_w} = -\frac{2 c_w (d_x^2 + d_y^2)}{D^2},

    with the IoU term's derivatives as in ``giou`` (:math:`\partial\ell/\partial|I|
    = -1/(|U|+\varepsilon)`, :math:`\partial\ell/\partial|U| = \mathrm{IoU}/(|U|+\varepsilon)`),
    chained through the coordinates (½ at ties of the ``max``/``min``). Identical
    boxes give :math:`1 - \mathrm{IoU} \approx 0`.
"""
    + _COMMON.format(
        eps="the :math:`\\varepsilon` of both denominators (torchvision's 1e-7).", extra=""
    )
    + r"""
    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> boxes = jnp.array([[0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 1.0, 1.0]])
      >>> jaxloss.diou(boxes, jnp.array([[1.0, 1.0, 3.0, 3.0], [2.0, 0.0, 3.0, 1.0]]))
      Array([0.96825397, 1.4       ], dtype=float32)

    References:
      Zheng et al., "Distance-IoU Loss: Faster and Better Learning for Bounding Box
      Regression", AAAI 2020.
    """
)


def ciou(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    eps: float = 1e-7,
    alpha_gradient: bool = False,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    kind = "ciou_alpha" if _checks.static_bool("ciou", "alpha_gradient", alpha_gradient) else "ciou"
    return _box_call(
        _box, kind, predictions, targets, eps=eps, weights=weights, where=where,
        reduction=reduction,
    )  # fmt: skip


ciou.__doc__ = (
    r"""Complete IoU loss: DIoU plus a weighted aspect-ratio mismatch.

    torchvision's ``complete_box_iou_loss``. With the DIoU loss
    :math:`\ell_D` (computed with :math:`\varepsilon = 10^{-7}` whatever ``eps``
    is, as torchvision does), the aspect angles :math:`\theta = \arctan(w / h)`,
    :math:`v = \tfrac{4}{\pi^2}(\theta' - \theta)^2` and the trade-off
    :math:`\alpha = v / (1 - \mathrm{IoU} + v + \varepsilon)`:

    .. math::

        \ell = \ell_D + \alpha v, \qquad
        \frac{\partial \ell}{\partial w} = \frac{\partial \ell_D}{\partial w}
            - \frac{8 \alpha (\theta' - \theta)}{\pi^2}\,\frac{h}{w^2 + h^2}, \qquad
        \frac{\partial \ell}{\partial h} = \frac{\partial \ell_D}{\partial h}
            + \frac{8 \alpha (\theta' - \theta)}{\pi^2}\,\frac{w}{w^2 + h^2}.

    :math:`\alpha` is a constant in the gradient (torchvision computes it under
    ``no_grad``, as the paper prescribes), also under ``jax.hessian``: the
    gradient is then not the derivative of the value (it lacks
    :math:`v\,\partial\alpha`), which finite differences would show.
    ``alpha_gradient=True`` differentiates :math:`\alpha` too, giving the exact
    gradient of the value (:math:`\partial(\alpha v)/\partial v = \alpha(2 - \alpha)`,
    :math:`\partial(\alpha v)/\partial\,\mathrm{IoU} = \alpha^2`). ``eps``
    enters :math:`\alpha` only. Conventions at degenerate boxes: a box of height 0
    has :math:`\theta = \pm\pi/2` by the sign of its width (0 for a point), with
    zero angle gradient; torchvision gives NaN for a point box.
"""
    + _COMMON.format(
        eps="the :math:`\\varepsilon` of :math:`\\alpha`'s denominator (1e-7).",
        extra="\n      alpha_gradient: differentiate :math:`\\alpha` too (default False, as"
        " torchvision).",
    )
    + r"""
    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> boxes = jnp.array([[0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 1.0, 1.0]])
      >>> jaxloss.ciou(boxes, jnp.array([[1.0, 1.0, 3.0, 3.0], [2.0, 0.0, 4.0, 1.0]]))
      Array([0.96825397, 1.3693365 ], dtype=float32)

    References:
      Zheng et al., "Distance-IoU Loss: Faster and Better Learning for Bounding Box
      Regression", AAAI 2020; "Enhancing Geometric Factors in Model Learning and
      Inference for Object Detection and Instance Segmentation", IEEE TCYB 2021.
    """
)
