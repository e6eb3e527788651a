"""Regression losses: time of ``jit(value_and_grad(mean loss))`` as ratios, in one run.

For every loss of ``jaxloss.catalogue.names("regression")`` (and each of its
catalogue option sets) this times, on the same seeded inputs,

* ``jaxloss``: the loss itself, with its hand-written ``custom_vjp`` rule;
* ``reference``: ``jaxloss.reference.<name>``, the plain ``jnp`` definition
  differentiated by JAX's autodiff;
* ``optax``: optax's equivalent wrapped in ``jnp.mean``, where one exists;
* ``squared_error``: ``jaxloss.squared_error`` on the loss's predictions and
  targets, the cheapest elementwise loss (one fused pass forward and backward);
* ``torch``: the ``torch.nn.functional`` equivalent (mean reduction, forward and
  ``backward()`` on CPU tensors sharing the same values), where one exists and
  torch is installed; informational, no target.

Each is ``jax.jit(jax.value_and_grad(lambda p, *rest: loss(p, *rest,
reduction="mean")))``, differentiated with respect to the predictions (and the
variance, for ``gaussian_nll``), compiled ahead of time and warmed up. The timed
calls run round-robin, one call of each candidate per round in a freshly shuffled
(seeded) order every round, so machine noise hits every candidate alike; the script reports the
median time of each and the ratio of medians, plus the compiled temporary memory
(``memory_analysis().temp_size_in_bytes``), against the project's targets.

Usage::

    python benchmarks/regression.py                       # full run, writes benchmarks/results/
    python benchmarks/regression.py --names huber log_cosh --size 1000000 --repeats 10

Results go to ``<out>/regression_<backend>.md`` and ``.json`` (raw times included).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _common
import jax
import jax.numpy as jnp
import numpy as np
import optax
from _common import (
    LIMIT,
    TARGET,
    Candidate,
    F,
    cell,
    dumps,
    finish_machine,
    interleave,
    jax_candidate,
    machine,
    machine_lines,
    mib,
    torch,
    write_results,
)

import jaxloss
from jaxloss import catalogue

# The project's targets: every loss at most 1.0x its autodiff reference and its optax
# equivalent (none above 1.1x: TARGET and LIMIT of _common); elementwise losses
# within 1.2x squared_error.
ELEMENTWISE_LIMIT = 1.2

# Trailing axis of the [size // ROW, ROW] input used for losses that reduce an axis.
ROW = 64


def _optax_squared_error(p, t):
    return jnp.mean(optax.losses.squared_error(p, t))


def _optax_huber(p, t, *, delta):
    return jnp.mean(optax.losses.huber_loss(p, t, delta=delta))


def _optax_log_cosh(p, t):
    return jnp.mean(optax.losses.log_cosh(p, t))


# optax.losses equivalents, called with the loss's options; each returns the mean.
OPTAX: dict[str, Callable[..., jax.Array]] = {
    "squared_error": _optax_squared_error,
    "huber": _optax_huber,
    "log_cosh": _optax_log_cosh,
}

# torch.nn.functional equivalents (mean reduction), called with the loss's options.
TORCH: dict[str, Callable[..., Any]] = {
    "squared_error": lambda p, t: F.mse_loss(p, t),
    "absolute_error": lambda p, t: F.l1_loss(p, t),
    "huber": lambda p, t, delta: F.huber_loss(p, t, delta=delta),
    "smooth_l1": lambda p, t, beta: F.smooth_l1_loss(p, t, beta=beta),
    "poisson_nll": lambda p, t, log_input, full: F.poisson_nll_loss(
        p, t, log_input=log_input, full=full
    ),
    "gaussian_nll": lambda p, t, v, full: F.gaussian_nll_loss(p, t, v, full=full),
}

CANDIDATES = ("jaxloss", "reference", "optax", "squared_error", "torch")


@dataclass
class Row(_common.Row):
    """One (loss, option set) measurement: the shared row (section "catalogue", one
    shape) plus whether the loss is elementwise, the differentiated inputs and the
    agreement with the reference."""

    elementwise: bool = True
    argnums: tuple[int, ...] = (0,)
    check: dict[str, float] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.shapes[0]

    def misses(self, against: str) -> str | None:
        """How this row misses its target against one candidate, judged on the ratio of medians
        (rounded to the two decimals shown), or None."""
        r = self.ratio(against)
        if r is None or (against == "squared_error" and not self.elementwise):
            return None
        bound = ELEMENTWISE_LIMIT if against == "squared_error" else TARGET
        if round(r, 2) <= bound:
            return None
        note = f"{r:.2f}×"
        if bound == TARGET:
            note += f", above the {LIMIT}× limit" if round(r, 2) > LIMIT else ", within the limit"
        return f"{note} (per-round median {self.paired(against)[1]:.2f}×)"


# --- building the functions


def _torch_step(loss: Callable[..., Any], args, argnums: tuple[int, ...], opts: Mapping):
    """A call running torch's forward and backward of the mean loss, on copies of ``args``."""
    tensors = [torch.from_numpy(np.array(a)) for a in args]
    for i in argnums:
        tensors[i].requires_grad_(True)

    def step():
        for i in argnums:
            tensors[i].grad = None
        out = loss(*tensors, **opts)
        out.backward()
        return out.detach()

    return step


