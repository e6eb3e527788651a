r"""Large-vocabulary cross-entropy: the output projection fused with the loss.

A language model's loss is ``cross_entropy(hidden @ weight + bias, labels)`` with
``weight`` of shape [D, V] and V in the hundreds of thousands: the [tokens, V]
logits (3.9 GiB in float32 at 8192 × 128256), their softmax and their gradient
dominate the memory of a training step. The losses here never build them.

**Forward.** The vocabulary is cut into blocks of ``block_size`` columns; a
``lax.scan`` over the blocks computes each block's logits [tokens, block] (the
matmul accumulates in float32, also for bfloat16 inputs), and keeps per token a
running maximum ``m``, the running sum of exponentials ``s`` rescaled to it (the
online softmax), the target logit, and, for label smoothing, the sum and number
of the finite logits. ``lse = m + log s``. The last block, when V is not a
multiple of ``block_size``, is the last ``block_size`` columns (no copy of the
weight); its columns already seen are masked to ``-inf``.

**Residuals.** The inputs and the per-token ``lse`` (one float32 per token).

**Backward.** The same scan recomputes each block's logits and its softmax
``p = exp(x - lse)``, forms the block's logit gradient (label smoothing, z-loss
and soft-cap derivatives included, scaled by each token's cotangent), writes that
block of the weight (and bias) gradient in place, and accumulates the hidden
gradient in float32. Every term is proportional to the token's cotangent, so any
upstream cotangent is exact (``reduction="none"`` with per-token weights, a loss
reused inside another function, ``return_lse`` with a z-loss of one's own).

Memory: a few [tokens, block_size] float32 buffers and the [tokens, D] float32
hidden gradient, against several [tokens, V] buffers for the naive ``h @ W`` and
cross-entropy. Time: one more matmul than the naive version (the backward
recomputes the logits) and two ``exp`` per logit, against the naive version's
writes of [tokens, V] buffers (on CPU at 8192 tokens × 256 × 32064 the naive
version takes 1.5× as long, and at V = 128256 it needs 7.8 GiB of temporaries against
32 MiB; see ``benchmarks/results/large_vocab_cpu.md``).

:func:`vocab_parallel_softmax_cross_entropy` runs the same blocks on each device's
shard of the vocabulary under ``jax.shard_map`` and combines the per-token
statistics with three all-reduces of [tokens] arrays (Megatron-LM's algorithm).
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
from jax import lax
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P
from jax.typing import ArrayLike

from . import _checks
from ._classification import _class_weight_of, _reduce_weighted
from ._fusion import unshared
from ._reduce import compute_dtype, exclude, mask_of, reduce

__all__ = ["linear_softmax_cross_entropy", "vocab_parallel_softmax_cross_entropy"]

# Logits per block when block_size is None: about 16 MiB of float32 logits per block
# for the tokens at hand (measured on CPU: larger blocks gain nothing), between 128
# and 8192 columns.
_AUTO_BLOCK_ELEMENTS = 2**22
# The token count the automatic block size assumes when the count is symbolic (under
# jax.export): the block size is a static slice length and cannot follow it.
_SYMBOLIC_TOKENS = 2048


# --- the blocked kernels, on [T, D] hidden states and a [D, Vl] (local) weight


def _auto_block(tokens, vocab: int) -> int:
    if not isinstance(tokens, int):  # a symbolic dimension (jax.export)
        tokens = _SYMBOLIC_TOKENS
    bs = _AUTO_BLOCK_ELEMENTS // max(tokens, 1)
    bs = max(128, min(8192, 1 << max(bs.bit_length() - 1, 0)))
    return bs


def _blocks(vocab: int, block_size: int) -> tuple[int, int]:
    """(block size, number of blocks) for ``vocab`` local columns."""
    bs = max(1, min(block_size, vocab))
    return bs, -(-vocab // bs)


def _block(k, h, w, b, hyper):
    """Block ``k``: its logits [T, bs] (after the soft-cap), the local column index of
    each, and which columns count (not seen in an earlier block, inside the vocabulary)."""
    offset, vocab, bs, cap, acc = hyper
    local = w.shape[1]
    start = jnp.minimum(k * bs, local - bs)
    wb = lax.dynamic_slice_in_dim(w, start, bs, axis=1)
    x = lax.dot_general(h, wb, (((1,), (0,)), ((), ())), preferred_element_type=acc)
    if b is not None:
        x = x + lax.dynamic_slice_in_dim(b, start, bs).astype(acc)[None, :]
    if cap:
        # ±c at an infinite logit, selected rather than computed: tanh's derivative there
        # is 0 · inf in forward mode (a Hessian-vector product at an infinite input).
        x = jnp.where(jnp.abs(x) < jnp.inf, cap * jnp.tanh(x / cap), jnp.sign(x) * cap)
    col = start + lax.iota(jnp.int32, bs)
    keep = col >= k * bs
    if vocab is not None:  # padded columns of a vocabulary shard
        keep = keep & (offset + col < vocab)
    return x, col, keep, start, wb


def _slice(v, start, bs, keep, acc):
    """Block columns of a per-class or per-token-and-class array, 0 outside ``keep``."""
    vb = lax.dynamic_slice_in_dim(v, start, bs, axis=v.ndim - 1).astype(acc)
    return jnp.where(keep if v.ndim == 1 else keep[None, :], vb, 0)


def _local_stats(h, w, b, y, tg, cw, hyper, smoothing, vary):
    """Per token, over the local columns: max m, Σ exp(x − m), the target logit (or, for
    probability targets ``tg``, Σ w_c t_c x_c), for smoothing the (class-weighted) sum
    and the number of the finite logits, and with targets or class weights ``(mass,
    wsum)``: Σ w_c t_c and Σ_finite w_c."""
    bs, nb = _blocks(w.shape[1], hyper[2])
    hyper = (*hyper[:2], bs, *hyper[3:])
    offset, _, _, _, acc = hyper
    t = h.shape[0]
    ylocal = (y - offset)[:, None]
    general = tg is not None or cw is not None

    def body(carry, k):
        m, s, xy, sx, cnt, extra = carry
        x, col, keep, start, _ = _block(k, h, w, b, hyper)
        # A -inf logit is re-selected as the constant -inf: its tangent (h·dW with an
        # infinite W) is then 0, not the inf that 0 · inf turns into NaN downstream.
        x = jnp.where(keep[None, :] & (x != -jnp.inf), x, -jnp.inf)
        m_new = jnp.maximum(m, lax.stop_gradient(jnp.max(x, axis=1)))
        shift = jnp.where(m_new == -jnp.inf, 0, m_new)
        s = s * jnp.exp(m - shift) + jnp.sum(jnp.exp(x - shift[:, None]), axis=1)
        cwb = None if cw is None else _slice(cw, start, bs, keep, acc)[None, :]
        if tg is None:
            hit = (col[None, :] == ylocal) & keep[None, :]
            xy = xy + jnp.sum(jnp.where(hit, x, 0), axis=1)
        else:
            tb = _slice(tg, start, bs, keep, acc)
            tb = tb if cwb is None else tb * cwb
            # Zero-target classes add exactly 0, also at a -inf logit (a mask).
            xy = xy + jnp.sum(tb * jnp.where((x > -jnp.inf) | (tb != 0), x, 0), axis=1)
            extra = (extra[0] + jnp.sum(tb, axis=1), extra[1])
        if smoothing:
            finite = x > -jnp.inf
            wx = x if cwb is None else cwb * x
            sx = sx + jnp.sum(jnp.where(finite, wx, 0), axis=1)
            cnt = cnt + jnp.sum(finite, axis=1, dtype=acc)
            if cwb is not None:
                extra = (extra[0], extra[1] + jnp.sum(jnp.where(finite, cwb, 0), axis=1))
        return (m_new, s, xy, sx, cnt, extra), None

    zeros = jnp.zeros((t,), acc)
    init = (jnp.full((t,), -jnp.inf, acc), zeros, zeros, zeros, zeros,
            (zeros, zeros) if general else ())  # fmt: skip
    init = vary(init)
    (m, s, xy, sx, cnt, extra), _ = lax.scan(body, init, jnp.arange(nb, dtype=jnp.int32))
    return m, s, xy, sx, cnt, extra


def _local_grads(h, w, b, y, tg, cw, live, lse, coef, hyper, smoothing, vary):
    """The local blocks' share of the gradient: dh (partial sum over these columns,
    float32), dW and db of these columns, and with probability targets ``tg`` or class
    weights ``cw`` their gradients. ``coef = (a, by, spread, gt)`` per token:
    ∂ℓ/∂x_k = a p_k − by·[k = y] (or by·w_k t_k) − spread·w_k [x_k finite];
    ∂ℓ/∂t_k = gt·w_k (lse − x_k); ∂ℓ/∂w_k = (gt·([k = y] or t_k) + spread·[finite])
    (lse − x_k), summed over tokens (0 at a masked class).

    Tokens outside ``live`` (excluded by ``where``/``ignore_index``; None: all live)
    get ∂ℓ/∂x = 0 exactly, also where their logits are NaN (a NaN or infinite weight
    times their zeroed hidden state). A class whose logit is -inf has ∂ℓ/∂x_k = 0 and
    adds nothing to ∂ℓ/∂h, also where the weight entry that made it -inf is infinite
    (the limit of p_k W_dk as W_dk → -inf is 0, where 0 · inf would be NaN); with a
    soft-cap, a saturated logit of an infinite hidden state adds nothing to ∂ℓ/∂W."""
    bs, nb = _blocks(w.shape[1], hyper[2])
    hyper = (*hyper[:2], bs, *hyper[3:])
    offset, _, _, cap, acc = hyper
    a, by, spread, gt = coef
    ylocal = (y - offset)[:, None]
    dead = lse == -jnp.inf
    if live is not None:
        dead = dead | ~live
    lse_safe = jnp.where(dead, 0, lse)[:, None]
    # Only a soft-capped logit stays finite at an infinite hidden state; its ∂ℓ/∂x is
    # then 0, and the weight's gradient h·∂ℓ/∂x must not be inf · 0.
    hw = jnp.where(jnp.isfinite(h), h, 0) if cap else h

    def body(carry, k):
        dh, dw, db, dt, dcw = carry
        x, col, keep, start, wb = _block(k, h, w, b, hyper)
        use = keep[None, :] & (x != -jnp.inf)
        if live is not None:
            use = use & live[:, None]
        x = jnp.where(use, x, -jnp.inf)
        dx = a[:, None] * jnp.exp(x - lse_safe)
        cwb = None if cw is None else _slice(cw, start, bs, keep, acc)[None, :]
        if tg is None:
            onehot = (col[None, :] == ylocal) & keep[None, :]
            dx = jnp.where(onehot, dx - by[:, None], dx)
        else:
            tb = _slice(tg, start, bs, keep, acc)
            dx = dx - by[:, None] * (tb if cwb is None else tb * cwb)
        finite = x > -jnp.inf
        if smoothing:
            dx = jnp.where(finite, dx - spread[:, None] * (1 if cwb is None else cwb), dx)
        if tg is not None or cw is not None:
            gap = jnp.where(finite, lse_safe - x, 0)
            if tg is not None:
                dtb = gt[:, None] * gap * (1 if cwb is None else cwb)
                old = lax.dynamic_slice_in_dim(dt, start, bs, axis=1)
                dt = lax.dynamic_update_slice_in_dim(dt, old + dtb.astype(dt.dtype), start, 1)
            if cw is not None:
                share = jnp.where(onehot, gt[:, None], 0) if tg is None else gt[:, None] * tb
                if smoothing:
                    share = share + jnp.where(finite, spread[:, None], 0)
                dcwb = jnp.where(keep, jnp.sum(share * gap, 0), 0)
                old = lax.dynamic_slice_in_dim(dcw, start, bs)
                dcw = lax.dynamic_update_slice_in_dim(dcw, old + dcwb.astype(dcw.dtype), start, 0)
        if cap:
            # d/dx of c·tanh(x/c) is 1 − (x'/c)² with x' the capped logit.
            dx = dx * (1 - jnp.square(jnp.where(use, x, 0) / cap))
        dxo = dx.astype(h.dtype)
        # An infinite weight entry only meets a -inf logit of a live token (dx = 0).
        wb = jnp.where(jnp.isfinite(wb), wb, 0)
        dh = dh + lax.dot_general(dxo, wb, (((1,), (1,)), ((), ())), preferred_element_type=acc)
        dwb = lax.dot_general(hw, dxo, (((0,), (0,)), ((), ())), preferred_element_type=acc)
        # Columns outside `keep` have dx = 0, so adding (rather than writing) keeps the
        # columns of the last, overlapping block that an earlier block wrote.
        old = lax.dynamic_slice_in_dim(dw, start, bs, axis=1)
        dw = lax.dynamic_update_slice_in_dim(dw, old + dwb.astype(dw.dtype), start, axis=1)
        if b is not None:
            oldb = lax.dynamic_slice_in_dim(db, start, bs)
            db = lax.dynamic_update_slice_in_dim(db, oldb + jnp.sum(dx, 0), start, axis=0)
        return (dh, dw, db, dt, dcw), None

    init = (
        jnp.zeros(h.shape, acc),
        jnp.zeros(w.shape, w.dtype),
        jnp.zeros((w.shape[1],), acc) if b is not None else jnp.zeros((0,), acc),
        jnp.zeros(tg.shape, acc) if tg is not None else jnp.zeros((0,), acc),
        jnp.zeros(cw.shape, acc) if cw is not None else jnp.zeros((0,), acc),
    )
    init = vary(init)
    (dh, dw, db, dt, dcw), _ = lax.scan(body, init, jnp.arange(nb, dtype=jnp.int32))
    return (dh, dw, (db.astype(b.dtype) if b is not None else None),
            None if tg is None else dt.astype(tg.dtype),
            None if cw is None else dcw.astype(cw.dtype))  # fmt: skip


def _finish(m, s, xy, sx, cnt, valid, smoothing, z_loss, extra=(), wy=None, soft=False,
            weighted=False):  # fmt: skip
    """Per-token loss and lse from the (global) statistics; NaN for labels out of range.
    ``extra = (mass, wsum)`` with probability targets (``soft``) or class weights
    (``weighted``); ``wy`` is the label's class weight (integer labels, class weights)."""
    logsum = jnp.log(s)
    lse = m + logsum
    if soft:
        mass = extra[0]
        loss = (m * mass - xy) + logsum * mass
    else:
        # (m − x_y) + log-sum: float32 keeps the digits of a small loss between large logits.
        loss = (m - xy) + logsum
        if wy is not None:
            loss = wy * loss
    if smoothing:
        if weighted:
            wsum = extra[1]
            uniform = ((m * wsum - sx) + logsum * wsum) / cnt
        else:
            uniform = (m - sx / cnt) + logsum
        loss = (1 - smoothing) * loss + smoothing * uniform
    if z_loss:
        loss = loss + z_loss * lse * lse
    return jnp.where(valid, loss, jnp.nan), lse


