"""The ``jaxloss`` command: ``list`` the catalogue, ``verify`` it on this machine's backend,
``demo`` the training examples."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

import jax

from . import __version__, catalogue, testing

T = TypeVar("T")


def _progress(items: Sequence[T], desc: str) -> Iterator[T]:
    """A tqdm progress bar on stderr when tqdm is installed, a line per item otherwise."""
    try:
        from tqdm import tqdm
    except ImportError:
        for i, item in enumerate(items, 1):
            print(f"{desc} [{i}/{len(items)}] {getattr(item, 'name', item)}", file=sys.stderr)
            yield item
        return
    bar = tqdm(items, desc=desc, unit="loss", file=sys.stderr, leave=False)
    for item in bar:
        bar.set_postfix_str(getattr(item, "name", str(item)))
        yield item


def _select(names: Iterable[str], family: str | None) -> list[catalogue.Entry]:
    entries = [catalogue.get(n) for n in names] or list(catalogue.ENTRIES)
    return [e for e in entries if family is None or e.family == family]


def _cmd_list(args: argparse.Namespace) -> int:
    entries = _select([], args.family)
    if args.json:
        rows = [
            {
                "name": e.name,
                "family": e.family,
                "summary": e.summary,
                "options": [dict(o) for o in e.options],
                "peers": {k: v for k, v in vars(e.peers).items() if v},
            }
            for e in entries
        ]
        print(json.dumps({"losses": rows}, indent=2, default=str))
        return 0
    header = f"{'name':<26} {'family':<11} {'torch':<18} {'optax':<14} {'keras':<30} summary"
    print(header)
    print("-" * len(header))
    for e in entries:
        p = e.peers
        print(
            f"{e.name:<26} {e.family:<11} {p.torch or '—':<18} {p.optax or '—':<14} "
            f"{p.keras or '—':<30} {e.summary}"
        )
    return 0


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
)


def _cell(report: testing.Report, check: str) -> str:
    try:
        r = report[check]
    except KeyError:
        return "—"
    if not r.passed:
        return "FAIL"
    if check in ("value", "gradient") and r.error is not None:
        return f"{r.error:.1e}"
    return "ok"


def _cmd_verify(args: argparse.Namespace) -> int:
    try:
        entries = _select(args.names, args.family)
    except KeyError as e:
        print(f"jaxloss verify: {e.args[0]}", file=sys.stderr)
        return 2
    checks = args.checks.split(",") if args.checks else list(testing.CHECKS)
    unknown = sorted(set(checks) - set(testing.CHECKS))
    if unknown:
        print(
            f"jaxloss verify: unknown check(s) {', '.join(unknown)}; "
            f"known: {', '.join(testing.CHECKS)}",
            file=sys.stderr,
        )
        return 2
    start = time.perf_counter()
    reports = [testing.check_entry(e, checks) for e in _progress(entries, "verify")]
    seconds = time.perf_counter() - start
    failed = [r for r in reports if not r.passed]
    if args.json:
        out: dict[str, Any] = {
            "jaxloss": __version__,
            "jax": jax.__version__,
            "backend": jax.default_backend(),
            "devices": [str(d) for d in jax.devices()],
            "seconds": round(seconds, 2),
            "passed": not failed,
            "results": [r.to_dict() for r in reports],
        }
        print(json.dumps(out, indent=2))
        return 1 if failed else 0
    device = jax.devices()[0]
    print(f"jaxloss {__version__} · jax {jax.__version__} · backend {jax.default_backend()} "
          f"({device.device_kind}) · {len(reports)} losses · {seconds:.0f} s")  # fmt: skip
    print("value/grad: worst scale-relative error against the plain reference (float32, float64)")
    cols = [(c, h) for c, h in _COLUMNS if c in checks]
    header = f"{'loss':<26} " + " ".join(f"{h:>8}" for _, h in cols) + "  result"
    print(header)
    print("-" * len(header))
    for r in reports:
        cells = " ".join(f"{_cell(r, c):>8}" for c, _ in cols)
        print(f"{r.name:<26} {cells}  {'passed' if r.passed else 'FAILED'}")
    for r in failed:
        for f in r.failures:
            print(f"\n{r.name} · {f.check}: {f.detail}")
    print(f"\n{len(reports) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo

    return run_demo(
        args.out, quick=args.quick, seed=args.seed, only=args.only, examples=args.examples
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jaxloss",
        description="Loss functions for JAX with hand-written, verified gradient rules.",
    )
    parser.add_argument("--version", action="version", version=f"jaxloss {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("list", help="print the catalogue of losses and their peers' names")
    p.add_argument("--family", help="only this family", choices=catalogue.families())
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=_cmd_list)

    p = sub.add_parser(
        "verify",
        help="check every loss's gradient rule against its reference on this backend",
        description="Runs jaxloss.testing.check_entry over the catalogue (or the named "
        "losses) and prints one row per loss; exits 1 if any check fails.",
    )
    p.add_argument("names", nargs="*", help="losses to verify (default: all)")
    p.add_argument("--family", choices=catalogue.families(), help="only this family")
    p.add_argument("--checks", help=f"comma-separated subset of: {', '.join(testing.CHECKS)}")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=_cmd_verify)

    from ._demo import EXAMPLES

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
        help=f"run only these: {', '.join(e.name for e in EXAMPLES)}",
    )  # fmt: skip
    p.add_argument("--examples", help="folder of the example scripts (default: found)")
    p.set_defaults(run=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    raise SystemExit(main())
