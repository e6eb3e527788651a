r"""Contrastive losses over a batch: NT-Xent, InfoNCE (CLIP), SupCon, SigLIP, ArcFace/CosFace.

Every loss here except ``additive_angular_margin`` compares each example with every
other example of its batch: embeddings ``[..., N, D]`` (``N`` examples of ``D``
features; leading axes are independent batches) give an ``[N, N]`` similarity
matrix. ``reduction="none"`` returns one loss per example (per anchor), ``[..., N]``.

``where=False`` removes an example from its batch entirely: it is neither an anchor
nor a positive nor a negative of any other example (padding rows of a global batch),
so it adds exactly zero to the value and to every gradient even when it holds NaN.

Global batch: ``info_nce``, ``supervised_contrastive``, ``sigmoid_pairwise`` and
``ntxent`` take ``axis_name``. Inside ``jax.shard_map`` with the batch axis sharded
over that mesh axis, each device's anchors meet the examples of every device (an
``all_gather`` of the other tower inside the rule); the gradient of the gathered
copy returns to the owning device through ``psum_scatter`` (the transpose of the
gather), and ``"mean"``/``"sum"`` reduce over the global batch (``psum``), so the
value and gradients equal the unsharded loss on the concatenated batch.

The rules save the inputs, the ``[n, N]`` similarity matrix (the matmul's output,
already written once) and per-row statistics (log-normalisers), and recompute the
softmax or sigmoid inside the fusion that writes the ``[n, N]`` gradient of the
similarities: on CPU a fresh ``[N, N]`` buffer costs more than the ``exp`` (writing
fresh memory page-faults at a few GB/s, while reads run near 50 GB/s). With one device
and a symmetric similarity (NT-Xent, SupCon) the gradient of the similarity and of its
transpose are summed in that same fusion, so the backward pass needs one matmul instead
of two.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Hashable
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax
from jax.typing import ArrayLike

from . import _checks
from ._fusion import unshared
from ._margin import _at_label
from ._reduce import compute_dtype, exclude, mask_of

__all__ = [
    "additive_angular_margin",
    "info_nce",
    "ntxent",
    "sigmoid_pairwise",
    "supervised_contrastive",
]

_NEG_INF = -math.inf

# --- shared pieces: normalisation, collectives, reduction


def _unit(z: jax.Array, eps: Any) -> jax.Array:
    """``z / sqrt(max(|z|², ε))`` along the last axis (optax's cosine normalisation)."""
    sq = jnp.sum(z * z, axis=-1, keepdims=True)
    return z / jnp.sqrt(jnp.where(sq > eps, sq, eps))


def _unit_bwd(z: jax.Array, dzh: jax.Array, eps: Any) -> jax.Array:
    """The VJP of :func:`_unit`: ``(dẑ − ẑ(ẑ·dẑ)) / |z|``, or ``dẑ / √ε`` below the floor."""
    sq = jnp.sum(z * z, axis=-1, keepdims=True)
    big = sq > eps
    n = jnp.sqrt(jnp.where(big, sq, eps))
    zh = z / n
    proj = dzh - zh * jnp.sum(zh * dzh, axis=-1, keepdims=True)
    return jnp.where(big, proj, dzh) / n


def _gather(x: jax.Array, axis_name: Hashable | None) -> jax.Array:
    if axis_name is None:
        return x
    return lax.all_gather(x, axis_name, axis=0, tiled=True)


def _scatter(x: jax.Array, axis_name: Hashable | None) -> jax.Array:
    """The transpose of :func:`_gather`: sums the copies' gradients on the owning device."""
    if axis_name is None:
        return x
    return lax.psum_scatter(x, axis_name, scatter_dimension=0, tiled=True)


def _self_mask(n: int, big_n: int, axis_name: Hashable | None) -> jax.Array:
    """``[n, N]`` booleans: local row ``i`` is global column ``offset + i``."""
    rows = lax.broadcasted_iota(jnp.int32, (n, big_n), 0)
    cols = lax.broadcasted_iota(jnp.int32, (n, big_n), 1)
    if axis_name is not None:
        rows = rows + (lax.axis_index(axis_name) * n).astype(jnp.int32)
    return rows == cols


def _diag(s: jax.Array, axis_name: Hashable | None) -> jax.Array:
    """The entries ``s[i, offset + i]`` (each anchor against its own partner)."""
    n = s.shape[0]
    idx = jnp.arange(n, dtype=jnp.int32)
    if axis_name is not None:
        idx = idx + (lax.axis_index(axis_name) * n).astype(jnp.int32)
    return jnp.take_along_axis(s, idx[:, None], axis=1)[:, 0]


def _param_grad(d: jax.Array, x_type: Any, axis_name: Hashable | None) -> jax.Array:
    """The gradient of a parameter of type ``x_type``: summed over devices when the
    parameter is replicated (not varying along ``axis_name``)."""
    if axis_name is not None and axis_name not in x_type.manual_axis_type.varying:
        return lax.psum(d, axis_name)
    return d


def _pair_ok(v: jax.Array, vv: jax.Array, masked: bool) -> jax.Array | bool:
    """``v_i & V_j``: both examples of a pair are kept (True without a mask)."""
    return (v[:, None] & vv[None, :]) if masked else True


def _and(a: Any, b: Any) -> Any:
    if a is True:
        return b
    if b is True:
        return a
    return a & b


@jax.custom_jvp
def _exp(x: jax.Array) -> jax.Array:
    """``exp(x)`` whose tangent is exactly 0 where the value is 0: a softmax entry that
    underflows to 0 contributes nothing to the second derivative, also where the tangent
    of its logit is huge (``exp(x)·dx`` would be ``0·∞ = NaN`` there)."""
    return jnp.exp(x)


@_exp.defjvp
def _exp_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    y = jnp.exp(x)
    return y, jnp.where(y > 0, y * dx, 0)


@jax.custom_jvp
def _inverse_temperature(tau: jax.Array) -> jax.Array:
    """``1/τ``, whose tangent factor ``-1/τ²`` saturates at the dtype's largest finite value
    (at ``τ = 1e-30`` it is ~1e60): an infinite tangent of the logits turns the
    softmax's tangents into ``∞ - ∞`` even where the exact second derivative is 0."""
    return 1 / tau


@_inverse_temperature.defjvp
def _inverse_temperature_jvp(primals, tangents):
    (tau,), (dtau,) = primals, tangents
    r = 1 / tau
    big = jnp.finfo(r.dtype).max
    # Linear in dτ (reverse over reverse transposes it): the factor saturates, not dτ·it.
    return r, dtau * jnp.maximum(-(r * r), -big)


def _row_lse(s: jax.Array, ok: Any, axis: int = 1) -> jax.Array:
    """``log Σ_j exp(s_ij)`` over the entries where ``ok``; ``-inf`` for an empty row."""
    x = s if ok is True else jnp.where(ok, s, _NEG_INF)
    m = jnp.max(x, axis=axis, keepdims=True)
    m = jnp.where(m > _NEG_INF, m, 0)
    return jnp.squeeze(m, axis) + jnp.log(jnp.sum(_exp(x - m), axis=axis))


def _softplus(x: jax.Array) -> jax.Array:
    return jnp.maximum(x, 0) + jnp.log1p(jnp.exp(-jnp.abs(x)))


_FIXES = {
    "temperature": "pass the temperature itself (the logits are divided by it), e.g. 0.07",
    "scale": "pass the multiplier t itself (SigLIP's exp(t'), e.g. 10.0)",
    "bias": "pass a finite bias, e.g. -10.0",
}


def _temperature(fn: str, arg: str, x: ArrayLike, lead: tuple[int, ...]) -> jax.Array:
    """A temperature, scale or bias: an array that may be learnt. Where it is known at
    trace time (a Python number or a NumPy array), a temperature or scale must be
    finite and > 0, a bias finite; a ``jax.Array`` is not checked (see the losses)."""
    x = _checks.concrete_hyperparameter(fn, arg, x, positive=arg != "bias", fix=_FIXES[arg])
    x = _checks.float_array(fn, arg, x)
    _checks.broadcastable(
        fn, arg, x, lead, "the batch shape (the embeddings' shape without the last two axes)"
    )
    return x


def _embeddings(fn: str, arg: str, x: ArrayLike) -> jax.Array:
    x = _checks.float_array(fn, arg, x)
    if x.ndim < 2:
        raise ValueError(
            f"{fn}: {arg} must have shape [..., batch, features], got {x.shape}; "
            f"add the batch axis, e.g. {arg}[None]"
        )
    return x


def _labels(fn: str, labels: ArrayLike, shape: tuple[int, ...]) -> jax.Array:
    y = _checks.int_array(fn, "labels", labels)
    if y.shape != shape:
        raise ValueError(
            f"{fn}: labels must have the embeddings' shape without the feature axis, "
            f"{shape}, got {y.shape}"
        )
    return y


def _axis_name(fn: str, axis_name: object) -> Hashable | None:
    if axis_name is not None and not isinstance(axis_name, Hashable):
        raise TypeError(
            f"{fn}: axis_name must be a mesh axis name (a string) or None, got {axis_name!r}"
        )
    return axis_name  # type: ignore[return-value]


def _batched(core: Callable[..., jax.Array], arrays: list[jax.Array], nlead: int, statics: tuple):
    """``core`` on 2-D (examples, features) arrays, vmapped over the leading batch axes.

    An empty batch (no examples, ``N = 0``) has no pairs: its per-example output is
    empty, and the rules (whose row maxima have no identity there) are not traced.
    """
    n = arrays[0].shape[nlead]
    if isinstance(n, int) and n == 0:
        return jnp.zeros(arrays[0].shape[: nlead + 1], arrays[0].dtype)
    if nlead == 0:
        return core(*arrays, *statics)
    lead = arrays[0].shape[:nlead]
    size = math.prod(lead)  # symbolic under shape-polymorphic export
    flat = [a.reshape((size, *a.shape[nlead:])) for a in arrays]
    out = jax.vmap(lambda *a: core(*a, *statics))(*flat)
    return out.reshape(lead + out.shape[1:])


def _finish(
    fn: str,
    losses: jax.Array,
    *,
    weights: ArrayLike | None,
    mask: jax.Array | None,
    reduction: str,
    axis_name: Hashable | None,
    counts: jax.Array | None = None,
) -> jax.Array:
    """Weights, ``where`` and the reduction, over the global batch under ``axis_name``.

    Same conventions as :func:`jaxloss._reduce.reduce`; ``counts`` (per example) replaces
    the ones of the ``"mean"``'s denominator (NT-Xent averages over positive pairs).
    """
    reduction = _checks.reduction(fn, reduction)
    w = None
    if weights is not None:
        weights = _checks.data_array(fn, "weights", weights)
        _checks.broadcastable(fn, "weights", weights, losses.shape, "the loss shape")
        w = jnp.broadcast_to(weights.astype(losses.dtype), losses.shape)
        if mask is not None:
            w = jnp.where(mask, w, 0)
        losses = losses * w
    if mask is not None:
        losses = jnp.where(mask, losses, 0)
    if reduction == "none":
        return losses
    total = jnp.sum(losses)
    if axis_name is not None:
        total = lax.psum(total, axis_name)
    if reduction == "sum":
        return total
    if counts is not None:
        c = counts if w is None else counts * w
        count = jnp.sum(c if mask is None else jnp.where(mask, c, 0))
    elif w is not None:
        count = jnp.sum(w)
    elif mask is not None:
        count = jnp.sum(mask, dtype=losses.dtype)
    else:
        count = jnp.asarray(losses.size, losses.dtype)
    if axis_name is not None:
        count = lax.psum(count, axis_name)
    return total / jnp.where(count == 0, 1, count)


def _eps(dtype: Any) -> float:
    return float(jnp.finfo(dtype).eps)


# --- ntxent and supervised_contrastive: one embedding tower with labels


@functools.partial(jax.custom_vjp, nondiff_argnums=(4, 5, 6, 7, 8))
def _pairs(z, y, tau, v, kind, normalize, masked, eps, axis_name):
    return _pairs_fwd(z, y, tau, v, kind, normalize, masked, eps, axis_name)[0]


def _pairs_masks(y, v, n, big_n, masked, axis_name):
    yy = _gather(y, axis_name)
    vv = _gather(v, axis_name) if masked else v
    self_ = _self_mask(n, big_n, axis_name)
    same = y[:, None] == yy[None, :]
    ok = _pair_ok(v, vv, masked)
    return self_, same, ok


def _pairs_fwd(z, y, tau, v, kind, normalize, masked, eps, axis_name):
    zh = _unit(z, eps) if normalize else z
    # [n, N] scaled similarities, saved for the backward pass; 1/τ scales the [n, D]
    # operands, so that no second [n, N] buffer is written.
    if axis_name is None:
        # Both operands are one array u = ẑ/√τ, so that s = u uᵀ is exactly symmetric
        # (s_ij and s_ji are the same sum of the same products): the backward pass reads
        # s_ij for s_ji, and row j's log-normaliser with it. With (ẑ/τ) ẑᵀ they differ
        # by rounding, which exp(s − lse) turns into a gradient error of order
        # exp(ulp(s)): 100% once the logits reach ~1e7 (normalize=False).
        u = zh * jnp.sqrt(1 / tau)
        s = u @ u.T
    else:
        s = (zh * (1 / tau)) @ _gather(zh, axis_name).T
    n, big_n = s.shape
    self_, same, ok = _pairs_masks(y, v, n, big_n, masked, axis_name)
    pos = _and(same & ~self_, ok)
    if kind == "supcon":
        cand = _and(~self_, ok)
        lse = _row_lse(s, cand)
        npos = jnp.sum(pos, axis=1, dtype=s.dtype)
        spos = jnp.sum(jnp.where(pos, s, 0), axis=1)
        has = npos > 0
        loss = jnp.where(has, lse - spos / jnp.where(has, npos, 1), 0)
        # +inf: rows without positives get exp(s - inf) = 0 in the backward pass.
        stat1 = jnp.where(has, lse, jnp.inf)
        stat2 = jnp.where(has, 1 / jnp.where(has, npos, 1), 0)
    else:  # ntxent: each positive against the negatives only
        neg = _and(~same, ok)
        # -inf without negatives, chosen by a where so that no NaN tangent (log 0) leaks
        # into forward-mode derivatives (jax.hessian) of such rows.
        nlse = jnp.where(jnp.any(neg, axis=1), _row_lse(s, neg), _NEG_INF)
        x = nlse[:, None] - s
        loss = jnp.sum(jnp.where(pos, _softplus(x), 0), axis=1)
        stat1 = nlse
        stat2 = jnp.sum(jnp.where(pos, jax.nn.sigmoid(x), 0), axis=1)  # Σ_p σ(N − s_p)
    return loss, (z, y, tau, v, s, stat1, stat2)


def _pairs_grad_s(s, g, stat1, stat2, self_, same, ok, kind):
    """∂(Σ_i g_i ℓ_i)/∂s_ij from row statistics shaped like ``g`` ([n, 1] or [1, N])."""
    if kind == "supcon":
        cand = _and(~self_, ok)
        p = jnp.exp(s - stat1)
        return jnp.where(cand, g * (p - jnp.where(same, stat2, 0)), 0)
    pos = _and(same & ~self_, ok)
    neg = _and(~same, ok)
    # exp(s − N) is the softmax over the negatives; the positives' σ(N − s) is 0 in a row
    # without negatives (N = −inf), with a zero tangent too.
    return g * jnp.where(
        neg, jnp.exp(s - stat1) * stat2, jnp.where(pos, -jax.nn.sigmoid(stat1 - s), 0)
    )


def _pairs_bwd(kind, normalize, masked, eps, axis_name, res, g):
    tau_type = jax.typeof(res[2])  # before the barrier, which makes its outputs varying
    (z, y, tau, v, s, stat1, stat2, g), (eps_,) = unshared((*res, g), eps)
    zh = _unit(z, eps_) if normalize else z
    zz = _gather(zh, axis_name)
    n, big_n = s.shape
    inv_t = 1 / tau
    self_, same, ok = _pairs_masks(y, v, n, big_n, masked, axis_name)
    gs = _pairs_grad_s(s, g[:, None], stat1[:, None], stat2[:, None], self_, same, ok, kind)
    if axis_name is None:
        # s is symmetric: the gradients of s_ij and of s_ji (row j's entry) summed in the
        # fusion that writes the one [N, N] buffer; Σ H⊙s = 2 Σ G⊙s.
        gs_t = _pairs_grad_s(s, g[None, :], stat1[None, :], stat2[None, :], self_, same, ok, kind)
        h = gs + gs_t
        dtau = -0.5 * jnp.sum(h * s) * inv_t
        dzh = (h @ zh) * inv_t
    else:
        dtau = -jnp.sum(gs * s) * inv_t
        dzh = (gs @ zz + _scatter(gs.T @ zh, axis_name)) * inv_t
    dz = _unit_bwd(z, dzh, eps_) if normalize else dzh
    return dz, None, _param_grad(dtau, tau_type, axis_name), None


_pairs.defvjp(_pairs_fwd, _pairs_bwd)


def _masked_temperature(tau: jax.Array, mask: jax.Array | None) -> jax.Array:
    """``tau`` with 1 for the problems whose examples are all excluded (a NaN or zero
    temperature there would reach the rule's arithmetic and give a NaN gradient, however
    the losses are masked afterwards): such a problem's temperature gets exactly zero
    gradient. Under ``axis_name`` "all" means this device's examples, the only rows
    its temperature scales."""
    if mask is None:
        return tau
    return jnp.where(jnp.any(mask, axis=-1), tau, jnp.ones((), tau.dtype))


def _pairs_call(
    fn, core, embeddings, labels, temperature, *, kind, normalize, axis_name, weights, where,
    reduction,
):  # fmt: skip
    """Argument handling shared by ntxent / supervised_contrastive and their references."""
    z = _embeddings(fn, "embeddings", embeddings)
    y = _labels(fn, labels, z.shape[:-1])
    lead = z.shape[:-2]
    tau = _temperature(fn, "temperature", temperature, lead)
    normalize = _checks.static_bool(fn, "normalize", normalize)
    axis_name = _axis_name(fn, axis_name)
    out_dtype = z.dtype
    dtype = compute_dtype(z)
    mask = mask_of(fn, where, z.shape[:-1])
    z = exclude(z.astype(dtype), mask, 0.0, axes=(-1,))
    y = exclude(y, mask, 0)
    v = jnp.ones(y.shape, bool) if mask is None else mask
    tau = _masked_temperature(jnp.broadcast_to(tau.astype(dtype), lead), mask)
    statics = (kind, normalize, mask is not None, _eps(dtype), axis_name)
    losses = _batched(core, [z, y, tau, v], len(lead), statics)
    counts = None
    if kind == "ntxent":
        counts = _batched(_positive_counts, [y, v], len(lead), (mask is not None, axis_name))
        counts = lax.stop_gradient(counts.astype(dtype))
    out = _finish(fn, losses, weights=weights, mask=mask, reduction=reduction,
                  axis_name=axis_name, counts=counts)  # fmt: skip
    return out.astype(out_dtype)


def _positive_counts(y, v, masked, axis_name):
    n = y.shape[0]
    yy = _gather(y, axis_name)
    self_, same, ok = _pairs_masks(y, v, n, yy.shape[0], masked, axis_name)
    return jnp.sum(_and(same & ~self_, ok), axis=1)


def ntxent(
    embeddings: ArrayLike,
    labels: ArrayLike,
    temperature: ArrayLike = 0.07,
    *,
    axis_name: Hashable | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Normalised temperature-scaled cross-entropy (NT-Xent, SimCLR), optax's ``ntxent``.

    Each pair of distinct examples with equal ``labels`` is a positive pair; each
    positive is contrasted with the anchor's negatives (other labels) only, not with
    its other positives (pytorch-metric-learning's ``NTXentLoss``, optax's
    ``ntxent``). With cosine similarities
    :math:`s_{ij} = \hat z_i\cdot\hat z_j/\tau`, :math:`\hat z = z/\sqrt{\max(|z|^2,
    \epsilon)}`, positives :math:`P(i)`, negatives :math:`A^-(i)` and
    :math:`N_i = \log\sum_{n\in A^-(i)} e^{s_{in}}`:

    .. math::

        \ell_i = \sum_{p \in P(i)} -\log\frac{e^{s_{ip}}}{e^{s_{ip}} + \sum_{n\in A^-(i)}
        e^{s_{in}}} = \sum_{p\in P(i)} \operatorname{softplus}(N_i - s_{ip}),

        \frac{\partial \ell_i}{\partial s_{ip}} = -\sigma(N_i - s_{ip}), \qquad
        \frac{\partial \ell_i}{\partial s_{in}} = e^{s_{in} - N_i}
        \sum_{p\in P(i)} \sigma(N_i - s_{ip}),

    and :math:`\partial s_{ij}/\partial\tau = -s_{ij}/\tau`; the chain rule through
    the normalisation is :math:`\partial\hat z/\partial z = (I - \hat z\hat z^\top)/|z|`
    (:math:`I/\sqrt\epsilon` below the floor, where the normaliser is constant).

    ``reduction="none"`` returns :math:`\ell_i`, the sum over the anchor's positive
    pairs; ``"mean"`` divides the (weighted) sum by the (weighted) number of positive
    pairs :math:`\sum_i w_i|P(i)|`, which is optax's value. An anchor without positives
    adds 0, one without negatives adds 0 (each of its pairs costs
    :math:`-\log 1`); a batch without any positive pair has mean 0 (optax: NaN).
    :math:`\epsilon` is the machine epsilon of the computation dtype (optax's for
    float32 and float64 inputs); a zero embedding has similarity 0 with everything and
    a finite gradient.

    Args:
      embeddings: ``[..., N, D]`` floats; leading axes are independent batches.
      labels: ``[..., N]`` integers; equal labels mark positive pairs.
      temperature: :math:`\tau > 0`, a float or array broadcastable to the leading
        axes (differentiable, so it can be learnt).
      axis_name: inside ``jax.shard_map``, the mesh axis the batch axis ``N`` is
        sharded over: anchors meet the whole global batch (see the module notes).
      weights: optional per-anchor weights broadcastable to ``[..., N]``.
      where: optional boolean ``[..., N]``; ``False`` removes the example from its
        batch (neither anchor, positive nor negative).
      reduction: ``"none"``, ``"mean"`` or ``"sum"`` (global under ``axis_name``).

    Returns:
      ``[..., N]`` per-anchor losses (``"none"``) or a scalar, in the embeddings' dtype.

    Raises:
      TypeError: non-float embeddings or temperature, non-integer labels.
      ValueError: embeddings with fewer than 2 axes, labels of another shape, a
        temperature that does not broadcast, or an unknown ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> z = jnp.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-0.6, 0.8]])
      >>> jaxloss.ntxent(z, jnp.array([0, 0, 1, 1]), 0.5, reduction="mean")
      Array(0.43019032, dtype=float32)

    References:
      Chen et al., "A Simple Framework for Contrastive Learning of Visual
      Representations", ICML 2020.
    """
    return _pairs_call("ntxent", _pairs, embeddings, labels, temperature, kind="ntxent",
                       normalize=True, axis_name=axis_name, weights=weights, where=where,
                       reduction=reduction)  # fmt: skip


def supervised_contrastive(
    embeddings: ArrayLike,
    labels: ArrayLike,
    temperature: ArrayLike = 0.07,
    *,
    normalize: bool = True,
    axis_name: Hashable | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Supervised contrastive loss (SupCon, the :math:`\mathcal L^{sup}_{out}` form).

    Khosla et al.'s loss: every other example with the anchor's label is a positive,
    and each positive is contrasted with *all* other examples of the batch (positives
    included). Multi-view batches are flattened: the views of one image share its
    label. With :math:`s_{ij} = \hat z_i\cdot\hat z_j/\tau`, :math:`A(i)` the other
    examples, :math:`P(i) \subset A(i)` those with the anchor's label and
    :math:`p_{ij} = e^{s_{ij}}/\sum_{a\in A(i)} e^{s_{ia}}`:

    .. math::

        \ell_i = -\frac{1}{|P(i)|}\sum_{p\in P(i)} \log p_{ip}
               = \log\sum_{a \in A(i)} e^{s_{ia}} - \frac{1}{|P(i)|}\sum_{p\in P(i)} s_{ip},

        \frac{\partial \ell_i}{\partial s_{ij}} = p_{ij} - \frac{[j \in P(i)]}{|P(i)|},
        \qquad \frac{\partial s_{ij}}{\partial \tau} = -\frac{s_{ij}}{\tau}.

    An anchor without positives adds 0 (value and gradient) and still counts in the
    ``"mean"`` (the paper's reference code divides by all anchors). The reference
    code's factor :math:`\tau/\tau_{base}` is 1 at its defaults and is left out.
    ``normalize=True`` (the paper's projection onto the unit sphere) uses
    :math:`\hat z = z/\sqrt{\max(|z|^2, \epsilon)}`; ``False`` takes the embeddings
    as they are.

    Args:
      embeddings: ``[..., N, D]`` floats; leading axes are independent batches.
      labels: ``[..., N]`` integers.
      temperature: :math:`\tau > 0`, a float or array broadcastable to the leading
        axes (differentiable).
      normalize: project the embeddings onto the unit sphere first.
      axis_name: inside ``jax.shard_map``, the mesh axis ``N`` is sharded over.
      weights: optional per-anchor weights broadcastable to ``[..., N]``.
      where: optional boolean ``[..., N]``; ``False`` removes the example from its batch.
      reduction: ``"none"``, ``"mean"`` or ``"sum"`` (global under ``axis_name``).

    Returns:
      ``[..., N]`` per-anchor losses (``"none"``) or a scalar, in the embeddings' dtype.

    Raises:
      TypeError: non-float embeddings or temperature, non-integer labels.
      ValueError: embeddings with fewer than 2 axes, labels of another shape, a
        temperature that does not broadcast, or an unknown ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> z = jnp.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-0.6, 0.8]])
      >>> jaxloss.supervised_contrastive(z, jnp.array([0, 0, 1, 2]), 0.5)
      Array([0.23325753, 0.627123  , 0.        , 0.        ], dtype=float32)

    References:
      Khosla et al., "Supervised Contrastive Learning", NeurIPS 2020.
    """
    return _pairs_call("supervised_contrastive", _pairs, embeddings, labels, temperature,
                       kind="supcon", normalize=normalize, axis_name=axis_name,
                       weights=weights, where=where, reduction=reduction)  # fmt: skip