def _coefficients(g, g_lse, lse, valid, cnt, smoothing, z_loss, extra=(), wy=None, soft=False,
                  weighted=False):  # fmt: skip
    """Per-token (a, by, spread, gt) of ∂ℓ/∂x = a·p − by·onehot − spread·[finite] (see
    :func:`_local_grads`); the loss's cotangent ``g`` is 0 for labels out of range
    (their loss is NaN)."""
    g = jnp.where(valid, g, 0)
    if not extra:
        a = g + g_lse
    else:
        # a = g·((1-ε)·M + ε·Σw/C') with M = Σ_c w_c t_c or w_y (1 without either).
        mass = extra[0] if soft else (1 if wy is None else jnp.where(valid, wy, 0))
        if smoothing:
            cnt_safe = jnp.where(cnt == 0, 1, cnt)
            unif = extra[1] / cnt_safe if weighted else 1
            a = g * ((1 - smoothing) * mass + smoothing * unif) + g_lse
        else:
            a = g * mass + g_lse
    if z_loss:
        a = a + 2 * z_loss * g * jnp.where(jnp.isfinite(lse), lse, 0)
    gt = g * (1 - smoothing) if smoothing else g
    by = gt if soft or wy is None else gt * jnp.where(valid, wy, 0)
    spread = g * smoothing / jnp.where(cnt == 0, 1, cnt) if smoothing else g
    return a, by, spread, gt


