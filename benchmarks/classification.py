"""Classification, divergence and sequence losses: time of ``jit(value_and_grad(mean loss))``.

Two sections, one run:

1. **Headline**: integer-label softmax cross-entropy on ``[4096, 32768]`` float32
   logits (``--headline-shape``), in four variants (plain, ``label_smoothing=0.1``,
   ``z_loss=1e-4``, ``class_weights`` with ``ignore_index=-100`` on 5 % of the
   labels), each against ``jax.grad`` of ``jaxloss.reference``'s version, optax
   (``softmax_cross_entropy_with_integer_labels``; the one-hot route
   ``softmax_cross_entropy(x, smooth_labels(one_hot(y, C), 0.1))`` for label
   smoothing; composed from optax calls for z-loss and class weights) and
   PyTorch's ``F.cross_entropy`` (forward and ``backward()``). All sixteen
   candidates are timed in one interleaved pool, so the variants can be compared
   with each other (label smoothing against plain CE).
2. **Catalogue**: every entry of ``jaxloss.catalogue`` whose family is
   ``classification``, ``divergence`` or ``sequence`` (whatever exists when the
   script runs), for each of its option sets, on the entry's own seeded sampler at
   ``[4096, 1024]`` (``--shape``; per-loss overrides in ``SHAPES``), against
   ``jax.grad`` of ``entry.reference`` and the optax and torch equivalents of the
   adapter tables ``OPTAX`` and ``TORCH`` below.

Every JAX candidate is ``jax.jit(jax.value_and_grad(lambda x, *rest: mean loss))``,
differentiated with respect to the first input (logits, scores, probabilities or
log-predictions), compiled ahead of time (its ``memory_analysis().temp_size_in_bytes``
is reported) and warmed up twice; the first output of each candidate is compared
with jaxloss's (value and gradient). Timed calls run round-robin, one call of each
candidate per round in a freshly shuffled seeded order; the report gives medians,
ratios of medians and quartiles of the per-round ratios.

Usage::

    python benchmarks/classification.py                  # full run, writes benchmarks/results/
    python benchmarks/classification.py --quick --out -  # smoke test: tiny shapes, 3 rounds
    python benchmarks/classification.py --only headline sparsemax ctc --rounds 10

Results go to ``<out>/classification_<suffix>.md`` and ``.json`` (``<suffix>`` is the
JAX backend unless ``--device-suffix`` is given).
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import math
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # torch is a test extra; without it the torch column is empty
    torch = None

import jaxloss
from jaxloss import catalogue

FAMILIES = ("classification", "divergence", "sequence")

# DESIGN §5: every loss at most 1.0x its autodiff reference and its optax
# equivalent (none above 1.1x); integer-label CE with label smoothing within 1.1x
# plain integer-label CE and faster than optax's one-hot route.
TARGET = 1.0
LIMIT = 1.1
SMOOTHING_VS_PLAIN = 1.1

HEADLINE_SHAPE = (4096, 32768)
SHAPE = (4096, 1024)
QUICK_HEADLINE_SHAPE = (64, 1000)
QUICK_SHAPE = (32, 40)
ROUNDS = 30
QUICK_ROUNDS = 3

# Per-loss input shapes, replacing --shape (full run, --quick run). multilabel_margin
# costs O(C²) per example (as in PyTorch); ctc is read as (batch, frames, classes,
# label length) by its sampler below.
SHAPES: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "multilabel_margin": ((1024, 256), (16, 12)),
    "ctc": ((32, 256, 64, 48), (4, 12, 6, 3)),
}

# Rows per call of a catalogue sampler: large batches are drawn in chunks (seeds
# differ per chunk) and concatenated, which bounds the memory of samplers that draw
# several candidates per example (the margin family draws 16, and multilabel_margin
# builds a [rows, C, C] array per candidate).
SAMPLE_ROWS = 1024
SAMPLE_ROWS_BY_NAME = {"multilabel_margin": 32}

# Option sets timed besides the catalogue's own (with --options all).
EXTRA_OPTIONS: dict[str, tuple[dict[str, Any], ...]] = {
    "softmax_cross_entropy_with_integer_labels": ({"label_smoothing": 0.1}, {"z_loss": 1e-4}),
}

CANDIDATES = ("jaxloss", "reference", "optax", "torch")
PEERS = ("reference", "optax", "torch")

# Agreement with jaxloss above which a candidate is listed (float32 inputs).
VALUE_TOL = 1e-4
GRAD_TOL = 1e-3


# --- inputs


def _ctc_inputs(seed: int, shape: tuple[int, ...], options: Mapping[str, Any]):
    """``(logits [B, T, K], labels [B, N], logit_paddings [B, T], label_paddings [B, N])``.

    ``shape`` is ``(B, T, K, N)``. Right-padded frames and labels (so PyTorch's
    lengths describe the same sequences as optax's paddings), label lengths in
    ``[N/2, N]``, frame counts in ``[max(2N + 1, 3T/4), T]``: every labelling fits,
    repeats included. Labels avoid ``blank``.
    """
    b, t, k, n = shape
    blank = options.get("blank", 0) % k
    kx, ky, kl, ki = jax.random.split(jax.random.key(seed), 4)
    logits = jax.random.normal(kx, (b, t, k), jnp.float32)
    raw = jax.random.randint(ky, (b, n), 0, k - 1, jnp.int32)
    labels = raw + (raw >= blank).astype(jnp.int32)
    label_len = jax.random.randint(kl, (b,), (n + 1) // 2, n + 1, jnp.int32)
    low = min(t, max(2 * n + 1, (3 * t) // 4))
    input_len = jax.random.randint(ki, (b,), low, t + 1, jnp.int32)
    logit_pad = (jnp.arange(t)[None, :] >= input_len[:, None]).astype(jnp.float32)
    label_pad = (jnp.arange(n)[None, :] >= label_len[:, None]).astype(jnp.float32)
    return logits, labels, logit_pad, label_pad


# Samplers replacing the catalogue's (whose ctc sampler has a fixed T = 7, N = 3).
# Each is checked against the catalogue sampler's structure (number of inputs,
# their dtypes and ranks) and dropped with a warning if that changed.
SAMPLERS: dict[str, Callable[..., tuple[jax.Array, ...]]] = {"ctc": _ctc_inputs}


def _structure(args) -> list[tuple[str, int]]:
    return [(jnp.dtype(a.dtype).kind, np.ndim(a)) for a in args]


def sample(entry: catalogue.Entry, seed: int, shape: tuple[int, ...], options, warn):
    """Seeded inputs of ``entry`` at ``shape`` (float32), chunked along the batch."""
    own = SAMPLERS.get(entry.name)
    if own is not None:
        small = SHAPES.get(entry.name, (None, (2, 6, 5, 2)))[1]
        try:
            mine = own(seed, small, options)
            theirs = entry.inputs(seed, shape=(small[0], small[2]), dtype=jnp.float32, **options)
            if _structure(mine) == _structure(theirs):
                return jax.block_until_ready(own(seed, shape, options))
            warn(f"{entry.name}: the catalogue sampler's inputs changed; using it instead")
        except Exception as e:
            warn(f"{entry.name}: custom sampler failed ({e!r}); using the catalogue's")
        shape = (shape[0], shape[2]) if len(shape) == 4 else shape
    rows = SAMPLE_ROWS_BY_NAME.get(entry.name, SAMPLE_ROWS)
    batch, rest = shape[0], tuple(shape[1:])
    chunks = []
    for i, start in enumerate(range(0, batch, rows)):
        n = min(rows, batch - start)
        s = seed if batch <= rows else seed * 1_000_003 + i
        chunks.append(entry.inputs(s, shape=(n, *rest), dtype=jnp.float32, **options))
    if len(chunks) == 1:
        return jax.block_until_ready(chunks[0])
    joined = tuple(jnp.concatenate(parts) for parts in zip(*chunks, strict=True))
    return jax.block_until_ready(joined)


def fit_options(options: Mapping[str, Any], classes: int) -> dict[str, Any]:
    """Per-class option arrays (class_weights, alpha) tiled cyclically to ``classes``.

    Catalogue option sets are written for the sampler's default 5 classes.
    """
    out = {}
    for k, v in options.items():
        if isinstance(v, np.ndarray | jax.Array | tuple | list) and np.ndim(v) == 1:
            a = np.asarray(v, np.float32)
            if a.shape[0] != classes:
                a = np.resize(a, classes)
            v = a
        out[k] = v
    return out


# --- peers: optax (JAX functions, differentiated like jaxloss) and torch


@dataclass
class Peer:
    """A peer's mean loss ``fn(*args)``, differentiated with respect to ``args[0]``."""

    fn: Callable[..., Any]
    args: tuple[Any, ...]
    text: str


def _ce_int_parts(o):
    return (
        o.get("class_weights"),
        o.get("ignore_index"),
        float(o.get("label_smoothing", 0.0)),
        float(o.get("z_loss", 0.0)),
    )


def _class_axis_last(x, o) -> bool:
    axis = o.get("axis", -1)
    return np.ndim(x) == 2 and axis in (-1, 1)


def _ox_ce_int(args, o):
    x, y = args[:2]
    if not _class_axis_last(x, o):
        return None
    c = x.shape[-1]
    cw, ii, ls, z = _ce_int_parts(o)
    sxe = optax.losses.softmax_cross_entropy
    sxe_int = optax.losses.softmax_cross_entropy_with_integer_labels
    if cw is None and ii is None and not ls and not z:
        return Peer(
            lambda x, y: jnp.mean(sxe_int(x, y)),
            (x, y),
            "mean(optax.softmax_cross_entropy_with_integer_labels(x, y))",
        )
    if cw is None and ii is None and not z:

        def one_hot_route(x, y):
            t = optax.smooth_labels(jax.nn.one_hot(y, c, dtype=x.dtype), ls)
            return jnp.mean(sxe(x, t))

        return Peer(
            one_hot_route,
            (x, y),
            "mean(optax.softmax_cross_entropy(x, optax.smooth_labels(jax.nn.one_hot(y, C), ε))) "
            "(the one-hot route)",
        )
    w = None if cw is None else jnp.asarray(cw, jnp.float32)

    def composed(x, y):
        valid = jnp.ones(y.shape, bool) if ii is None else y != ii
        ys = jnp.where(valid, y, 0)
        wy = jnp.ones(y.shape, x.dtype) if w is None else w[ys]
        nll = sxe_int(x, ys)
        if ls and w is None:
            per = sxe(x, optax.smooth_labels(jax.nn.one_hot(ys, c, dtype=x.dtype), ls))
        elif ls:  # PyTorch's weighted smoothing: (1 - ε) w_y nll + ε Σ_c w_c / C (lse − x_c)
            per = (1 - ls) * wy * nll + ls * sxe(x, jnp.broadcast_to(w / c, x.shape))
        else:
            per = wy * nll
        if z:
            per = per + z * jax.nn.logsumexp(x, axis=-1) ** 2
        return jnp.sum(jnp.where(valid, per, 0)) / jnp.sum(jnp.where(valid, wy, 0))

    return Peer(
        composed,
        (x, y),
        "composed: optax.softmax_cross_entropy_with_integer_labels (and the one-hot "
        "route for smoothing) + z·logsumexp(x)², weighted by w_y, ignored labels "
        "masked, sum / Σ w_y",
    )


def _ox_ce(args, o):
    x, t = args[:2]
    if not _class_axis_last(x, o):
        return None
    ls = float(o.get("label_smoothing", 0.0))
    sxe = optax.losses.softmax_cross_entropy
    if ls:
        return Peer(
            lambda x, t: jnp.mean(sxe(x, optax.smooth_labels(t, ls))),
            (x, t),
            "mean(optax.softmax_cross_entropy(x, optax.smooth_labels(t, ε)))",
        )
    return Peer(lambda x, t: jnp.mean(sxe(x, t)), (x, t), "mean(optax.softmax_cross_entropy(x, t))")


def _ox_elementwise(name: str, fn_name: str, *keys: str):
    """mean(optax.<fn_name>(x, t, **options)) for options ``keys`` only."""

    def adapter(args, o):
        if set(o) - set(keys):
            return None
        fn = getattr(optax.losses, fn_name)
        kw = {k: o[k] for k in keys if k in o}
        shown = "".join(f", {k}" for k in kw)
        return Peer(
            lambda x, t: jnp.mean(fn(x, t, **kw)), args[:2], f"mean(optax.{fn_name}(x, t{shown}))"
        )

    adapter.__name__ = f"optax_{name}"
    return adapter


def _ox_sigmoid_bce(args, o):
    if o.get("pos_weight") is not None:
        return None
    ls = float(o.get("label_smoothing", 0.0))
    fn = optax.losses.sigmoid_binary_cross_entropy
    if ls:
        return Peer(
            lambda x, y: jnp.mean(fn(x, y * (1 - ls) + ls / 2)),
            args[:2],
            "mean(optax.sigmoid_binary_cross_entropy(x, y (1 − ε) + ε/2))",
        )
    return Peer(
        lambda x, y: jnp.mean(fn(x, y)), args[:2], "mean(optax.sigmoid_binary_cross_entropy(x, y))"
    )


def _ox_sigmoid_focal(args, o):
    alpha, gamma = o.get("alpha"), float(o.get("gamma", 2.0))
    fn = optax.losses.sigmoid_focal_loss
    return Peer(
        lambda x, y: jnp.mean(fn(x, y, alpha=alpha, gamma=gamma)),
        args[:2],
        "mean(optax.sigmoid_focal_loss(x, y, alpha=α, gamma=γ))",
    )


def _ox_poly(args, o):
    x, t = args[:2]
    if not _class_axis_last(x, o):
        return None
    eps = float(o.get("epsilon", 2.0))
    fn = optax.losses.poly_loss_cross_entropy
    return Peer(
        lambda x, t: jnp.mean(fn(x, t, epsilon=eps)),
        (x, t),
        "mean(optax.poly_loss_cross_entropy(x, t, epsilon=ε))",
    )


def _ox_divergence(fn_name: str):
    def adapter(args, o):
        if set(o) - {"axis"}:
            return None
        fn = getattr(optax.losses, fn_name)
        axis = o.get("axis", -1)
        return Peer(
            lambda a, b: jnp.mean(fn(a, b, axis=axis)),
            args[:2],
            f"mean(optax.{fn_name}(log_p, t, axis))",
        )

    return adapter


def _ox_distillation(args, o):
    s, t = args[:2]
    temp = float(o.get("temperature", 1.0))
    flat = o.get("axis", -1) is None
    if not flat and o.get("axis", -1) not in (-1, np.ndim(s) - 1):
        return None

    def fn(s, t):
        if flat:
            s, t = s.reshape(1, -1), t.reshape(1, -1)
        kl = optax.losses.kl_divergence(
            jax.nn.log_softmax(s / temp, axis=-1), jax.nn.softmax(t / temp, axis=-1)
        )
        return temp**2 * jnp.mean(kl)

    return Peer(
        fn,
        (s, t),
        "composed: T² mean(optax.kl_divergence(log_softmax(s/T), softmax(t/T))) "
        "(flattened for axis=None)",
    )


def _ox_ctc(args, o):
    logits, labels, logit_pad, label_pad = args[:4]
    blank = int(o.get("blank", 0)) % logits.shape[-1]
    fn = optax.losses.ctc_loss
    return Peer(
        lambda x, lp, y, yp: jnp.mean(fn(x, lp, y, yp, blank_id=blank)),
        (logits, logit_pad, labels, label_pad),
        "mean(optax.ctc_loss(logits, logit_paddings, labels, label_paddings, blank_id))",
    )


def _ox_integer_labels(fn_name: str):
    def adapter(args, o):
        x, y = args[:2]
        if set(o) - {"axis"} or not _class_axis_last(x, o):
            return None
        fn = getattr(optax.losses, fn_name)
        return Peer(lambda x, y: jnp.mean(fn(x, y)), (x, y), f"mean(optax.{fn_name}(x, y))")

    return adapter


# Our name -> adapter(inputs, options) building optax's call (None: these options
# have no optax equivalent). Inputs are the catalogue sampler's, options fitted.
OPTAX: dict[str, Callable[..., Peer | None]] = {
    "softmax_cross_entropy_with_integer_labels": _ox_ce_int,
    "softmax_cross_entropy": _ox_ce,
    "poly_cross_entropy": _ox_poly,
    "sigmoid_binary_cross_entropy": _ox_sigmoid_bce,
    "sigmoid_focal": _ox_sigmoid_focal,
    "hinge": _ox_elementwise("hinge", "hinge_loss"),
    "perceptron": _ox_elementwise("perceptron", "perceptron_loss"),
    "multiclass_hinge": _ox_integer_labels("multiclass_hinge_loss"),
    "sparsemax": _ox_integer_labels("multiclass_sparsemax_loss"),
    "kl_divergence": _ox_divergence("kl_divergence"),
    "kl_divergence_with_log_targets": _ox_divergence("kl_divergence_with_log_targets"),
    "generalized_kl_divergence": _ox_divergence("generalized_kl_divergence"),
    "distillation": _ox_distillation,
    "ctc": _ox_ctc,
}


class TorchInputs:
    """Torch copies of the inputs (JAX or numpy arrays) on ``device``, made once per
    array and dtype and shared by a group's torch candidates (the headline's four
    variants share one copy of the logits)."""

    def __init__(self, device: str = "cpu"):
        self.device = device
        self._cache: dict[tuple[int, str], Any] = {}
        self._keep: list[Any] = []

    def __call__(self, a, dtype=None):
        key = (id(a), str(dtype))
        if key not in self._cache:
            arr = np.array(a, dtype=dtype)
            self._keep.append(a)  # keeps id(a) unique while cached
            self._cache[key] = torch.from_numpy(arr).to(self.device)
        return self._cache[key]


def _th_class_weights(tt, cw, classes):
    if cw is None:
        return None
    return tt(np.broadcast_to(np.asarray(cw, np.float32), (classes,)))


def _th_ce_int(tt, args, o):
    x, y = args[:2]
    if not _class_axis_last(x, o):
        return None
    cw, ii, ls, z = _ce_int_parts(o)
    weight = _th_class_weights(tt, cw, x.shape[-1])
    ignore = -100 if ii is None else int(ii)

    def fn(x, y):
        out = F.cross_entropy(x, y, weight=weight, ignore_index=ignore, label_smoothing=ls)
        if z:
            valid = y != ignore
            wy = valid.to(x.dtype) if weight is None else weight[y.clamp(min=0)] * valid
            lse = torch.logsumexp(x, dim=-1)
            out = out + z * torch.where(valid, lse * lse, 0).sum() / wy.sum()
        return out

    text = "F.cross_entropy(x, y, weight, ignore_index, label_smoothing)"
    if z:
        text += " + z·Σ logsumexp(x)² / Σ w_y (composed)"
    return Peer(fn, (tt(x), tt(y, np.int64)), text)


def _th_ce(tt, args, o):
    x, t = args[:2]
    if not _class_axis_last(x, o):
        return None
    ls = float(o.get("label_smoothing", 0.0))
    return Peer(
        lambda x, t: F.cross_entropy(x, t, label_smoothing=ls),
        (tt(x), tt(t)),
        "F.cross_entropy(x, probabilities, label_smoothing)",
    )


def _th_nll(tt, args, o):
    x, y = args[:2]
    if not _class_axis_last(x, o):
        return None
    weight = _th_class_weights(tt, o.get("class_weights"), x.shape[-1])
    ii = o.get("ignore_index")
    ignore = -100 if ii is None else int(ii)
    return Peer(
        lambda x, y: F.nll_loss(x, y, weight=weight, ignore_index=ignore),
        (tt(x), tt(y, np.int64)),
        "F.nll_loss(log_p, y, weight, ignore_index)",
    )


def _th_bce(tt, args, o):
    if o:
        return None
    return Peer(F.binary_cross_entropy, (tt(args[0]), tt(args[1])), "F.binary_cross_entropy(p, y)")


def _th_bce_logits(tt, args, o):
    ls = float(o.get("label_smoothing", 0.0))
    pw = o.get("pos_weight")
    pos_weight = None if pw is None else tt(np.asarray(pw, np.float32))

    def fn(x, y):
        if ls:
            y = y * (1 - ls) + ls / 2
        return F.binary_cross_entropy_with_logits(x, y, pos_weight=pos_weight)

    smooth = "y (1 − ε) + ε/2" if ls else "y"
    return Peer(
        fn,
        (tt(args[0]), tt(args[1])),
        f"F.binary_cross_entropy_with_logits(x, {smooth}, pos_weight)",
    )


def _th_soft_margin(tt, args, o):
    if o:
        return None
    return Peer(F.soft_margin_loss, (tt(args[0]), tt(args[1])), "F.soft_margin_loss(x, y)")


def _th_multilabel_soft_margin(tt, args, o):
    x, y = args[:2]
    if not _class_axis_last(x, o):
        return None
    weight = _th_class_weights(tt, o.get("class_weights"), x.shape[-1])
    return Peer(
        lambda x, y: F.multilabel_soft_margin_loss(x, y, weight=weight),
        (tt(x), tt(y)),
        "F.multilabel_soft_margin_loss(x, y, weight)",
    )


def _th_multi_margin(tt, args, o):
    x, y = args[:2]
    if not _class_axis_last(x, o) or o.get("ignore_index") is not None:
        return None
    weight = _th_class_weights(tt, o.get("class_weights"), x.shape[-1])
    p, margin = int(o.get("p", 1)), float(o.get("margin", 1.0))
    return Peer(
        lambda x, y: F.multi_margin_loss(x, y, p=p, margin=margin, weight=weight),
        (tt(x), tt(y, np.int64)),
        "F.multi_margin_loss(x, y, p, margin, weight)",
    )


def _th_multilabel_margin(tt, args, o):
    x, y = args[:2]
    if not _class_axis_last(x, o):
        return None
    return Peer(
        F.multilabel_margin_loss, (tt(x), tt(y, np.int64)), "F.multilabel_margin_loss(x, targets)"
    )


def _th_kl(log_target: bool):
    def adapter(tt, args, o):
        if set(o) - {"axis"} or np.ndim(args[0]) != 2:
            return None
        axis = o.get("axis", -1)
        if axis not in (-1, 1, None):
            return None
        red = "sum" if axis is None else "batchmean"
        return Peer(
            lambda a, b: F.kl_div(a, b, reduction=red, log_target=log_target),
            (tt(args[0]), tt(args[1])),
            f"F.kl_div(log_p, t, reduction={red!r}, log_target={log_target})",
        )

    return adapter


def _th_distillation(tt, args, o):
    s, t = args[:2]
    temp = float(o.get("temperature", 1.0))
    flat = o.get("axis", -1) is None
    if np.ndim(s) != 2 or (not flat and o.get("axis", -1) not in (-1, 1)):
        return None

    def fn(s, t):
        if flat:
            s, t = s.reshape(1, -1), t.reshape(1, -1)
        kl = F.kl_div(
            F.log_softmax(s / temp, dim=-1), F.softmax(t / temp, dim=-1), reduction="batchmean"
        )
        return temp**2 * kl

    return Peer(
        fn,
        (tt(s), tt(t)),
        "composed: T² F.kl_div(F.log_softmax(s/T), F.softmax(t/T), 'batchmean')",
    )


def _th_ctc(tt, args, o):
    logits, labels, logit_pad, label_pad = (np.asarray(a) for a in args[:4])
    b, t, k = logits.shape
    blank = int(o.get("blank", 0)) % k
    zero_inf = bool(o.get("zero_infinity", False))
    # Lengths from the (right-)paddings, outside the timed call.
    input_lengths = tt((t - logit_pad.sum(-1)).astype(np.int64))
    target_lengths = tt((labels.shape[-1] - label_pad.sum(-1)).astype(np.int64))

    def fn(x, y):
        lp = F.log_softmax(x, dim=-1).transpose(0, 1)
        total = F.ctc_loss(
            lp, y, input_lengths, target_lengths, blank=blank, reduction="sum",
            zero_infinity=zero_inf,
        )  # fmt: skip
        return total / b

    return Peer(
        fn,
        (tt(args[0]), tt(args[1], np.int64)),
        "F.ctc_loss(log_softmax(x).transpose(0, 1), y, lengths, blank, 'sum') / B",
    )


# Our name -> adapter(tensor_maker, inputs, options) building torch's mean loss
# (None: these options have no torch equivalent).
TORCH: dict[str, Callable[..., Peer | None]] = {
    "softmax_cross_entropy_with_integer_labels": _th_ce_int,
    "softmax_cross_entropy": _th_ce,
    "negative_log_likelihood": _th_nll,
    "binary_cross_entropy": _th_bce,
    "sigmoid_binary_cross_entropy": _th_bce_logits,
    "soft_margin": _th_soft_margin,
    "multilabel_soft_margin": _th_multilabel_soft_margin,
    "multi_margin": _th_multi_margin,
    "multilabel_margin": _th_multilabel_margin,
    "kl_divergence": _th_kl(False),
    "kl_divergence_with_log_targets": _th_kl(True),
    "distillation": _th_distillation,
    "ctc": _th_ctc,
}


# --- candidates and rows


@dataclass
class Candidate:
    """One timed function: ``call()`` runs one value-and-gradient step and blocks."""

    row: Row
    name: str
    call: Callable[[], Any]


@dataclass
class Row:
    """One (loss, option set) measurement."""

    section: str  # "headline" or "catalogue"
    loss: str
    label: str  # the option set as shown
    options: Mapping[str, Any]
    default: bool
    shapes: list[tuple[int, ...]]
    extra: bool = False  # an option set of EXTRA_OPTIONS, not of the catalogue
    times: dict[str, list[float]] = field(default_factory=dict)  # seconds per call
    temp_bytes: dict[str, int | None] = field(default_factory=dict)
    rss_bytes: dict[str, int | None] = field(default_factory=dict)  # RSS rise in the 1st call
    agreement: dict[str, dict[str, float]] = field(default_factory=dict)  # vs jaxloss
    peers: dict[str, str] = field(default_factory=dict)  # candidate -> call used
    skipped: dict[str, str] = field(default_factory=dict)  # candidate -> why no cell
    rss_mib: float | None = None  # process peak RSS after the row

    def median_ms(self, name: str) -> float | None:
        ts = self.times.get(name)
        return 1e3 * statistics.median(ts) if ts else None

    def ratio(self, name: str, mine: str = "jaxloss") -> float | None:
        """median(mine) / median(name), or None when either was not run."""
        a, b = self.median_ms(mine), self.median_ms(name)
        return None if a is None or b is None else a / b

    def paired(self, name: str, other: Row | None = None) -> list[float] | None:
        """Quartiles of the per-round ratios jaxloss / ``name`` (of ``other`` row)."""
        theirs = (other or self).times.get(name)
        mine = self.times.get("jaxloss")
        if not theirs or not mine:
            return None
        ratios = [a / b for a, b in zip(mine, theirs, strict=True)]
        return (
            statistics.quantiles(ratios, n=4, method="inclusive")
            if len(ratios) > 1
            else [ratios[0]] * 3
        )

    def misses(self, against: str) -> str | None:
        r = self.ratio(against)
        if r is None or round(r, 2) <= TARGET:
            return None
        note = f"{r:.2f}×"
        note += f", above the {LIMIT}× limit" if round(r, 2) > LIMIT else ", within the limit"
        return f"{note} (per-round median {self.paired(against)[1]:.2f}×)"


def _jax_candidate(fn: Callable[..., Any], args: tuple[Any, ...]):
    """``jit(value_and_grad(fn))`` w.r.t. the first argument, compiled; (call, temp bytes)."""
    jitted = jax.jit(jax.value_and_grad(fn, argnums=0))
    compiled = jitted.lower(*args).compile()
    analysis = compiled.memory_analysis()
    temp = None if analysis is None else int(analysis.temp_size_in_bytes)

    def call():
        return jax.block_until_ready(compiled(*args))

    return call, temp


def _torch_candidate(peer: Peer):
    x = peer.args[0]
    x.requires_grad_(True)
    sync = torch.cuda.synchronize if x.device.type == "cuda" else None

    def call():
        x.grad = None
        out = peer.fn(*peer.args)
        out.backward()
        if sync is not None:
            sync()
        return out.detach(), x.grad

    return call


def _as_numpy(out) -> tuple[float, np.ndarray]:
    value, grad = out
    if torch is not None and isinstance(grad, torch.Tensor):
        return float(value), grad.cpu().numpy()
    return float(value), np.asarray(grad)


def _agreement(out, ref) -> dict[str, float]:
    """Relative error of the value, and relative L2 error of the gradient, vs ``ref``."""
    (va, ga), (vb, gb) = _as_numpy(out), _as_numpy(ref)
    if ga.shape != gb.shape:
        return {"value_rel": math.nan, "grad_rel_l2": math.nan}
    value_rel = 0.0 if va == vb else abs(va - vb) / max(abs(vb), 1e-30)
    diff = float(np.linalg.norm((ga - gb).ravel()))
    norm = float(np.linalg.norm(gb.ravel()))
    grad_rel = 0.0 if diff == 0 else diff / max(norm, 1e-30)
    return {"value_rel": value_rel, "grad_rel_l2": grad_rel}


def _status_kib(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise OSError(f"no {key} in /proc/self/status")


def call_with_peak_rss(call: Callable[[], Any]) -> tuple[Any, int | None]:
    """``call()``, and how far the process's resident memory rose above its level
    before the call (bytes; the output included), or None where Linux's
    ``/proc/self/clear_refs`` (which resets the high-water mark) is unavailable.
    """
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        before = _status_kib("VmRSS")
    except OSError:
        return call(), None
    out = call()
    try:
        return out, max(0, _status_kib("VmHWM") - before) * 1024
    except OSError:
        return out, None


def _peak_rss_mib() -> float:
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024 if sys.platform != "darwin" else kib / 2**20


class Runner:
    """Builds, warms up, checks and times the candidates of one group of rows."""

    def __init__(self, rounds: int, torch_device: str | None):
        self.rounds = rounds
        self.torch_device = torch_device  # None: torch not timed
        self.warnings: list[str] = []

    def torch_inputs(self) -> TorchInputs | None:
        return None if self.torch_device is None else TorchInputs(self.torch_device)

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        print(f"warning: {message}", file=sys.stderr, flush=True)

    def _try(self, row: Row, name: str, build: Callable[[], tuple[Callable, int | None]]):
        """Build and warm up one candidate (two calls); None (and a warning) on failure."""
        try:
            call, temp = build()
            out, rss = call_with_peak_rss(call)
            call()
        except Exception as e:
            msg = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
            row.skipped[name] = f"failed: {msg}"
            self.warn(f"{row.loss} ({row.label}) {name}: {msg}")
            if os.environ.get("JAXLOSS_BENCH_TRACEBACK"):
                traceback.print_exc()
            return None, None
        row.temp_bytes[name] = temp
        row.rss_bytes[name] = rss
        return Candidate(row, name, call), out

    def add_row(
        self,
        row: Row,
        fn: Callable[..., Any],
        reference: Callable[..., Any] | None,
        args: tuple[Any, ...],
        options: Mapping[str, Any],
        optax_adapter: Callable[..., Peer | None] | None,
        torch_adapter: Callable[..., Peer | None] | None,
        tt: Any,
    ) -> list[Candidate]:
        """The row's candidates, built and warmed up, with agreement against jaxloss."""
        opts = {**options, "reduction": "mean"}
        cands: list[Candidate] = []
        mine, ref_out = self._try(
            row, "jaxloss", lambda: _jax_candidate(lambda *a: fn(*a, **opts), args)
        )
        if mine is None:
            return []
        cands.append(mine)

        def jax_peer(name, adapter):
            if adapter is None:
                row.skipped[name] = "no equivalent"
                return
            try:
                peer = adapter(args, options)
            except Exception as e:
                row.skipped[name] = f"adapter failed: {type(e).__name__}: {e}"
                self.warn(f"{row.loss} ({row.label}) {name} adapter: {type(e).__name__}: {e}")
                return
            if peer is None:
                row.skipped[name] = "no equivalent for these options"
                return
            cand, out = self._try(row, name, lambda: _jax_candidate(peer.fn, peer.args))
            if cand is not None:
                row.peers[name] = peer.text
                cands.append(cand)
                row.agreement[name] = _agreement(out, ref_out)

        if reference is not None:
            jax_peer(
                "reference",
                lambda a, o: Peer(
                    lambda *a: reference(*a, **opts), a, "jax.grad of jaxloss.reference"
                ),
            )
        else:
            row.skipped["reference"] = "no reference"
        jax_peer("optax", optax_adapter)

        if tt is None:
            row.skipped["torch"] = "torch not installed" if torch is None else "torch off"
        elif torch_adapter is None:
            row.skipped["torch"] = "no equivalent"
        else:
            try:
                peer = torch_adapter(tt, args, options)
            except Exception as e:
                peer = None
                row.skipped["torch"] = f"adapter failed: {type(e).__name__}: {e}"
                self.warn(f"{row.loss} ({row.label}) torch adapter: {type(e).__name__}: {e}")
            if peer is None:
                row.skipped.setdefault("torch", "no equivalent for these options")
            else:
                cand, out = self._try(row, "torch", lambda: (_torch_candidate(peer), None))
                if cand is not None:
                    row.peers["torch"] = peer.text
                    cands.append(cand)
                    row.agreement["torch"] = _agreement(out, ref_out)
        row.temp_bytes.setdefault("torch", None)
        return cands

    def time(self, cands: Sequence[Candidate], seed: str) -> None:
        """``rounds`` rounds, one call of each candidate per round in a shuffled order."""
        for c in cands:
            c.row.times[c.name] = []
        order = list(cands)
        rng = random.Random(seed)
        for _ in range(self.rounds):
            rng.shuffle(order)
            for c in order:
                start = time.perf_counter()
                c.call()
                c.row.times[c.name].append(time.perf_counter() - start)
        rss = _peak_rss_mib()
        for c in cands:
            c.row.rss_mib = rss


# --- the two sections


def _format_value(v: Any) -> str:
    if isinstance(v, np.ndarray | jax.Array | tuple | list):
        a = np.asarray(v).ravel()
        body = ", ".join(f"{x:g}" for x in a[:5]) + (", …" if a.size > 5 else "")
        return f"[{body}]"
    return f"{v}"


def format_options(opts: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={_format_value(v)}" for k, v in opts.items()) or "—"


def headline(runner: Runner, shape: tuple[int, int]) -> list[Row]:
    name = "softmax_cross_entropy_with_integer_labels"
    try:
        entry = catalogue.get(name)
    except KeyError:
        runner.warn(f"headline: no catalogue entry {name!r}; section skipped")
        return []
    x, y = sample(entry, 0, shape, {}, runner.warn)[:2]
    b, c = shape
    rng = np.random.default_rng(1)
    class_weights = rng.uniform(0.25, 2.0, c).astype(np.float32)
    y_ignored = jnp.where(jnp.asarray(rng.random(b) < 0.05), -100, y).astype(y.dtype)
    variants = (
        ("plain", {}, y),
        ("label_smoothing=0.1", {"label_smoothing": 0.1}, y),
        ("z_loss=1e-4", {"z_loss": 1e-4}, y),
        (
            "class_weights, ignore_index=-100 (5 %)",
            {"class_weights": class_weights, "ignore_index": -100},
            y_ignored,
        ),
    )
    tt = runner.torch_inputs()
    rows, cands = [], []
    for i, (label, opts, labels) in enumerate(variants):
        row = Row("headline", name, label, opts, i == 0, [tuple(x.shape), tuple(labels.shape)])
        built = runner.add_row(
            row, entry.fn, entry.reference, (x, labels), opts, OPTAX.get(name), TORCH.get(name), tt
        )
        if not built:
            runner.warn(f"headline ({label}): jaxloss failed, variant skipped")
            continue
        cands += built
        rows.append(row)
        print(f"headline {label}: built", file=sys.stderr, flush=True)
    runner.time(cands, f"headline{shape}")
    for row in rows:
        _progress(row)
    return rows


def catalogue_rows(
    runner: Runner, shape: tuple[int, ...], quick: bool, options: str, names: set[str] | None
) -> list[Row]:
    rows = []
    for entry in catalogue.ENTRIES:
        if entry.family not in FAMILIES or (names is not None and entry.name not in names):
            continue
        option_sets = list(entry.options)
        if options == "default":
            option_sets = option_sets[:1]
        own = len(option_sets)
        if options == "all":
            option_sets += [o for o in EXTRA_OPTIONS.get(entry.name, ()) if o not in option_sets]
        entry_shape = SHAPES.get(entry.name, (shape, shape))[1 if quick else 0]
        for i, raw in enumerate(option_sets):
            label = format_options(raw)
            try:
                args = sample(entry, 0, entry_shape, raw, runner.warn)
                opts = fit_options(raw, args[0].shape[-1])
            except Exception as e:
                runner.warn(f"{entry.name} ({label}): sampler failed: {type(e).__name__}: {e}")
                continue
            row = Row(
                "catalogue",
                entry.name,
                label,
                raw,
                i == 0,
                [tuple(np.shape(a)) for a in args],
                extra=i >= own,
            )
            tt = runner.torch_inputs()
            cands = runner.add_row(
                row,
                entry.fn,
                entry.reference,
                tuple(args),
                opts,
                OPTAX.get(entry.name),
                TORCH.get(entry.name),
                tt,
            )
            if not cands:
                runner.warn(f"{entry.name} ({label}): jaxloss failed, row skipped")
                continue
            runner.time(cands, f"{entry.name}{label}")
            rows.append(row)
            _progress(row)
            del cands, args, tt
    return rows


def _progress(row: Row) -> None:
    ratios = ", ".join(f"{n} {row.ratio(n):.2f}" for n in PEERS if row.ratio(n) is not None)
    print(
        f"{row.loss:42} {row.label[:40]:40} {row.median_ms('jaxloss'):8.2f} ms  vs {ratios}",
        file=sys.stderr,
        flush=True,
    )


# --- reporting


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True
        )
    except OSError:
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def machine() -> dict[str, Any]:
    model = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            model = next(
                (ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), model
            )
    except OSError:
        pass
    dev = jax.devices()[0]
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "cpu": model,
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": platform.python_version(),
        "jax": jax.__version__,
        "jaxlib": importlib.metadata.version("jaxlib"),
        "optax": optax.__version__,
        "torch": None if torch is None else torch.__version__,
        "torch_threads": None if torch is None else torch.get_num_threads(),
        "jaxloss": importlib.metadata.version("jaxloss"),
        "jaxloss_path": str(Path(jaxloss.__file__).resolve().parent),
        "git_commit": _git("rev-parse", "--short", "HEAD"),
        "git_dirty": _git("status", "--porcelain", "--", "jaxloss"),
        "backend": jax.default_backend(),
        "device": f"{dev.platform.upper()} backend ({jax.device_count()} x {dev.device_kind})",
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "loadavg_start": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "peak_rss_mib_start": _peak_rss_mib(),
    }


def _mib(b: int | None) -> str:
    if b is None:
        return "—"
    return "0" if b == 0 else f"{b / 2**20:.0f}" if b >= 2**20 else f"{b / 2**20:.2f}"


def _cell(r: float | None, limit: float = LIMIT, target: float | None = TARGET) -> str:
    if r is None:
        return "—"
    if r > limit:
        return f"**{r:.2f}**"
    if target is not None and r > target:
        return f"{r:.2f}*"
    return f"{r:.2f}"


def _temps(row: Row) -> str:
    return " / ".join(_mib(row.temp_bytes.get(n)) for n in ("jaxloss", "reference", "optax"))


def _rss(row: Row) -> str:
    return " / ".join(_mib(row.rss_bytes.get(n)) for n in CANDIDATES)


def _ms(v: float | None) -> str:
    return "—" if v is None else f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def _plain(rows: Sequence[Row]) -> Row | None:
    return next((r for r in rows if r.label == "plain"), None)


def _vs_plain(r: Row, plain: Row | None) -> float | None:
    """median(jaxloss of r) / median(jaxloss of plain CE)."""
    if plain is None:
        return None
    a, b = r.median_ms("jaxloss"), plain.median_ms("jaxloss")
    return None if a is None or b is None else a / b


def headline_table(rows: Sequence[Row]) -> str:
    plain = _plain(rows)
    lines = [
        "| variant | jaxloss ms | vs reference | vs optax | vs torch | vs plain CE "
        "| optax ms | torch ms | temp MiB jaxloss / reference / optax "
        "| RSS rise MiB jaxloss / reference / optax / torch |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        vs_plain = _vs_plain(r, plain)
        lines.append(
            f"| {r.label} | {_ms(r.median_ms('jaxloss'))} | {_cell(r.ratio('reference'))} "
            f"| {_cell(r.ratio('optax'))} | {_cell(r.ratio('torch'), math.inf, None)} "
            f"| {_cell(vs_plain, math.inf, None)} | {_ms(r.median_ms('optax'))} "
            f"| {_ms(r.median_ms('torch'))} "
            f"| {_temps(r)} | {_rss(r)} |"
        )
    return "\n".join(lines)


def headline_verdicts(rows: Sequence[Row]) -> list[str]:
    by = {r.label: r for r in rows}
    plain, smooth = by.get("plain"), by.get("label_smoothing=0.1")
    out = []

    def verdict(ok: bool | None) -> str:
        return "not measured" if ok is None else ("met" if ok else "**missed**")

    if plain is not None:
        r = plain.ratio("optax")
        out.append(
            f"- plain CE ≤ {TARGET}× optax: "
            + ("—" if r is None else f"{r:.2f}× ({verdict(round(r, 2) <= TARGET)})")
        )
    r = None if smooth is None else _vs_plain(smooth, plain)
    if plain is not None and smooth is not None and r is not None:
        q = smooth.paired("jaxloss", plain) or [math.nan] * 3
        out.append(
            f"- label smoothing ≤ {SMOOTHING_VS_PLAIN}× plain CE: {r:.2f}× "
            f"(per-round median {q[1]:.2f}×; {verdict(round(r, 2) <= SMOOTHING_VS_PLAIN)})"
        )
        r = smooth.ratio("optax")
        out.append(
            "- label smoothing below optax's one-hot route: "
            + ("—" if r is None else f"{r:.2f}× ({verdict(r < 1.0)})")
        )
        t = (smooth.temp_bytes.get("jaxloss"), smooth.temp_bytes.get("optax"))
        if None not in t:
            out.append(
                f"- temp memory with label smoothing: jaxloss {_mib(t[0])} MiB, "
                f"optax one-hot route {_mib(t[1])} MiB"
            )
    return out


def catalogue_table(rows: Sequence[Row]) -> str:
    lines = [
        "| loss | options | shape | jaxloss ms | vs reference | vs optax | vs torch "
        "| temp MiB jaxloss / reference / optax | RSS rise MiB jaxloss / reference / optax "
        "/ torch |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        label = r.label + ("" if r.default else " ‡" if r.extra else " †")
        shape = "×".join(str(d) for d in r.shapes[0])
        lines.append(
            f"| {r.loss} | {label} | {shape} | {_ms(r.median_ms('jaxloss'))} "
            f"| {_cell(r.ratio('reference'))} | {_cell(r.ratio('optax'))} "
            f"| {_cell(r.ratio('torch'), math.inf, None)} | {_temps(r)} | {_rss(r)} |"
        )
    return "\n".join(lines)


def paired_table(rows: Sequence[Row]) -> str:
    lines = [
        "| section | loss | options | vs reference | vs optax | vs torch |",
        "| --- | --- | --- | --- | --- | --- |",
    ]

    def cell(q: list[float] | None) -> str:
        return "—" if q is None else f"{q[1]:.2f} ({q[0]:.2f}–{q[2]:.2f})"

    for r in rows:
        lines.append(
            f"| {r.section} | {r.loss} | {r.label} | {cell(r.paired('reference'))} "
            f"| {cell(r.paired('optax'))} | {cell(r.paired('torch'))} |"
        )
    return "\n".join(lines)


def _row_name(r: Row) -> str:
    return f"headline CE ({r.label})" if r.section == "headline" else f"{r.loss} ({r.label})"


def _fmt_load(load) -> str:
    return "?" if load is None else " ".join(f"{x:.2f}" for x in load)


def _shape_text(shape: Sequence[int]) -> str:
    return "[" + ", ".join(f"{d:,}" for d in shape) + "]"


def report(
    head: Sequence[Row],
    rows: Sequence[Row],
    info: Mapping[str, Any],
    config: Mapping[str, Any],
    warnings: Sequence[str],
) -> str:
    dirty = " (jaxloss/ has uncommitted changes)" if info["git_dirty"] else ""
    out = [
        "# Classification, divergence and sequence losses: `jit(value_and_grad(mean loss))`",
        "",
        f"- Machine: {info['device']}, {info['cpu']}, {info['cpu_count']} CPUs "
        f"({info['cpus_usable']} usable), {info['platform']}, Python {info['python']}",
        f"- Versions: jax {info['jax']}, jaxlib {info['jaxlib']}, optax {info['optax']}, "
        f"torch {info.get('torch') or '(not installed)'} "
        f"({info.get('torch_device') or 'not timed'}, {info.get('torch_threads')} threads), "
        f"jaxloss {info['jaxloss']} at commit {info['git_commit']}{dirty}",
        f"- Date: {info['date']}; load average at start {_fmt_load(info['loadavg_start'])}, "
        f"at end {_fmt_load(info['loadavg_end'])}; whole run {info['wall_s']:.0f} s; "
        f"peak RSS {info['peak_rss_mib_end']:.0f} MiB; "
        f"XLA_FLAGS={info['xla_flags'] or '(unset)'}"
        + ("; **--quick (smoke test, not a measurement)**" if config["quick"] else ""),
        f"- Method: {config['rounds']} timed rounds after compiling and 2 warm-up calls each; "
        "one call of every candidate per round, in a seeded random order; median of each "
        "candidate, ratio = median(jaxloss) / median(other), < 1 means jaxloss is faster. "
        "Float32 inputs, gradient w.r.t. the first input (logits, scores, probabilities or "
        "log-predictions), mean reduction. torch: forward and `backward()` on CPU tensors "
        "holding the same values: informational.",
        f"- Targets (DESIGN §5): ≤ {TARGET}× reference and optax, none above {LIMIT}×; "
        f"integer-label CE with label smoothing ≤ {SMOOTHING_VS_PLAIN}× plain CE and below "
        "optax's one-hot route.",
        "- Memory: 'temp MiB' is the compiled temporary buffers "
        "(`compiled.memory_analysis().temp_size_in_bytes`, inputs and outputs excluded); "
        "'RSS rise' is how far the process's resident memory rose above its level before "
        "the candidate's first call (Linux high-water mark reset through "
        "`/proc/self/clear_refs`), outputs included, the only memory figure for torch; "
        "memory freed to a cache by an earlier call is not counted again. — : the "
        "candidate was not run (no equivalent: see Adapters).",
        "",
    ]
    if head:
        out += [
            "## Headline: integer-label softmax cross-entropy on "
            f"{_shape_text(config['headline_shape'])} float32",
            "",
            "All sixteen candidates timed in one interleaved pool. optax: "
            "`softmax_cross_entropy_with_integer_labels` (plain), the one-hot route "
            "`softmax_cross_entropy(x, smooth_labels(one_hot(y, C), 0.1))` (label smoothing), "
            "composed from optax calls for z-loss and class weights (see Adapters). "
            "'vs plain CE': median(this variant's jaxloss) / median(plain jaxloss).",
            "",
            headline_table(head),
            "",
            *headline_verdicts(head),
            "",
        ]
    if rows:
        out += [
            f"## Catalogue: families {', '.join(FAMILIES)}",
            "",
            f"Default shape {_shape_text(config['shape'])} (batch, classes); per-loss shapes "
            "in the shape column (ctc: batch × frames × classes; its labels are "
            f"{config['ctc_shape'][3]} long). Inputs from each entry's seeded sampler; "
            "per-class option arrays of the catalogue (written for 5 classes) tiled "
            "cyclically to C classes.",
            "",
            catalogue_table(rows),
            "",
            "`1.05*`: above the 1.0× target but within 1.1×; **bold**: above the 1.1× limit "
            "(reference and optax; torch is informational). † another option set of the "
            "catalogue entry (the first row of each loss is its first); ‡ an option set the "
            "script adds (`EXTRA_OPTIONS`).",
            "",
        ]
    every = [*head, *rows]
    out += ["## Misses", ""]
    for title, against in (
        ("Slower than the autodiff reference", "reference"),
        ("Slower than optax", "optax"),
    ):
        found = [(r, r.misses(against)) for r in every]
        found = [f"{_row_name(r)}: {m}" for r, m in found if m]
        out += [f"{title}:" if found else f"{title}: none.", *(f"- {f}" for f in found), ""]
    out += [
        "## Per-round ratios",
        "",
        "Median (and quartiles) over rounds of jaxloss's time divided by the other "
        "candidate's time in the same round; steadier than the ratio of medians when the "
        "machine's load shifts over seconds.",
        "",
        paired_table(every),
        "",
        "## Agreement with jaxloss",
        "",
        f"Each candidate's first output against jaxloss's: value relative error > {VALUE_TOL:g} "
        f"or gradient relative L2 error > {GRAD_TOL:g} is listed. For the reference this is a "
        "disagreement; for a peer it is a difference of convention (or an adapter that "
        "does not compute the same loss).",
        "",
    ]
    bad = [
        f"- {_row_name(r)} {n}: value {a['value_rel']:.1e}, gradient {a['grad_rel_l2']:.1e}"
        for r in every
        for n, a in r.agreement.items()
        if not (a["value_rel"] <= VALUE_TOL and a["grad_rel_l2"] <= GRAD_TOL)
    ]
    out += bad or ["All candidates agree."]
    out += ["", "## Adapters", "", "What each peer cell ran (per loss, first option set seen):", ""]
    seen: dict[tuple[str, str], set[str]] = {}
    for r in every:
        for n, text in r.peers.items():
            if n != "reference":
                seen.setdefault((r.loss, n), set()).add(text)
    out += [f"- {loss}, {n}: " + "; ".join(sorted(t)) for (loss, n), t in seen.items()]
    for n in PEERS:
        losses = sorted({r.loss for r in every if r.skipped.get(n) == "no equivalent"})
        if losses:
            out += ["", f"No {n} equivalent: {', '.join(losses)}."]
    partial = sorted(
        f"{_row_name(r)} {n}: {why}"
        for r in every
        for n, why in r.skipped.items()
        if why != "no equivalent"
    )
    if partial:
        out += ["", "Cells left empty:", "", *(f"- {x}" for x in partial)]
    if warnings:
        out += ["", "## Warnings", "", *(f"- {w}" for w in warnings)]
    return "\n".join(out) + "\n"


def _jsonable(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    if isinstance(x, np.ndarray | jax.Array):
        return _jsonable(np.asarray(x).tolist())
    if isinstance(x, np.generic):
        return _jsonable(x.item())
    if isinstance(x, Mapping):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple | set):
        return [_jsonable(v) for v in x]
    return x


def to_json(
    head: Sequence[Row],
    rows: Sequence[Row],
    info: Mapping[str, Any],
    config: Mapping[str, Any],
    warnings: Sequence[str],
) -> str:
    plain = _plain(head)

    def one(r: Row) -> dict[str, Any]:
        d = {
            "section": r.section,
            "loss": r.loss,
            "label": r.label,
            "options": r.options,
            "default_options": r.default,
            "shapes": r.shapes,
            "median_ms": {n: r.median_ms(n) for n in r.times},
            "ratio_vs": {n: r.ratio(n) for n in r.times if n != "jaxloss"},
            "per_round_ratio_quartiles_vs": {n: r.paired(n) for n in r.times if n != "jaxloss"},
            "temp_bytes": r.temp_bytes,
            "rss_rise_bytes_first_call": r.rss_bytes,
            "extra_options": r.extra,
            "agreement_with_jaxloss": r.agreement,
            "peers": r.peers,
            "skipped": r.skipped,
            "misses": {n: r.misses(n) for n in r.times if n != "jaxloss"},
            "peak_rss_mib_after": r.rss_mib,
            "times_ms": {n: [round(1e3 * t, 4) for t in ts] for n, ts in r.times.items()},
        }
        if r.section == "headline":
            d["ratio_vs_plain_ce"] = _vs_plain(r, plain)
        return d

    data = {
        "benchmark": "classification: jit(value_and_grad(mean loss)) time ratios",
        "machine": info,
        "config": config,
        "targets": {
            "vs_reference_and_optax": TARGET,
            "vs_reference_and_optax_limit": LIMIT,
            "label_smoothing_vs_plain_ce": SMOOTHING_VS_PLAIN,
        },
        "headline": [one(r) for r in head],
        "rows": [one(r) for r in rows],
        "warnings": list(warnings),
    }
    return json.dumps(_jsonable(data), indent=1) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="tiny shapes and 3 rounds (a smoke test)"
    )
    parser.add_argument("--rounds", type=int, help=f"timed rounds (default {ROUNDS}; quick 3)")
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        help="catalogue names to run, and/or 'headline' (default: everything)",
    )
    parser.add_argument("--headline-shape", type=int, nargs=2, metavar=("B", "C"))
    parser.add_argument("--shape", type=int, nargs=2, metavar=("B", "C"))
    parser.add_argument(
        "--options",
        choices=("all", "default"),
        default="all",
        help="every catalogue option set (plus EXTRA_OPTIONS), or only the first",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent / "results",
        help="directory for classification_<suffix>.md and .json ('-' to write nothing)",
    )
    parser.add_argument(
        "--device-suffix", help="file name suffix (default: the JAX backend, e.g. cpu, gpu)"
    )
    parser.add_argument(
        "--torch",
        choices=("auto", "cpu", "cuda", "off"),
        default="auto",
        help="where torch runs (auto: cpu on JAX's CPU backend, cuda on GPU when torch has it, "
        "else off)",
    )
    parser.add_argument(
        "--torch-threads", type=int, help="torch.set_num_threads (default: the usable CPUs)"
    )
    args = parser.parse_args(argv)

    known = [e.name for e in catalogue.ENTRIES if e.family in FAMILIES]
    names = None
    run_headline = True
    if args.only:
        unknown = sorted(set(args.only) - {*known, "headline"})
        if unknown:
            parser.error(f"unknown names {unknown}; known: headline, {', '.join(known)}")
        run_headline = "headline" in args.only
        names = set(args.only) - {"headline"}
    rounds = args.rounds or (QUICK_ROUNDS if args.quick else ROUNDS)
    if rounds < 1:
        parser.error("--rounds must be at least 1")
    head_shape = tuple(
        args.headline_shape or (QUICK_HEADLINE_SHAPE if args.quick else HEADLINE_SHAPE)
    )
    shape = tuple(args.shape or (QUICK_SHAPE if args.quick else SHAPE))
    if torch is not None:
        usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
        torch.set_num_threads(args.torch_threads or usable or os.cpu_count() or 1)

    info = machine()
    torch_device = None if torch is None or args.torch == "off" else args.torch
    pending = []
    if torch_device == "auto":
        if info["backend"] == "cpu":
            torch_device = "cpu"
        elif torch.cuda.is_available():
            torch_device = "cuda"
        else:
            torch_device = None
            pending.append(
                f"torch not timed: JAX runs on {info['backend']} and this torch has no CUDA "
                "(--torch cpu times it on the CPU anyway)"
            )
    info["torch_device"] = torch_device
    config = {
        "quick": args.quick,
        "rounds": rounds,
        "headline_shape": head_shape,
        "shape": shape,
        "ctc_shape": SHAPES["ctc"][1 if args.quick else 0],
        "shapes_by_name": {k: v[1 if args.quick else 0] for k, v in SHAPES.items()},
        "options": args.options,
        "only": args.only,
        "dtype": "float32",
        "argnums": "first input",
    }
    runner = Runner(rounds, torch_device)
    for message in pending:
        runner.warn(message)
    start = time.perf_counter()
    head = headline(runner, head_shape) if run_headline else []
    rows = catalogue_rows(runner, shape, args.quick, args.options, names) if names != set() else []
    info["wall_s"] = time.perf_counter() - start
    info["loadavg_end"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    info["peak_rss_mib_end"] = _peak_rss_mib()

    text = report(head, rows, info, config, runner.warnings)
    print(text)
    if str(args.out) != "-":
        args.out.mkdir(parents=True, exist_ok=True)
        stem = args.out / f"classification_{args.device_suffix or info['backend']}"
        stem.with_suffix(".md").write_text(text)
        stem.with_suffix(".json").write_text(to_json(head, rows, info, config, runner.warnings))
        print(f"wrote {stem}.md and {stem}.json", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