# --- info_nce: two towers, row i of each a positive pair


@functools.partial(jax.custom_vjp, nondiff_argnums=(4, 5, 6, 7, 8))
def _info_nce(q, k, tau, v, symmetric, normalize, masked, eps, axis_name):
    return _info_nce_fwd(q, k, tau, v, symmetric, normalize, masked, eps, axis_name)[0]


def _info_nce_ok(v, masked, n, big_n, axis_name):
    """Entries that count: both examples kept, or the pair itself (so rows never empty)."""
    if not masked:
        return True
    return _pair_ok(v, _gather(v, axis_name), True) | _self_mask(n, big_n, axis_name)


def _info_nce_fwd(q, k, tau, v, symmetric, normalize, masked, eps, axis_name):
    qh = _unit(q, eps) if normalize else q
    kh = _unit(k, eps) if normalize else k
    kk = _gather(kh, axis_name)
    inv_t = _inverse_temperature(tau)
    s = (qh * inv_t) @ kk.T  # [n, N]: local queries against every key, scaled
    n, big_n = s.shape
    ok = _info_nce_ok(v, masked, n, big_n, axis_name)
    d = _diag(s, axis_name)
    lse_r = _row_lse(s, ok)
    if not symmetric:
        return lse_r - d, (q, k, tau, v, s, lse_r, s, lse_r)
    if axis_name is None:
        s2, lse_c, d2 = s, _row_lse(s, ok, axis=0), d
    else:
        s2 = (kh * inv_t) @ _gather(qh, axis_name).T  # local keys against every query
        lse_c, d2 = _row_lse(s2, ok), _diag(s2, axis_name)
    return 0.5 * ((lse_r - d) + (lse_c - d2)), (q, k, tau, v, s, lse_r, s2, lse_c)