def _no_vary(tree):
    return tree


# --- linear_softmax_cross_entropy: one device


@functools.partial(jax.custom_vjp, nondiff_argnums=(7, 8, 9, 10))
def _lsce(h, w, b, y, tg, cw, live, bs, cap, smoothing, z_loss):
    return _lsce_fwd(h, w, b, y, tg, cw, live, bs, cap, smoothing, z_loss)[0]


def _labels_of(y, tg, cw, vocab):
    """(valid, int32 labels, the label's class weight or None); probability targets
    ``tg`` have no label (every token valid)."""
    if tg is not None:
        return jnp.ones(y.shape, bool), jnp.zeros(y.shape, jnp.int32), None
    valid = (y >= 0) & (y < vocab)
    y32 = jnp.where(valid, y, 0).astype(jnp.int32)
    return valid, y32, None if cw is None else cw.astype(jnp.result_type(cw, 1.0))[y32]


def _lsce_fwd(h, w, b, y, tg, cw, live, bs, cap, smoothing, z_loss):
    acc = compute_dtype(h, w)
    vocab = w.shape[1]
    valid, y32, wy = _labels_of(y, tg, cw, vocab)
    hyper = (0, None, bs, cap, acc)
    m, s, xy, sx, cnt, extra = _local_stats(h, w, b, y32, tg, cw, hyper, smoothing, _no_vary)
    kinds = {"wy": None if wy is None else wy.astype(acc), "soft": tg is not None,
             "weighted": cw is not None}  # fmt: skip
    loss, lse = _finish(m, s, xy, sx, cnt, valid, smoothing, z_loss, extra, **kinds)
    saved = cnt if smoothing else None
    return (loss, lse), (h, w, b, y, tg, cw, live, lse, saved, extra)


def _lsce_bwd(bs, cap, smoothing, z_loss, res, cots):
    h, w, b, y, tg, cw, live, lse, cnt, extra = res
    (h, w, lse), () = unshared((h, w, lse))
    g, g_lse = cots
    acc = compute_dtype(h, w)
    vocab = w.shape[1]
    valid, y32, wy = _labels_of(y, tg, cw, vocab)
    kinds = {"wy": None if wy is None else wy.astype(acc), "soft": tg is not None,
             "weighted": cw is not None}  # fmt: skip
    coef = _coefficients(g.astype(acc), g_lse.astype(acc), lse, valid, cnt, smoothing, z_loss,
                         extra, **kinds)  # fmt: skip
    dh, dw, db, dt, dcw = _local_grads(h, w, b, y32, tg, cw, live, lse, coef,
                                       (0, None, bs, cap, acc), smoothing, _no_vary)  # fmt: skip
    return dh.astype(h.dtype), dw, db, None, dt, dcw, None


_lsce.defvjp(_lsce_fwd, _lsce_bwd)


# --- argument handling shared by both losses and their references


