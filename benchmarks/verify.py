"""The cost of verification: `jaxloss verify` cold and warm, one loss, and the test suite.

Runs each command as a user would, in a fresh subprocess, and records its wall time:

- `jaxloss verify` over the whole catalogue from a cold start: an empty folder of kept
  programs (a fresh folder passed with `--cache`);
- the same again with those programs kept;
- `jaxloss verify huber`, cold;
- `jaxloss verify --platforms cuda,tpu` (the cross-platform lowering), warm;
- with `--tests`, the README's test command (`python -m pytest -n auto --maxprocesses 4`).

Writes `results/verify_<backend>.md` and `.json` (or prints with `--out -`), headed by
the machine it ran on. The figures to keep (docs/verification.md): the whole catalogue
in 60 s cold on 2 CPU cores (90 s at most), 20 s warm, one loss in 5 s, the test suite in
10 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import finish_machine, machine, machine_lines

ROOT = Path(__file__).resolve().parents[1]
_SELF_TEST = "test_verification_figures_in_the_docs_are_the_recorded_ones"
TARGETS = {"cold": 60.0, "warm": 20.0, "one loss": 5.0, "test suite": 600.0}
LIMITS = {"cold": 90.0}


def _timed(cmd: list[str], *, env: dict[str, str] | None = None) -> dict[str, object]:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    tail = (done.stdout.strip().splitlines() or [""])[-1]
    return {"command": " ".join(cmd), "wall_s": round(wall, 1), "returncode": done.returncode,
            "last_line": tail, "stderr_tail": done.stderr.strip()[-2000:]}  # fmt: skip


def _verify(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "jaxloss", "verify", *args]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tests", action="store_true", help="also time the README's test command")
    p.add_argument("--names", nargs="*", default=[], help="verify only these (a quick run)")
    p.add_argument("--out", default=None, help="'-' prints the report instead of writing it")
    args = p.parse_args(argv)

    info = machine()
    start = time.perf_counter()
    runs: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        cache = str(Path(tmp) / "verify")
        runs["cold"] = _timed(_verify([*args.names, "--cache", cache]))
        runs["warm"] = _timed(_verify([*args.names, "--cache", cache]))
        runs["one loss"] = _timed(_verify(["huber", "--cache", str(Path(tmp) / "one")]))
        runs["platforms"] = _timed(_verify([*args.names, "--cache", cache,
                                            "--platforms", "cuda,tpu"]))  # fmt: skip
    if args.tests:
        env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
        # Less the one test that checks this script's own results, which are being made.
        runs["test suite"] = _timed(
            [sys.executable, "-m", "pytest", "-n", "auto", "--maxprocesses", "4", "-q",
             "--deselect", f"tests/test_benchmarks.py::{_SELF_TEST}"],
            env=env,
        )  # fmt: skip
    finish_machine(info, start)

    scope = f"{len(args.names)} losses" if args.names else "the whole catalogue"
    lines = [
        "# Verification cost",
        "",
        *machine_lines(info, torch_line=False),
        "",
        f"Wall time of each command in a fresh process ({scope}); `jaxloss verify` runs one "
        "process per CPU core.",
        "",
        "| run | command | wall | target | result |",
        "| --- | --- | --- | --- | --- |",
    ]
    failed = False
    for name, r in runs.items():
        target = TARGETS.get(name)
        limit = LIMITS.get(name, target)
        wall = float(r["wall_s"])  # type: ignore[arg-type]
        ok = r["returncode"] == 0
        failed |= not ok
        over = "" if limit is None or args.names or wall <= limit else " (over)"
        cmd = str(r["command"]).replace(sys.executable, "python")
        lines.append(
            f"| {name} | `{cmd}` | {wall:.0f} s{over} | "
            f"{'—' if target is None else f'{target:.0f} s'} | "
            f"{r['last_line'] if ok else 'FAILED: ' + str(r['last_line'])} |"
        )
    report = "\n".join(lines) + "\n"
    data = {"machine": info, "runs": runs}
    if args.out == "-":
        print(report)
        print(json.dumps(data, indent=2, default=str))
    else:
        out = Path(args.out) if args.out else ROOT / "benchmarks" / "results"
        out.mkdir(parents=True, exist_ok=True)
        (out / f"verify_{info['backend']}.md").write_text(report)
        (out / f"verify_{info['backend']}.json").write_text(json.dumps(data, indent=2, default=str))
        print(report)
        if not args.out and not args.names and "test suite" in runs:
            quote_in_docs(data)
    return 1 if failed else 0


_COST_ROWS = (
    ("cold", "`jaxloss verify --cache EMPTY_DIR`: the whole catalogue, nothing compiled yet",
     "60 s (90 s at most)"),
    ("warm", "the same again, with the programs that the first run kept", "20 s"),
    ("one loss", "`jaxloss verify huber`, cold", "5 s"),
    ("platforms", "`jaxloss verify --platforms cuda,tpu`, warm: the checks and the lowering "
     "of every checked program for GPU and TPU", "—"),
    ("test suite", "the README's test command, `python -m pytest -n auto --maxprocesses 4`",
     "10 min"),
)  # fmt: skip


def quote_in_docs(data: dict[str, object]) -> None:
    """Quotes a recorded run in docs/verification.md (its Cost section) and the README
    (the comments above its two commands); tests/test_benchmarks.py checks that they
    match the recorded results."""
    runs, info = data["runs"], data["machine"]
    assert isinstance(runs, dict) and isinstance(info, dict)

    def wall(name: str) -> str:
        return f"{runs[name]['wall_s']:.0f} s"

    load = " ".join(f"{x:.2f}" for x in info["loadavg_start"])
    lines = [
        "## Cost",
        "",
        f"Measured by `python benchmarks/verify.py --tests` on {info['date'][:10]} "
        f"({info['cpu']}, {info['cpus_usable']} usable CPU cores, jax {info['jax']}, load "
        f"average {load} at the start), each command in a fresh process; "
        "`benchmarks/results/verify_cpu.md` has the run, and `jaxloss verify` prints its "
        "own time on its last line.",
        "",
        "| run | wall | what | target on 2 cores |",
        "| --- | --- | --- | --- |",
        *(f"| {name} | {wall(name)} | {what} | {target} |" for name, what, target in _COST_ROWS),
        "",
    ]
    page = ROOT / "docs" / "verification.md"
    text = page.read_text()
    start = text.index("## Cost")
    end = text.index("\n## ", start + 3) + 1
    page.write_text(text[:start] + "\n".join(lines) + "\n" + text[end:])
    readme = ROOT / "README.md"
    text = readme.read_text()
    text = re.sub(r"# \(verify: [^\n]*\n",
                  f"# (verify: {wall('cold')} on 2 CPU cores from a cold start, {wall('warm')} "
                  "with the programs a first run keeps;\n", text, count=1)  # fmt: skip
    minutes = float(runs["test suite"]["wall_s"]) / 60
    text = re.sub(r"# \(about \d+ min on 2 CPU cores\):",
                  f"# (about {minutes:.0f} min on 2 CPU cores):", text, count=1)  # fmt: skip
    readme.write_text(text)


if __name__ == "__main__":
    raise SystemExit(main())
