"""Machinery shared by the benchmark scripts (not a benchmark itself).

A benchmark script times ``jax.jit(jax.value_and_grad(mean loss))`` of jaxloss
against its peers on the same inputs, in one interleaved run. This module holds
what does not depend on the family being measured:

* candidates: :class:`Peer` (a peer's mean loss and its inputs), :func:`jax_candidate`
  (compiled ahead of time, with its ``memory_analysis().temp_size_in_bytes``),
  :func:`torch_candidate` (forward and ``backward()``), :class:`TorchInputs`;
* measurement: :class:`Row` (one loss and option set: times, memory, agreement),
  :class:`Runner` (builds and warms up a row's candidates, checks their first
  output against jaxloss's, times them in rounds of one call each in a seeded
  shuffled order), :func:`call_with_peak_rss` (the rise of the resident memory
  during a call), :func:`agreement`;
* inputs: :func:`sample` (a catalogue entry's seeded inputs at a large shape, drawn
  in chunks; or a script's own sampler, :class:`OwnSampler`, while the catalogue's
  inputs keep the same structure), :func:`fit_options` (per-class option arrays
  tiled to the class count);
* the catalogue loop :func:`catalogue_rows`, parametrised by a :class:`Suite`
  (families, optax and torch adapter tables, per-loss shapes and samplers, extra
  option sets);
* reporting: :func:`machine` (the header's facts), the tables, the Misses /
  Per-round / Agreement / Adapters / Warnings sections, JSON conversion and the
  command-line flags every catalogue benchmark shares.

Scripts import it as ``from _common import ...`` (a script's own directory is on
``sys.path``); it imports only jaxloss, JAX, numpy, optax and (optionally) torch.
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
    F = None

import jaxloss
from jaxloss import catalogue

__all__ = [
    "CANDIDATES",
    "GRAD_TOL",
    "LIMIT",
    "PEERS",
    "SAMPLE_ROWS",
    "TARGET",
    "VALUE_TOL",
    "Candidate",
    "F",
    "OwnSampler",
    "Peer",
    "Row",
    "Runner",
    "Suite",
    "TorchInputs",
    "add_common_arguments",
    "agreement",
    "call_with_peak_rss",
    "catalogue_rows",
    "catalogue_table",
    "cell",
    "dumps",
    "finish_machine",
    "fit_options",
    "fmt_load",
    "format_options",
    "high_load",
    "interleave",
    "jax_candidate",
    "jsonable",
    "machine",
    "machine_lines",
    "mib",
    "ms",
    "paired_table",
    "peak_rss_mib",
    "progress",
    "row_json",
    "rss",
    "sample",
    "set_torch_threads",
    "setup_torch",
    "shape_text",
    "tail_sections",
    "temps",
    "torch",
    "torch_candidate",
    "write_results",
]

# The project's targets: every loss at most 1.0x its autodiff reference and its optax
# equivalent (none above 1.1x).
TARGET = 1.0
LIMIT = 1.1

CANDIDATES = ("jaxloss", "reference", "optax", "torch")
PEERS = ("reference", "optax", "torch")

# Agreement with jaxloss above which a candidate is listed (float32 inputs).
VALUE_TOL = 1e-4
GRAD_TOL = 1e-3

# Rows per call of a catalogue sampler: large batches are drawn in chunks (seeds
# differ per chunk) and concatenated, which bounds the memory of samplers that draw
# several candidates per example.
SAMPLE_ROWS = 1024


# --- inputs


def _structure(args) -> list[tuple[str, int]]:
    return [(jnp.dtype(a.dtype).kind, np.ndim(a)) for a in args]


@dataclass(frozen=True)
class OwnSampler:
    """A script's sampler ``fn(seed, shape, options) -> inputs`` replacing a catalogue
    entry's, used only while the catalogue sampler's inputs keep the same structure
    (number of inputs, dtype kinds and, by default, ranks): checked at ``small``
    against the catalogue sampler at ``catalogue_shape(small)``. When the check
    fails the catalogue's sampler runs at ``catalogue_shape(shape)``."""

    fn: Callable[..., tuple[Any, ...]]
    small: tuple[int, ...]
    catalogue_shape: Callable[[tuple[int, ...]], tuple[int, ...]] = lambda s: s
    structure: Callable[[Sequence[Any]], list[Any]] = _structure