def _operands(fn, hidden, weight, labels, bias, soft_ok=False):
    h = _checks.float_array(fn, "hidden", hidden)
    w = _checks.float_array(fn, "weight", weight)
    if h.ndim < 1:
        raise ValueError(f"{fn}: hidden must have a feature axis [..., D], got a scalar")
    if w.ndim < 2:
        raise ValueError(
            f"{fn}: weight must have shape [D, V] (features, vocabulary), got {w.shape}; "
            f"a PyTorch nn.Linear weight is [V, D]: pass weight.T"
        )
    if h.shape[-1] != w.shape[-2]:
        raise ValueError(
            f"{fn}: hidden's last axis must match weight's first (D), got hidden {h.shape} "
            f"and weight {w.shape}; weight is [D, V] (a PyTorch nn.Linear weight is [V, D]: "
            f"pass weight.T)"
        )
    try:
        out = jax.eval_shape(jnp.matmul, jax.ShapeDtypeStruct(h.shape, jnp.float32),
                             jax.ShapeDtypeStruct(w.shape, jnp.float32)).shape  # fmt: skip
    except (TypeError, ValueError):
        raise ValueError(
            f"{fn}: the batch axes of hidden {h.shape[:-2]} and weight {w.shape[:-2]} "
            f"do not broadcast (they follow jnp.matmul)"
        ) from None
    loss_shape = out[:-1]
    raw = jnp.asarray(labels)
    if soft_ok and jnp.issubdtype(raw.dtype, jnp.floating) and raw.ndim == len(out):
        # Probability targets, one row per token: [..., V] like hidden @ weight.
        if raw.shape != out:
            raise ValueError(
                f"{fn}: probability targets (float labels) must have the shape of "
                f"hidden @ weight, {out}, got {raw.shape} (hidden {h.shape}, weight "
                f"{w.shape}); integer class indices have that shape without V"
            )
        return h, w, raw, _bias(fn, bias, w), loss_shape
    if jnp.issubdtype(raw.dtype, jnp.floating) and raw.shape == out:
        raise TypeError(
            f"{fn}: labels of shape {raw.shape} and dtype {raw.dtype} look like one-hot or "
            f"probability vectors; this loss takes integer class indices (jnp.argmax(labels, -1))"
        )
    y = _checks.int_array(fn, "labels", labels)
    if y.shape != loss_shape:
        raise ValueError(
            f"{fn}: labels must have the shape of hidden @ weight without the vocabulary "
            f"axis, {loss_shape}, got {y.shape} (hidden {h.shape}, weight {w.shape})"
        )
    return h, w, y, _bias(fn, bias, w), loss_shape


def _bias(fn, bias, w):
    if bias is None:
        return None
    b = _checks.float_array(fn, "bias", bias)
    batch = w.shape[:-2] + w.shape[-1:]
    _checks.broadcastable(fn, "bias", b, batch, "weight's batch axes and V")
    return b


def _hyper(fn, block_size, ignore_index, label_smoothing, z_loss, logit_softcap):
    if block_size is not None:
        block_size = _checks.static_int(fn, "block_size", block_size, low=1)
    smoothing = _checks.static_float(fn, "label_smoothing", label_smoothing, low=0.0, high=1.0)
    z = _checks.static_float(fn, "z_loss", z_loss, low=0.0)
    cap = 0.0
    if logit_softcap is not None:
        cap = _checks.static_float(fn, "logit_softcap", logit_softcap, low=0.0, low_open=True)
    if ignore_index is not None:
        ignore_index = _checks.static_int(fn, "ignore_index", ignore_index)
    return block_size, ignore_index, smoothing, z, cap


def _linear_call(fn, core, hidden, weight, labels, *, bias, block_size, ignore_index,
                 label_smoothing, z_loss, logit_softcap, weights, where, reduction,
                 return_lse, class_weights=None, extensions=False):  # fmt: skip
    """The conventions of both losses: checks, ``ignore_index`` joined to ``where``,
    excluded tokens made safe before ``core(h [T, D], w [D, V], b, y [T], block_size,
    cap, smoothing, z_loss)`` runs, batch axes (jnp.matmul's) and the reduction. With
    ``extensions`` (the one-device loss), float ``labels`` are probability targets and
    ``class_weights`` are accepted; they reach the core as the keywords ``tg``/``cw``."""
    h, w, y, b, loss_shape = _operands(fn, hidden, weight, labels, bias, soft_ok=extensions)
    bs, ignore_index, smoothing, z, cap = _hyper(
        fn, block_size, ignore_index, label_smoothing, z_loss, logit_softcap
    )
    reduction = _checks.reduction(fn, reduction)
    return_lse = _checks.static_bool(fn, "return_lse", return_lse)
    soft = jnp.issubdtype(y.dtype, jnp.floating)
    if soft and ignore_index is not None:
        raise ValueError(
            f"{fn}: ignore_index applies to integer labels, but labels are probability "
            f"targets of shape {y.shape}; exclude tokens with where= instead"
        )
    mask = mask_of(fn, where, loss_shape)
    if ignore_index is not None:
        keep = y != ignore_index
        mask = keep if mask is None else mask & keep
    # Matmul operands keep a low-precision dtype (bf16, f16): the products accumulate in
    # float32 inside the kernels; float32 and float64 stay as they are.
    out_dtype = h.dtype
    dtype = jnp.result_type(h.dtype, w.dtype) if b is None else jnp.result_type(h, w, b)
    h, w = h.astype(dtype), w.astype(dtype)
    acc = compute_dtype(h, w)
    b = None if b is None else b.astype(acc)
    vocab = w.shape[-1]
    extra = {}
    if class_weights is not None:
        cw = _checks.float_array(fn, "class_weights", class_weights)
        if cw.shape != (vocab,):
            raise ValueError(
                f"{fn}: class_weights must have one weight per class, shape ({vocab},), "
                f"got {cw.shape}"
            )
        extra["cw"] = cw.astype(acc)
    if bs is None:
        bs = _auto_block(math.prod(loss_shape), vocab)
    hs = jnp.broadcast_to(h, loss_shape + h.shape[-1:])
    hs = exclude(hs, mask, 0.0, (len(loss_shape),))
    if soft:
        extra["tg"] = exclude(y.astype(compute_dtype(h, w, y)), mask, 0.0, (len(loss_shape),))
        ys = jnp.zeros(loss_shape, jnp.int32)
    else:
        ys = exclude(y, mask, 0)
    if mask is not None:
        # The kernels give the excluded tokens exactly zero gradient, also through the
        # shared weight where their logits are NaN (0 · a NaN weight).
        extra["live"] = jnp.broadcast_to(mask, loss_shape)
    losses, lse = _batched(core, hs, w, b, ys, loss_shape, (bs, cap, smoothing, z), extra)
    if "cw" in extra and not soft:
        # PyTorch's normalisation: the mean divides by the summed class weights of the
        # counted labels.
        label_weight = _class_weight_of(extra["cw"], ys)
        out = _reduce_weighted(fn, losses, label_weight=label_weight, weights=weights, mask=mask,
                               reduction=reduction)  # fmt: skip
    else:
        out = reduce(fn, losses, weights=weights, mask=mask, reduction=reduction)
    out = out.astype(out_dtype)
    if not return_lse:
        return out
    lse = lse if mask is None else jnp.where(mask, lse, 0)
    return out, lse.astype(out_dtype)


