"""The ``jaxloss`` command: ``list`` the catalogue, ``verify`` it on this machine's backend,
``demo`` the training examples.

JAX and the catalogue are imported by the commands that need them, not at start-up, so
that ``jaxloss --help`` answers at once.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from . import __version__

# --- selecting losses


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _sections() -> dict[str, str]:
    """Each loss's section: the docs page that describes it (``contrastive``,
    ``reweighted``, ...), a finer grouping than the catalogue's families."""
    from . import catalogue

    section = {e.name: "regression" for e in catalogue.ENTRIES}
    for module_name, module in list(sys.modules.items()):
        if module_name.startswith("jaxloss._catalogue_"):
            for e in getattr(module, "ENTRIES", ()):
                section[e.name] = module_name.removeprefix("jaxloss._catalogue_")
    return section


def _family_names() -> dict[str, set[str]]:
    """Every name ``--family`` accepts (catalogue families and docs sections, as slugs),
    with the losses it selects."""
    from . import catalogue

    groups: dict[str, set[str]] = {}
    for name, section in _sections().items():
        groups.setdefault(section, set()).add(name)
    for e in catalogue.ENTRIES:
        groups.setdefault(_slug(e.family), set()).add(e.name)
    return groups


class _Usage(Exception):
    """A bad name or option on the command line: printed, exit status 2."""


def _suggest(word: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(known), n=3, cutoff=0.6)
    return f"; did you mean {' or '.join(close)}?" if close else ""


def _select(names: Sequence[str], family: str | None) -> list[Any]:
    from . import catalogue

    known = catalogue.names()
    for n in names:
        if n not in known:
            raise _Usage(
                f"no loss named {n!r}{_suggest(n, known)} (`jaxloss list` shows all {len(known)})"
            )
    entries = [catalogue.get(n) for n in names] or list(catalogue.ENTRIES)
    if family is None:
        return entries
    groups = _family_names()
    key = _slug(family)
    if key not in groups:
        raise _Usage(
            f"no family {family!r}{_suggest(key, groups)}; known: {', '.join(sorted(groups))}"
        )
    return [e for e in entries if e.name in groups[key]]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}es" if word.endswith("s") else f"{n} {word}s"


# --- list


def _cmd_list(args: argparse.Namespace) -> int:
    entries = _select([], args.family)
    sections = _sections()
    if args.json:
        rows = [
            {
                "name": e.name,
                "family": e.family,
                "section": sections[e.name],
                "summary": e.summary,
                "options": [dict(o) for o in e.options],
                "peers": {k: v for k, v in vars(e.peers).items() if v},
            }
            for e in entries
        ]
        print(json.dumps({"losses": rows}, indent=2, default=str))
        return 0
    rows = [
        (e.name, sections[e.name], e.peers.torch or "—", e.peers.optax or "—",
         e.peers.keras or "—", e.summary)
        for e in entries
    ]  # fmt: skip
    header = ("name", "section", "torch", "optax", "keras", "summary")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(5)]
    line = "  ".join(f"{h:<{w}}" for h, w in zip(header, widths, strict=False)) + "  summary"
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join(f"{c:<{w}}" for c, w in zip(r, widths, strict=False)) + f"  {r[5]}")
    return 0


# --- verify

_COLUMNS = (
    ("value", "value"),
    ("gradient", "grad"),
    ("finite_differences", "fd"),
    ("jit", "jit"),
    ("vmap", "vmap"),
    ("hessian", "hess"),
    ("reductions", "reduce"),
    ("kinks", "kinks"),
    ("edge_cases", "edge"),
    ("dtypes", "dtypes"),
    ("fused_reduction", "fused"),
    ("export", "export"),
)


def _cell(report: Any, check: str) -> str:
    try:
        r = report[check]
    except KeyError:
        return "—"
    if not r.passed:
        return "FAIL"
    if r.detail == "none given":
        return "none"
    if check in ("value", "gradient") and r.error is not None:
        return f"{r.error:.1e}"
    return "ok"


