"""Classification, divergence and sequence losses: time of ``jit(value_and_grad(mean loss))``.

Three sections, one run:

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
2. **In a step**: the same loss on logits computed inside the timed program,
   ``mean CE(h @ W, y)`` differentiated with respect to ``W`` (``[4096, 256] @ [256,
   1024]``, ``--step-shape``), plain and with ``label_smoothing=0.1``, against the same
   three peers on the same ``h @ W``. Here the loss's [N, C] buffers are
   intermediates of a larger XLA program, as in a training step, rather than the
   program's inputs and outputs; a rule that writes fewer of them is measured as it
   runs in training.
3. **Catalogue**: every entry of ``jaxloss.catalogue`` whose family is
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
    python benchmarks/classification.py --only headline step sparsemax ctc --rounds 10

Results go to ``<out>/classification_<suffix>.md`` and ``.json`` (``<suffix>`` is the
JAX backend unless ``--device-suffix`` is given).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from _common import (
    LIMIT,
    TARGET,
    F,
    OwnSampler,
    Peer,
    Row,
    Runner,
    Suite,
    add_common_arguments,
    catalogue_rows,
    catalogue_table,
    cell,
    dumps,
    finish_machine,
    machine,
    machine_lines,
    mib,
    ms,
    progress,
    row_json,
    rss,
    sample,
    set_torch_threads,
    setup_torch,
    shape_text,
    tail_sections,
    temps,
    torch,
    write_results,
)

from jaxloss import catalogue

FAMILIES = ("classification", "divergence", "sequence")

# The project's targets: every loss at most 1.0x its autodiff reference and its optax
# equivalent (none above 1.1x: TARGET and LIMIT of _common); integer-label CE with
# label smoothing within 1.1x plain integer-label CE and faster than optax's
# one-hot route.
SMOOTHING_VS_PLAIN = 1.1

HEADLINE_SHAPE = (4096, 32768)
SHAPE = (4096, 1024)
QUICK_HEADLINE_SHAPE = (64, 1000)
STEP_SHAPE = (4096, 256, 1024)  # tokens, hidden size, classes
QUICK_STEP_SHAPE = (64, 16, 100)
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
SAMPLE_ROWS_BY_NAME = {"multilabel_margin": 32}

# Option sets timed besides the catalogue's own (with --options all).
EXTRA_OPTIONS: dict[str, tuple[dict[str, Any], ...]] = {
    "softmax_cross_entropy_with_integer_labels": ({"label_smoothing": 0.1}, {"z_loss": 1e-4}),
}


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
# their dtypes and ranks) and dropped with a warning if that changed; the
# catalogue's ctc sampler reads (B, T, K, N) as (B, K).
SAMPLERS: dict[str, OwnSampler] = {
    "ctc": OwnSampler(
        _ctc_inputs,
        SHAPES["ctc"][1],
        lambda s: (s[0], s[2]) if len(s) == 4 else s,
    )
}


# --- peers: optax (JAX functions, differentiated like jaxloss) and torch


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

SUITE = Suite(
    FAMILIES,
    optax=OPTAX,
    torch=TORCH,
    shapes=SHAPES,
    samplers=SAMPLERS,
    sample_rows=SAMPLE_ROWS_BY_NAME,
    extra_options=EXTRA_OPTIONS,
)


# --- the headline section


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
    specs = [
        (
            Row("headline", name, label, opts, i == 0, [tuple(x.shape), tuple(labels.shape)]),
            entry.fn,
            entry.reference,
            (x, labels),
            OPTAX.get(name),
            TORCH.get(name),
        )
        for i, (label, opts, labels) in enumerate(variants)
    ]
    return _timed_section(runner, specs, f"headline{shape}")


def _timed_section(runner: Runner, specs, seed: str) -> list[Row]:
    """Builds each ``(row, fn, reference, args, optax adapter, torch adapter)`` of a
    section (``row.options`` the option set) and times all their candidates in one
    interleaved pool, so the section's variants compare with each other."""
    tt = runner.torch_inputs()
    rows, cands = [], []
    for row, fn, reference, args, optax_adapter, torch_adapter in specs:
        built = runner.add_row(
            row, fn, reference, args, row.options, optax_adapter, torch_adapter, tt
        )
        if not built:
            runner.warn(f"{row.section} ({row.label}): jaxloss failed, variant skipped")
            continue
        cands += built
        rows.append(row)
        print(f"{row.section} {row.label}: built", file=sys.stderr, flush=True)
    runner.time(cands, seed)
    for row in rows:
        progress(row)
    return rows


