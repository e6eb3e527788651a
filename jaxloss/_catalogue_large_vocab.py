"""Catalogue entries of the large-vocabulary family: the fused projection +
cross-entropy, on one device and with the vocabulary sharded over all devices.

The sampler reads the harness's shape ``(batch, tokens)`` as a batch of weights:
hidden [batch, tokens, 3], weight [batch, 3, 13], labels [batch, tokens] (the
losses follow ``jnp.matmul``'s batch axes), so that the harness's ``vmap`` over
the leading axis of every input maps over whole problems, each hidden [tokens, 3]
with its own weight [3, 13]. V = 13 with ``block_size=4`` runs three full blocks
and a last, overlapping one; on 8 devices the vocab-parallel entry pads V to 16
(two columns per device): one shard half padding, one wholly padding.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from . import _large_vocab
from . import _reference_large_vocab as ref
from ._entries import EdgeCase, Entry, Peers

_FAMILY = "large vocabulary"
_FEATURES, _VOCAB = 3, 13


def _hidden_weight_labels(key, shape, dtype, options):
    kh, kw, ky = jax.random.split(key, 3)
    batch, tokens = shape[0], shape[1] if len(shape) > 1 else 1
    return (
        jax.random.normal(kh, (batch, tokens, _FEATURES), dtype),
        jax.random.normal(kw, (batch, _FEATURES, _VOCAB), dtype),
        jax.random.randint(ky, (batch, tokens), 0, _VOCAB, jnp.int32),
    )


_INF = math.inf
# Two tokens against a 5-class weight; logits ±1e4 (the hidden scaled up).
_HUGE = (
    np.asarray([[1e4, 0.0], [-1e4, 1.0]], np.float32),
    np.asarray([[1.0, -1.0, 0.0, 0.5, -0.3], [0.0, 0.0, 1.0, 0.0, 0.0]], np.float32),
    np.asarray([1, 0], np.int32),
)
_BIAS_MASK = np.asarray([0.0, -_INF, 0.0, -_INF, 0.0], np.float32)
_SMALL = (
    np.asarray([[0.5, -1.0], [2.0, 0.3]], np.float32),
    np.asarray([[1.0, -1.0, 0.0, 0.5, -0.3], [0.0, 2.0, 1.0, 0.0, -1.0]], np.float32),
    np.asarray([0, 4], np.int32),
)

_CLASS_WEIGHTS = np.linspace(0.25, 2.0, _VOCAB).astype(np.float32)

_OPTIONS = (
    {"block_size": 4, "logit_softcap": 2.0},
    {"block_size": 5, "label_smoothing": 0.1, "z_loss": 1e-3, "ignore_index": 2},
)
# The one-device loss's own options: torch's class weights (weight=).
_LINEAR_OPTIONS = (
    *_OPTIONS,
    {"block_size": 4, "class_weights": _CLASS_WEIGHTS, "label_smoothing": 0.2, "ignore_index": 3},
)
_EDGE_CASES = (
    EdgeCase("logits ±1e4", _HUGE, {"block_size": 2, "label_smoothing": 0.1}),
    EdgeCase(
        "-inf bias masks two classes",
        _SMALL,
        {"block_size": 2, "bias": _BIAS_MASK, "label_smoothing": 0.1},
    ),
)

ENTRIES: tuple[Entry, ...] = (
    Entry(
        "linear_softmax_cross_entropy",
        _large_vocab.linear_softmax_cross_entropy,
        ref.linear_softmax_cross_entropy,
        _FAMILY,
        "lse(hW + b) − (hW + b)_y over vocabulary blocks, never [tokens, V]",
        _hidden_weight_labels,
        argnums=(0, 1),
        options=_LINEAR_OPTIONS,
        edge_cases=_EDGE_CASES,
        peers=Peers(torch="linear_cross_entropy", other="Cut Cross-Entropy, Liger-Kernel"),
    ),
    Entry(
        "vocab_parallel_softmax_cross_entropy",
        _large_vocab.vocab_parallel_softmax_cross_entropy,
        ref.vocab_parallel_softmax_cross_entropy,
        _FAMILY,
        "linear_softmax_cross_entropy with V sharded over all devices (shard_map)",
        _hidden_weight_labels,
        argnums=(0, 1),
        options=_OPTIONS[1:],
        edge_cases=_EDGE_CASES,
        peers=Peers(other="Megatron-LM vocab_parallel_cross_entropy"),
    ),
)
