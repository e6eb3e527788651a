"""Conformance of ``jaxloss.ctc`` with live PyTorch (``F.ctc_loss``) and optax (``ctc_loss``).

Seeded random batches with ragged lengths, repeated labels and one impossible
alignment (too few frames) are evaluated by the peer and by jaxloss, and values
and gradients with respect to the logits are compared, in float64 (tight) and
float32. PyTorch takes time-major log-probabilities ``[T, B, C]``: we feed it
``log_softmax(logits).transpose(0, 1)`` built by torch itself, so its autograd
gradient is with respect to the same batch-major logits as ours. Its targets are
given both padded ``[B, S]`` and concatenated 1-D.

Documented deliberate differences that the tests account for:

* PyTorch's ``reduction="mean"`` divides each loss by its target length before
  averaging; jaxloss's is a plain mean. The documented recipe
  ``ctc(..., weights=1 / max(label_lengths, 1), reduction="sum") / B`` is what is
  compared with it.
* optax returns a large finite number (from ``log_epsilon=-1e5``) for an
  impossible alignment; jaxloss returns ``+inf`` (NaN gradient) or 0 with
  ``zero_infinity``. optax is compared on batches without an impossible row, and
  its finite number is checked separately.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
import torch.nn.functional as F

import jaxloss

B, T, K, N = 5, 12, 6, 4
TOLERANCES = {
    "float64": {"rtol": 1e-11, "atol": 1e-12},
    "float32": {"rtol": 1e-5, "atol": 2e-6},
}


def _batch(seed, blank, dtype, impossible):
    """Logits [B, T, K], padded labels [B, N] (never the blank) and the lengths."""
    r = np.random.default_rng(seed)
    logits = r.normal(0.0, 2.0, (B, T, K)).astype(dtype)
    labels = r.integers(0, K - 1, (B, N))
    labels = (labels + (labels >= blank)).astype(np.int64)
    labels[0, 1] = labels[0, 0]  # a repeat, which needs a blank in between
    labels[1, :3] = labels[1, 0]  # three repeats: 5 frames at least
    input_lengths = np.array([T, 5, T - 3, 9, 7])
    label_lengths = np.array([N, 3, 0, 2, 4])
    if impossible:
        input_lengths[3], label_lengths[3] = 1, 2  # two labels cannot fit in one frame
    return logits, labels, input_lengths, label_lengths


def _torch(logits, labels, il, ll, *, blank, zero_infinity, reduction, concatenated, cot):
    x = torch.tensor(logits, requires_grad=True)
    log_probs = torch.log_softmax(x, -1).transpose(0, 1)
    if concatenated:
        targets = torch.tensor(np.concatenate([labels[b, : ll[b]] for b in range(B)]))
    else:
        targets = torch.tensor(labels)
    out = F.ctc_loss(log_probs, targets, torch.tensor(il), torch.tensor(ll), blank=blank,
                     reduction=reduction, zero_infinity=zero_infinity)  # fmt: skip
    out.backward(torch.tensor(cot) if reduction == "none" else None)
    return out.detach().numpy(), x.grad.numpy()


def _ours(logits, labels, il, ll, *, blank, zero_infinity, reduction, cot):
    il, ll = jnp.asarray(il, jnp.int32), jnp.asarray(ll, jnp.int32)

    def f(x):
        kw = dict(input_lengths=il, label_lengths=ll, blank=blank, zero_infinity=zero_infinity)
        if reduction == "mean":
            # PyTorch's mean: each loss divided by its target length, then averaged.
            w = 1 / jnp.maximum(ll, 1).astype(x.dtype)
            return jaxloss.ctc(x, labels, weights=w, reduction="sum", **kw) / B
        return jaxloss.ctc(x, labels, reduction=reduction, **kw)

    x = jnp.asarray(logits)
    out, vjp = jax.vjp(f, x)
    (g,) = vjp(jnp.asarray(cot, out.dtype) if reduction == "none" else jnp.ones((), out.dtype))
    assert out.dtype == x.dtype and g.dtype == x.dtype
    return np.asarray(out), np.asarray(g)


# Each dtype sees both blanks and both zero_infinity settings.
@pytest.mark.parametrize(
    ("dtype", "blank", "zero_infinity"),
    [("float64", 0, False), ("float64", K - 1, True), ("float32", K - 1, False),
     ("float32", 0, True)],
)  # fmt: skip
def test_matches_torch_ctc_loss(dtype, blank, zero_infinity):
    logits, labels, il, ll = _batch(0, blank, dtype, impossible=True)
    cot = np.random.default_rng(1).normal(size=B).astype(dtype)
    for reduction in ("none", "sum", "mean"):
        ours = _ours(logits, labels, il, ll, blank=blank, zero_infinity=zero_infinity,
                     reduction=reduction, cot=cot)  # fmt: skip
        for concatenated in (False, True):
            theirs = _torch(logits, labels, il, ll, blank=blank, zero_infinity=zero_infinity,
                            reduction=reduction, concatenated=concatenated, cot=cot)  # fmt: skip
            what = f"{reduction=} {concatenated=}"
            # NaN/inf patterns must agree too (assert_allclose compares them exactly).
            np.testing.assert_allclose(ours[0], theirs[0], err_msg=f"value {what}",
                                       **TOLERANCES[dtype])  # fmt: skip
            np.testing.assert_allclose(ours[1], theirs[1], err_msg=f"gradient {what}",
                                       **TOLERANCES[dtype])  # fmt: skip
    value = _ours(logits, labels, il, ll, blank=blank, zero_infinity=zero_infinity,
                  reduction="none", cot=cot)[0]  # fmt: skip
    assert value[3] == (0.0 if zero_infinity else np.inf)  # the impossible alignment


def _paddings(il, ll, dtype, middle):
    lp = (np.arange(T)[None] >= il[:, None]).astype(dtype)
    if middle:
        lp[0, 4] = 1.0  # a padded frame inside the sequence: skipped by both
    lap = (np.arange(N)[None] >= ll[:, None]).astype(dtype)
    return lp, lap


@pytest.mark.parametrize(("dtype", "blank"), [("float64", 2), ("float32", 0)])
def test_matches_optax_ctc_loss(dtype, blank):
    logits, labels, il, ll = _batch(2, blank, dtype, impossible=False)
    lp, lap = _paddings(il, ll, dtype, middle=True)
    cot = np.random.default_rng(3).normal(size=B).astype(dtype)

    def theirs(x):
        with jax.numpy_dtype_promotion("standard"):  # optax mixes in float64 constants
            return optax.ctc_loss(x, lp, labels, lap, blank_id=blank).astype(x.dtype)

    def ours(x):
        return jaxloss.ctc(x, labels, lp, lap, blank=blank)

    x = jnp.asarray(logits)
    (v, g), (vo, go) = [
        (np.asarray(out), np.asarray(vjp(jnp.asarray(cot))[0]))
        for out, vjp in (jax.vjp(ours, x), jax.vjp(theirs, x))
    ]
    np.testing.assert_allclose(v, vo, err_msg="value", **TOLERANCES[dtype])
    np.testing.assert_allclose(g, go, err_msg="gradient", **TOLERANCES[dtype])
    # optax has no reduction: its per-sequence losses summed or averaged.
    for reduction, combine in (("sum", np.sum), ("mean", np.mean)):
        np.testing.assert_allclose(jaxloss.ctc(x, labels, lp, lap, blank=blank,
                                               reduction=reduction),
                                   combine(vo), **TOLERANCES[dtype])  # fmt: skip


def test_optax_gives_a_finite_number_where_we_give_inf():
    logits, labels, il, ll = _batch(4, 0, "float64", impossible=True)
    lp, lap = _paddings(il, ll, "float64", middle=False)
    ours = np.asarray(jaxloss.ctc(jnp.asarray(logits), labels, lp, lap))
    with jax.numpy_dtype_promotion("standard"):
        theirs = np.asarray(optax.ctc_loss(jnp.asarray(logits), lp, labels, lap))
    assert ours[3] == np.inf and 1e4 < theirs[3] < 1e6
    possible = [0, 1, 2, 4]
    np.testing.assert_allclose(ours[possible], theirs[possible], **TOLERANCES["float64"])
    zero = jaxloss.ctc(jnp.asarray(logits), labels, lp, lap, zero_infinity=True)
    assert float(zero[3]) == 0.0


def test_masked_classes_where_torch_and_optax_give_nan_gradients():
    """``-inf`` logits: torch's gradient and optax's value are NaN; ours are finite and
    equal the loss over the remaining classes."""
    logits, labels, il, ll = _batch(5, 0, "float64", impossible=False)
    labels = np.minimum(labels, K - 2)  # class K - 1 never a label
    masked = logits.copy()
    masked[..., K - 1] = -np.inf
    kw = dict(input_lengths=jnp.asarray(il), label_lengths=jnp.asarray(ll))
    value, g = jax.value_and_grad(lambda x: jnp.sum(jaxloss.ctc(x, labels, **kw)))(
        jnp.asarray(masked)
    )
    assert np.isfinite(value) and bool(jnp.all(jnp.isfinite(g))) and bool(jnp.all(g[..., -1] == 0))
    ref, _ = _torch(logits[..., : K - 1], labels, il, ll, blank=0, zero_infinity=False,
                    reduction="sum", concatenated=False, cot=None)  # fmt: skip
    np.testing.assert_allclose(value, ref, **TOLERANCES["float64"])
    masked_torch, masked_grad = _torch(masked, labels, il, ll, blank=0, zero_infinity=False,
                                       reduction="sum", concatenated=False, cot=None)  # fmt: skip
    np.testing.assert_allclose(value, masked_torch, **TOLERANCES["float64"])
    assert np.isnan(masked_grad).any()  # PyTorch's kernel: exp(-inf) - exp(-inf + inf)