def sample(
    entry: catalogue.Entry,
    seed: int,
    shape: tuple[int, ...],
    options: Mapping[str, Any],
    warn: Callable[[str], None],
    own: OwnSampler | None = None,
    rows: int = SAMPLE_ROWS,
):
    """Seeded inputs of ``entry`` at ``shape`` (float32), chunked along the batch."""
    if own is not None:
        try:
            mine = own.fn(seed, own.small, options)
            theirs = entry.inputs(
                seed, shape=own.catalogue_shape(own.small), dtype=jnp.float32, **options
            )
            if own.structure(mine) == own.structure(theirs):
                return jax.block_until_ready(own.fn(seed, shape, options))
            warn(f"{entry.name}: the catalogue sampler's inputs changed; using it instead")
        except Exception as e:
            warn(f"{entry.name}: custom sampler failed ({e!r}); using the catalogue's")
        shape = own.catalogue_shape(shape)
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

    Catalogue option sets are written for the sampler's default shapes (5 classes
    for classification, 3 for segmentation).
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


class TorchInputs:
    """Torch copies of the inputs (JAX or numpy arrays) on ``device``, made once per
    array and dtype and shared by a group's torch candidates."""

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

    section: str  # e.g. "headline", "catalogue", "mining"
    loss: str
    label: str  # the option set as shown
    options: Mapping[str, Any]
    default: bool
    shapes: list[tuple[int, ...]]
    extra: bool = False  # an option set the script adds, not of the catalogue
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


def jax_candidate(fn: Callable[..., Any], args: tuple[Any, ...], argnums: int | Sequence[int] = 0):
    """``jit(value_and_grad(fn))`` w.r.t. ``argnums`` (default the first argument),
    compiled ahead of time; returns ``(call, temp bytes)``."""
    argnums = argnums if isinstance(argnums, int) else tuple(argnums)
    jitted = jax.jit(jax.value_and_grad(fn, argnums=argnums))
    compiled = jitted.lower(*args).compile()
    analysis = compiled.memory_analysis()
    temp = None if analysis is None else int(analysis.temp_size_in_bytes)

    def call():
        return jax.block_until_ready(compiled(*args))

    return call, temp


def torch_candidate(peer: Peer):
    """Forward and ``backward()`` of a torch peer, gradient w.r.t. ``peer.args[0]``."""
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


def agreement(out, ref) -> dict[str, float]:
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


def peak_rss_mib() -> float:
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024 if sys.platform != "darwin" else kib / 2**20


def interleave(cands: Sequence[Candidate], rounds: int, seed: str) -> None:
    """``rounds`` rounds, one call of each candidate per round in a freshly shuffled
    seeded order (a rotation would keep every candidate behind the same neighbour,
    e.g. right after torch, whose allocations make the next call's fresh output
    buffers page-fault: a bias of up to 1.3x).

    A call is not preceded by an untimed call of the same candidate. That was tried:
    it did not narrow the per-round quartiles of the 1-4 ms rows it was meant to
    steady, and it favours a rule that writes an extra [N, C] buffer straight into a
    warm output buffer (optax's cross-entropy at [4096, 1024]: 1.2x faster than
    jaxloss back to back, while inside a jitted step on ``h @ W`` logits jaxloss takes
    0.47-0.55x optax's time either way)."""
    for c in cands:
        c.row.times[c.name] = []
    order = list(cands)
    rng = random.Random(seed)
    for _ in range(rounds):
        rng.shuffle(order)
        for c in order:
            start = time.perf_counter()
            c.call()
            c.row.times[c.name].append(time.perf_counter() - start)


