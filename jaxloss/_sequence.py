r"""Connectionist temporal classification (CTC): the loss of an unsegmented label
sequence under per-frame class scores.

The rule runs the CTC forward recursion in log space, one ``lax.scan`` over time
vectorised over the batch and the ``2N + 1`` states of the blank-extended label
sequence ``ℓ'`` (blank, label 1, blank, ..., label N, blank):

.. math::

    \alpha_t(s) = \log y_t(\ell'_s) + \operatorname{lse}\bigl(\alpha_{t-1}(s),
        \alpha_{t-1}(s-1), [\ell'_s \ne \ell'_{s-2}]\,\alpha_{t-1}(s-2)\bigr),

and saves every ``α_t``; the backward pass runs the mirror recursion for ``β``
(``lax.scan(reverse=True)``), forms the posterior occupancy
``γ_t(s) = α_t(s) β_t(s) / P`` and sums it per class (a one-hot product up to 128
classes, a scatter-add beyond), so that the gradient is ``softmax - occupancy``. Nothing larger than
``[B, T, 2N+1]`` or ``[B, T, K]`` is built; each recursion costs three ``exp`` and
one ``log`` per state and frame.

Both recursions are renormalised at every frame (by a per-sequence maximum that
is carried as a scale and needs no derivative), and ``γ_t`` is normalised over
the states of its frame (it sums to 1) instead of dividing by ``P``. The stored
``α``, ``β`` thus stay of order 1 whatever ``T`` is: the textbook
``exp(α + β - log P)`` subtracts numbers of the size of the loss (hundreds) and
loses float32 precision in proportion, as PyTorch's kernel and autodiff through
optax's recursion do (measured at B=32, T=200, K=64, N=40: gradient errors
against float64 of 2e-5 here, 5e-4 for autodiff, 1.5e-3 without the
renormalisation).

"Log zero" is the finite ``-1e30`` rather than ``-inf`` inside the recursions
(log-probabilities below it, i.e. ``-inf`` logits used as masks, are raised to
it): sums, maxima and the forward-mode tangents that ``jax.hessian`` propagates
then never meet ``inf - inf``. A log-likelihood below ``-5e29`` means that no
alignment has positive probability and is reported as a loss of exactly ``+inf``
(or 0 with ``zero_infinity=True``), never as a large finite number.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from . import _checks
from ._fusion import unshared
from ._reduce import compute_dtype, exclude, mask_of, reduce

__all__ = ["ctc"]

_NEG = -1e30  # log of "no probability" inside the recursions (finite on purpose)
_IMPOSSIBLE = 0.5 * _NEG  # log-likelihoods below this mean "no valid alignment"
_DENSE_CLASSES = 128  # up to this many classes, occupancies are summed by a one-hot product


# --- shared pieces (also used by the reference)


def _shift(a: jax.Array, k: int, fill: float) -> jax.Array:
    """``a[..., s - k]`` at state ``s`` (``fill`` for ``s < k``)."""
    n = a.shape[-1]
    pad = jnp.full((*a.shape[:-1], min(k, n)), fill, a.dtype)
    return jnp.concatenate([pad, a[..., : n - k]], axis=-1) if n > k else pad


def _unshift(a: jax.Array, k: int, fill: float = 0.0) -> jax.Array:
    """``a[..., s + k]`` at state ``s`` (``fill`` beyond the last state)."""
    n = a.shape[-1]
    pad = jnp.full((*a.shape[:-1], min(k, n)), fill, a.dtype)
    return jnp.concatenate([a[..., k:], pad], axis=-1) if n > k else pad


def _skips(labels: jax.Array, classes: int) -> jax.Array:
    """Boolean [B, 2N+1]: where the skip ``s-2 → s`` over a blank is allowed.

    States alternate blank, label 1, blank, ..., label N, blank. The skip is
    allowed into a label state whose label differs from the previous label:
    repeated labels need a blank in between.
    """
    b, n = labels.shape
    lab = jnp.clip(labels, 0, classes - 1)  # out-of-range labels are made NaN by the caller
    differ = jnp.concatenate([jnp.zeros((b, 1), bool), lab[:, 1:] != lab[:, :-1]], -1)[:, :n]
    no = jnp.zeros((b, n + 1), bool)
    return jnp.concatenate(
        [jnp.stack([no[:, :n], differ], axis=-1).reshape(b, 2 * n), no[:, :1]], axis=-1
    )


def _log_softmax(x: jax.Array) -> jax.Array:
    """``log_softmax`` over the last axis (``-inf`` logits give ``-inf``)."""
    shifted = x - jax.lax.stop_gradient(jnp.max(x, axis=-1, keepdims=True))
    return shifted - jnp.log(jnp.sum(jnp.exp(shifted), axis=-1, keepdims=True))


def _emissions(logp: jax.Array, labels: jax.Array, blank: int) -> jax.Array:
    """``max(log y_t(ℓ'_s), -1e30)``, time-major [T, B, 2N+1]."""
    b, t, k = logp.shape
    n = labels.shape[1]
    # One index per (sequence, label), broadcast over frames by the gather itself
    # (an explicitly broadcast [B, T, N] index makes XLA's CPU gather 30x slower).
    lab = jnp.take_along_axis(logp, jnp.clip(labels, 0, k - 1)[:, None, :], axis=-1)
    lab = jnp.maximum(jnp.transpose(lab, (1, 0, 2)), _NEG)  # [T, B, N]
    blanks = jnp.maximum(jnp.transpose(logp[..., blank]), _NEG)[..., None]  # [T, B, 1]
    inner = jnp.stack([jnp.broadcast_to(blanks, (t, b, n)), lab], axis=-1).reshape(t, b, 2 * n)
    return jnp.concatenate([inner, blanks], axis=-1)


def _occupancy(gammas: jax.Array, labels: jax.Array, blank: int, k: int) -> jax.Array:
    """``Σ_{s: ℓ'_s = k} γ_t(s)`` as [B, T, K] from the time-major [T, B, 2N+1] ``γ``."""
    t, b, _ = gammas.shape
    lab = jnp.clip(labels, 0, k - 1)
    on_labels = gammas[..., 1::2]  # [T, B, N]
    if labels.shape[1] == 0:
        occ = jnp.zeros((b, t, k), gammas.dtype)
    elif k <= _DENSE_CLASSES:
        # Few classes: a product with a one-hot [B, N, K] array is the fastest on CPU.
        onehot = (lab[..., None] == jnp.arange(k, dtype=lab.dtype).reshape(1, 1, k)).astype(
            gammas.dtype
        )
        occ = jnp.einsum("tbn,bnk->btk", on_labels, onehot, precision=jax.lax.Precision.HIGHEST)
    else:
        # Many classes: scatter-add the N label columns (cost independent of K).
        zeros = jnp.zeros((b, t, k), gammas.dtype)
        occ = jax.vmap(lambda z, g, y: z.at[:, y].add(g))(
            zeros, jnp.transpose(on_labels, (1, 0, 2)), lab
        )
    on_blank = jnp.transpose(jnp.sum(gammas[..., 0::2], axis=-1))[..., None]  # [B, T, 1]
    is_blank = (jnp.arange(k) == blank).astype(gammas.dtype).reshape(1, 1, k)
    return occ + on_blank * is_blank


def _end_states(size: int, lengths: jax.Array) -> jax.Array:
    """Boolean [B, 2N+1]: the states an alignment may end in (2L, and 2L-1 if L > 0)."""
    s = jnp.arange(size, dtype=jnp.int32)[None, :]
    two_l = 2 * lengths[:, None]
    return (s == two_l) | ((s == two_l - 1) & (two_l > 0))


def _lse_last(a: jax.Array, end: jax.Array) -> jax.Array:
    """``log Σ_{end states} exp(a)`` per row (the sum is at least 1 after the shift)."""
    v = jnp.where(end, a, -jnp.inf)
    m = jax.lax.stop_gradient(jnp.max(v, axis=-1, keepdims=True))
    return jnp.squeeze(m, -1) + jnp.log(jnp.sum(jnp.exp(v - m), axis=-1))


def _finish(loglik: jax.Array, zero_infinity: bool) -> jax.Array:
    """``-log P``; ``+inf`` (or 0 with ``zero_infinity``) where no alignment exists."""
    impossible = loglik < _IMPOSSIBLE
    # 0 - log P rather than -log P: an empty sequence costs +0.0, not -0.0.
    return jnp.where(impossible, 0.0 if zero_infinity else jnp.inf, 0.0 - loglik)


# --- the rule


@functools.partial(jax.custom_vjp, nondiff_argnums=(4, 5))
def _ctc(x, labels, frames, lengths, blank, zero_infinity):
    return _ctc_fwd(x, labels, frames, lengths, blank, zero_infinity)[0]


def _alpha_step(skip):
    def step(carry, xs):
        a, scale = carry  # α_{t-1} - scale, scale: the log of α_{t-1}'s largest state
        e, v = xs
        a1 = _shift(a, 1, _NEG)
        a2 = jnp.where(skip, _shift(a, 2, _NEG), _NEG)
        # The shift is finite (log-zero is -1e30) and needs no derivative.
        m = jax.lax.stop_gradient(jnp.maximum(jnp.maximum(a, a1), a2))
        # Renormalise every frame by c = max_s(m + e), within log 3 of max_s(new):
        # stored values stay O(1), so the backward's α + β lose no float32 precision
        # to magnitudes growing with T. (A max of ``new`` itself would make XLA
        # compute the exps twice, once for the reduction and once for the result.)
        c = jax.lax.stop_gradient(jnp.max(m + e, axis=-1, keepdims=True))
        new = (m + e - c) + jnp.log(jnp.exp(a - m) + jnp.exp(a1 - m) + jnp.exp(a2 - m))
        # A padded frame leaves α unchanged (optax's semantics: frames skipped anywhere).
        new = jnp.where(v[:, None], new, a)
        return (new, scale + jnp.where(v, c[:, 0], 0.0)), new

    return step


def _ctc_fwd(x, labels, frames, lengths, blank, zero_infinity):
    b, _, k = x.shape
    skip = _skips(labels, k)
    logp = _log_softmax(x)
    emit = _emissions(logp, labels, blank)
    size = skip.shape[-1]
    # α before the first frame: all mass in the initial blank state.
    alpha0 = jnp.where(jnp.arange(size) == 0, 0.0, _NEG).astype(x.dtype)
    alpha0 = jnp.broadcast_to(alpha0, (b, size))
    init = (alpha0, jnp.zeros((b,), x.dtype))
    (final, scale), alphas = jax.lax.scan(_alpha_step(skip), init, (emit, frames.T))
    loglik = scale + _lse_last(final, _end_states(size, lengths))
    # The emissions are built anyway (the scan reads them), so saving them costs no
    # extra write; log y replaces the logits, so the backward needs one exp for the
    # softmax instead of a second log-softmax.
    res = (logp, labels, frames, lengths, emit, alphas, loglik)
    return _finish(loglik, zero_infinity), res


def _beta_step(skip_from):
    def step(beta, xs):
        e, v = xs  # log y_t(ℓ'), frame t valid
        c = beta + e
        c1 = _unshift(c, 1, _NEG)
        c2 = jnp.where(skip_from, _unshift(c, 2, _NEG), _NEG)
        m = jax.lax.stop_gradient(jnp.maximum(jnp.maximum(c, c1), c2))
        scale = jax.lax.stop_gradient(jnp.max(m, axis=-1, keepdims=True))  # as in the α step
        new = (m - scale) + jnp.log(jnp.exp(c - m) + jnp.exp(c1 - m) + jnp.exp(c2 - m))
        return jnp.where(v[:, None], new, beta), beta

    return step


def _ctc_bwd(blank, zero_infinity, res, g):
    (logp, labels, frames, lengths, emit, alphas, loglik), () = unshared(res)
    k = logp.shape[-1]
    skip = _skips(labels, k)
    size = skip.shape[-1]
    impossible = loglik < _IMPOSSIBLE
    end = _end_states(size, lengths)
    beta0 = jnp.where(end, 0.0, _NEG).astype(logp.dtype)
    step = _beta_step(_unshift(skip, 2, False))
    _, betas = jax.lax.scan(step, beta0, (emit, frames.T), reverse=True)
    # γ_t = α_t β_t / P sums to 1 over the states of a valid frame: normalising per
    # frame makes the per-frame scales of α and β cancel.
    ab = alphas + betas
    ab = ab - jax.lax.stop_gradient(jnp.max(ab, axis=-1, keepdims=True))
    e = jnp.exp(ab)
    gammas = e * (frames.T[..., None].astype(logp.dtype) / jnp.sum(e, axis=-1, keepdims=True))
    occ = _occupancy(gammas, labels, blank, k)
    # The gradient of -log P for an impossible alignment is undefined: NaN as PyTorch,
    # or 0 with zero_infinity (the loss is then the constant 0).
    coef = jnp.where(impossible, 0.0 if zero_infinity else jnp.nan, g)
    probs = jnp.exp(logp)
    gx = coef[:, None, None] * (probs * frames[..., None].astype(logp.dtype) - occ)
    return gx, None, None, None


_ctc.defvjp(_ctc_fwd, _ctc_bwd)


# --- argument handling, shared with the reference


def _ctc_call(
    core,
    logits,
    labels,
    logit_paddings,
    label_paddings,
    *,
    input_lengths,
    label_lengths,
    blank,
    zero_infinity,
    weights,
    where,
    reduction,
):
    """Checks (all at trace time) and the two padding formulations, then the compiled
    body around ``core``."""
    fn = "ctc"
    reduction = _checks.reduction(fn, reduction)
    x = _checks.float_array(fn, "logits", logits)
    if x.ndim < 2:
        raise ValueError(
            f"{fn}: logits must have shape [..., T, K] (frames, classes), got {x.shape}"
        )
    y = jnp.asarray(labels)
    if not jnp.issubdtype(y.dtype, jnp.integer):
        raise TypeError(
            f"{fn}: labels must have an integer dtype, got {y.dtype}; note the argument "
            f"order ctc(logits, labels, logit_paddings, label_paddings), not optax's "
            f"ctc_loss(logits, logit_paddings, labels, label_paddings)"
        )
    batch, (t, k) = x.shape[:-2], x.shape[-2:]
    if y.ndim != len(batch) + 1 or y.shape[:-1] != batch:
        raise ValueError(
            f"{fn}: labels must have shape ({', '.join(map(str, (*batch, 'N')))}): the "
            f"batch shape of logits {x.shape} and a label axis; got {y.shape}"
        )
    blank = _checks.static_int(fn, "blank", blank)
    if not -k <= blank < k:
        raise ValueError(f"{fn}: blank must be a class index in [0, {k}) for logits with "
                         f"{k} classes, got {blank}")  # fmt: skip
    zero_infinity = _checks.static_bool(fn, "zero_infinity", zero_infinity)
    for pad, length, what in (
        (logit_paddings, input_lengths, ("logit_paddings", "input_lengths")),
        (label_paddings, label_lengths, ("label_paddings", "label_lengths")),
    ):
        if pad is not None and length is not None:
            raise ValueError(
                f"{fn}: pass either {what[0]} (optax's formulation) or {what[1]} "
                f"(PyTorch's), not both"
            )
    if logit_paddings is not None:
        logit_paddings = _checks.data_array(fn, "logit_paddings", logit_paddings)
        if logit_paddings.shape != (*batch, t):
            raise ValueError(f"{fn}: logit_paddings must have shape {(*batch, t)} (logits "
                             f"{x.shape} without the class axis), got "
                             f"{logit_paddings.shape}")  # fmt: skip
    if label_paddings is not None:
        label_paddings = _checks.data_array(fn, "label_paddings", label_paddings)
        if label_paddings.shape != y.shape:
            raise ValueError(f"{fn}: label_paddings must have the shape of labels {y.shape}, "
                             f"got {label_paddings.shape}")  # fmt: skip
    if input_lengths is not None:
        input_lengths = _lengths(fn, "input_lengths", input_lengths, batch)
    if label_lengths is not None:
        label_lengths = _lengths(fn, "label_lengths", label_lengths, batch)
    mask = mask_of(fn, where, batch)
    losses = _ctc_body(
        core,
        x,
        y,
        logit_paddings,
        label_paddings,
        input_lengths,
        label_lengths,
        mask,
        blank=blank % k,
        zero_infinity=zero_infinity,
    )
    return reduce(fn, losses, weights=weights, mask=mask, reduction=reduction).astype(x.dtype)


# One compiled body (per shape, formulation and mask presence): eager calls, the
# verification harness's among them, then pay one compilation instead of
# dispatching and compiling dozens of small operations.
@functools.partial(jax.jit, static_argnums=(0,), static_argnames=("blank", "zero_infinity"))
def _ctc_body(core, x, y, logit_paddings, label_paddings, input_lengths, label_lengths,
              mask, *, blank, zero_infinity):  # fmt: skip
    batch, (t, k) = x.shape[:-2], x.shape[-2:]
    n = y.shape[-1]
    # Frames: a validity mask [..., T] (None: all valid); labels: a length [...].
    bad = jnp.zeros(batch, bool)
    frames = None
    if logit_paddings is not None:
        frames = logit_paddings == jnp.zeros((), logit_paddings.dtype)
    elif input_lengths is not None:
        frames = _iota(batch, t) < input_lengths[..., None].astype(jnp.int32)
        bad = bad | (input_lengths < 0) | (input_lengths > t)
    if label_paddings is not None:
        # The count of paddings, as optax (labels are right-padded).
        padded = label_paddings != jnp.zeros((), label_paddings.dtype)
        length = n - jnp.sum(padded, axis=-1, dtype=jnp.int32)
    elif label_lengths is not None:
        bad = bad | (label_lengths < 0) | (label_lengths > n)
        length = jnp.clip(label_lengths, 0, n).astype(jnp.int32)
    else:
        length = jnp.full(batch, n, jnp.int32)
    # Labels inside the sequence must be classes other than the blank.
    inside = _iota(batch, n) < length[..., None]
    wrong = (y < 0) | (y >= k) | (y == blank)
    bad = bad | jnp.any(inside & wrong, axis=-1)

    dtype = compute_dtype(x)
    # Flatten the batch; excluded sequences become "no frames, no labels" (loss 0).
    # math.prod keeps a symbolic batch size (jax.export) symbolic; np.prod would not.
    size = math.prod(batch)
    xb = x.reshape(size, t, k).astype(dtype)
    yb = y.reshape(size, n)
    yb = jnp.where((yb >= 0) & (yb < k), yb, 0).astype(jnp.int32)
    m = None if mask is None else mask.reshape(size)
    fb = jnp.ones((size, t), bool) if frames is None else frames.reshape(size, t)
    fb = exclude(fb, m, False, axes=(1,))
    yb = exclude(yb, m, (blank + 1) % k, axes=(1,))
    lb = exclude(length.reshape(size), m, 0)
    bad = exclude(bad.reshape(size), m, False)
    if frames is not None or m is not None:
        # Padded frames and excluded sequences never reach the math, whatever they hold.
        xb = jnp.where(fb[..., None], xb, jnp.zeros((), dtype))
    losses = core(xb, yb, fb, lb, blank, zero_infinity)
    return jnp.where(bad, jnp.nan, losses).reshape(batch)


def _iota(batch: tuple[int, ...], size: int) -> jax.Array:
    """``0, 1, ..., size - 1`` along a last axis, broadcastable against ``batch + (size,)``."""
    return jnp.arange(size, dtype=jnp.int32).reshape((1,) * len(batch) + (size,))


def _lengths(fn: str, arg: str, value: ArrayLike, batch: tuple[int, ...]) -> jax.Array:
    out = _checks.int_array(fn, arg, value)
    if out.shape != batch:
        raise ValueError(f"{fn}: {arg} must have the batch shape {batch} (one length per "
                         f"sequence), got {out.shape}")  # fmt: skip
    return out


def ctc(
    logits: ArrayLike,
    labels: ArrayLike,
    logit_paddings: ArrayLike | None = None,
    label_paddings: ArrayLike | None = None,
    *,
    input_lengths: ArrayLike | None = None,
    label_lengths: ArrayLike | None = None,
    blank: int = 0,
    zero_infinity: bool = False,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Connectionist temporal classification loss: ``-log P(labels | logits)`` per sequence.

    optax's ``ctc_loss`` and PyTorch's ``ctc_loss``. ``P`` sums, over every
    alignment ``π`` of ``T`` frames that collapses to ``labels`` (merge repeats,
    then drop blanks), the product of the per-frame softmax probabilities
    ``y_t(π_t)``. ``log_softmax`` is applied inside, so log-probabilities work as
    logits too.

    Sequence lengths come in either formulation, chosen per input: optax's
    paddings (``1``/``True`` marks a padded frame or label; a padded frame is
    skipped wherever it is, labels must be right-padded and their count of
    paddings sets the length) or PyTorch's lengths (``input_lengths``,
    ``label_lengths``). Passing both for one input is an error; passing neither
    means that input is not padded. Padded frames are never read.

    .. math::

        \ell = -\log \sum_{\pi \in \mathcal{B}^{-1}(\mathbf{y})} \prod_{t} y_t(\pi_t),
        \qquad y_t = \operatorname{softmax}(x_t)

    .. math::

        \frac{\partial \ell}{\partial x_{t,k}} = y_t(k)
            - \sum_{s:\, \ell'_s = k} \gamma_t(s), \qquad
        \gamma_t(s) = \frac{\alpha_t(s)\,\beta_t(s)}{P}

    with ``ℓ'`` the labels with blanks around and between them, ``α``/``β`` the CTC
    forward and backward variables and ``γ_t(s)`` the posterior probability of being
    in state ``s`` at frame ``t`` (0 for padded frames, which get gradient 0).

    Boundaries: if no alignment fits (too few frames: ``L`` labels need ``L`` frames
    plus one per adjacent repeat, or every alignment passes through a class whose
    logit is ``-inf``) the loss is exactly ``+inf`` and its gradient NaN, as in
    PyTorch; with ``zero_infinity=True`` it is 0 with gradient 0. optax returns a
    large finite number instead (about ``1e5`` per impossible step, from its
    ``log_epsilon``). ``-inf`` logits (masked classes) give finite values and
    gradients (gradient 0 for the masked class) as long as some alignment avoids
    them. Labels equal to ``blank`` or outside ``[0, K)`` within a sequence, and
    lengths outside ``[0, T]``/``[0, N]``, give a NaN loss for that sequence (and
    gradient 0 for it).

    Args:
      logits: ``[..., T, K]`` per-frame class scores (batch-major), any float dtype.
      labels: ``[..., N]`` integer label sequences, right-padded.
      logit_paddings: optional ``[..., T]`` array, nonzero at padded frames (optax).
      label_paddings: optional ``[..., N]`` array, nonzero at padded labels (optax).
      input_lengths: optional ``[...]`` integers, the valid frames per sequence (PyTorch).
      label_lengths: optional ``[...]`` integers, the valid labels per sequence (PyTorch).
      blank: the blank class index (negative values count from the end).
      zero_infinity: give impossible alignments loss 0 and gradient 0 instead of
        ``+inf`` and NaN.
      weights: optional weights broadcastable to the batch shape ``[...]``.
      where: optional boolean mask broadcastable to the batch shape ``[...]``.
      reduction: ``"none"`` (per sequence, the batch shape), ``"mean"`` or ``"sum"``.
        PyTorch's ``reduction="mean"`` divides each loss by its label length first:
        ``ctc(..., weights=1 / jnp.maximum(label_lengths, 1), reduction="sum") / B``.

    Returns:
      Per-sequence losses of the batch shape (``"none"``) or a scalar, in the dtype
      of ``logits``.

    Raises:
      TypeError: non-float ``logits``, non-integer ``labels`` or lengths, a
        non-integer ``blank`` or non-bool ``zero_infinity``.
      ValueError: mismatched shapes, both paddings and lengths for one input,
        ``blank`` out of range or an unknown ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> logits = jnp.zeros((1, 3, 3))  # uniform over {blank, a, b}, 3 frames
      >>> # "ab" has 5 alignments (aab, abb, _ab, a_b, ab_) of probability 1/27 each
      >>> jaxloss.ctc(logits, jnp.array([[1, 2]]))
      Array([1.686399], dtype=float32)
      >>> jaxloss.ctc(logits, jnp.array([[1, 1]]), input_lengths=jnp.array([2]))
      Array([inf], dtype=float32)

    References:
      Graves et al., "Connectionist temporal classification: labelling unsegmented
      sequence data with recurrent neural networks", ICML 2006.
    """
    return _ctc_call(
        _ctc,
        logits,
        labels,
        logit_paddings,
        label_paddings,
        input_lengths=input_lengths,
        label_lengths=label_lengths,
        blank=blank,
        zero_infinity=zero_infinity,
        weights=weights,
        where=where,
        reduction=reduction,
    )