def _batched(core, h, w, b, y, loss_shape, hyper, extra):
    """``core`` on flat tokens; weights with batch axes run one core per weight (vmap).
    ``h`` is [*loss_shape, D] here; ``extra`` holds the keywords ``tg`` (probability
    targets [*loss_shape, V]), ``cw`` (class weights [V]) and ``live`` (the tokens not
    excluded, [*loss_shape]) when given. Sizes are explicit, never -1: a batch may
    have no tokens."""
    d = h.shape[-1]
    tg, cw, live = extra.get("tg"), extra.get("cw"), extra.get("live")
    if w.ndim == 2:
        t = math.prod(loss_shape)
        if tg is not None:
            extra = {**extra, "tg": tg.reshape(t, tg.shape[-1])}
        if live is not None:
            extra = {**extra, "live": live.reshape(t)}
        loss, lse = core(h.reshape(t, d), w, b, y.reshape(t), *hyper, **extra)
        return loss.reshape(loss_shape), lse.reshape(loss_shape)
    # Batched weights [..., D, V]: jnp.matmul's rules; a 1-D hidden is one token per weight.
    if len(loss_shape) == w.ndim - 2:
        h, y = h[..., None, :], y[..., None]
        tg = None if tg is None else tg[..., None, :]
        live = None if live is None else live[..., None]
    batch, n, v = h.shape[:-2], h.shape[-2], w.shape[-1]
    nw = math.prod(batch)
    hb = h.reshape((nw, n, d))
    wb = jnp.broadcast_to(w, (*batch, d, v)).reshape((nw, d, v))
    yb = y.reshape((nw, n))
    bb = None if b is None else jnp.broadcast_to(b, (*batch, v)).reshape((nw, v))
    tb = None if tg is None else tg.reshape((nw, n, v))
    lb = None if live is None else live.reshape((nw, n))

    def one(h_, w_, b_, y_, t_, l_):
        kw = {} if cw is None else {"cw": cw}
        if t_ is not None:
            kw["tg"] = t_
        if l_ is not None:
            kw["live"] = l_
        return core(h_, w_, b_, y_, *hyper, **kw)

    loss, lse = jax.vmap(one)(hb, wb, bb, yb, tb, lb)
    return loss.reshape(loss_shape), lse.reshape(loss_shape)


def _lsce_core(h, w, b, y, bs, cap, smoothing, z, *, tg=None, cw=None, live=None):
    return _lsce_jit(h, w, b, y, tg, cw, live, bs, cap, smoothing, z)


_lsce_jit = jax.jit(_lsce, static_argnums=(7, 8, 9, 10))


def linear_softmax_cross_entropy(
    hidden: ArrayLike,
    weight: ArrayLike,
    labels: ArrayLike,
    *,
    bias: ArrayLike | None = None,
    class_weights: ArrayLike | None = None,
    block_size: int | None = None,
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    z_loss: float = 0.0,
    logit_softcap: float | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
    return_lse: bool = False,
) -> jax.Array | tuple[jax.Array, jax.Array]:
    r"""Softmax cross-entropy of ``hidden @ weight + bias`` without the [tokens, V] logits.

    The loss of :func:`softmax_cross_entropy_with_integer_labels` on the logits
    :math:`x = h W + b` (soft-capped if asked), computed over blocks of the
    vocabulary: PyTorch 2.13's ``linear_cross_entropy`` (weight transposed),
    Apple's Cut Cross-Entropy, Liger-Kernel's fused linear cross-entropy. See
    :func:`vocab_parallel_softmax_cross_entropy` for a vocabulary sharded over
    devices. With the soft-cap :math:`x'_k = c \tanh(x_k / c)` (:math:`x' = x`
    without one), :math:`\operatorname{lse} = \log\sum_k e^{x'_k}`,
    :math:`p = \operatorname{softmax}(x')`, smoothing :math:`\varepsilon` spread
    over the :math:`C'` classes with a finite logit (all V unless ``bias`` holds
    ``-inf``) and z-loss coefficient :math:`z`:

    .. math::

        \ell = (1-\varepsilon)(\operatorname{lse} - x'_y)
             + \frac{\varepsilon}{C'} \sum_k (\operatorname{lse} - x'_k)
             + z \operatorname{lse}^2,

        \frac{\partial \ell}{\partial x_k} = \Big((1 + 2 z \operatorname{lse})\, p_k
             - (1-\varepsilon) [k = y] - \frac{\varepsilon}{C'}\Big)
             \Big(1 - \frac{x'^2_k}{c^2}\Big),

        \frac{\partial \ell}{\partial h} = \frac{\partial \ell}{\partial x} W^\top, \quad
        \frac{\partial \ell}{\partial W} = h^\top \frac{\partial \ell}{\partial x}, \quad
        \frac{\partial \ell}{\partial b} = \frac{\partial \ell}{\partial x}.

    The forward pass scans the vocabulary in blocks of ``block_size`` columns,
    keeping per token the running maximum, the rescaled sum of exponentials and
    the target logit; it saves the inputs and the per-token
    :math:`\operatorname{lse}`. The backward pass recomputes each block's logits,
    writes that block of :math:`\partial\ell/\partial W` and accumulates
    :math:`\partial\ell/\partial h` in float32. Every term is proportional to
    the token's cotangent, so the gradient is exact for any cotangent
    (``reduction="none"`` with per-token weights included). Temporary memory is
    a few [tokens, ``block_size``] float32 buffers plus the [tokens, D] float32
    hidden gradient; the naive ``h @ W`` and cross-entropy hold several
    [tokens, V] ones.

    Conventions: as :func:`softmax_cross_entropy_with_integer_labels`:
    ``ignore_index`` entries behave exactly like ``where=False`` (zero loss and
    gradient; an all-ignored mean is 0); a ``-inf`` in ``bias`` masks that
    class (probability 0, no smoothing mass, gradient 0); a label outside
    ``[0, V)`` gives a NaN loss for that token with gradient 0. V need not be a
    multiple of ``block_size``. bfloat16 and float16 operands stay in their
    dtype in the matmuls, which accumulate in float32; the softmax runs in
    float32. There is no kink: the loss is smooth.

    Batch axes follow ``jnp.matmul``: ``hidden`` [..., D] with a weight [D, V]
    (all leading axes are tokens), or a batch of weights [..., D, V] with hidden
    [..., N, D] (one scan per weight, e.g. under ``jax.vmap``). PyTorch's
    K-dimensional weight (C, d_1, D) with input (N, D) and targets (N, d_1) is
    here the batch of weights ``moveaxis(weight, 0, -1)`` [d_1, D, C] with hidden
    (N, D) and labels ``targets.T`` [d_1, N].

    **Class weights** :math:`w` (PyTorch's ``weight=``): with integer labels the
    loss is that of :func:`softmax_cross_entropy_with_integer_labels`,
    :math:`\ell = (1-\varepsilon) w_y (\operatorname{lse} - x'_y) +
    \frac{\varepsilon}{C'}\sum_k w_k (\operatorname{lse} - x'_k) + z
    \operatorname{lse}^2`, and ``reduction="mean"`` divides by the summed class
    weights of the counted labels; the logit gradient is
    :math:`((1-\varepsilon) w_y + \frac{\varepsilon}{C'}\sum_k w_k + 2z
    \operatorname{lse})\, p_k - (1-\varepsilon) w_y [k = y] -
    \frac{\varepsilon}{C'} w_k` (times the soft-cap factor).

    **Probability targets**: float ``labels`` of the shape of ``hidden @ weight``
    ([..., V], PyTorch's float ``target``) give the soft-label loss of
    :func:`softmax_cross_entropy`, :math:`\ell = \sum_k w_k t'_k
    (\operatorname{lse} - x'_k) + z \operatorname{lse}^2` with
    :math:`t' = (1-\varepsilon) t + \varepsilon/C'`; ``reduction="mean"`` divides
    by the number of tokens (PyTorch's convention). Gradients:
    :math:`\partial\ell/\partial x_k = ((\sum_c w_c t'_c) + 2z\operatorname{lse})
    p_k - w_k t'_k` and :math:`\partial\ell/\partial t_k = (1-\varepsilon) w_k
    (\operatorname{lse} - x'_k)` (0 at a masked class). The targets are read
    block by block, like the weight: no other [tokens, V] array is built (the
    target gradient, when asked for, is [tokens, V] like the targets).
    ``ignore_index`` does not apply to them (a ``ValueError``; use ``where``).
    The class weights' gradient is :math:`\sum_n t'_{n,k} (\operatorname{lse}_n
    - x'_{n,k})` (with :math:`t'` the smoothed one-hot for integer labels).

    Args:
      hidden: the final hidden states [..., D], any float dtype.
      weight: the output projection [D, V] (PyTorch's ``nn.Linear`` weight
        transposed), or a batch of them [..., D, V].
      labels: integer token ids, the shape of ``hidden @ weight`` without V; or
        float probability targets of the shape of ``hidden @ weight``.
      bias: optional output bias (V,) (or with weight's batch axes).
      class_weights: optional per-class weights, shape ``(V,)`` (PyTorch's
        ``weight``).
      block_size: vocabulary columns per block; ``None`` picks about 4M logits
        per block (``2**22 // tokens``, a power of two in [128, 8192]; for a
        symbolic token count under ``jax.export``, the size for 2048 tokens).
      ignore_index: a label value whose tokens are excluded (e.g. -100 padding).
      label_smoothing: :math:`\varepsilon \in [0, 1]`, PyTorch's semantics.
      z_loss: coefficient of :math:`\operatorname{lse}^2` (PaLM uses 1e-4).
      logit_softcap: :math:`c > 0`: logits become :math:`c \tanh(x / c)`
        before the softmax (Gemma 2 uses 30); ``None`` for none.
      weights: optional per-token weights, broadcastable to ``labels.shape``.
      where: optional boolean mask, broadcastable to ``labels.shape``.
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.
      return_lse: also return the per-token :math:`\operatorname{lse}`
        (``labels.shape``, 0 where excluded); it is differentiable.

    Returns:
      The per-token losses of shape ``labels.shape`` (``"none"``) or a scalar, in
      the dtype of ``hidden``; with ``return_lse``, the pair ``(loss, lse)``.

    Raises:
      TypeError: non-float ``hidden``/``weight``/``bias``, non-integer ``labels``,
        non-static hyperparameters.
      ValueError: ``hidden`` and ``weight`` not sharing D, ``labels`` not shaped
        like ``hidden @ weight`` without V, a bad ``bias`` shape,
        ``block_size < 1``, ``label_smoothing`` outside [0, 1], ``z_loss < 0``,
        ``logit_softcap <= 0``, an unknown ``reduction``, ``class_weights`` not of
        shape ``(V,)``, probability targets not of the shape of ``hidden @ weight``,
        or ``ignore_index`` with probability targets.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> hidden = jnp.array([[1.0, 0.0], [0.0, 2.0]])
      >>> weight = jnp.array([[2.0, 0.0, 0.0], [0.0, 1.0, -1.0]])
      >>> jaxloss.linear_softmax_cross_entropy(hidden, weight, jnp.array([0, 1]))
      Array([0.23954484, 0.1429317 ], dtype=float32)
      >>> jaxloss.linear_softmax_cross_entropy(hidden, weight, jnp.array([0, -100]),
      ...                                      ignore_index=-100, reduction="mean")
      Array(0.23954484, dtype=float32)

    References:
      Wijmans et al., "Cut Your Losses in Large-Vocabulary Language Models", ICLR
      2025; Milakov and Gimelshein, "Online normalizer calculation for softmax",
      2018; Chowdhery et al., "PaLM", 2022 (z-loss); Gemma Team, "Gemma 2", 2024
      (logit soft-capping).
    """
    return _linear_call(
        "linear_softmax_cross_entropy", _lsce_core, hidden, weight, labels, bias=bias,
        block_size=block_size, ignore_index=ignore_index, label_smoothing=label_smoothing,
        z_loss=z_loss, logit_softcap=logit_softcap, weights=weights, where=where,
        reduction=reduction, return_lse=return_lse, class_weights=class_weights,
        extensions=True,
    )  # fmt: skip