class Runner:
    """Builds, warms up, checks and times the candidates of one group of rows."""

    def __init__(self, rounds: int, torch_device: str | None, max_temp_bytes: int | None = None):
        self.rounds = rounds
        self.torch_device = torch_device  # None: torch not timed
        # A JAX candidate whose compiled temporaries exceed this is compiled (its temp
        # memory reported) but never run: e.g. an O(B³) reference at a large batch.
        self.max_temp_bytes = max_temp_bytes
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
            if self.max_temp_bytes is not None and temp is not None and temp > self.max_temp_bytes:
                row.temp_bytes[name] = temp
                row.skipped[name] = (
                    f"not run: compiled temp {temp / 2**30:.1f} GiB above the "
                    f"{self.max_temp_bytes / 2**30:g} GiB budget"
                )
                print(f"{row.loss} ({row.label}) {name}: {row.skipped[name]}", file=sys.stderr)
                return None, None
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
        """The row's candidates, built and warmed up, with agreement against jaxloss.

        ``fn`` and ``reference`` are called as ``fn(*args, **options,
        reduction="mean")``; an adapter as ``adapter(args, options)`` (optax) or
        ``adapter(tt, args, options)`` (torch) returns a :class:`Peer` or None (no
        equivalent for these options).
        """
        opts = {**options, "reduction": "mean"}
        cands: list[Candidate] = []
        mine, ref_out = self._try(
            row, "jaxloss", lambda: jax_candidate(lambda *a: fn(*a, **opts), args)
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
            cand, out = self._try(row, name, lambda: jax_candidate(peer.fn, peer.args))
            if cand is not None:
                row.peers[name] = peer.text
                cands.append(cand)
                row.agreement[name] = agreement(out, ref_out)

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
                cand, out = self._try(row, "torch", lambda: (torch_candidate(peer), None))
                if cand is not None:
                    row.peers["torch"] = peer.text
                    cands.append(cand)
                    row.agreement["torch"] = agreement(out, ref_out)
        row.temp_bytes.setdefault("torch", None)
        return cands

    def time(self, cands: Sequence[Candidate], seed: str) -> None:
        """``rounds`` rounds, one call of each candidate per round in a shuffled order."""
        interleave(cands, self.rounds, seed)
        rss = peak_rss_mib()
        for c in cands:
            c.row.rss_mib = rss


# --- the catalogue loop


def _format_value(v: Any) -> str:
    if isinstance(v, np.ndarray | jax.Array | tuple | list):
        a = np.asarray(v).ravel()
        body = ", ".join(f"{x:g}" for x in a[:5]) + (", …" if a.size > 5 else "")
        return f"[{body}]"
    if callable(v):
        return getattr(v, "__name__", repr(v))
    return f"{v}"


def format_options(opts: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={_format_value(v)}" for k, v in opts.items()) or "—"


@dataclass(frozen=True)
class Suite:
    """What a catalogue benchmark measures: which families, with which adapters.

    ``optax`` / ``torch``: our name -> adapter building the peer's mean loss (see
    :meth:`Runner.add_row`); ``shapes``: our name -> (full-run shape, ``--quick``
    shape) replacing the default; ``samplers``: our name -> :class:`OwnSampler`;
    ``sample_rows``: our name -> rows per catalogue-sampler call; ``extra_options``:
    option sets timed besides the catalogue's own (marked ‡); ``classes``: the
    class count per-class options are tiled to, from the inputs (default: the last
    axis of the first input).
    """

    families: tuple[str, ...]
    optax: Mapping[str, Callable[..., Peer | None]] = field(default_factory=dict)
    torch: Mapping[str, Callable[..., Peer | None]] = field(default_factory=dict)
    shapes: Mapping[str, tuple[tuple[int, ...], tuple[int, ...]]] = field(default_factory=dict)
    samplers: Mapping[str, OwnSampler] = field(default_factory=dict)
    sample_rows: Mapping[str, int] = field(default_factory=dict)
    extra_options: Mapping[str, tuple[Mapping[str, Any], ...]] = field(default_factory=dict)
    classes: Callable[[Sequence[Any]], int] = lambda args: int(np.shape(args[0])[-1])
    default_shapes: Mapping[str, tuple[tuple[int, ...], tuple[int, ...]]] = field(
        default_factory=dict
    )  # family -> (full, quick) shape, before ``shapes``

    def entries(self, names: set[str] | None = None) -> list[catalogue.Entry]:
        return [
            e
            for e in catalogue.ENTRIES
            if e.family in self.families and (names is None or e.name in names)
        ]

    def shape_of(self, entry: catalogue.Entry, shape: tuple[int, ...] | None, quick: bool):
        """The entry's input shape: ``shapes``, else ``shape`` (the command line's), else
        the family's default shape."""
        i = 1 if quick else 0
        if entry.name in self.shapes:
            return self.shapes[entry.name][i]
        if shape is not None:
            return shape
        return self.default_shapes[entry.family][i]


def catalogue_rows(
    runner: Runner,
    suite: Suite,
    shape: tuple[int, ...] | None,
    quick: bool,
    options: str,
    names: set[str] | None,
    section: str = "catalogue",
) -> list[Row]:
    """Every catalogue entry of ``suite.families`` (each option set, or the first), timed."""
    rows = []
    for entry in suite.entries(names):
        option_sets = list(entry.options)
        if options == "default":
            option_sets = option_sets[:1]
        own = len(option_sets)
        if options == "all":
            option_sets += [
                o for o in suite.extra_options.get(entry.name, ()) if o not in option_sets
            ]
        entry_shape = suite.shape_of(entry, shape, quick)
        for i, raw in enumerate(option_sets):
            label = format_options(raw)
            try:
                args = sample(
                    entry,
                    0,
                    entry_shape,
                    raw,
                    runner.warn,
                    suite.samplers.get(entry.name),
                    suite.sample_rows.get(entry.name, SAMPLE_ROWS),
                )
                opts = fit_options(raw, suite.classes(args))
            except Exception as e:
                runner.warn(f"{entry.name} ({label}): sampler failed: {type(e).__name__}: {e}")
                continue
            row = Row(
                section,
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
                suite.optax.get(entry.name),
                suite.torch.get(entry.name),
                tt,
            )
            if not cands:
                runner.warn(f"{entry.name} ({label}): jaxloss failed, row skipped")
                continue
            runner.time(cands, f"{entry.name}{label}")
            rows.append(row)
            progress(row)
            del cands, args, tt
    return rows


def progress(row: Row) -> None:
    ratios = ", ".join(f"{n} {row.ratio(n):.2f}" for n in PEERS if row.ratio(n) is not None)
    print(
        f"{row.loss:42} {row.label[:40]:40} {row.median_ms('jaxloss'):8.2f} ms  vs {ratios}",
        file=sys.stderr,
        flush=True,
    )


# --- the machine


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True
        )
    except OSError:
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def machine() -> dict[str, Any]:
    """Facts about the machine and the software, for the report's header and JSON."""
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
        "peak_rss_mib_start": peak_rss_mib(),
    }