def _info_nce_bwd(symmetric, normalize, masked, eps, axis_name, res, g):
    tau_type = jax.typeof(res[2])
    (q, k, tau, v, s, lse_r, s2, lse_c, g), (eps_, half) = unshared((*res, g), eps, 0.5)
    qh = _unit(q, eps_) if normalize else q
    kh = _unit(k, eps_) if normalize else k
    kk = _gather(kh, axis_name)
    n, big_n = s.shape
    inv_t = _inverse_temperature(tau)
    ok = _info_nce_ok(v, masked, n, big_n, axis_name)
    self_ = _self_mask(n, big_n, axis_name)
    h = g * half if symmetric else g
    # ∂/∂s of h_i·lse_r_i (+ h_j·lse_c_j on one device) − g_i·s_ii
    gs = h[:, None] * _exp(s - lse_r[:, None])
    if symmetric and axis_name is None:
        gs = gs + h[None, :] * _exp(s - lse_c[None, :])
    diag_g = g if (axis_name is None or not symmetric) else h
    gs = jnp.where(ok, gs, 0) - jnp.where(self_, diag_g[:, None], 0)
    dtau = jnp.sum(gs * s)
    dqh = gs @ kk
    dkh = _scatter(gs.T @ qh, axis_name)
    if symmetric and axis_name is not None:
        qq = _gather(qh, axis_name)
        gs2 = jnp.where(ok, h[:, None] * _exp(s2 - lse_c[:, None]), 0)
        gs2 = gs2 - jnp.where(self_, h[:, None], 0)
        dtau = dtau + jnp.sum(gs2 * s2)
        dkh = dkh + gs2 @ qq
        dqh = dqh + _scatter(gs2.T @ kh, axis_name)
    dqh, dkh = dqh * inv_t, dkh * inv_t
    dq = _unit_bwd(q, dqh, eps_) if normalize else dqh
    dk = _unit_bwd(k, dkh, eps_) if normalize else dkh
    return dq, dk, _param_grad(-dtau * inv_t, tau_type, axis_name), None