# --- the in-a-step section


def _on_matmul(peer: Peer | None, w, h, y) -> Peer | None:
    """A peer on (x, y) turned into one on (W, h, y) with x = h @ W."""
    if peer is None:
        return None
    fn = peer.fn
    return Peer(lambda w, h, y: fn(h @ w, y), (w, h, y), f"{peer.text} with x = h @ W")


def in_step(runner: Runner, shape: tuple[int, int, int]) -> list[Row]:
    """Integer-label CE of ``h @ W``, differentiated w.r.t. ``W`` in one program."""
    name = "softmax_cross_entropy_with_integer_labels"
    try:
        entry = catalogue.get(name)
    except KeyError:
        runner.warn(f"step: no catalogue entry {name!r}; section skipped")
        return []
    n, d, c = shape
    rng = np.random.default_rng(2)
    h = jnp.asarray(rng.standard_normal((n, d)).astype(np.float32))
    w = jnp.asarray((rng.standard_normal((d, c)) / np.sqrt(d)).astype(np.float32))
    y = jnp.asarray(rng.integers(0, c, n).astype(np.int32))
    x = h @ w  # for the adapters, which read shapes and options from it

    def optax_peer(args, o):
        return _on_matmul(OPTAX[name]((x, y), o), *args)

    def torch_peer(tt, args, o):
        peer = TORCH[name](tt, (x, y), o)
        return None if peer is None else _on_matmul(peer, tt(w), tt(h), peer.args[1])

    specs = [
        (
            Row("step", name, label, opts, i == 0, [(d, c), (n, d), (n,)]),
            lambda w, h, y, **o: entry.fn(h @ w, y, **o),
            lambda w, h, y, **o: entry.reference(h @ w, y, **o),
            (w, h, y),
            optax_peer if name in OPTAX else None,
            torch_peer if name in TORCH else None,
        )
        for i, (label, opts) in enumerate(
            (("plain", {}), ("label_smoothing=0.1", {"label_smoothing": 0.1}))
        )
    ]
    return _timed_section(runner, specs, f"step{shape}")


# --- reporting


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
            f"| {r.label} | {ms(r.median_ms('jaxloss'))} | {cell(r.ratio('reference'))} "
            f"| {cell(r.ratio('optax'))} | {cell(r.ratio('torch'), math.inf, None)} "
            f"| {cell(vs_plain, math.inf, None)} | {ms(r.median_ms('optax'))} "
            f"| {ms(r.median_ms('torch'))} "
            f"| {temps(r)} | {rss(r)} |"
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
                f"- temp memory with label smoothing: jaxloss {mib(t[0])} MiB, "
                f"optax one-hot route {mib(t[1])} MiB"
            )
    return out


def _row_name(r: Row) -> str:
    if r.section in ("headline", "step"):
        return f"{r.section} CE ({r.label})"
    return f"{r.loss} ({r.label})"