def finish_machine(info: dict[str, Any], start: float) -> None:
    """Record the run's wall time, the load at its end and the peak RSS."""
    info["wall_s"] = time.perf_counter() - start
    info["loadavg_end"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    info["peak_rss_mib_end"] = peak_rss_mib()


def fmt_load(load) -> str:
    return "?" if load is None else " ".join(f"{x:.2f}" for x in load)


def high_load(info: Mapping[str, Any]) -> bool:
    """Whether the 1-minute load average at the start or end exceeded the usable CPUs."""
    cpus = info.get("cpus_usable") or info.get("cpu_count") or 1
    loads = [x[0] for x in (info.get("loadavg_start"), info.get("loadavg_end")) if x]
    return any(x > cpus for x in loads)


def machine_lines(info: Mapping[str, Any], *, torch_line: bool = True) -> list[str]:
    """The report header's Machine, Versions and Date bullets."""
    dirty = " (jaxloss/ has uncommitted changes)" if info["git_dirty"] else ""
    torch_text = ""
    if torch_line:
        torch_text = (
            f"torch {info.get('torch') or '(not installed)'} "
            f"({info.get('torch_device') or 'not timed'}, {info.get('torch_threads')} threads), "
        )
    return [
        f"- Machine: {info['device']}, {info['cpu']}, {info['cpu_count']} CPUs "
        f"({info['cpus_usable']} usable), {info['platform']}, Python {info['python']}",
        f"- Versions: jax {info['jax']}, jaxlib {info['jaxlib']}, optax {info['optax']}, "
        f"{torch_text}jaxloss {info['jaxloss']} at commit {info['git_commit']}{dirty}",
        f"- Date: {info['date']}; load average at start {fmt_load(info['loadavg_start'])}, "
        f"at end {fmt_load(info['loadavg_end'])}; whole run {info['wall_s']:.0f} s; "
        + (
            f"peak RSS {info['peak_rss_mib_end']:.0f} MiB; "
            if info.get("peak_rss_mib_end") is not None
            else ""
        )
        + f"XLA_FLAGS={info['xla_flags'] or '(unset)'}",
    ]


# --- tables and sections


def mib(b: int | None) -> str:
    if b is None:
        return "—"
    return "0" if b == 0 else f"{b / 2**20:.0f}" if b >= 2**20 else f"{b / 2**20:.2f}"


def cell(r: float | None, limit: float = LIMIT, target: float | None = TARGET) -> str:
    if r is None:
        return "—"
    if r > limit:
        return f"**{r:.2f}**"
    if target is not None and r > target:
        return f"{r:.2f}*"
    return f"{r:.2f}"


def temps(row: Row) -> str:
    return " / ".join(mib(row.temp_bytes.get(n)) for n in ("jaxloss", "reference", "optax"))


def rss(row: Row) -> str:
    return " / ".join(mib(row.rss_bytes.get(n)) for n in CANDIDATES)


def ms(v: float | None) -> str:
    return "—" if v is None else f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def shape_text(shape: Sequence[int]) -> str:
    return "[" + ", ".join(f"{d:,}" for d in shape) + "]"


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
            f"| {r.loss} | {label} | {shape} | {ms(r.median_ms('jaxloss'))} "
            f"| {cell(r.ratio('reference'))} | {cell(r.ratio('optax'))} "
            f"| {cell(r.ratio('torch'), math.inf, None)} | {temps(r)} | {rss(r)} |"
        )
    return "\n".join(lines)


