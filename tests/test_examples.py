"""The optax examples of docs/examples/ run in their quick mode and show what they claim.

Each example runs as a user runs it, ``python docs/examples/<name>.py --quick --seed 0
--out DIR``, in a subprocess (JAX's default config, not the suite's x64); the test
checks its one-line summary, the figures and files it writes, and the results that
the example's prose promises (robust losses beat squared_error on the outlier data,
class weights raise minority recall, ...).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from jaxloss._demo import EXAMPLES

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES_DIR = ROOT / "docs" / "examples"
PNG = b"\x89PNG\r\n\x1a\n"


def run_example(name: str, out: Path, *args: str) -> tuple[str, dict]:
    script = str(EXAMPLES_DIR / f"{name}.py")
    done = subprocess.run(
        [sys.executable, script, "--quick", "--seed", "0", *args, "--out", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "MPLBACKEND": "Agg"},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [ln for ln in done.stdout.splitlines() if ln.strip()]
    assert lines, "the example printed nothing"
    results = json.loads((out / "results.json").read_text())
    assert results["example"] == name and results["settings"]["quick"] is True
    for figure in results["figures"]:
        data = (out / figure).read_bytes()
        assert data.startswith(PNG) and len(data) > 5_000, figure
        assert f"]({figure})" in (out / "summary.md").read_text()
    return lines[-1], results


def test_every_example_is_known_to_the_demo():
    scripts = {p.stem for p in EXAMPLES_DIR.glob("*.py")}
    assert scripts == {e.name for e in EXAMPLES}


def test_robust_regression(tmp_path):
    line, r = run_example("robust_regression", tmp_path / "direct")
    assert line.startswith("robust_regression: test RMSE squared_error ")
    assert line.endswith(" s)") and f"best {r['best']}" in line
    rmse = r["test_rmse"]
    assert set(rmse) == {"squared_error", "absolute_error", "huber", "log_cosh", "general_robust"}
    # The outliers pull the least-squares fit up by ~1.8σ; every robust loss stays near the
    # clean data: at most 60 % of squared_error's test RMSE.
    for name in ("absolute_error", "huber", "log_cosh", "general_robust"):
        assert rmse[name] < 0.6 * rmse["squared_error"], (name, rmse)
    assert r["best"] != "squared_error"
    # Fitted residuals: the inliers sit below the least-squares fit, centred under the robust ones.
    median = r["median_inlier_residual"]
    assert median["squared_error"] < -1.0
    assert all(abs(median[n]) < 0.5 for n in ("absolute_error", "general_robust"))

    # `jaxloss demo` runs the same script with the same seed: the same numbers (reproducible),
    # and a report that shows its summary line and figures.
    command = ["-m", "jaxloss", "demo", "--quick", "--only", "robust_regression"]
    demo = subprocess.run(
        [sys.executable, *command, "--out", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "MPLBACKEND": "Agg"},
        timeout=300,
    )
    assert demo.returncode == 0, demo.stderr[-3000:]
    again = json.loads((tmp_path / "demo" / "robust_regression" / "results.json").read_text())
    assert again["test_rmse"] == r["test_rmse"]
    report = (tmp_path / "demo" / "report.md").read_text()
    assert "1 of 1 examples ran" in report and line.split(" (")[0] in report
    assert "![test error](robust_regression/test_error.png)" in report


def test_imbalanced_classification(tmp_path):
    line, r = run_example("imbalanced_classification", tmp_path)
    assert line.startswith("imbalanced_classification: minority recall cross_entropy ")
    assert "; ECE " in line
    minority, majority = r["minority_recall"], r["majority_recall"]
    assert set(minority) == {
        "cross_entropy",
        "class_weighted",
        "focal",
        "focal_balanced",
        "label_smoothing",
    }
    counts = r["settings"]["train_counts"]
    assert min(counts[:5]) > 10 * max(counts[5:])  # the training split is imbalanced
    # Class weights (in CE, or as the focal loss's α) raise the rare classes' recall.
    assert minority["class_weighted"] > minority["cross_entropy"] + 0.05
    assert minority["focal_balanced"] > minority["cross_entropy"] + 0.05
    # ... without giving up the majority classes.
    assert all(v > 0.9 for v in majority.values())
    for name, ece in r["ece"].items():
        assert 0.0 <= ece < 0.3, name
    per_class = r["per_class_recall"]["cross_entropy"]
    assert len(per_class) == 10 and all(0.0 <= v <= 1.0 for v in per_class)


def test_metric_learning(tmp_path):
    line, r = run_example("metric_learning", tmp_path)
    assert line.startswith("metric_learning: retrieval accuracy (recall@1) untrained ")
    accuracy = r["retrieval_accuracy"]
    assert set(accuracy) >= {"triplet_margin", "batch_hard_triplet", "supervised_contrastive"}
    # Every trained 2-D embedding retrieves same-digit neighbours far above chance (10 %)
    # and far above the untrained network it started from (about 0.25).
    assert r["untrained_accuracy"] < 0.4
    for name, value in accuracy.items():
        assert value > 0.7, (name, accuracy)


def test_language_model(tmp_path):
    line, r = run_example("language_model", tmp_path)
    assert line.startswith("language_model: final loss fused ")
    assert "step temp memory fused " in line
    fused, naive = r["curves"]["fused"], r["curves"]["naive"]
    assert len(fused) == len(naive) == r["settings"]["steps"] > 1
    # Same model, same batches: the same loss curve (float32 rounding), and it goes down
    # from about log(V).
    assert max(abs(a - b) for a, b in zip(fused, naive, strict=True)) < 1e-3
    assert abs(fused[0] - math.log(r["settings"]["vocab"])) < 0.5
    assert np.mean(fused[-10:]) < fused[0] - 1.0
    # Lower memory: the fused training step's compiled temporaries are a fraction of the
    # naive one's, and at a language-model size (8192 x 32768 logits) far below the 1 GiB
    # of logits alone.
    assert r["temp_bytes"]["fused"] < 0.5 * r["temp_bytes"]["naive"]
    assert r["temp_bytes_large"]["naive"] >= 2**30 > 10 * r["temp_bytes_large"]["fused"]
    # The corpus is the standard library's own source, read from disk.
    assert r["settings"]["tokens"] >= 100_000 and r["settings"]["unknown_fraction"] < 0.2
