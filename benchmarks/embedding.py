"""Embedding, contrastive, ranking, segmentation and detection losses: time and memory.

Two sections, one run:

1. **Catalogue**: every entry of ``jaxloss.catalogue`` whose family is
   ``embedding``, ``contrastive``, ``ranking``, ``segmentation`` or ``detection``
   (whatever exists when the script runs), for each of its option sets, on the
   entry's own seeded sampler at a shape per family (``FAMILY_SHAPES``: pairs and
   triplets of ``[4096, 256]`` embeddings, ``[4096, 64]`` ranking lists,
   ``[16, 128, 128, 4]`` segmentation masks, ``[1,048,576, 4]`` boxes; per-loss
   overrides in ``SHAPES``), against ``jax.grad`` of ``entry.reference`` and the
   optax and torch equivalents of the adapter tables ``OPTAX`` and ``TORCH``.
2. **Mining**: the in-batch losses (``batch_hard_triplet``, ``batch_all_triplet``,
   ``supervised_contrastive``, ``ntxent``, ``npairs``, ``circle``, ``info_nce``,
   ``sigmoid_pairwise``) on one batch of ``4096 × 256`` embeddings (``--mining-batch``)
   with labels from ``B / 8`` classes: time and compiled temporary memory against
   the reference (and optax's ``ntxent``). A reference whose compiled temporaries
   exceed ``--max-temp-gib`` (``batch_all_triplet``'s ``[B, B, B]`` triplets) is
   compiled, its memory reported, but not run; such a loss gets a second row at the
   largest batch of ``MINING_FALLBACK`` where its reference fits, and so does a loss
   whose optax peer is over the budget (``ntxent``'s ``[B, B, D]`` differences).

Every JAX candidate is ``jax.jit(jax.value_and_grad(lambda x, *rest: mean loss))``,
differentiated with respect to the first input, compiled ahead of time (its
``memory_analysis().temp_size_in_bytes`` is reported) and warmed up twice; the first
output of each candidate is compared with jaxloss's (value and gradient). Timed
calls run round-robin, one call of each candidate per round in a freshly shuffled
seeded order; the report gives medians, ratios of medians and quartiles of the
per-round ratios (the machinery of ``_common.py``).

Usage::

    python benchmarks/embedding.py                  # full run, writes benchmarks/results/
    python benchmarks/embedding.py --quick --out -  # smoke test: tiny shapes, 3 rounds
    python benchmarks/embedding.py --only mining dice triplet_margin --rounds 10

Results go to ``<out>/embedding_<suffix>.md`` and ``.json`` (``<suffix>`` is the JAX
backend unless ``--device-suffix`` is given).
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
    dumps,
    finish_machine,
    high_load,
    machine,
    machine_lines,
    progress,
    row_json,
    set_torch_threads,
    setup_torch,
    shape_text,
    tail_sections,
    write_results,
)

from jaxloss import catalogue

FAMILIES = ("embedding", "contrastive", "ranking", "segmentation", "detection")

ROUNDS = 20
MINING_ROUNDS = 10  # the in-batch losses at 4096 take up to seconds per call
QUICK_ROUNDS = 3

# Input shape per family, (full run, --quick), as each family's catalogue sampler
# reads it: embedding (batch, features); ranking (lists, list size); segmentation
# (images, pixels) for lovasz_hinge, which adds an axis of 4 (16 images of 4096 × 4
# = 128 × 128 pixels); detection (boxes, 4).
FAMILY_SHAPES: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "embedding": ((4096, 256), (64, 16)),
    "contrastive": ((4096, 256), (64, 16)),
    "ranking": ((4096, 64), (32, 8)),
    "segmentation": ((16, 4096), (2, 16)),
    "detection": ((1_048_576, 4), (256, 4)),
}

_OVERLAP = ("dice", "generalized_dice", "tversky", "focal_tversky", "jaccard")
_GROUPED = ("batch_hard_triplet", "batch_all_triplet", "npairs", "circle")
_TWO_BATCHES = ("ntxent", "supervised_contrastive", "info_nce", "sigmoid_pairwise")

# Per-loss shapes replacing the family's. The overlap losses run on this script's
# [images, height, width, classes] masks; the catalogue samplers of the in-batch
# losses draw [batch, 8, features] groups (embedding) or two batches [2, N, features]
# (contrastive): 1024 of them here, the mining section times one batch of 4096.
SHAPES: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    **{name: ((16, 128, 128, 4), (2, 8, 8, 4)) for name in _OVERLAP},
    **{name: ((1024, 256), (16, 8)) for name in _GROUPED + _TWO_BATCHES},
    "additive_angular_margin": ((4096, 1024), (32, 10)),
}

# Rows per catalogue-sampler call (the box sampler draws 16 candidates per pair).
SAMPLE_ROWS = {"giou": 1 << 16, "diou": 1 << 16, "ciou": 1 << 16}

MINING_BATCH = (4096, 256)
QUICK_MINING_BATCH = (64, 16)
# Batches tried for a reference over the budget: the references that exceed it at
# 4096 ([B, B, D] differences, [B, B, B] triplets) take seconds per call at 1024.
MINING_FALLBACK = (512, 256)
QUICK_MINING_FALLBACK = (32, 16)
MAX_TEMP_GIB = 4.0
EXAMPLES_PER_CLASS = 8


# --- inputs


def _masks(seed: int, shape: tuple[int, ...], options: Mapping[str, Any]):
    """``(predictions [B, H, W, C], one-hot targets [B, H, W, C])``: logits (or, with
    ``apply_softmax=False``, probabilities in [0.05, 0.95] as the catalogue's) and
    labels drawn uniformly over the C classes."""
    kz, ky = jax.random.split(jax.random.key(seed))
    classes = shape[-1]
    labels = jax.random.randint(ky, shape[:-1], 0, classes)
    targets = jax.nn.one_hot(labels, classes, dtype=jnp.float32)
    if options.get("apply_softmax", True):
        return 1.5 * jax.random.normal(kz, shape, jnp.float32), targets
    return jax.random.uniform(kz, shape, jnp.float32, 0.05, 0.95), targets


def _kinds(args) -> list[str]:
    return [jnp.dtype(a.dtype).kind for a in args]


# The overlap losses' catalogue sampler reads (images, pixels) and adds 3 classes;
# this one draws 2-D images with the classes of the shape. Used while the catalogue
# sampler returns the same number of inputs of the same dtype kinds.
SAMPLERS: dict[str, OwnSampler] = {
    name: OwnSampler(
        _masks,
        SHAPES[name][1],
        lambda s: (s[0], math.prod(s[1:-1])) if len(s) == 4 else s,
        _kinds,
    )
    for name in _OVERLAP
}


# --- peers: optax (JAX functions, differentiated like jaxloss) and torch


def _only(o: Mapping[str, Any], *keys: str) -> bool:
    """Whether every option set in ``o`` is one of ``keys``."""
    return not set(o) - set(keys)


def _ox_cosine(fn_name: str):
    def adapter(args, o):
        if not _only(o, "epsilon", "axis"):
            return None
        fn = getattr(optax.losses, fn_name)
        kw = {k: o[k] for k in ("epsilon", "axis") if k in o}
        shown = "".join(f", {k}" for k in kw)
        return Peer(
            lambda a, b: jnp.mean(fn(a, b, **kw)), args[:2], f"mean(optax.{fn_name}(a, b{shown}))"
        )

    return adapter


def _ox_triplet(args, o):
    if float(o.get("norm_degree", 2.0)) != 2.0 or o.get("swap", False):
        return None  # optax's power form has no absolute value: only p = 2 is the same loss
    margin, eps = float(o.get("margin", 1.0)), float(o.get("eps", 1e-6))
    fn = optax.losses.triplet_margin_loss
    return Peer(
        lambda a, p, n: jnp.mean(fn(a, p, n, norm_degree=2, margin=margin, eps=eps)),
        args[:3],
        "mean(optax.triplet_margin_loss(a, p, n, norm_degree=2, margin, eps)) "
        "(eps added to the squared distance, PyTorch's and jaxloss's to the difference)",
    )


def _ox_ntxent(args, o):
    if o:
        return None
    e, y, tau = args[:3]
    fn = optax.losses.ntxent
    if np.ndim(e) == 2:
        return Peer(lambda e, y, t: fn(e, y, t), (e, y, tau), "optax.ntxent(e, y, τ)")
    # Independent batches: optax's per-batch mean weighted by its positive pairs
    # (jaxloss's mean divides the total by all positive pairs).
    yy = np.asarray(y)
    pairs = (yy[..., :, None] == yy[..., None, :]).sum(axis=(-2, -1)) - yy.shape[-1]
    w = jnp.asarray(pairs.reshape(-1) / max(pairs.sum(), 1), jnp.float32)
    flat = (e.reshape(-1, *e.shape[-2:]), y.reshape(-1, y.shape[-1]), jnp.reshape(tau, -1))

    def batched(e, y, t):
        return jnp.sum(w * jax.vmap(fn)(e, y, t))

    return Peer(
        batched,
        flat,
        "Σ_g w_g optax.ntxent(e_g, y_g, τ_g), w_g = positive pairs of batch g / all",
    )


def _ox_overlap(alpha_beta: bool):
    def adapter(args, o):
        if not o.get("apply_softmax", True):
            return None  # optax checks concretely that probabilities sum to 1: no jit
        if not _only(o, "class_weights", "smooth", "ignore_background", "alpha", "beta"):
            return None
        kw = {k: o[k] for k in ("class_weights", "smooth", "ignore_background") if k in o}
        if "class_weights" in kw:
            kw["class_weights"] = jnp.asarray(kw["class_weights"], jnp.float32)
        if alpha_beta:
            kw["alpha"], kw["beta"] = float(o.get("alpha", 0.5)), float(o.get("beta", 0.5))
        fn = optax.losses.dice_loss
        shown = "".join(f", {k}" for k in kw)
        return Peer(
            lambda p, t: jnp.mean(fn(p, t, **kw)),
            args[:2],
            f"mean(optax.dice_loss(logits, targets{shown}))",
        )

    return adapter


def _ox_generalized_dice(args, o):
    if not o.get("apply_softmax", True) or not _only(o, "smooth", "ignore_background"):
        return None
    kw = {k: o[k] for k in ("smooth", "ignore_background") if k in o}
    fn = optax.losses.multiclass_generalized_dice_loss
    return Peer(
        lambda p, t: fn(p, t, **kw),
        args[:2],
        "optax.multiclass_generalized_dice_loss(logits, targets, smooth, ignore_background)",
    )


def _ox_ranking_softmax(args, o):
    if o:
        return None
    fn = optax.losses.ranking_softmax_loss
    return Peer(
        lambda s, y: fn(s, y, reduce_fn=jnp.mean),
        args[:2],
        "optax.ranking_softmax_loss(scores, labels, reduce_fn=jnp.mean)",
    )


# Our name -> adapter(inputs, options) building optax's mean loss (None: these
# options have no optax equivalent). Inputs are the sampler's, options fitted.
OPTAX: dict[str, Callable[..., Peer | None]] = {
    "cosine_similarity": _ox_cosine("cosine_similarity"),
    "cosine_distance": _ox_cosine("cosine_distance"),
    "triplet_margin": _ox_triplet,
    "ntxent": _ox_ntxent,
    "dice": _ox_overlap(False),
    "tversky": _ox_overlap(True),
    "generalized_dice": _ox_generalized_dice,
    "ranking_softmax": _ox_ranking_softmax,
}


def _th_cosine_embedding(tt, args, o):
    if not _only(o, "margin"):
        return None
    margin = float(o.get("margin", 0.0))
    return Peer(
        lambda a, b, y: F.cosine_embedding_loss(a, b, y, margin=margin),
        (tt(args[0]), tt(args[1]), tt(args[2], np.float32)),
        "F.cosine_embedding_loss(x1, x2, y, margin)",
    )


def _th_triplet(tt, args, o):
    if not _only(o, "margin", "norm_degree", "eps", "swap"):
        return None
    kw = {
        "margin": float(o.get("margin", 1.0)),
        "p": float(o.get("norm_degree", 2.0)),
        "eps": float(o.get("eps", 1e-6)),
        "swap": bool(o.get("swap", False)),
    }
    return Peer(
        lambda a, p, n: F.triplet_margin_loss(a, p, n, **kw),
        tuple(tt(a) for a in args[:3]),
        "F.triplet_margin_loss(a, p, n, margin, p=norm_degree, eps, swap)",
    )


def _th_triplet_distance(tt, args, o):
    if o.get("distance") is not None or not _only(o, "margin", "swap", "distance"):
        return None  # a JAX distance callable has no torch counterpart here
    margin, swap = float(o.get("margin", 1.0)), bool(o.get("swap", False))
    return Peer(
        lambda a, p, n: F.triplet_margin_with_distance_loss(a, p, n, margin=margin, swap=swap),
        tuple(tt(a) for a in args[:3]),
        "F.triplet_margin_with_distance_loss(a, p, n, margin, swap) (pairwise_distance)",
    )


def _th_margin_ranking(tt, args, o):
    if not _only(o, "margin"):
        return None
    margin = float(o.get("margin", 0.0))
    return Peer(
        lambda a, b, y: F.margin_ranking_loss(a, b, y, margin=margin),
        (tt(args[0]), tt(args[1]), tt(args[2], np.float32)),
        "F.margin_ranking_loss(x1, x2, y, margin)",
    )


def _th_hinge_embedding(tt, args, o):
    if not _only(o, "margin"):
        return None
    margin = float(o.get("margin", 1.0))
    return Peer(
        lambda x, y: F.hinge_embedding_loss(x, y, margin=margin),
        (tt(args[0]), tt(args[1], np.float32)),
        "F.hinge_embedding_loss(x, y, margin)",
    )


# Our name -> adapter(tensor_maker, inputs, options) building torch's mean loss.
TORCH: dict[str, Callable[..., Peer | None]] = {
    "cosine_embedding": _th_cosine_embedding,
    "triplet_margin": _th_triplet,
    "triplet_margin_with_distance": _th_triplet_distance,
    "margin_ranking": _th_margin_ranking,
    "hinge_embedding": _th_hinge_embedding,
}

SUITE = Suite(
    FAMILIES,
    optax=OPTAX,
    torch=TORCH,
    shapes=SHAPES,
    samplers=SAMPLERS,
    sample_rows=SAMPLE_ROWS,
    default_shapes=FAMILY_SHAPES,
)


# --- the mining section


def _labelled(seed: int, b: int, d: int, unit: bool = False):
    ke, ky = jax.random.split(jax.random.key(seed))
    e = jax.random.normal(ke, (b, d), jnp.float32)
    if unit:
        e = e / jnp.linalg.norm(e, axis=-1, keepdims=True)
    y = jax.random.randint(ky, (b,), 0, max(b // EXAMPLES_PER_CLASS, 1), jnp.int32)
    return e, y


def _towers(seed: int, b: int, d: int):
    kq, kk = jax.random.split(jax.random.key(seed))
    q = jax.random.normal(kq, (b, d), jnp.float32)
    return q, q + jax.random.normal(kk, (b, d), jnp.float32)  # partners correlated


def _tau():
    return jnp.asarray(0.1, jnp.float32)


# (loss, options, inputs(seed, B, D), optax adapter or None). Temperatures, scales
# and biases are passed as inputs (learnable); the gradient is w.r.t. the first.
MINING: tuple[tuple[str, dict[str, Any], Callable[..., tuple[Any, ...]], Any], ...] = (
    ("batch_hard_triplet", {}, lambda s, b, d: _labelled(s, b, d), None),
    (
        "batch_hard_triplet",
        {"soft": True, "metric": "cosine"},
        lambda s, b, d: _labelled(s, b, d),
        None,
    ),
    ("batch_all_triplet", {}, lambda s, b, d: _labelled(s, b, d), None),
    ("supervised_contrastive", {}, lambda s, b, d: (*_labelled(s, b, d), _tau()), None),
    ("ntxent", {}, lambda s, b, d: (*_labelled(s, b, d), _tau()), _ox_ntxent),
    (
        "npairs",
        {},
        lambda s, b, d: (*_towers(s, b, d), _labelled(s, b, d)[1]),
        None,
    ),
    ("circle", {}, lambda s, b, d: _labelled(s, b, d, unit=True), None),
    ("info_nce", {}, lambda s, b, d: (*_towers(s, b, d), _tau()), None),
    (
        "sigmoid_pairwise",
        {},
        lambda s, b, d: (
            *_towers(s, b, d),
            jnp.asarray(10.0, jnp.float32),
            jnp.asarray(-10.0, jnp.float32),
        ),
        None,
    ),
)


def _entry(name: str) -> catalogue.Entry | None:
    try:
        return catalogue.get(name)
    except (KeyError, ValueError):
        return None


def mining_rows(
    runner: Runner,
    batch: tuple[int, int],
    fallback: Sequence[int],
    names: set[str] | None,
) -> list[Row]:
    rows = []
    missing = []
    for name, opts, inputs, ox in MINING:
        if names is not None and name not in names and "mining" not in names:
            continue
        entry = _entry(name)
        if entry is None:
            missing.append(name)
            continue
        b, d = batch
        for size in (b, *(f for f in fallback if f < b)):
            label = ", ".join(f"{k}={v}" for k, v in opts.items()) or "—"
            try:
                args = jax.block_until_ready(inputs(0, size, d))
            except Exception as e:
                runner.warn(f"mining {name} ({label}): inputs failed: {type(e).__name__}: {e}")
                break
            row = Row("mining", name, label, opts, size == b, [tuple(np.shape(a)) for a in args])
            cands = runner.add_row(row, entry.fn, entry.reference, args, opts, ox, None, None)
            row.skipped.pop("torch", None)
            if not cands:
                runner.warn(f"mining {name} ({label}) at batch {size}: jaxloss failed")
                break
            runner.time(cands, f"mining{name}{label}{size}")
            rows.append(row)
            progress(row)
            del cands, args
            # A reference or optax over the memory budget: one more row at a smaller batch.
            if not any("not run" in row.skipped.get(k, "") for k in ("reference", "optax")):
                break
    if missing:
        runner.warn(f"mining: not in the catalogue (yet): {', '.join(dict.fromkeys(missing))}")
    return rows


# --- reporting


def report(
    rows: Sequence[Row],
    mining: Sequence[Row],
    info: Mapping[str, Any],
    config: Mapping[str, Any],
    warnings: Sequence[str],
) -> str:
    lines = machine_lines(info)
    if config["quick"]:
        lines[-1] += "; **--quick (smoke test, not a measurement)**"
    out = [
        "# Embedding, contrastive, ranking, segmentation and detection losses: "
        "`jit(value_and_grad(mean loss))`",
        "",
    ]
    if high_load(info):
        out += [
            f"**Load was high** (load average {info['loadavg_start'][0]:.1f} at the start, "
            f"{info['loadavg_end'][0]:.1f} at the end, on {info['cpus_usable']} usable CPUs): "
            "other work shared the cores, so the absolute times and the ratios are noisy; "
            "read the per-round ratios, and rerun on a quiet machine before drawing "
            "conclusions.",
            "",
        ]
    out += [
        *lines,
        f"- Method: {config['rounds']} timed rounds after compiling and 2 warm-up calls each; "
        "one call of every candidate per round, in a seeded random order; median of each "
        "candidate, ratio = median(jaxloss) / median(other), < 1 means jaxloss is faster. "
        "Float32 inputs, gradient w.r.t. the first input only (predictions, anchors, "
        "embeddings, scores, logits, boxes), mean reduction. torch: forward and "
        "`backward()` on CPU tensors holding the same values: informational.",
        f"- Targets: ≤ {TARGET}× reference and optax, none above {LIMIT}×.",
        "- Memory: 'temp MiB' is the compiled temporary buffers "
        "(`compiled.memory_analysis().temp_size_in_bytes`, inputs and outputs excluded); "
        "'RSS rise' is how far the process's resident memory rose above its level before "
        "the candidate's first call (Linux high-water mark reset through "
        "`/proc/self/clear_refs`), outputs included, the only memory figure for torch. "
        f"A JAX candidate whose temp memory exceeds {config['max_temp_gib']:g} GiB is "
        "compiled but not run (its temp memory is shown, its time is —). — : the "
        "candidate was not run (no equivalent: see Adapters).",
        "",
    ]
    if rows:
        shapes = ", ".join(f"{f} {shape_text(s)}" for f, s in config["family_shapes"].items())
        out += [
            f"## Catalogue: families {', '.join(FAMILIES)}",
            "",
            f"Inputs from each entry's seeded sampler at its family's shape ({shapes}); the "
            "shape column is the first input's. The overlap losses (dice, tversky, ...) run "
            "on [images, height, width, classes] masks of this script (logits, or "
            "probabilities with apply_softmax=False, and one-hot targets); the in-batch "
            "losses' samplers draw [groups, 8, features] (batch_hard_triplet, "
            "batch_all_triplet, npairs, circle) or two independent batches "
            "[2, N, features] (ntxent, supervised_contrastive, info_nce, sigmoid_pairwise). "
            "Per-class option arrays of the catalogue (written for 3 classes) are tiled "
            "cyclically to C classes.",
            "",
            catalogue_table(rows),
            "",
            "`1.05*`: above the 1.0× target but within 1.1×; **bold**: above the 1.1× limit "
            "(reference and optax; torch is informational). † another option set of the "
            "catalogue entry (the first row of each loss is its first).",
            "",
        ]
    if mining:
        b, d = config["mining_batch"]
        out += [
            f"## Mining: in-batch losses on one batch of {b:,} × {d} embeddings",
            "",
            f"{config['mining_rounds']} timed rounds per row.",
            "",
            f"Embeddings from a standard normal (unit-normalised for circle), labels from "
            f"{b // EXAMPLES_PER_CLASS:,} classes (about {EXAMPLES_PER_CLASS} examples each); "
            "two-tower losses (npairs, info_nce, sigmoid_pairwise) get a second tower "
            "correlated with the first; temperature 0.1 (scale 10, bias −10 for "
            "sigmoid_pairwise) passed as an input. A row marked † repeats a loss at the "
            "largest smaller batch where its reference and optax fit the memory budget, to "
            "give a time ratio.",
            "",
            catalogue_table(mining),
            "",
        ]
    out += tail_sections([*rows, *mining], warnings, _row_name)
    return "\n".join(out) + "\n"


def _row_name(r: Row) -> str:
    if r.section == "mining":
        return f"mining {r.loss} ({r.label}, batch {r.shapes[0][0]:,})"
    return f"{r.loss} ({r.label})"


def to_json(rows, mining, info, config, warnings) -> str:
    data = {
        "benchmark": "embedding: jit(value_and_grad(mean loss)) time ratios",
        "machine": info,
        "config": config,
        "targets": {"vs_reference_and_optax": TARGET, "vs_reference_and_optax_limit": LIMIT},
        "load_high": high_load(info),
        "rows": [row_json(r) for r in rows],
        "mining": [row_json(r) for r in mining],
        "warnings": list(warnings),
    }
    return dumps(data)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Embedding, contrastive, ranking, segmentation and detection losses: "
        "time and memory of jit(value_and_grad(mean loss)) against the reference, optax "
        "and torch."
    )
    add_common_arguments(parser, "embedding", ROUNDS)
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        help="catalogue names to run, and/or 'catalogue' or 'mining' for a whole section "
        "(default: everything)",
    )
    parser.add_argument("--mining-batch", type=int, nargs=2, metavar=("B", "D"))
    parser.add_argument(
        "--mining-rounds",
        type=int,
        help=f"timed rounds of the mining section (default --rounds, else {MINING_ROUNDS})",
    )
    parser.add_argument(
        "--max-temp-gib",
        type=float,
        default=MAX_TEMP_GIB,
        help="JAX candidates whose compiled temporaries exceed this are not run",
    )
    args = parser.parse_args(argv)

    known = [e.name for e in SUITE.entries()]
    mining_names = sorted({m[0] for m in MINING})
    catalogue_names: set[str] | None = None
    mining_only: set[str] | None = None
    if args.only:
        unknown = sorted(set(args.only) - {*known, *mining_names, "catalogue", "mining"})
        if unknown:
            parser.error(
                f"unknown names {unknown}; known: catalogue, mining, "
                f"{', '.join(sorted({*known, *mining_names}))}"
            )
        only = set(args.only)
        catalogue_names = None if "catalogue" in only else only - {"catalogue", "mining"}
        mining_only = None if "mining" in only else only & set(mining_names)
    rounds = args.rounds or (QUICK_ROUNDS if args.quick else ROUNDS)
    if rounds < 1:
        parser.error("--rounds must be at least 1")
    mining_rounds = (
        args.mining_rounds or args.rounds or (QUICK_ROUNDS if args.quick else MINING_ROUNDS)
    )
    if mining_rounds < 1:
        parser.error("--mining-rounds must be at least 1")
    mining_batch = tuple(args.mining_batch or (QUICK_MINING_BATCH if args.quick else MINING_BATCH))
    fallback = QUICK_MINING_FALLBACK if args.quick else MINING_FALLBACK
    set_torch_threads(args)

    info = machine()
    torch_device, pending = setup_torch(args, info)
    i = 1 if args.quick else 0
    config = {
        "quick": args.quick,
        "rounds": rounds,
        "family_shapes": {k: v[i] for k, v in FAMILY_SHAPES.items()},
        "shapes_by_name": {k: v[i] for k, v in SHAPES.items()},
        "mining_batch": mining_batch,
        "mining_rounds": mining_rounds,
        "mining_fallback": fallback,
        "max_temp_gib": args.max_temp_gib,
        "options": args.options,
        "only": args.only,
        "dtype": "float32",
        "argnums": "first input",
    }
    runner = Runner(rounds, torch_device, int(args.max_temp_gib * 2**30))
    for message in pending:
        runner.warn(message)
    start = time.perf_counter()
    rows = (
        catalogue_rows(runner, SUITE, None, args.quick, args.options, catalogue_names)
        if catalogue_names != set()
        else []
    )
    runner.rounds = mining_rounds
    mining = (
        mining_rows(runner, mining_batch, fallback, mining_only) if mining_only != set() else []
    )
    finish_machine(info, start)
    if not rows and not mining:
        print(
            "warning: nothing measured (no catalogue entries of these families?)", file=sys.stderr
        )

    text = report(rows, mining, info, config, runner.warnings)
    suffix = args.device_suffix or info["backend"]
    write_results(
        args.out,
        f"embedding_{suffix}",
        text,
        to_json(rows, mining, info, config, runner.warnings),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