def paired_table(rows: Sequence[Row]) -> str:
    lines = [
        "| section | loss | options | vs reference | vs optax | vs torch |",
        "| --- | --- | --- | --- | --- | --- |",
    ]

    def quartiles(q: list[float] | None) -> str:
        return "—" if q is None else f"{q[1]:.2f} ({q[0]:.2f}–{q[2]:.2f})"

    for r in rows:
        lines.append(
            f"| {r.section} | {r.loss} | {r.label} | {quartiles(r.paired('reference'))} "
            f"| {quartiles(r.paired('optax'))} | {quartiles(r.paired('torch'))} |"
        )
    return "\n".join(lines)


def _default_row_name(r: Row) -> str:
    return f"{r.loss} ({r.label})"


def tail_sections(
    every: Sequence[Row],
    warnings: Sequence[str],
    row_name: Callable[[Row], str] = _default_row_name,
) -> list[str]:
    """The Misses, Per-round ratios, Agreement, Adapters and Warnings sections."""
    out = ["## Misses", ""]
    for title, against in (
        ("Slower than the autodiff reference", "reference"),
        ("Slower than optax", "optax"),
    ):
        found = [(r, r.misses(against)) for r in every]
        found = [f"{row_name(r)}: {m}" for r, m in found if m]
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
        f"- {row_name(r)} {n}: value {a['value_rel']:.1e}, gradient {a['grad_rel_l2']:.1e}"
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
        f"{row_name(r)} {n}: {why}"
        for r in every
        for n, why in r.skipped.items()
        if why != "no equivalent"
    )
    if partial:
        out += ["", "Cells left empty:", "", *(f"- {x}" for x in partial)]
    if warnings:
        out += ["", "## Warnings", "", *(f"- {w}" for w in warnings)]
    return out


# --- JSON and files


def jsonable(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    if isinstance(x, np.ndarray | jax.Array):
        return jsonable(np.asarray(x).tolist())
    if isinstance(x, np.generic):
        return jsonable(x.item())
    if isinstance(x, Mapping):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple | set):
        return [jsonable(v) for v in x]
    if callable(x):
        return getattr(x, "__name__", repr(x))
    return x


def row_json(r: Row) -> dict[str, Any]:
    return {
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


def dumps(data: Any) -> str:
    return json.dumps(jsonable(data), indent=1) + "\n"


def write_results(out: Path | str, stem: str, text: str, json_text: str) -> None:
    """Print the markdown; unless ``out`` is ``-``, write ``<out>/<stem>.md`` and ``.json``."""
    print(text)
    if str(out) != "-":
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        path = out / stem
        path.with_suffix(".md").write_text(text)
        path.with_suffix(".json").write_text(json_text)
        print(f"wrote {path}.md and {path}.json", file=sys.stderr)


# --- command line


def add_common_arguments(parser: argparse.ArgumentParser, name: str, rounds: int) -> None:
    """The flags every catalogue benchmark shares: --quick, --rounds, --options, --out,
    --device-suffix, --torch, --torch-threads."""
    parser.add_argument(
        "--quick", action="store_true", help="tiny shapes and 3 rounds (a smoke test)"
    )
    parser.add_argument("--rounds", type=int, help=f"timed rounds (default {rounds}; quick 3)")
    parser.add_argument(
        "--options",
        choices=("all", "default"),
        default="all",
        help="every catalogue option set (plus the script's extra ones), or only the first",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent / "results",
        help=f"directory for {name}_<suffix>.md and .json ('-' to write nothing)",
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


def setup_torch(args: argparse.Namespace, info: dict[str, Any]) -> tuple[str | None, list[str]]:
    """Where torch runs (None: not timed) and the warnings to report; sets its threads
    (call before :func:`machine`, which records them) and ``info["torch_device"]``."""
    pending = []
    torch_device = None if torch is None or args.torch == "off" else args.torch
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
    return torch_device, pending


def set_torch_threads(args: argparse.Namespace) -> None:
    if torch is not None:
        usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
        torch.set_num_threads(args.torch_threads or usable or os.cpu_count() or 1)