# --- vocab_parallel_softmax_cross_entropy: the vocabulary sharded over a mesh axis


def _vma(x) -> set:
    """The mesh axes ``x`` varies over inside a shard_map (empty outside one)."""
    t = jax.typeof(x)
    mat = getattr(t, "manual_axis_type", None)
    return set(mat.varying) if mat is not None else set(getattr(t, "vma", ()))


def _varying(axis_name, *inputs):
    """Casts loop-carry initial values to vary over ``axis_name`` and over every mesh axis
    an input varies over (e.g. a "data" axis splitting the tokens): shard_map's type
    check wants them typed like the loop body's outputs."""
    axes = {axis_name}
    for x in inputs:
        if x is not None:
            axes |= _vma(x)

    def cast(tree):
        def one(x):
            missing = tuple(sorted(axes - _vma(x)))
            return lax.pcast(x, missing, to="varying") if missing else x

        return jax.tree.map(one, tree)

    return cast


@functools.partial(jax.custom_vjp, nondiff_argnums=(5, 6, 7, 8, 9, 10))
def _vp(h, w, b, y, live, axis_name, vocab, bs, cap, smoothing, z_loss):
    return _vp_fwd(h, w, b, y, live, axis_name, vocab, bs, cap, smoothing, z_loss)[0]


def _vp_hyper(h, w, axis_name, vocab, bs, cap):
    acc = compute_dtype(h, w)
    offset = lax.axis_index(axis_name).astype(jnp.int32) * w.shape[1]
    return (offset, vocab, bs, cap, acc)


def _vp_fwd(h, w, b, y, live, axis_name, vocab, bs, cap, smoothing, z_loss):
    hyper = _vp_hyper(h, w, axis_name, vocab, bs, cap)
    valid = (y >= 0) & (y < vocab)
    y32 = jnp.where(valid, y, 0).astype(jnp.int32)
    vary = _varying(axis_name, h, w, b, y)
    m, s, xy, sx, cnt, _ = _local_stats(h, w, b, y32, None, None, hyper, smoothing, vary)
    # The three all-reduces of [tokens] arrays: max, rescaled sum of exponentials, and
    # the target logit (found on the one shard that owns the label; 0 elsewhere). The
    # max only stabilises (lse does not depend on it): no gradient flows through it.
    gm = lax.pmax(lax.stop_gradient(m), axis_name)
    shift = jnp.where(gm == -jnp.inf, 0, gm)
    s = lax.psum(s * jnp.exp(m - shift), axis_name)
    xy = lax.psum(xy, axis_name)
    if smoothing:
        sx, cnt = lax.psum((sx, cnt), axis_name)
    else:
        sx = cnt = jnp.zeros_like(s)
    loss, lse = _finish(gm, s, xy, sx, cnt, valid, smoothing, z_loss)
    return (loss, lse), (h, w, b, y, live, lse, cnt if smoothing else None)