def _default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "jaxloss" / "verify"


def _use_cache(directory: str | None) -> str | None:
    """Keeps the checks' compiled programs in ``directory/programs`` between runs (see
    ``jaxloss._programs``): a second run loads them instead of tracing, lowering and
    compiling them again. The op-by-op runs (the ``jit`` check's eager side), whose
    operations each compile once per process, use JAX's persistent compilation cache in
    ``directory/jax``, or the folder the user set for JAX."""
    import jax

    from . import _programs

    if directory is None:
        _programs.keep_in(None)
        return None
    if not jax.config.jax_compilation_cache_dir:
        (Path(directory) / "jax").mkdir(parents=True, exist_ok=True)
        jax.config.update("jax_compilation_cache_dir", str(Path(directory) / "jax"))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    _programs.keep_in(Path(directory) / "programs")
    return directory


def _verify_one(task: tuple[str, tuple[str, ...], tuple[str, ...]]) -> dict[str, Any]:
    """Verifies one loss (in a worker process or in this one); a picklable report."""
    from . import catalogue, testing

    name, checks, platforms = task
    entry = catalogue.get(name)
    report = testing.check_entry(entry, checks) if checks else testing.Report(name, [], 0.0)
    if platforms:
        start = time.perf_counter()
        report.results.append(testing.export_entry(entry, platforms, checks or testing.CHECKS))
        report.seconds = (report.seconds or 0.0) + time.perf_counter() - start
    return {"report": report}


def _worker_init(cache: str | None) -> None:
    _collect_less()
    _use_cache(cache)


def _collect_less() -> None:
    """Python's cycle collector, tuned for a process that traces programs: tracing makes
    many short-lived containers, and the default thresholds spent about 4% of a
    verification scanning them (and the imported modules, frozen out of its way)."""
    import gc

    gc.freeze()
    gc.set_threshold(100_000, 100, 100)


def _fast_compiles() -> None:
    """Compiles every program of this process with the harness's fast-compile settings
    (``XLA_FLAGS``, read when JAX starts its CPU backend: so before any computation;
    spawned workers inherit it). The user's own XLA_FLAGS come first and win."""
    from .testing import fast_compile_flags

    flags = os.environ.get("XLA_FLAGS", "")
    extra = [f for f in fast_compile_flags().split() if f.split("=")[0] not in flags]
    os.environ["XLA_FLAGS"] = " ".join([*flags.split(), *extra])


def _run_verify(names: list[str], checks: tuple[str, ...], platforms: tuple[str, ...],
                jobs: int, cache: str | None) -> list[Any]:  # fmt: skip
    """Reports in catalogue order; the losses spread over ``jobs`` processes (XLA compiles
    one program on one core, and compilation is most of the work)."""
    # The costliest first, so that no process is left with a long loss at the end: the
    # times of the last run (kept beside the cache), else a family's typical size.
    cost = _costs(cache)
    order = sorted(names, key=lambda n: -cost.get(n, _FAMILY_COST.get(_family(n), 1.0)))
    tasks = [(n, checks, platforms) for n in order]
    bar = _bar(len(tasks))
    reports: dict[str, Any] = {}
    if jobs <= 1:
        _worker_init(cache)  # this process is the one worker
        for t in tasks:
            bar.set(t[0])
            reports[t[0]] = _verify_one(t)["report"]
            bar.step()
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        # spawn, not fork: a forked JAX runtime is not safe to use.
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_worker_init,
                                 initargs=(cache,)) as pool:  # fmt: skip
            futures = {pool.submit(_verify_one, t): t[0] for t in tasks}
            for f in as_completed(futures):
                reports[futures[f]] = f.result()["report"]
                bar.step(futures[f])
    bar.close()
    _save_costs(cache, {n: r.seconds for n, r in reports.items() if r.seconds})
    return [reports[n] for n in names]


