"""``jaxloss demo``: run the optax training examples and write a report (markdown + PNGs).

The examples are the standalone scripts of ``docs/examples/`` (robust regression,
imbalanced classification, metric learning, a small language model), each trained
with optax on data that ships with scikit-learn or Python. The demo runs each one
in a subprocess, as ``python docs/examples/<name>.py [--quick] --seed S --out
DIR/<name>``, shows its progress bars, and gathers what it wrote into
``DIR/report.md``: the one-line summary, a table and the figures of every example.

The scripts live in the source tree, not in the installed package: the demo looks
for them next to the package (a checkout, or an editable install), then under
``./docs/examples``, or where ``--examples`` points. They need the ``examples``
extra (``pip install "jaxloss[examples]"``: optax, matplotlib, scikit-learn, tqdm).
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["EXAMPLES", "Example", "find_examples", "run_demo"]


@dataclass(frozen=True)
class Example:
    """One example script: its file stem, title and what it shows."""

    name: str
    title: str
    shows: str


EXAMPLES: tuple[Example, ...] = (
    Example(
        "robust_regression",
        "Robust regression: diabetes with injected outliers",
        "Compares `squared_error` with `absolute_error`, `huber`, `log_cosh` and "
        "`general_robust`: clean test error and training residuals",
    ),
    Example(
        "imbalanced_classification",
        "Imbalanced classification: digits with rare classes",
        "Compares cross-entropy, class-weighted cross-entropy, focal (plain and α-balanced) "
        "and label smoothing: per-class recall and calibration",
    ),
    Example(
        "metric_learning",
        "Metric learning: a digits embedding",
        "Compares `triplet_margin`, `batch_hard_triplet` and `supervised_contrastive`: "
        "a 2-D embedding and retrieval accuracy",
    ),
    Example(
        "language_model",
        "A small language model on the Python standard library's source",
        "Compares `linear_softmax_cross_entropy` with logits + cross-entropy: "
        "the same loss curve, less memory",
    ),
)

REQUIRED = ("optax", "matplotlib", "sklearn", "tqdm")


def find_examples(directory: str | os.PathLike[str] | None = None) -> Path | None:
    """The folder holding the example scripts: ``directory`` if given, else the source
    tree's ``docs/examples`` beside the package, else ``./docs/examples``."""
    if directory is not None:
        path = Path(directory)
        return path if path.is_dir() else None
    for path in (
        Path(__file__).resolve().parent.parent / "docs" / "examples",
        Path.cwd() / "docs" / "examples",
    ):
        if (path / f"{EXAMPLES[0].name}.py").is_file():
            return path
    return None


def _missing_modules() -> list[str]:
    import importlib.util

    return [m for m in REQUIRED if importlib.util.find_spec(m) is None]


def _machine() -> str:
    import jax

    from . import __version__

    device = jax.devices()[0]
    return (
        f"jaxloss {__version__}, jax {jax.__version__}, backend {jax.default_backend()} "
        f"({device.device_kind}), Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}"
    )


def _relink(markdown: str, folder: str) -> str:
    """Point an example's relative image links into its subfolder of the report."""
    return markdown.replace("](", f"]({folder}/").replace(f"]({folder}/http", "](http")


def run_demo(
    out: str | os.PathLike[str],
    *,
    quick: bool = False,
    seed: int = 0,
    only: Sequence[str] = (),
    examples: str | os.PathLike[str] | None = None,
    stream=None,
) -> int:
    """Runs the examples into ``out``, writes ``out/report.md``; returns the exit status
    (0 when every example ran, 1 when one failed, 2 when none could start)."""
    stream = stream or sys.stdout
    folder = find_examples(examples)
    if folder is None:
        where = examples or "docs/examples beside the package or under the current directory"
        print(
            f"jaxloss demo: no example scripts found ({where}); run it from a jaxloss "
            "checkout or pass --examples DIR",
            file=sys.stderr,
        )
        return 2
    missing = _missing_modules()
    if missing:
        print(
            f"jaxloss demo: the examples need {', '.join(missing)}: "
            'pip install "jaxloss[examples]"',
            file=sys.stderr,
        )
        return 2
    unknown = sorted(set(only) - {e.name for e in EXAMPLES})
    if unknown:
        print(
            f"jaxloss demo: unknown example(s) {', '.join(unknown)}; "
            f"known: {', '.join(e.name for e in EXAMPLES)}",
            file=sys.stderr,
        )
        return 2
    chosen = [e for e in EXAMPLES if not only or e.name in only]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "MPLBACKEND": "Agg"}
    sections, lines, failed, skipped = [], [], [], []
    start = time.perf_counter()
    for example in chosen:
        script = folder / f"{example.name}.py"
        if not script.is_file():
            skipped.append(example.name)
            lines.append(f"{example.name}: not run (no {script.name} in {folder})")
            sections.append(f"## {example.title}\n\nNot run: `{script}` is missing.\n")
            print(lines[-1], file=stream)
            continue
        cmd = [sys.executable, str(script), "--seed", str(seed), "--out", str(out / example.name)]
        if quick:
            cmd.append("--quick")
        t0 = time.perf_counter()
        # Progress bars (stderr) go straight to the terminal; the summary line is kept.
        done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env=env)
        seconds = time.perf_counter() - t0
        printed = [ln for ln in done.stdout.splitlines() if ln.strip()]
        (out / example.name).mkdir(parents=True, exist_ok=True)
        (out / example.name / "stdout.txt").write_text(done.stdout)
        if done.returncode != 0:
            failed.append(example.name)
            lines.append(f"{example.name}: FAILED (exit status {done.returncode})")
            sections.append(
                f"## {example.title}\n\nFailed with exit status {done.returncode}; "
                f"command: `{' '.join(cmd)}`.\n"
            )
            print(lines[-1], file=stream)
            continue
        summary = printed[-1] if printed else f"{example.name}: (printed nothing)"
        lines.append(summary)
        print(summary, file=stream)
        body = out / example.name / "summary.md"
        text = _relink(body.read_text(), example.name) if body.is_file() else ""
        sections.append(
            f"## {example.title}\n\n{example.shows}. "
            f"`python docs/examples/{example.name}.py{' --quick' if quick else ''} "
            f"--seed {seed}`: {seconds:.0f} s in all, starting Python and importing JAX "
            "included (the time in the summary line counts from the script's start: data, "
            "training, figures).\n\n"
            f"```text\n{summary}\n```\n\n{text}"
        )
    total = time.perf_counter() - start
    ran = len(chosen) - len(failed) - len(skipped)
    report = (
        f"# jaxloss demo{' (quick)' if quick else ''}\n\n"
        f"{ran} of {len(chosen)} examples ran in {total:.0f} s on {_machine()}. "
        "Every example trains with optax and a jaxloss loss; re-run one with the "
        "command shown under its title.\n\n" + "\n".join(sections)
    )
    (out / "report.md").write_text(report)
    print(
        f"jaxloss demo: {ran}/{len(chosen)} examples in {total:.0f} s; report: {out / 'report.md'}",
        file=stream,
    )
    return 1 if failed else 0
