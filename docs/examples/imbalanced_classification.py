"""Imbalanced classification on scikit-learn's digits: five losses, per-class recall, calibration.

The training split keeps every example of the digits 0–4 but only a few of 5–9 (the
minority classes); the test split stays balanced. The same small MLP trains from the
same initialisation with optax's Adam under five losses:

- ``softmax_cross_entropy_with_integer_labels``: plain cross-entropy, which learns the
  skewed prior and under-predicts the minority classes;
- the same with ``class_weights`` = inverse class frequency (PyTorch's ``weight``): each
  class counts as much as any other;
- ``softmax_focal`` (γ = 2): down-weights the examples the model already gets right;
  alone it does not undo the skewed prior, with per-class ``alpha`` (the α-balanced focal
  loss of Lin et al., α = the same inverse frequencies) it does;
- the same cross-entropy with ``label_smoothing=0.1``: changes calibration, not balance.

Reports the recall of every class on the balanced test split and the calibration
(expected calibration error, reliability diagram) of each model. Writes ``recall.png``,
``calibration.png``, ``results.json`` and ``summary.md`` to ``--out`` and prints one
summary line::

    python docs/examples/imbalanced_classification.py            # 5 splits, ~1 min on 2 CPUs
    python docs/examples/imbalanced_classification.py --quick    # 2 splits, a few seconds
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
import optax
from sklearn.datasets import load_digits
from tqdm.auto import tqdm

import jaxloss

matplotlib.use("Agg")
import matplotlib.pyplot as plt

CLASSES = 10
MINORITY = np.arange(5, 10)


def ce(logits, labels, class_weights):
    return jaxloss.softmax_cross_entropy_with_integer_labels(logits, labels, reduction="mean")


def class_weighted(logits, labels, class_weights):
    return jaxloss.softmax_cross_entropy_with_integer_labels(
        logits, labels, class_weights=class_weights, reduction="mean"
    )


def focal(logits, labels, class_weights):
    one_hot = jax.nn.one_hot(labels, CLASSES)
    return jaxloss.softmax_focal(logits, one_hot, alpha=1.0, gamma=2.0, reduction="mean")


def focal_balanced(logits, labels, class_weights):
    # The α-balanced focal loss of Lin et al.: α per class, here the inverse frequencies.
    one_hot = jax.nn.one_hot(labels, CLASSES)
    return jaxloss.softmax_focal(logits, one_hot, alpha=class_weights, gamma=2.0, reduction="mean")


def label_smoothing(logits, labels, class_weights):
    return jaxloss.softmax_cross_entropy_with_integer_labels(
        logits, labels, label_smoothing=0.1, reduction="mean"
    )


# Each loss maps (logits, integer labels, inverse-frequency class weights) to a mean.
LOSSES = {
    "cross_entropy": ce,
    "class_weighted": class_weighted,
    "focal": focal,
    "focal_balanced": focal_balanced,
    "label_smoothing": label_smoothing,
}


def make_split(seed: int, keep: float):
    """Train/test split (half and half, stratified); the training split keeps a fraction
    ``keep`` of each minority class (at least 3 examples)."""
    data = load_digits()
    x, y = (data.data / 16.0).astype(np.float32), data.target.astype(np.int32)
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in range(CLASSES):
        idx = rng.permutation(np.flatnonzero(y == c))
        half = len(idx) // 2
        n_train = half if c not in MINORITY else max(3, round(keep * half))
        train.append(idx[:n_train])
        test.append(idx[half:])
    train, test = np.concatenate(train), np.concatenate(test)
    mean, std = x[train].mean(0), x[train].std(0) + 0.1
    return (x[train] - mean) / std, y[train], (x[test] - mean) / std, y[test]


def init_mlp(key, n_in: int, hidden: int):
    k1, k2 = jax.random.split(key)
    return {
        "w1": jax.random.normal(k1, (n_in, hidden)) / np.sqrt(n_in),
        "b1": jnp.zeros(hidden),
        "w2": jax.random.normal(k2, (hidden, CLASSES)) / np.sqrt(hidden),
        "b2": jnp.zeros(CLASSES),
    }


def mlp(params, x):
    return jax.nn.relu(x @ params["w1"] + params["b1"]) @ params["w2"] + params["b2"]


def make_trainer(loss, optimizer, chunk: int):
    """A jitted function running ``chunk`` full-batch optimizer steps."""

    def step(carry, _):
        params, state, x, y, w = carry
        value, grads = jax.value_and_grad(lambda p: loss(mlp(p, x), y, w))(params)
        updates, state = optimizer.update(grads, state, params)
        return (optax.apply_updates(params, updates), state, x, y, w), value

    @jax.jit
    def run(params, state, x, y, w):
        carry = (params, state, x, y, w)
        (params, state, *_), values = jax.lax.scan(step, carry, length=chunk)
        return params, state, values

    return run


def calibration(probs, labels, bins: int = 10):
    """Expected calibration error of the top-class confidence, and the per-bin points."""
    confidence = probs.max(-1)
    correct = probs.argmax(-1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    ece, points = 0.0, []
    for b in range(bins):
        sel = which == b
        if sel.any():
            gap = abs(correct[sel].mean() - confidence[sel].mean())
            ece += sel.mean() * gap
            mean_confidence, mean_accuracy = confidence[sel].mean(), correct[sel].mean()
            points.append((float(mean_confidence), float(mean_accuracy), int(sel.sum())))
    return float(ece), points


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 splits, 300 steps: seconds")
    parser.add_argument("--seed", type=int, default=0, help="seed of splits and inits")
    default_out = Path("jaxloss-demo/imbalanced_classification")
    parser.add_argument("--out", type=Path, default=default_out)
    parser.add_argument("--splits", type=int, help="random splits (default 5, quick 2)")
    parser.add_argument("--steps", type=int, help="Adam steps (default 1000, quick 300)")
    parser.add_argument("--keep", type=float, default=0.05, help="fraction of minority kept")
    args = parser.parse_args(argv)
    splits = args.splits or (2 if args.quick else 5)
    chunk = 50
    steps = -(-(args.steps or (300 if args.quick else 1000)) // chunk) * chunk
    start = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)

    optimizer = optax.adam(3e-3)
    names = list(LOSSES)
    trainers = {n: make_trainer(loss, optimizer, chunk) for n, loss in LOSSES.items()}
    recall = {n: [] for n in names}
    accuracy = {n: [] for n in names}
    ece = {n: [] for n in names}
    nll = {n: [] for n in names}
    reliability = {n: [] for n in names}
    counts = None
    bar = tqdm(total=splits * len(names) * steps, desc="imbalanced_classification", unit="step")
    for split in range(splits):
        seed = args.seed * 1000 + split
        x_train, y_train, x_test, y_test = make_split(seed, args.keep)
        counts = np.bincount(y_train, minlength=CLASSES)
        # Inverse frequency, normalised so that the weighted mean of the weights is 1.
        class_weights = jnp.asarray(len(y_train) / (CLASSES * counts), jnp.float32)
        init = init_mlp(jax.random.key(seed), x_train.shape[1], 64)
        for name, run in trainers.items():
            params, state = init, optimizer.init(init)
            for _ in range(steps // chunk):
                params, state, _ = run(params, state, x_train, y_train, class_weights)
                bar.update(chunk)
            bar.set_postfix_str(f"split {split + 1}/{splits} {name}")
            logits = mlp(params, x_test)
            probs = np.asarray(jax.nn.softmax(logits))
            pred = probs.argmax(-1)
            recall[name].append([float(np.mean(pred[y_test == c] == c)) for c in range(CLASSES)])
            accuracy[name].append(float(np.mean(pred == y_test)))
            e, points = calibration(probs, y_test)
            ece[name].append(e)
            reliability[name].extend(points)
            nll[name].append(
                float(jaxloss.softmax_cross_entropy_with_integer_labels(logits, y_test).mean())
            )
    bar.close()

    per_class = {n: np.mean(recall[n], axis=0) for n in names}
    minority = {n: float(per_class[n][MINORITY].mean()) for n in names}
    majority = {n: float(np.delete(per_class[n], MINORITY).mean()) for n in names}

    # --- figures
    colors = ["#777777", "#2166ac", "#f4a582", "#b2182b", "#1b7837"]
    fig, ax = plt.subplots(figsize=(9, 3.6))
    width = 0.8 / len(names)
    for i, n in enumerate(names):
        offset = (i - (len(names) - 1) / 2) * width
        ax.bar(np.arange(CLASSES) + offset, per_class[n], width, label=n, color=colors[i])
    ax.axvspan(4.5, 9.5, color="#fdd49e", alpha=0.35, lw=0)
    ax.text(7, 1.02, "minority classes (training)", ha="center", fontsize=9)
    ax.set_xticks(range(CLASSES))
    ax.set_xlabel("digit")
    ax.set_ylabel("test recall")
    ax.set_ylim(0, 1.1)
    ax.legend(fontsize=8, ncols=len(names), loc="lower left")
    ax.set_title(f"Digits, minority classes at {args.keep:.0%} in training, {splits} splits")
    fig.tight_layout()
    fig.savefig(args.out / "recall.png", dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3.3), sharey=True)
    for ax, n, color in zip(axes, names, colors, strict=True):
        conf, acc, size = (np.array(v) for v in zip(*reliability[n], strict=True))
        ax.plot([0, 1], [0, 1], color="k", lw=0.8, ls="--")
        ax.scatter(conf, acc, s=4 + 40 * size / size.max(), color=color, alpha=0.7)
        ax.set_title(f"{n}\nECE {np.mean(ece[n]):.3f}", fontsize=10)
        ax.set_xlabel("confidence")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
    axes[0].set_ylabel("accuracy")
    fig.suptitle("Reliability on the balanced test split (a point per bin and split)", fontsize=11)
    fig.tight_layout()
    fig.savefig(args.out / "calibration.png", dpi=110)
    plt.close(fig)

    # --- results
    seconds = time.perf_counter() - start
    results = {
        "example": "imbalanced_classification",
        "settings": {
            "quick": args.quick,
            "seed": args.seed,
            "splits": splits,
            "steps": steps,
            "keep": args.keep,
            "train_counts": counts.tolist() if counts is not None else [],
        },
        "minority_recall": minority,
        "majority_recall": majority,
        "per_class_recall": {n: per_class[n].tolist() for n in names},
        "accuracy": {n: float(np.mean(accuracy[n])) for n in names},
        "ece": {n: float(np.mean(ece[n])) for n in names},
        "test_nll": {n: float(np.mean(nll[n])) for n in names},
        "figures": ["recall.png", "calibration.png"],
        "seconds": round(seconds, 1),
    }
    (args.out / "results.json").write_text(json.dumps(results, indent=2))
    rows = "\n".join(
        f"| `{n}` | {minority[n]:.3f} | {majority[n]:.3f} | {results['accuracy'][n]:.3f} "
        f"| {results['ece'][n]:.3f} | {results['test_nll'][n]:.3f} |"
        for n in names
    )
    (args.out / "summary.md").write_text(
        "An MLP trained on the digits with the classes 5–9 cut to "
        f"{args.keep:.0%} of their training examples "
        f"(counts {results['settings']['train_counts']}),"
        f" {splits} random splits, {steps} Adam steps per loss, tested on a balanced split.\n\n"
        "| loss | minority recall | majority recall | accuracy | ECE | test NLL |\n"
        "| --- | --- | --- | --- | --- | --- |\n"
        f"{rows}\n\n"
        "![per-class recall](recall.png)\n\n![calibration](calibration.png)\n"
    )
    line = ", ".join(f"{n} {minority[n]:.3f}" for n in names)
    ece_line = ", ".join(f"{n} {results['ece'][n]:.3f}" for n in names)
    print(f"imbalanced_classification: minority recall {line}; ECE {ece_line} ({seconds:.0f} s)")
    return results


if __name__ == "__main__":
    main()