def report(
    head: Sequence[Row],
    step: Sequence[Row],
    rows: Sequence[Row],
    info: Mapping[str, Any],
    config: Mapping[str, Any],
    warnings: Sequence[str],
) -> str:
    lines = machine_lines(info)
    if config["quick"]:
        lines[-1] += "; **--quick (smoke test, not a measurement)**"
    out = [
        "# Classification, divergence and sequence losses: `jit(value_and_grad(mean loss))`",
        "",
        *lines,
        f"- Method: {config['rounds']} timed rounds after compiling and 2 warm-up calls each; "
        "one call of every candidate per round, in a seeded random order; median of each "
        "candidate, ratio = median(jaxloss) / median(other), < 1 means jaxloss is faster. "
        "Float32 inputs, gradient w.r.t. the first input (logits, scores, probabilities or "
        "log-predictions), mean reduction. torch: forward and `backward()` on CPU tensors "
        "holding the same values: informational.",
        f"- Targets: ≤ {TARGET}× reference and optax, none above {LIMIT}×; "
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
            f"{shape_text(config['headline_shape'])} float32",
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
    if step:
        n, d, c = config["step_shape"]
        out += [
            "## In a step: integer-label cross-entropy of `h @ W`",
            "",
            f"`mean CE(h @ W, y)` with h [{n:,}, {d:,}], W [{d:,}, {c:,}], differentiated "
            "w.r.t. W; every candidate computes the logits and their gradient in its own "
            "program (optax and torch as in the headline, on the same `h @ W`). The "
            "loss's [N, C] buffers are intermediates of the program, as in a training "
            "step, rather than its inputs and outputs. 'vs plain CE' as in the headline, "
            "within this section's pool.",
            "",
            headline_table(step),
            "",
        ]
    if rows:
        out += [
            f"## Catalogue: families {', '.join(FAMILIES)}",
            "",
            f"Default shape {shape_text(config['shape'])} (batch, classes); per-loss shapes "
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
    out += tail_sections([*head, *step, *rows], warnings, _row_name)
    return "\n".join(out) + "\n"


def to_json(
    head: Sequence[Row],
    step: Sequence[Row],
    rows: Sequence[Row],
    info: Mapping[str, Any],
    config: Mapping[str, Any],
    warnings: Sequence[str],
) -> str:
    plain = _plain(head)

    def one(r: Row) -> dict[str, Any]:
        d = row_json(r)
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
        "step": [one(r) for r in step],
        "rows": [one(r) for r in rows],
        "warnings": list(warnings),
    }
    return dumps(data)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser, "classification", ROUNDS)
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        help="catalogue names to run, and/or 'headline', 'step' (default: everything)",
    )
    parser.add_argument("--headline-shape", type=int, nargs=2, metavar=("B", "C"))
    parser.add_argument("--step-shape", type=int, nargs=3, metavar=("N", "D", "C"))
    parser.add_argument("--shape", type=int, nargs=2, metavar=("B", "C"))
    args = parser.parse_args(argv)

    known = [e.name for e in SUITE.entries()]
    names = None
    run_headline = run_step = True
    if args.only:
        unknown = sorted(set(args.only) - {*known, "headline", "step"})
        if unknown:
            parser.error(f"unknown names {unknown}; known: headline, step, {', '.join(known)}")
        run_headline, run_step = "headline" in args.only, "step" in args.only
        names = set(args.only) - {"headline", "step"}
    rounds = args.rounds or (QUICK_ROUNDS if args.quick else ROUNDS)
    if rounds < 1:
        parser.error("--rounds must be at least 1")
    head_shape = tuple(
        args.headline_shape or (QUICK_HEADLINE_SHAPE if args.quick else HEADLINE_SHAPE)
    )
    step_shape = tuple(args.step_shape or (QUICK_STEP_SHAPE if args.quick else STEP_SHAPE))
    shape = tuple(args.shape or (QUICK_SHAPE if args.quick else SHAPE))
    set_torch_threads(args)

    info = machine()
    torch_device, pending = setup_torch(args, info)
    config = {
        "quick": args.quick,
        "rounds": rounds,
        "headline_shape": head_shape,
        "step_shape": step_shape,
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
    step = in_step(runner, step_shape) if run_step else []
    rows = (
        catalogue_rows(runner, SUITE, shape, args.quick, args.options, names)
        if names != set()
        else []
    )
    finish_machine(info, start)

    text = report(head, step, rows, info, config, runner.warnings)
    suffix = args.device_suffix or info["backend"]
    write_results(
        args.out,
        f"classification_{suffix}",
        text,
        to_json(head, step, rows, info, config, runner.warnings),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
