"""Catalogue entries of the sequence family: sequence losses (CTC)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from . import _reference_sequence, _sequence
from ._entries import EdgeCase, Entry, Peers

_FRAMES = 7  # T: enough for 3 labels with a repeat (5 frames) plus padding
_LABELS = 3  # N


def _ctc_inputs(key, shape, dtype, options):
    """``(logits [B, T, K], labels [B, N], logit_paddings [B, T], label_paddings [B, N])``.

    ``shape`` is read as (batch, classes), with at least 2 classes (a blank and one
    label: with the blank alone no label exists). Labels avoid the blank; the first
    sequence repeats a label (a blank is needed between the two), the second has
    a padded frame in the middle (skipped, as optax does); every sequence fits.
    """
    b, k = shape[0], max(shape[-1], 2)
    t, n = _FRAMES, _LABELS
    blank = options.get("blank", 0) % k
    kx, ky, kl, ki = jax.random.split(key, 4)
    logits = jax.random.normal(kx, (b, t, k), dtype)
    raw = jax.random.randint(ky, (b, n), 0, k - 1, jnp.int32)
    labels = raw + (raw >= blank).astype(jnp.int32)
    labels = labels.at[0, 1].set(labels[0, 0])
    label_len = jax.random.randint(kl, (b,), 0, n + 1, jnp.int32).at[0].set(n)
    input_len = jax.random.randint(ki, (b,), 2 * n - 1, t + 1, jnp.int32).at[1].set(t)
    logit_pad = jnp.arange(t, dtype=jnp.int32)[None, :] >= input_len[:, None]
    if b > 1:
        logit_pad = logit_pad.at[1, 2].set(True)
    label_pad = jnp.arange(n, dtype=jnp.int32)[None, :] >= label_len[:, None]
    return logits, labels, logit_pad.astype(dtype), label_pad.astype(dtype)


def _labels(*rows):
    return np.asarray(rows, np.int32)


_ONE_HOT_PEAKS = np.where(np.eye(4, dtype=bool)[[1, 0, 2, 0]], 1e4, -1e4).astype(np.float32)
_MASKED = np.zeros((1, 4, 4), np.float32)
_MASKED[..., 3] = -np.inf  # class 3 masked everywhere
_PARTLY_MASKED = np.zeros((1, 4, 4), np.float32)
_PARTLY_MASKED[0, 0, 1] = -np.inf  # label 1 impossible at the first frame only

ENTRIES: tuple[Entry, ...] = (
    Entry(
        "ctc",
        _sequence.ctc,
        _reference_sequence.ctc,
        "sequence",
        "-log P(labels | per-frame softmax), summed over CTC alignments",
        _ctc_inputs,
        argnums=(0,),
        options=({}, {"blank": 4, "zero_infinity": True}),
        edge_cases=(
            EdgeCase("logits ±1e4 (one-hot softmax)", (_ONE_HOT_PEAKS[None], _labels([1, 2]))),
            EdgeCase(
                "logits ±1e4 against the labels",
                (-_ONE_HOT_PEAKS[None], _labels([1, 2])),
            ),
            EdgeCase("-inf logits for a class not in the labels", (_MASKED, _labels([1, 2]))),
            EdgeCase("-inf logit of a label on one frame", (_PARTLY_MASKED, _labels([1, 2]))),
            EdgeCase(
                "too few frames for a repeated label, zero_infinity",
                (np.zeros((1, 2, 3), np.float32), _labels([1, 1])),
                {"zero_infinity": True},
                value=np.zeros(1, np.float32),
            ),
            EdgeCase(
                "only masked classes fit, zero_infinity",
                (_MASKED, _labels([3])),
                {"zero_infinity": True},
                value=np.zeros(1, np.float32),
            ),
            EdgeCase("empty labels", (np.zeros((1, 3, 3), np.float32), np.zeros((1, 0), np.int32))),
        ),
        peers=Peers(torch="ctc_loss", optax="ctc_loss", keras="CTC"),
    ),
)