def _vp_bwd(axis_name, vocab, bs, cap, smoothing, z_loss, res, cots):
    h, w, b, y, live, lse, cnt = res
    vmas = [_vma(x) for x in (h, w, b) if x is not None]  # before the barrier merges them
    (h, w, lse), () = unshared((h, w, lse))
    g, g_lse = cots
    hyper = _vp_hyper(h, w, axis_name, vocab, bs, cap)
    acc = hyper[-1]
    valid = (y >= 0) & (y < vocab)
    y32 = jnp.where(valid, y, 0).astype(jnp.int32)
    coef = _coefficients(g.astype(acc), g_lse.astype(acc), lse, valid, cnt, smoothing, z_loss)
    vary = _varying(axis_name, h, w, b, y, g, g_lse)
    dh, dw, db, _, _ = _local_grads(h, w, b, y32, None, None, live, lse, coef, hyper, smoothing,
                                    vary)  # fmt: skip
    # The only communication of the backward pass: the hidden gradient's sum over the
    # vocabulary shards. The weight (and bias) gradient stays on its shard; it is summed
    # only over mesh axes that split the tokens but not the weight (a "data" axis), as
    # the transpose of the weight's implicit broadcast would be.
    dh = _sum_to(dh, vmas[0]).astype(h.dtype)
    return dh, _sum_to(dw, vmas[1]), None if b is None else _sum_to(db, vmas[2]), None, None


def _sum_to(ct, vma):
    """``ct`` summed over the mesh axes it varies over and its primal (varying over
    ``vma``) does not."""
    axes = tuple(sorted(_vma(ct) - vma))
    return lax.psum(ct, axes) if axes else ct


_vp.defvjp(_vp_fwd, _vp_bwd)


def _manual_axes() -> frozenset:
    return frozenset(jax.sharding.get_abstract_mesh().manual_axes)


def _vp_local(axis_name, vocab_size):
    """The core inside a shard_map where ``axis_name`` is bound (local weight shard)."""

    def core(h, w, b, y, bs, cap, smoothing, z, *, live=None):
        shards = lax.axis_size(axis_name)
        vocab = w.shape[1] * shards if vocab_size is None else vocab_size
        return _vp(h, w, b, y, live, axis_name, vocab, bs, cap, smoothing, z)

    return core