# Seconds a loss of each family takes, relative to a simple elementwise loss, when no run
# has recorded its own time yet.
_FAMILY_COST = {"sequence": 8.0, "detection": 6.0, "large vocabulary": 5.0, "embedding": 4.0,
                "segmentation": 3.0, "ranking": 2.5, "classification": 2.0}  # fmt: skip


def _family(name: str) -> str:
    from . import catalogue

    return catalogue.get(name).family


def _costs_file(cache: str | None) -> Path | None:
    return None if cache is None else Path(cache).parent / "verify-seconds.json"


def _costs(cache: str | None) -> dict[str, float]:
    path = _costs_file(cache)
    try:
        return json.loads(path.read_text()) if path else {}
    except (OSError, ValueError):
        return {}


def _save_costs(cache: str | None, seconds: dict[str, float]) -> None:
    path = _costs_file(cache)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({**_costs(cache), **seconds}, indent=1, sort_keys=True))
    except OSError:
        pass  # the order is an optimisation only


class _bar:
    """A tqdm progress bar on stderr when tqdm is installed, a line per loss otherwise."""

    def __init__(self, total: int):
        self.total, self.done = total, 0
        try:
            from tqdm import tqdm
        except ImportError:
            self.tqdm = None
        else:
            self.tqdm = tqdm(total=total, desc="verify", unit="loss", file=sys.stderr,
                             leave=False)  # fmt: skip

    def set(self, name: str) -> None:
        if self.tqdm is not None:
            self.tqdm.set_postfix_str(name)

    def step(self, name: str | None = None) -> None:
        self.done += 1
        if self.tqdm is not None:
            self.tqdm.update(1)
            if name:
                self.tqdm.set_postfix_str(name)
        elif name or self.done:
            print(f"verify [{self.done}/{self.total}] {name or ''}".rstrip(), file=sys.stderr)

    def close(self) -> None:
        if self.tqdm is not None:
            self.tqdm.close()


def _cmd_verify(args: argparse.Namespace) -> int:
    from . import testing

    entries = _select(args.names, args.family)
    checks = tuple(c for c in (args.checks.split(",") if args.checks else testing.CHECKS) if c)
    unknown = sorted(set(checks) - set(testing.CHECKS))
    if unknown:
        raise _Usage(f"unknown check(s) {', '.join(unknown)}; known: {', '.join(testing.CHECKS)}")
    platforms = (
        tuple(p.strip() for p in args.platforms.split(",") if p.strip()) if args.platforms else ()
    )
    jobs = args.jobs if args.jobs else min(os.cpu_count() or 1, len(entries))
    cache = None if args.no_cache else (args.cache or str(_default_cache()))
    _fast_compiles()

    import jax

    start = time.perf_counter()
    reports = _run_verify([e.name for e in entries], checks, platforms, jobs, cache)
    seconds = time.perf_counter() - start
    failed = [r for r in reports if not r.passed]
    summary = (f"{len(reports) - len(failed)} passed, {len(failed)} failed "
               f"in {seconds:.0f} s")  # fmt: skip
    if args.json:
        out: dict[str, Any] = {
            "jaxloss": __version__,
            "jax": jax.__version__,
            "backend": jax.default_backend(),
            "devices": [str(d) for d in jax.devices()],
            "platforms": list(platforms),
            "jobs": jobs,
            "cache": cache,
            "seconds": round(seconds, 2),
            "passed": not failed,
            "summary": summary,
            "results": [r.to_dict() for r in reports],
        }
        print(json.dumps(out, indent=2))
        return 1 if failed else 0
    device = jax.devices()[0]
    print(f"jaxloss {__version__} · jax {jax.__version__} · backend {jax.default_backend()} "
          f"({device.device_kind}) · {_plural(len(reports), 'loss')} · "
          f"{_plural(jobs, 'process')}")  # fmt: skip
    print("value/grad: worst scale-relative error against the plain reference (float32); "
          "none: no kinks or edge cases documented")  # fmt: skip
    shown = (*checks, "export") if platforms else checks
    cols = [(c, h) for c, h in _COLUMNS if c in shown]
    width = max([len("loss"), *(len(r.name) for r in reports)])
    header = f"{'loss':<{width}} " + " ".join(f"{h:>7}" for _, h in cols) + "  result"
    print(header)
    print("-" * len(header))
    for r in reports:
        cells = " ".join(f"{_cell(r, c):>7}" for c, _ in cols)
        print(f"{r.name:<{width}} {cells}  {'passed' if r.passed else 'FAILED'}")
    for r in failed:
        for f in r.failures:
            print(f"\n{r.name} · {f.check}: {f.detail}")
    print(f"\n{summary}")
    return 1 if failed else 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo

    return run_demo(
        args.out, quick=args.quick, seed=args.seed, only=args.only, examples=args.examples
    )