def _is_elementwise(entry: catalogue.Entry, opts: Mapping[str, Any]) -> bool:
    """Whether the unreduced loss has the predictions' shape (no axis reduced)."""
    args = entry.inputs(0, shape=(4, ROW), **opts)
    out = jax.eval_shape(lambda *a: entry.fn(*a, **opts), *args)
    return out.shape == args[0].shape


def _argnums(entry: catalogue.Entry) -> tuple[int, ...]:
    # Predictions, plus any differentiable input after the targets (gaussian_nll's variance).
    return (0, *(a for a in entry.argnums if a >= 2))


def _format_options(opts: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in opts.items()) or "—"


# --- measuring


def _agreement(a, b) -> dict[str, float]:
    """How far jaxloss's value and gradients are from the reference's.

    Returns the relative error of the value, and for the gradients the number of
    elements off by more than 1e-3 of the largest reference gradient entry (isolated
    ones are exact ties at a kink, where jaxloss takes its documented subgradient and
    autodiff one side) and the relative L2 error.
    """
    (va, ga), (vb, gb) = a, b
    va, vb = float(va), float(vb)
    out = {
        "value_rel": abs(va - vb) / max(abs(vb), 1e-30),
        "grad_mismatches": 0,
        "grad_rel_l2": 0.0,
    }
    for x, y in zip(jax.tree.leaves(ga), jax.tree.leaves(gb), strict=True):
        diff = jnp.abs(x - y)
        tol = 1e-3 * jnp.max(jnp.abs(y))
        out["grad_mismatches"] += int(jnp.sum(diff > tol))
        l2 = float(jnp.linalg.norm(x - y) / jnp.maximum(jnp.linalg.norm(y), 1e-30))
        out["grad_rel_l2"] = max(out["grad_rel_l2"], l2)
    return out