@functools.lru_cache(maxsize=64)
def _vp_global(axis_name, mesh):
    """The core on global arrays: pads V to a multiple of the axis size and runs the
    local core under ``jax.shard_map``, weight split along V, tokens replicated. Jitted
    once per (axis, mesh, configuration), like the one-device core."""

    def core(h, w, b, y, live, bs, cap, smoothing, z):
        shards = mesh.shape[axis_name]
        vocab = w.shape[1]
        local = -(-vocab // shards)
        pad = local * shards - vocab
        if pad:
            w = jnp.pad(w, ((0, 0), (0, pad)))
            b = None if b is None else jnp.pad(b, (0, pad))
        bs = min(bs, local)
        inner = _vp_local(axis_name, vocab)

        def body(h, w, b, y, live):
            return inner(h, w, b, y, bs, cap, smoothing, z, live=live)

        specs = (P(), P(None, axis_name), None if b is None else P(axis_name), P(),
                 None if live is None else P())  # fmt: skip
        h, w, b, y, live = (
            x if x is None else lax.with_sharding_constraint(x, NamedSharding(mesh, s))
            for x, s in zip((h, w, b, y, live), specs, strict=True)
        )
        return jax.shard_map(body, mesh=mesh, in_specs=specs, out_specs=(P(), P()),
                             axis_names=frozenset({axis_name}))(h, w, b, y, live)  # fmt: skip

    jitted = jax.jit(core, static_argnums=(5, 6, 7, 8))

    def call(h, w, b, y, bs, cap, smoothing, z, *, live=None):
        return jitted(h, w, b, y, live, bs, cap, smoothing, z)

    return call


def _auto_mesh(fn, axis_name, mesh):
    """The mesh to shard over outside a shard_map, with automatic axis types (padding V
    to a multiple of the axis size then needs no explicit-sharding rule for pad/slice)."""
    if mesh is None:
        return _all_devices_mesh(axis_name, jax.device_count())
    if not isinstance(mesh, jax.sharding.Mesh):
        raise TypeError(f"{fn}: mesh must be a jax.sharding.Mesh, got {mesh!r}")
    if axis_name not in mesh.axis_names:
        raise ValueError(
            f"{fn}: axis_name {axis_name!r} is not an axis of the mesh {mesh.axis_names}; "
            f"pass axis_name= one of them"
        )
    auto = (jax.sharding.AxisType.Auto,) * len(mesh.axis_names)
    return jax.sharding.Mesh(mesh.devices, mesh.axis_names, axis_types=auto)


@functools.lru_cache(maxsize=8)
def _all_devices_mesh(axis_name, count):
    return jax.make_mesh((count,), (axis_name,), axis_types=(jax.sharding.AxisType.Auto,))


def _vp_call(core_of, hidden, weight, labels, *, axis_name, mesh, vocab_size, **kw):
    """Argument handling shared by the loss and its reference: ``core_of(local, axis_name,
    mesh_or_vocab_size)`` gives the core for the mode the call is in."""
    fn = "vocab_parallel_softmax_cross_entropy"
    if not isinstance(axis_name, str):
        raise TypeError(f"{fn}: axis_name must be a mesh axis name (a str), got {axis_name!r}")
    for arg, x in (("hidden", hidden), ("weight", weight), ("labels", labels)):
        symbolic = [d for d in jnp.shape(x) if not isinstance(d, int)]
        if symbolic:
            # XLA:CPU's shape refinement (jax 0.10.2) does not reach into the shard_map's
            # body: the call of such an export fails or crashes the process.
            raise ValueError(
                f"{fn}: the token count must be static for the sharded loss, got the "
                f"symbolic dimension {symbolic[0]} in {arg} {jnp.shape(x)}; export it with "
                f"concrete token (batch) dimensions, or export "
                f"linear_softmax_cross_entropy, which takes a symbolic token count"
            )
    if axis_name in _manual_axes():
        if mesh is not None:
            raise ValueError(
                f"{fn}: mesh is for calls on global arrays; inside a shard_map over "
                f"{axis_name!r} pass the local weight shard and no mesh"
            )
        if vocab_size is not None:
            vocab_size = _checks.static_int(fn, "vocab_size", vocab_size, low=1)
        core = core_of(True, axis_name, vocab_size)
    else:
        if vocab_size is not None:
            raise ValueError(
                f"{fn}: vocab_size is for the local weight shard inside a shard_map over "
                f"{axis_name!r}; outside one, weight is the whole [D, V] and V is known"
            )
        core = core_of(False, axis_name, _auto_mesh(fn, axis_name, mesh))
    return _linear_call(fn, core, hidden, weight, labels, **kw)


def _vp_core_of(local, axis_name, arg):
    return _vp_local(axis_name, arg) if local else _vp_global(axis_name, arg)


def vocab_parallel_softmax_cross_entropy(
    hidden: ArrayLike,
    weight: ArrayLike,
    labels: ArrayLike,
    *,
    axis_name: str = "vocab",
    mesh: jax.sharding.Mesh | None = None,
    vocab_size: int | None = None,
    bias: ArrayLike | None = None,
    block_size: int | None = None,
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    z_loss: float = 0.0,
    logit_softcap: float | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
    return_lse: bool = False,
) -> jax.Array | tuple[jax.Array, jax.Array]:
    r""":func:`linear_softmax_cross_entropy` with the vocabulary sharded across devices.

    Megatron-LM's vocabulary-parallel cross-entropy, fused with the output
    projection: each device holds the columns :math:`W_{(i)}` of its shard of
    the vocabulary and runs the blocked scan of
    :func:`linear_softmax_cross_entropy` over them, so it never holds more than
    a [tokens, ``block_size``] block of logits. Three all-reduces of [tokens]
    arrays over the mesh axis combine the shards: the maximum :math:`M =
    \max_i m_{(i)}`, the sum of exponentials :math:`S = \sum_i s_{(i)}
    e^{m_{(i)} - M}` and the target logit (nonzero on the one shard that owns
    the label), plus the sum and count of logits for label smoothing;
    :math:`\operatorname{lse} = M + \log S`. The value and gradient are those
    of :func:`linear_softmax_cross_entropy`:

    .. math::

        \ell = (1-\varepsilon)(\operatorname{lse} - x'_y)
             + \frac{\varepsilon}{C'} \sum_k (\operatorname{lse} - x'_k)
             + z \operatorname{lse}^2,
        \qquad
        \frac{\partial \ell}{\partial h} = \sum_i \frac{\partial \ell}{\partial x_{(i)}}
             W_{(i)}^\top, \quad
        \frac{\partial \ell}{\partial W_{(i)}} = h^\top \frac{\partial \ell}{\partial x_{(i)}}.

    The backward pass is local to each shard (it recomputes its blocks from the
    saved inputs and the global :math:`\operatorname{lse}`) except for one
    all-reduce, the sum of the hidden gradient over shards; the weight gradient
    stays sharded like the weight.

    Two ways to call it:

    * **Inside** ``jax.shard_map`` over a mesh with axis ``axis_name`` (the axis
      bound): ``weight`` is this device's shard [D, V/n] (shard ``i`` holds the
      columns ``[i·V/n, (i+1)·V/n)``), ``bias`` its shard, ``hidden`` and
      ``labels`` (global token ids) the same on every shard of the axis. If the
      vocabulary was padded to a multiple of the axis size, pass the true
      ``vocab_size``: the padded columns are masked.
    * **Outside** (global arrays): ``weight`` is the whole [D, V]; the function
      pads V to a multiple of the axis size (padded columns masked, whole padded
      shards allowed) and runs its own ``jax.shard_map`` over ``mesh`` (default:
      a 1-D mesh of all devices; its axes are used as automatic ones), with the
      weight split along V and the tokens replicated.
      This is how the catalogue and ``jaxloss verify`` check it, on however many
      devices there are.

    Conventions as :func:`linear_softmax_cross_entropy`: ``ignore_index`` =
    ``where=False``; ``-inf`` in ``bias`` masks a class; a label outside
    ``[0, vocab_size)`` gives a NaN loss with gradient 0, whichever shard it
    would fall on. There is no kink.

    Args:
      hidden: the final hidden states [..., D], any float dtype.
      weight: the output projection: the local shard [D, V/n] inside a
        ``shard_map``, the whole [D, V] outside (or a batch [..., D, V]).
      labels: integer token ids in ``[0, V)``, the shape of ``hidden @ weight``
        without V.
      axis_name: the mesh axis the vocabulary is sharded over.
      mesh: outside a ``shard_map``, the mesh to shard over (see above).
      vocab_size: inside a ``shard_map``, the true V when the shards are padded.
      bias: optional output bias, sharded like ``weight``'s columns.
      block_size: local vocabulary columns per block (see
        :func:`linear_softmax_cross_entropy`).
      ignore_index: a label value whose tokens are excluded.
      label_smoothing: :math:`\varepsilon \in [0, 1]`.
      z_loss: coefficient of :math:`\operatorname{lse}^2`.
      logit_softcap: :math:`c > 0` for :math:`c \tanh(x / c)`, or ``None``.
      weights: optional per-token weights, broadcastable to ``labels.shape``.
      where: optional boolean mask, broadcastable to ``labels.shape``.
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.
      return_lse: also return the per-token :math:`\operatorname{lse}`.

    Returns:
      The per-token losses (``"none"``) or a scalar, in the dtype of ``hidden``,
      the same on every shard; with ``return_lse``, ``(loss, lse)``.

    Raises:
      TypeError: as :func:`linear_softmax_cross_entropy`, or a bad ``axis_name``
        or ``mesh``.
      ValueError: as :func:`linear_softmax_cross_entropy`, ``axis_name`` not in
        ``mesh``, ``mesh`` given inside a ``shard_map``, ``vocab_size`` given
        outside one, or a symbolic dimension (``jax.export``): the token count
        must be static for the sharded loss.

    Example:
      >>> import jax, jax.numpy as jnp, jaxloss
      >>> hidden = jnp.array([[1.0, 0.0], [0.0, 2.0]])
      >>> weight = jnp.array([[2.0, 0.0, 0.0], [0.0, 1.0, -1.0]])
      >>> jaxloss.vocab_parallel_softmax_cross_entropy(hidden, weight, jnp.array([0, 1]))
      Array([0.23954484, 0.1429317 ], dtype=float32)

    References:
      Shoeybi et al., "Megatron-LM: Training Multi-Billion Parameter Language
      Models Using Model Parallelism", 2019; Wijmans et al., "Cut Your Losses in
      Large-Vocabulary Language Models", ICLR 2025.
    """
    return _vp_call(
        _vp_core_of, hidden, weight, labels, axis_name=axis_name, mesh=mesh,
        vocab_size=vocab_size, bias=bias, block_size=block_size, ignore_index=ignore_index,
        label_smoothing=label_smoothing, z_loss=z_loss, logit_softcap=logit_softcap,
        weights=weights, where=where, reduction=reduction, return_lse=return_lse,
    )  # fmt: skip
