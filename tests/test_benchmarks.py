"""Smoke tests of the benchmark scripts: each runs a reduced ``--quick`` mode with ``--out -``.

The three scripts run in one subprocess (JAX's default configuration, not the suite's
x64 and strict promotion; one import of jax, optax and torch), each ``main(argv)``
with its stdout captured; the tests check that every report has its sections, its
rows, and that every candidate agrees with jaxloss. The timings of a smoke run mean
nothing and are not checked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jaxloss import catalogue

ROOT = Path(__file__).resolve().parents[1]

# Catalogue entries of the embedding benchmark's families, and the in-batch losses its
# mining section times, used when the catalogue has them.
EMBEDDING_NAMES = ("dice", "ranking_softmax", "giou", "triplet_margin", "batch_hard_triplet")

_DRIVER = """
import contextlib, io, json, sys
sys.path.insert(0, "benchmarks")
import classification, embedding, regression
runs = json.loads(sys.argv[1])
out = {}
for name, argv in runs.items():
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = {"regression": regression, "classification": classification,
              "embedding": embedding}[name].main(argv)
    out[name] = [rc, buf.getvalue()]
print("\\n@@RESULTS@@" + json.dumps(out))
"""


def _embedding_names() -> list[str]:
    known = set(catalogue.names())
    return [n for n in EMBEDDING_NAMES if n in known]


@pytest.fixture(scope="module")
def reports() -> dict[str, str]:
    quick = ["--options", "default", "--out", "-"]
    runs = {
        "regression": ["--size", "4096", "--repeats", "2", "--names", "huber", *quick],
        "classification": [
            "--quick",
            "--only",
            "headline",
            "step",
            "hinge",
            "--rounds",
            "2",
            *quick,
        ],
        "embedding": ["--quick", "--only", *_embedding_names(), "--rounds", "2", *quick],
    }
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    done = subprocess.run(
        [sys.executable, "-c", _DRIVER, json.dumps(runs)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    results = json.loads(done.stdout.split("@@RESULTS@@", 1)[1])
    for name, (rc, _) in results.items():
        assert rc == 0, name
    return {name: text for name, (_, text) in results.items()}


def _table_rows(text: str) -> list[str]:
    return [ln.split("|")[1].strip() for ln in text.splitlines() if ln.startswith("| ")]


def test_regression_report(reports):
    text = reports["regression"]
    assert text.startswith("# Regression losses: `jit(value_and_grad(mean loss))` on [4,096]")
    for line in ("- Machine: ", "- Versions: ", "- Date: ", "- Method: 2 timed rounds"):
        assert line in text
    for section in ("## Misses", "## Per-round ratios"):
        assert section in text
    assert "huber" in _table_rows(text)
    assert "Value or gradient disagreements" not in text


def test_classification_report(reports):
    text = reports["classification"]
    assert text.startswith("# Classification, divergence and sequence losses")
    assert "**--quick (smoke test, not a measurement)**" in text
    for section in (
        "## Headline: integer-label softmax cross-entropy on [64, 1,000] float32",
        "## In a step: integer-label cross-entropy of `h @ W`",
        "## Catalogue: families classification, divergence, sequence",
        "## Misses",
        "## Per-round ratios",
        "## Agreement with jaxloss",
        "## Adapters",
    ):
        assert section in text
    rows = _table_rows(text)
    for variant in ("plain", "label_smoothing=0.1", "z_loss=1e-4"):
        assert variant in rows
    assert "hinge" in rows
    assert "- plain CE ≤ 1.0× optax:" in text
    assert "All candidates agree." in text
    assert "- hinge, optax: mean(optax.hinge_loss(x, t))" in text
    assert "mean(optax.softmax_cross_entropy_with_integer_labels(x, y)) with x = h @ W" in text


def test_embedding_report(reports):
    text = reports["embedding"]
    names = _embedding_names()
    assert text.startswith("# Embedding, contrastive, ranking, segmentation and detection")
    for section in (
        "## Catalogue: families embedding, contrastive, ranking, segmentation, detection",
        "## Misses",
        "## Per-round ratios",
        "## Agreement with jaxloss",
        "## Adapters",
    ):
        assert section in text
    rows = _table_rows(text)
    for name in names:
        assert name in rows, name
    if "batch_hard_triplet" in names:
        assert "## Mining: in-batch losses on one batch of 64 × 16 embeddings" in text
    assert "All candidates agree." in text
    # The adapters used, by name: optax's dice and ranking losses, torch's triplet loss.
    assert "- dice, optax: mean(optax.dice_loss(logits, targets))" in text
    assert "- ranking_softmax, optax: optax.ranking_softmax_loss(" in text
    if "triplet_margin" in names:
        assert "- triplet_margin, torch: F.triplet_margin_loss(" in text
    # The overlap losses run on [images, height, width, classes] masks of the script.
    assert "| dice | — | 2×8×8×4 |" in text


def test_verification_figures_in_the_docs_are_the_recorded_ones():
    """docs/verification.md and the README quote the cost of verification from the run
    recorded by benchmarks/verify.py, not typed by hand."""
    data = json.loads((ROOT / "benchmarks" / "results" / "verify_cpu.json").read_text())
    runs, machine = data["runs"], data["machine"]
    assert all(r["returncode"] == 0 for r in runs.values()), runs
    page = (ROOT / "docs" / "verification.md").read_text()
    cost = page.split("## Cost", 1)[1].split("\n## ", 1)[0]
    assert machine["date"][:10] in cost
    for name in ("cold", "warm", "one loss", "platforms", "test suite"):
        assert f"| {name} | {runs[name]['wall_s']:.0f} s |" in cost, name
    readme = (ROOT / "README.md").read_text().split("```", 2)[1]
    assert f"{runs['cold']['wall_s']:.0f} s" in readme
    assert f"{runs['test suite']['wall_s'] / 60:.0f} min" in readme
