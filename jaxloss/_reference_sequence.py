"""Plain-jnp references of the sequence family: sequence losses (CTC).

The CTC reference follows optax's formulation of the forward recursion (separate
blank and label states, ``logaddexp`` transitions) rather than the rule's single
extended-state vector, and is differentiated by autodiff alone. It shares the
rule's argument handling and its value conventions: log-zero is the finite
``-1e30`` (so that autodiff, forward mode included, never meets ``inf - inf``) and
a log-likelihood below ``-5e29`` is reported as ``+inf`` (or 0 with
``zero_infinity``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import Array

from . import _sequence

__all__ = ["ctc"]

_NEG = _sequence._NEG


def _ctc(x, labels, frames, lengths, blank, zero_infinity):
    b, t, k = x.shape
    n = labels.shape[1]
    logp = jax.nn.log_softmax(x, axis=-1)
    lab = jnp.clip(labels, 0, k - 1)
    lp_blank = jnp.maximum(logp[..., blank], _NEG)  # [B, T]
    idx = jnp.broadcast_to(lab[:, None, :], (b, t, n))
    lp_label = jnp.maximum(jnp.take_along_axis(logp, idx, axis=-1), _NEG)  # [B, T, N]
    # A label equal to the previous one cannot be reached from it without a blank.
    repeat = jnp.concatenate([jnp.ones((b, 1), bool), lab[:, 1:] == lab[:, :-1]], -1)[:, :n]
    neg_col = jnp.full((b, 1), _NEG, x.dtype)

    def step(carry, xs):
        phi, emit = carry  # phi[j]: blank after j labels; emit[j]: on label j
        lb, ll, v = xs
        from_prev_label = jnp.where(repeat, _NEG, jnp.concatenate([neg_col, emit[:, :-1]], -1))
        new_emit = jnp.logaddexp(jnp.logaddexp(emit, phi[:, :-1]), from_prev_label) + ll
        new_phi = jnp.logaddexp(phi, jnp.concatenate([neg_col, emit], -1)) + lb[:, None]
        keep = v[:, None]
        return (jnp.where(keep, new_phi, phi), jnp.where(keep, new_emit, emit)), None

    phi0 = jnp.concatenate([jnp.zeros((b, 1), x.dtype), jnp.full((b, n), _NEG, x.dtype)], -1)
    emit0 = jnp.full((b, n), _NEG, x.dtype)
    xs = (lp_blank.T, jnp.transpose(lp_label, (1, 0, 2)), frames.T)
    (phi, emit), _ = jax.lax.scan(step, (phi0, emit0), xs)
    last_phi = jnp.take_along_axis(phi, lengths[:, None], axis=-1)[:, 0]
    if n:
        last_emit = jnp.take_along_axis(emit, jnp.maximum(lengths - 1, 0)[:, None], axis=-1)
        loglik = jnp.where(lengths > 0, jnp.logaddexp(last_phi, last_emit[:, 0]), last_phi)
    else:
        loglik = last_phi
    return _sequence._finish(loglik, zero_infinity)


def ctc(
    logits,
    labels,
    logit_paddings=None,
    label_paddings=None,
    *,
    input_lengths=None,
    label_lengths=None,
    blank=0,
    zero_infinity=False,
    weights=None,
    where=None,
    reduction="none",
) -> Array:
    """Reference for :func:`jaxloss.ctc` (optax-style forward recursion, autodiff)."""
    return _sequence._ctc_call(
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