_info_nce.defvjp(_info_nce_fwd, _info_nce_bwd)


def _two_towers(fn, a_name, a, b_name, b):
    a = _embeddings(fn, a_name, a)
    b = _embeddings(fn, b_name, b)
    _checks.same_shape(fn, a_name, a, b_name, b)
    return a, b


def _info_nce_call(
    core, query, key, temperature, *, symmetric, normalize, axis_name, weights, where, reduction
):
    """Argument handling shared by info_nce and its reference."""
    fn = "info_nce"
    q, k = _two_towers(fn, "query", query, "key", key)
    lead = q.shape[:-2]
    tau = _temperature(fn, "temperature", temperature, lead)
    symmetric = _checks.static_bool(fn, "symmetric", symmetric)
    normalize = _checks.static_bool(fn, "normalize", normalize)
    axis_name = _axis_name(fn, axis_name)
    out_dtype = q.dtype
    dtype = compute_dtype(q, k)
    mask = mask_of(fn, where, q.shape[:-1])
    q = exclude(q.astype(dtype), mask, 0.0, axes=(-1,))
    k = exclude(k.astype(dtype), mask, 0.0, axes=(-1,))
    v = jnp.ones(q.shape[:-1], bool) if mask is None else mask
    tau = _masked_temperature(jnp.broadcast_to(tau.astype(dtype), lead), mask)
    statics = (symmetric, normalize, mask is not None, _eps(dtype), axis_name)
    losses = _batched(core, [q, k, tau, v], len(lead), statics)
    out = _finish(fn, losses, weights=weights, mask=mask, reduction=reduction, axis_name=axis_name)
    return out.astype(out_dtype)