def _parser() -> argparse.ArgumentParser:
    from . import _demo

    parser = argparse.ArgumentParser(
        prog="jaxloss",
        description="Loss functions for JAX with hand-written, verified gradient rules.",
    )
    parser.add_argument("--version", action="version", version=f"jaxloss {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("list", help="print the catalogue of losses and their peers' names")
    p.add_argument("--family", help="only this family or docs section (e.g. contrastive)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=_cmd_list)

    p = sub.add_parser(
        "verify",
        help="check every loss's gradient rule against its reference on this backend",
        description="Runs jaxloss.testing.check_entry over the catalogue (or the named "
        "losses), in parallel processes, and prints one row per loss; exits 1 if any check "
        "fails. Compiled programs are kept in a cache folder, so a second run is faster.",
    )
    p.add_argument("names", nargs="*", help="losses to verify (default: all)")
    p.add_argument("--family", help="only this family or docs section (e.g. contrastive)")
    p.add_argument("--checks", help="comma-separated subset of: value, gradient, "
                   "finite_differences, jit, vmap, hessian, reductions, kinks, edge_cases, "
                   "dtypes, fused_reduction")  # fmt: skip
    p.add_argument("--platforms", metavar="P1,P2",
                   help="also lower and serialise every checked program for these platforms "
                   "with jax.export (e.g. cuda,tpu,rocm): evidence, without the hardware, that "
                   "the same code compiles there")  # fmt: skip
    p.add_argument("--jobs", type=int, default=0,
                   help="processes to run (default: one per CPU core)")  # fmt: skip
    p.add_argument("--cache", metavar="DIR",
                   help=f"keep compiled programs here (default: {_default_cache()})")  # fmt: skip
    p.add_argument("--no-cache", action="store_true", help="compile everything afresh")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=_cmd_verify)

    p = sub.add_parser(
        "demo",
        help="train the optax examples on real data and write a report (markdown + PNGs)",
        description="Runs the example scripts of docs/examples (robust regression, imbalanced "
        "classification, metric learning, a small language model) on small defaults, a few "
        "minutes on 2 CPU cores (--quick: about one), and writes DIR/report.md with their "
        "figures. Needs the examples extra: pip install 'jaxloss[examples]'.",
    )
    p.add_argument("--quick", action="store_true", help="each example's quick mode")
    p.add_argument(
        "--out", default="jaxloss-demo", help="folder for the report (default: ./jaxloss-demo)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed passed to every example")
    p.add_argument(
        "--only", nargs="+", default=[], metavar="NAME",
        help=f"run only these: {', '.join(e.name for e in _demo.EXAMPLES)}",
    )  # fmt: skip
    p.add_argument("--examples", help="folder of the example scripts (default: found)")
    p.set_defaults(run=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except _Usage as e:
        print(f"jaxloss {args.command}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