def measure(
    entry: catalogue.Entry, opts: Mapping[str, Any], default: bool, size: int, repeats: int
) -> Row:
    elementwise = _is_elementwise(entry, opts)
    shape = (size,) if elementwise else (size // ROW, ROW)
    argnums = _argnums(entry)
    row = Row(
        "catalogue",
        entry.name,
        _format_options(opts),
        dict(opts),
        default,
        [shape],
        elementwise=elementwise,
        argnums=argnums,
    )

    args = jax.block_until_ready(entry.inputs(0, shape=shape, dtype=jnp.float32, **opts))
    mean = {"reduction": "mean"}

    def mean_loss(loss, kwargs):
        return lambda p, *rest: loss(p, *rest, **kwargs)

    fns = {
        "jaxloss": (mean_loss(entry.fn, {**opts, **mean}), argnums, args),
        "reference": (mean_loss(entry.reference, {**opts, **mean}), argnums, args),
        "squared_error": (mean_loss(jaxloss.squared_error, mean), (0,), args[:2]),
    }
    if entry.name in OPTAX:
        fns["optax"] = (mean_loss(OPTAX[entry.name], opts), argnums, args)
    calls = {}
    for name, (fn, nums, cargs) in fns.items():
        calls[name], row.temp_bytes[name] = jax_candidate(fn, cargs, nums)
    if torch is not None and entry.name in TORCH:
        calls["torch"] = _torch_step(TORCH[entry.name], args, argnums, opts)

    # Warm-up: two calls each; keep one output of jaxloss and reference to compare.
    outputs = {}
    for name, call in calls.items():
        outputs[name] = call()
        call()
    row.check = _agreement(outputs["jaxloss"], outputs["reference"])
    del outputs

    # Round-robin in a fresh seeded shuffle every round (see _common.interleave).
    cands = [Candidate(row, n, calls[n]) for n in CANDIDATES if n in calls]
    interleave(cands, repeats, f"{entry.name}{sorted(opts.items())}")
    return row


# --- reporting


def table(rows: Sequence[Row]) -> str:
    lines = [
        "| loss | options | jaxloss ms | vs reference | vs optax | vs squared_error "
        "| vs torch | temp MiB jaxloss / reference |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        opts = _format_options(row.options) + ("" if row.default else " †")
        sq = row.ratio("squared_error")
        sq_cell = cell(sq, ELEMENTWISE_LIMIT, None) if row.elementwise else f"({sq:.2f})"
        lines.append(
            f"| {row.loss} | {opts} | {row.median_ms('jaxloss'):.1f} "
            f"| {cell(row.ratio('reference'), LIMIT, TARGET)} "
            f"| {cell(row.ratio('optax'), LIMIT, TARGET)} | {sq_cell} "
            f"| {cell(row.ratio('torch'), math.inf, None)} "
            f"| {mib(row.temp_bytes['jaxloss'])} / {mib(row.temp_bytes['reference'])} |"
        )
    return "\n".join(lines)


def paired_table(rows: Sequence[Row]) -> str:
    """Per-round ratios: each round's calls are adjacent in time, so slow drifts cancel."""
    lines = [
        "| loss | options | vs reference | vs optax | vs squared_error | vs torch |",
        "| --- | --- | --- | --- | --- | --- |",
    ]

    def cell(q: list[float] | None) -> str:
        return "—" if q is None else f"{q[1]:.2f} ({q[0]:.2f}–{q[2]:.2f})"

    for r in rows:
        lines.append(
            f"| {r.loss} | {_format_options(r.options)} | {cell(r.paired('reference'))} "
            f"| {cell(r.paired('optax'))} | {cell(r.paired('squared_error'))} "
            f"| {cell(r.paired('torch'))} |"
        )
    return "\n".join(lines)


def report(rows: Sequence[Row], info: Mapping[str, Any], args: argparse.Namespace) -> str:
    n = args.size
    noise = [r.ratio("squared_error") for r in rows if r.loss == "squared_error"]
    out = [
        f"# Regression losses: `jit(value_and_grad(mean loss))` on [{n:,}] float32",
        "",
        *machine_lines(info, torch_line=False),
        f"- Method: {args.repeats} timed rounds after compiling and 2 warm-up calls each; "
        "one call of every candidate per round, in a seeded random order; median of "
        "each candidate, ratio = median(jaxloss) / median(other). Gradients w.r.t. "
        "predictions (and variance for gaussian_nll); axis-reducing losses on "
        f"[{n // ROW:,}, {ROW}].",
        f"- Targets: ≤ {TARGET}× reference and optax, none above {LIMIT}×; "
        f"elementwise losses ≤ {ELEMENTWISE_LIMIT}× squared_error. torch "
        f"{info.get('torch') or '(not installed)'}, {info.get('torch_threads')} threads: "
        "informational.",
        "",
        table(rows),
        "",
        f"Ratios are median(jaxloss) / median(other), < 1 means jaxloss is faster. "
        f"`1.05*`: above the {TARGET}× target but within {LIMIT}×; **bold**: above the "
        f"limit ({LIMIT}× for reference/optax, {ELEMENTWISE_LIMIT}× for squared_error). "
        "`(…)` in the squared_error column: not an elementwise loss, no target. "
        "† an extra option set (the first row of each loss is the catalogue's default). "
        "temp MiB: compiled temporary buffers (`memory_analysis().temp_size_in_bytes`), "
        "inputs and outputs excluded.",
    ]
    if noise:
        out += [
            "",
            "Noise floor: the squared_error row times the same function compiled twice; "
            f"its 'vs squared_error' ratio is {noise[0]:.2f}.",
        ]
    out += ["", "## Misses", ""]
    for title, against in (
        ("Slower than the autodiff reference", "reference"),
        ("Slower than optax", "optax"),
        (f"Elementwise, above {ELEMENTWISE_LIMIT}× squared_error", "squared_error"),
    ):
        found = [(r, r.misses(against)) for r in rows]
        found = [f"{r.loss} ({_format_options(r.options)}): {m}" for r, m in found if m]
        out += [f"{title}:" if found else f"{title}: none.", *(f"- {f}" for f in found), ""]
    out.pop()
    out += [
        "",
        "## Per-round ratios",
        "",
        "Median (and quartiles) over rounds of jaxloss's time divided by the other "
        "candidate's time in the same round. On a shared machine whose load shifts over "
        "seconds this is steadier than the ratio of medians; where the two disagree on a "
        "verdict, the difference is noise.",
        "",
        paired_table(rows),
    ]
    n_elems = math.prod(rows[0].shape) if rows else 0
    bad = [r for r in rows if r.check["value_rel"] > 1e-4 or r.check["grad_mismatches"] > 100]
    ties = [r for r in rows if r not in bad and r.check["grad_mismatches"]]
    if bad:
        out += ["", "## Value or gradient disagreements with the reference", ""]
        out += [
            f"- {r.loss} ({_format_options(r.options)}): value rel {r.check['value_rel']:.1e}, "
            f"{r.check['grad_mismatches']} gradient entries off, "
            f"relative L2 {r.check['grad_rel_l2']:.1e}"
            for r in bad
        ]
    if ties:
        out += [
            "",
            "Gradients agree with the reference except at isolated entries, exact ties at a "
            "kink where jaxloss takes its documented subgradient: "
            + ", ".join(
                f"{r.loss} ({_format_options(r.options)}) {r.check['grad_mismatches']}"
                for r in ties
            )
            + f" of {n_elems:,}.",
        ]
    return "\n".join(out) + "\n"


def to_json(rows: Sequence[Row], info: Mapping[str, Any], args: argparse.Namespace) -> str:
    data = {
        "benchmark": "regression: jit(value_and_grad(mean loss)) time ratios",
        "machine": info,
        "config": {"size": args.size, "repeats": args.repeats, "row": ROW, "dtype": "float32"},
        "targets": {
            "vs_reference_and_optax": TARGET,
            "vs_reference_and_optax_limit": LIMIT,
            "elementwise_vs_squared_error": ELEMENTWISE_LIMIT,
        },
        "rows": [
            {
                "loss": r.loss,
                "options": r.options,
                "default_options": r.default,
                "shape": r.shape,
                "elementwise": r.elementwise,
                "argnums": r.argnums,
                "median_ms": {n: r.median_ms(n) for n in r.times},
                "ratio_vs": {n: r.ratio(n) for n in r.times if n != "jaxloss"},
                "per_round_ratio_quartiles_vs": {n: r.paired(n) for n in r.times if n != "jaxloss"},
                "temp_bytes": r.temp_bytes,
                "agreement_with_reference": r.check,
                "misses": {n: r.misses(n) for n in r.times if n != "jaxloss"},
                "times_ms": {n: [round(1e3 * t, 4) for t in ts] for n, ts in r.times.items()},
            }
            for r in rows
        ],
    }
    return dumps(data)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    names = catalogue.names("regression")
    parser.add_argument("--size", type=int, default=16_000_000, help="elements per input")
    parser.add_argument("--repeats", type=int, default=40, help="timed rounds (>= 10)")
    parser.add_argument("--names", nargs="+", choices=names, default=names, metavar="NAME")
    parser.add_argument(
        "--options",
        choices=("all", "default"),
        default="all",
        help="every catalogue option set, or only the first (default) one",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent / "results",
        help="directory for regression_<backend>.md and .json ('-' to write nothing)",
    )
    args = parser.parse_args(argv)
    if args.size % ROW:
        parser.error(f"--size must be a multiple of {ROW}")

    info = machine()
    start = time.perf_counter()
    rows = []
    for name in args.names:
        entry = catalogue.get(name)
        option_sets = entry.options if args.options == "all" else entry.options[:1]
        for i, opts in enumerate(option_sets):
            row = measure(entry, opts, i == 0, args.size, args.repeats)
            rows.append(row)
            ratios = ", ".join(
                f"{n} {row.ratio(n):.2f}"
                for n in ("reference", "optax", "squared_error", "torch")
                if row.ratio(n) is not None
            )
            print(
                f"{name:26} {_format_options(opts):28} {row.median_ms('jaxloss'):7.1f} ms  "
                f"vs {ratios}",
                file=sys.stderr,
                flush=True,
            )
    finish_machine(info, start)

    text = report(rows, info, args)
    write_results(args.out, f"regression_{info['backend']}", text, to_json(rows, info, args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