def info_nce(
    query: ArrayLike,
    key: ArrayLike,
    temperature: ArrayLike = 0.07,
    *,
    symmetric: bool = True,
    normalize: bool = True,
    axis_name: Hashable | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""InfoNCE between two towers (CLIP's loss): row ``i`` of ``query`` and ``key`` match.

    Each query is classified among all keys of the batch (and, ``symmetric=True``,
    each key among all queries), the matching one being the correct class: CLIP's
    ``(cross_entropy(logits) + cross_entropy(logits.T)) / 2``. With
    :math:`s_{ij} = \hat q_i\cdot\hat k_j/\tau`:

    .. math::

        \ell_i = \tfrac12\Big(\log\sum_j e^{s_{ij}} - s_{ii}\Big)
               + \tfrac12\Big(\log\sum_j e^{s_{ji}} - s_{ii}\Big)
        \quad(\text{one-directional: the first term, without the } \tfrac12),

        \frac{\partial \sum_i g_i\ell_i}{\partial s_{ij}} = \tfrac12 g_i\, p^{row}_{ij}
        + \tfrac12 g_j\, p^{col}_{ij} - g_i [i = j], \qquad
        \frac{\partial s_{ij}}{\partial \tau} = -\frac{s_{ij}}{\tau},

    where :math:`p^{row}` and :math:`p^{col}` are the softmaxes of :math:`s` along
    rows and columns. **Parametrisation:** the temperature :math:`\tau` itself
    (logits are divided by it), as in ``ntxent`` and ``supervised_contrastive``; a
    learnt CLIP ``logit_scale`` (:math:`\log 1/\tau`, clipped at :math:`\log 100`) is
    passed as ``jnp.exp(-logit_scale)`` and its gradient comes through autodiff of
    that one line. ``normalize=True`` uses
    :math:`\hat x = x/\sqrt{\max(|x|^2, \epsilon)}` (cosine logits, CLIP's);
    ``False`` takes dot products of the embeddings as given. **Second derivatives**
    (``jax.hessian``, forward over reverse): a softmax entry that is exactly 0 adds
    exactly 0, and the tangent of :math:`1/\tau` saturates at the dtype's largest
    finite value, so a temperature as small as ``1e-30`` gives no NaN; where the exact
    second derivative is beyond the dtype's range it comes out saturated (right signs)
    or infinite.

    Args:
      query: ``[..., N, D]`` floats (e.g. image embeddings).
      key: ``[..., N, D]`` floats (e.g. text embeddings); ``key[i]`` matches ``query[i]``.
      temperature: :math:`\tau > 0`, a float or array broadcastable to the leading
        axes (differentiable).
      symmetric: average both directions (CLIP) or classify queries only.
      normalize: cosine logits (unit vectors) or raw dot products.
      axis_name: inside ``jax.shard_map``, the mesh axis ``N`` is sharded over: each
        device's queries meet every device's keys and vice versa.
      weights: optional per-pair weights broadcastable to ``[..., N]``.
      where: optional boolean ``[..., N]``; ``False`` removes pair ``i`` from the batch.
      reduction: ``"none"``, ``"mean"`` or ``"sum"`` (global under ``axis_name``).

    Returns:
      ``[..., N]`` per-pair losses (``"none"``) or a scalar, in the query's dtype.

    Raises:
      TypeError: non-float inputs.
      ValueError: query and key of different shapes or fewer than 2 axes, a
        temperature that does not broadcast, or an unknown ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> q = jnp.array([[1.0, 0.0], [0.0, 1.0]])
      >>> k = jnp.array([[0.8, 0.6], [0.0, 1.0]])
      >>> jaxloss.info_nce(q, k, 0.5)
      Array([0.34845793, 0.24901438], dtype=float32)

    References:
      van den Oord et al., "Representation Learning with Contrastive Predictive
      Coding", 2018. Radford et al., "Learning Transferable Visual Models From
      Natural Language Supervision", ICML 2021.
    """
    return _info_nce_call(_info_nce, query, key, temperature, symmetric=symmetric,
                          normalize=normalize, axis_name=axis_name, weights=weights,
                          where=where, reduction=reduction)  # fmt: skip


# --- sigmoid_pairwise (SigLIP)


@functools.partial(jax.custom_vjp, nondiff_argnums=(5, 6, 7, 8))
def _sigmoid(x, y, t, b, v, normalize, masked, eps, axis_name):
    return _sigmoid_fwd(x, y, t, b, v, normalize, masked, eps, axis_name)[0]


def _sigmoid_fwd(x, y, t, b, v, normalize, masked, eps, axis_name):
    xh = _unit(x, eps) if normalize else x
    yh = _unit(y, eps) if normalize else y
    c = xh @ _gather(yh, axis_name).T  # [n, N]
    ok = _pair_ok(v, _gather(v, axis_name), masked) if masked else True
    sp = _softplus(t * c + b)  # fused into the sum: c is the only [n, N] buffer
    total = jnp.sum(sp if ok is True else jnp.where(ok, sp, 0), axis=1)
    # −log σ(a_ii) = softplus(a_ii) − a_ii: the diagonal's label flips sign.
    return total - (t * _diag(c, axis_name) + b), (x, y, t, b, v, c)


def _sigmoid_bwd(normalize, masked, eps, axis_name, res, g):
    t_type, b_type = jax.typeof(res[2]), jax.typeof(res[3])
    (x, y, t, b, v, c, g), (eps_,) = unshared((*res, g), eps)
    xh = _unit(x, eps_) if normalize else x
    yh = _unit(y, eps_) if normalize else y
    yy = _gather(yh, axis_name)
    n, big_n = c.shape
    a = t * c + b
    p = jax.nn.sigmoid(a)
    if masked:
        p = jnp.where(_pair_ok(v, _gather(v, axis_name), True), p, 0)
    ga = g[:, None] * (p - _self_mask(n, big_n, axis_name).astype(p.dtype))
    dt = jnp.sum(ga * c)
    db = jnp.sum(ga)
    dxh = (ga @ yy) * t
    dyh = _scatter(ga.T @ xh, axis_name) * t
    dx = _unit_bwd(x, dxh, eps_) if normalize else dxh
    dy = _unit_bwd(y, dyh, eps_) if normalize else dyh
    return dx, dy, _param_grad(dt, t_type, axis_name), _param_grad(db, b_type, axis_name), None


_sigmoid.defvjp(_sigmoid_fwd, _sigmoid_bwd)


def _sigmoid_call(core, x, y, scale, bias, *, normalize, axis_name, weights, where, reduction):
    """Argument handling shared by sigmoid_pairwise and its reference."""
    fn = "sigmoid_pairwise"
    x, y = _two_towers(fn, "x", x, "y", y)
    lead = x.shape[:-2]
    t = _temperature(fn, "scale", scale, lead)
    b = _temperature(fn, "bias", bias, lead)
    normalize = _checks.static_bool(fn, "normalize", normalize)
    axis_name = _axis_name(fn, axis_name)
    out_dtype = x.dtype
    dtype = compute_dtype(x, y)
    mask = mask_of(fn, where, x.shape[:-1])
    x = exclude(x.astype(dtype), mask, 0.0, axes=(-1,))
    y = exclude(y.astype(dtype), mask, 0.0, axes=(-1,))
    v = jnp.ones(x.shape[:-1], bool) if mask is None else mask
    t = jnp.broadcast_to(t.astype(dtype), lead)
    b = jnp.broadcast_to(b.astype(dtype), lead)
    statics = (normalize, mask is not None, _eps(dtype), axis_name)
    losses = _batched(core, [x, y, t, b, v], len(lead), statics)
    out = _finish(fn, losses, weights=weights, mask=mask, reduction=reduction, axis_name=axis_name)
    return out.astype(out_dtype)


def sigmoid_pairwise(
    x: ArrayLike,
    y: ArrayLike,
    scale: ArrayLike = 10.0,
    bias: ArrayLike = -10.0,
    *,
    normalize: bool = True,
    axis_name: Hashable | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Pairwise sigmoid loss (SigLIP): every (x_i, y_j) pair a binary classification.

    The matching pairs (``i = j``) are positives, all other pairs of the batch
    negatives; there is no softmax, so no normaliser couples the batch. With
    :math:`a_{ij} = t\,\hat x_i\cdot\hat y_j + b` and :math:`z_{ij} = +1` on the
    diagonal, :math:`-1` off it:

    .. math::

        \ell_i = -\sum_j \log\sigma(z_{ij} a_{ij})
               = \sum_j \operatorname{softplus}(a_{ij}) - a_{ii},

        \frac{\partial \ell_i}{\partial a_{ij}} = \sigma(a_{ij}) - [i = j], \qquad
        \frac{\partial a_{ij}}{\partial t} = \hat x_i\cdot\hat y_j, \quad
        \frac{\partial a_{ij}}{\partial b} = 1.

    ``"mean"`` is the paper's :math:`-\frac1{|B|}\sum_{i,j}\log\sigma(z_{ij}a_{ij})`.
    **Parametrisation:** the multiplier :math:`t` itself and the bias :math:`b`, both
    arrays that may be learnt; SigLIP's :math:`t = e^{t'}` is passed as
    ``jnp.exp(t_prime)`` (initialised at :math:`t' = \log 10`, :math:`b = -10`, the
    defaults here). ``normalize=True`` uses unit vectors
    :math:`\hat x = x/\sqrt{\max(|x|^2,\epsilon)}`.

    Args:
      x: ``[..., N, D]`` floats (e.g. image embeddings).
      y: ``[..., N, D]`` floats (e.g. text embeddings); ``y[i]`` matches ``x[i]``.
      scale: :math:`t`, a float or array broadcastable to the leading axes.
      bias: :math:`b`, a float or array broadcastable to the leading axes.
      normalize: unit vectors (SigLIP's) or raw dot products.
      axis_name: inside ``jax.shard_map``, the mesh axis ``N`` is sharded over: each
        device's ``x`` meets every device's ``y``.
      weights: optional per-row weights broadcastable to ``[..., N]``.
      where: optional boolean ``[..., N]``; ``False`` removes pair ``i`` (its row and
        its column) from the batch.
      reduction: ``"none"``, ``"mean"`` or ``"sum"`` (global under ``axis_name``).

    Returns:
      ``[..., N]`` per-row losses (``"none"``) or a scalar, in ``x``'s dtype.

    Raises:
      TypeError: non-float inputs.
      ValueError: ``x`` and ``y`` of different shapes or fewer than 2 axes, a scale
        or bias that does not broadcast, or an unknown ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[1.0, 0.0], [0.0, 1.0]])
      >>> jaxloss.sigmoid_pairwise(x, x, 10.0, -5.0)
      Array([0.0134306, 0.0134306], dtype=float32)

    References:
      Zhai et al., "Sigmoid Loss for Language Image Pre-Training", ICCV 2023.
    """
    return _sigmoid_call(_sigmoid, x, y, scale, bias, normalize=normalize,
                         axis_name=axis_name, weights=weights, where=where,
                         reduction=reduction)  # fmt: skip


# --- additive_angular_margin (ArcFace, CosFace)


def _margin_phi(c, cos_m, sin_m, th, mm, m3, margin, easy_margin, one):
    """The target's margin logit φ(c) = cos(θ + m) − m₃ and its derivative φ'(c)."""
    if margin == 0.0:
        return c - m3, jnp.ones_like(c)
    q = (one - c) * (one + c)
    inside = q > 0
    sin = jnp.where(inside, jnp.sqrt(jnp.where(inside, q, one)), 0)
    phi = c * cos_m - sin * sin_m
    # d cos(θ + m)/dc = cos m + sin m · c / sin θ; at |c| >= 1 (sin θ = 0) the value is
    # c·cos m, whose derivative cos m is taken.
    dphi = cos_m + jnp.where(inside, sin_m * c / jnp.where(inside, sin, one), 0)
    keep = c > 0 if easy_margin else c > th
    alt = c if easy_margin else c - mm
    return jnp.where(keep, phi, alt) - m3, jnp.where(keep, dphi, one)


def _margin_constants(margin):
    return (math.cos(margin), math.sin(margin), math.cos(math.pi - margin),
            math.sin(math.pi - margin) * margin)  # fmt: skip


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4, 5, 6))
def _aam(c, y, scale, margin, cosine_margin, easy_margin, num_classes):
    return _aam_fwd(c, y, scale, margin, cosine_margin, easy_margin, num_classes)[0]


def _onehot(y, shape):
    return lax.broadcasted_iota(y.dtype, shape, len(shape) - 1) == y[..., None]


def _aam_fwd(c, y, scale, margin, cosine_margin, easy_margin, num_classes):
    hot = _onehot(y, c.shape)
    cy = _at_label(c, y)[..., 0]  # a gather: a masked sum over C made a fresh [N, C] buffer
    phi, _ = _margin_phi(cy, *_margin_constants(margin), cosine_margin, margin, easy_margin, 1.0)
    z = jnp.where(hot, scale * phi[..., None], scale * c)
    m = jnp.max(z, axis=-1, keepdims=True)
    lse = jnp.squeeze(m, -1) + jnp.log(jnp.sum(jnp.exp(z - m), axis=-1))
    valid = (y >= 0) & (y < num_classes)
    loss = jnp.where(valid, lse - scale * phi, jnp.nan)
    return loss, (c, y, lse)


def _aam_bwd(scale, margin, cosine_margin, easy_margin, num_classes, res, g):
    consts = (scale, *_margin_constants(margin), cosine_margin, 1.0)
    (c, y, lse, g), (s, cos_m, sin_m, th, mm, m3, one) = unshared((*res, g), *consts)
    hot = _onehot(y, c.shape)
    cy = _at_label(c, y)[..., 0]  # a gather: a masked sum over C made a fresh [N, C] buffer
    phi, dphi = _margin_phi(cy, cos_m, sin_m, th, mm, m3, margin, easy_margin, one)
    valid = (y >= 0) & (y < num_classes)
    gs = jnp.where(valid, g, 0) * s
    # A cosine of -inf (a masked class) is held at the lowest finite value: s is traced
    # here, and the tangent of s·c took 0 · ∞ = NaN; exp gives p = 0 either way.
    z = jnp.where(hot, s * phi[..., None], s * jnp.maximum(c, jnp.finfo(c.dtype).min))
    p = jnp.exp(z - lse[..., None])
    dc = gs[..., None] * jnp.where(hot, (p - 1) * dphi[..., None], p)
    return dc, None


_aam.defvjp(_aam_fwd, _aam_bwd)


def _aam_call(
    core, cosines, labels, *, scale, margin, cosine_margin, easy_margin, axis, weights, where,
    reduction,
):  # fmt: skip
    """Argument handling shared by additive_angular_margin and its reference."""
    fn = "additive_angular_margin"
    c = _checks.float_array(fn, "cosines", cosines)
    if c.ndim == 0:
        raise ValueError(f"{fn}: cosines must have a class axis, got a scalar")
    ax = _checks.axis(fn, axis, c.ndim)
    y = _checks.int_array(fn, "labels", labels)
    expected = c.shape[:ax] + c.shape[ax + 1 :]
    if y.shape != expected:
        raise ValueError(
            f"{fn}: labels must have the cosines' shape without the class axis {ax}, "
            f"{expected}, got {y.shape}"
        )
    scale = _checks.static_float(fn, "scale", scale, low=0.0, low_open=True)
    margin = _checks.static_float(fn, "margin", margin, low=0.0, high=math.pi, high_open=True)
    cosine_margin = _checks.static_float(fn, "cosine_margin", cosine_margin)
    easy_margin = _checks.static_bool(fn, "easy_margin", easy_margin)
    out_dtype = c.dtype
    dtype = compute_dtype(c)
    c = jnp.moveaxis(c.astype(dtype), ax, -1)
    mask = mask_of(fn, where, y.shape)
    c = exclude(c, mask, 0.0, axes=(-1,))
    y = exclude(y, mask, 0)
    losses = core(c, y, scale, margin, cosine_margin, easy_margin, c.shape[-1])
    out = _finish(fn, losses, weights=weights, mask=mask, reduction=reduction, axis_name=None)
    return out.astype(out_dtype)


def additive_angular_margin(
    cosines: ArrayLike,
    labels: ArrayLike,
    *,
    scale: float = 64.0,
    margin: float = 0.5,
    cosine_margin: float = 0.0,
    easy_margin: bool = False,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Additive angular / cosine margin softmax loss (ArcFace, CosFace).

    Cross-entropy over scaled cosine logits in which the target class's logit is
    penalised: ArcFace adds the angular margin :math:`m` to the target angle
    :math:`\theta_y = \arccos c_y`, CosFace subtracts the cosine margin :math:`m_3`
    from its cosine (``margin=0, cosine_margin=0.35``); both together are
    InsightFace's combined margin. The input is the cosine matrix
    :math:`c_{nk} = \hat x_n\cdot\hat W_k` (normalised embeddings against normalised
    class centres), so that the class weights, their normalisation and a class-sharded
    (Partial FC) layout stay in the caller's model. With
    :math:`\phi(c) = \cos(\theta + m) - m_3 = c\cos m - \sqrt{1-c^2}\,\sin m - m_3`,
    :math:`z_k = s\,c_k` for :math:`k \ne y`, :math:`z_y = s\,\phi(c_y)` and
    :math:`p = \operatorname{softmax}(z)`:

    .. math::

        \ell = \log\sum_k e^{z_k} - s\,\phi(c_y), \qquad
        \frac{\partial \ell}{\partial c_k} = s\,p_k \;(k \ne y), \qquad
        \frac{\partial \ell}{\partial c_y} = s\,(p_y - 1)\,\phi'(c_y),
        \quad \phi'(c) = \cos m + \frac{c \sin m}{\sqrt{1 - c^2}}.

    Fallbacks (the usual ``ArcMarginProduct`` options) where :math:`\theta + m`
    would pass :math:`\pi` and the penalty stop being monotonic: by default
    :math:`\phi(c) = c - m\sin m` when :math:`c \le \cos(\pi - m)`;
    ``easy_margin=True`` instead applies no margin when :math:`c \le 0`
    (:math:`\phi = c - m_3`); both switches are strict comparisons as in the reference
    code, and :math:`\phi' = 1` on the fallback. At :math:`|c| \ge 1` (rounding can
    give :math:`|c|` slightly above 1) :math:`\sqrt{1-c^2}` is 0, the value is
    :math:`c\cos m - m_3` and the gradient uses :math:`\phi' = \cos m` (the true
    derivative diverges as :math:`c \to 1^-`). A label outside ``[0, classes)``
    gives a NaN loss with gradient 0.

    Args:
      cosines: ``[..., C, ...]`` floats in ``[-1, 1]``, the class axis at ``axis``.
      labels: integers of the cosines' shape without the class axis.
      scale: :math:`s > 0` (64 in ArcFace).
      margin: the angular margin :math:`m \in [0, \pi)` (ArcFace: 0.5; 0 for CosFace).
      cosine_margin: the cosine margin :math:`m_3` (CosFace: 0.35).
      easy_margin: the fallback above.
      axis: the class axis.
      weights: optional weights broadcastable to the labels' shape.
      where: optional boolean mask broadcastable to the labels' shape.
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
      The per-example losses (``"none"``) or a scalar, in the cosines' dtype.

    Raises:
      TypeError: non-float cosines or non-integer labels, non-static hyperparameters.
      ValueError: labels of the wrong shape, ``scale <= 0``, ``margin`` outside
        ``[0, π)``, an out-of-range axis or an unknown ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> cos = jnp.array([[0.8, 0.1, -0.3]])
      >>> jaxloss.additive_angular_margin(cos, jnp.array([0]), scale=16.0, margin=0.5)
      Array([0.00652456], dtype=float32)

    References:
      Deng et al., "ArcFace: Additive Angular Margin Loss for Deep Face Recognition",
      CVPR 2019. Wang et al., "CosFace: Large Margin Cosine Loss for Deep Face
      Recognition", CVPR 2018.
    """
    return _aam_call(_aam, cosines, labels, scale=scale, margin=margin,
                     cosine_margin=cosine_margin, easy_margin=easy_margin, axis=axis,
                     weights=weights, where=where, reduction=reduction)  # fmt: skip
