"""A small language model on the Python standard library's own source, with a fused loss.

The corpus is the ``.py`` files of the running Python's standard library (read from
``sysconfig.get_paths()["stdlib"]``: nothing to download), split into word and
punctuation tokens; the vocabulary is the most frequent ones plus ``<unk>``. The model
predicts each token from the previous four: embeddings, an MLP, and an output
projection ``W`` of shape ``[D, V]`` onto the vocabulary (D = 64).

It is trained twice with optax's Adam, from the same initialisation on the same
batches:

- **fused**: ``jaxloss.linear_softmax_cross_entropy(hidden, W, labels, block_size=512)``,
  which walks the vocabulary in blocks of 512 columns and never materialises the
  ``[tokens, V]`` logits, forward or backward;
- **naive**: ``hidden @ W`` followed by ``jaxloss.softmax_cross_entropy_with_integer_labels``.

The two training curves coincide (the same loss, to float32 rounding), while the
compiled training step of the fused loss needs a fraction of the temporary memory
(``compiled.memory_analysis()``), a gap that grows with tokens × vocabulary: the plot
also shows the loss alone at a language-model size (8192 tokens, D = 256, V = 32768),
compiled but not run. Writes ``curves.png``, ``memory.png``, ``results.json`` and
``summary.md`` to ``--out`` and prints one summary line::

    python docs/examples/language_model.py            # 600 steps, V = 8192, ~2 min on 2 CPUs
    python docs/examples/language_model.py --quick    # 60 steps, V = 4096
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import sysconfig
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
import optax
from tqdm.auto import tqdm

import jaxloss

matplotlib.use("Agg")
import matplotlib.pyplot as plt

CONTEXT = 4
TOKEN = re.compile(r"[A-Za-z_][A-Za-z_0-9]*|\d+|\S")


def corpus(max_tokens: int, seed: int) -> list[str]:
    """Tokens of the standard library's top-level modules, files in a seeded order."""
    files = sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py"))
    np.random.default_rng(seed).shuffle(files)
    tokens: list[str] = []
    for path in files:
        try:
            tokens += TOKEN.findall(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, OSError):
            continue
        if len(tokens) >= max_tokens:
            break
    return tokens[:max_tokens]


def encode(tokens: list[str], vocab_size: int) -> tuple[np.ndarray, list[str]]:
    counts = collections.Counter(tokens)
    vocab = ["<unk>"] + [t for t, _ in counts.most_common(vocab_size - 1)]
    index = {t: i for i, t in enumerate(vocab)}
    return np.array([index.get(t, 0) for t in tokens], np.int32), vocab


def init(key, vocab: int, embed: int, hidden: int):
    k1, k2, k3 = jax.random.split(key, 3)
    return {
        "embed": 0.1 * jax.random.normal(k1, (vocab, embed)),
        "w1": jax.random.normal(k2, (CONTEXT * embed, hidden)) / np.sqrt(CONTEXT * embed),
        "b1": jnp.zeros(hidden),
        "out": jax.random.normal(k3, (hidden, vocab)) / np.sqrt(hidden),
    }


def features(params, context):
    """[N, CONTEXT] token ids -> [N, hidden] final hidden states."""
    e = params["embed"][context].reshape(context.shape[0], -1)
    return jax.nn.gelu(e @ params["w1"] + params["b1"])


def fused_loss(params, context, labels, block_size=512):
    # 512 vocabulary columns per block: [tokens, 512] logits at a time instead of [tokens, V].
    h = features(params, context)
    return jaxloss.linear_softmax_cross_entropy(
        h, params["out"], labels, block_size=block_size, reduction="mean"
    )


def naive_loss(params, context, labels):
    logits = features(params, context) @ params["out"]  # [N, V], materialised
    return jaxloss.softmax_cross_entropy_with_integer_labels(logits, labels, reduction="mean")


def make_step(loss, optimizer):
    def step(params, state, context, labels):
        value, grads = jax.value_and_grad(loss)(params, context, labels)
        updates, state = optimizer.update(grads, state, params)
        return optax.apply_updates(params, updates), state, value

    return jax.jit(step)


def temp_bytes(fn, *args) -> int:
    return int(jax.jit(fn).lower(*args).compile().memory_analysis().temp_size_in_bytes)


def big_loss_memory() -> dict[str, int]:
    """Temp memory of value-and-gradient of the loss alone at 8192 tokens, D = 256,
    V = 32768 (float32), compiled but not run."""
    h = jax.ShapeDtypeStruct((8192, 256), jnp.float32)
    w = jax.ShapeDtypeStruct((256, 32768), jnp.float32)
    y = jax.ShapeDtypeStruct((8192,), jnp.int32)
    ce = jaxloss.softmax_cross_entropy_with_integer_labels

    def fused(h, w, y):
        return jaxloss.linear_softmax_cross_entropy(h, w, y, reduction="mean")

    def naive(h, w, y):
        return ce(h @ w, y, reduction="mean")

    grad = {"fused": jax.value_and_grad(fused, (0, 1)), "naive": jax.value_and_grad(naive, (0, 1))}
    return {name: temp_bytes(fn, h, w, y) for name, fn in grad.items()}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="60 steps, V = 4096: seconds")
    parser.add_argument("--seed", type=int, default=0, help="seed of files, batches and init")
    parser.add_argument("--out", type=Path, default=Path("jaxloss-demo/language_model"))
    parser.add_argument("--steps", type=int, help="Adam steps (default 600, quick 60)")
    parser.add_argument("--vocab", type=int, help="vocabulary size (default 8192, quick 4096)")
    parser.add_argument("--batch", type=int, default=1024, help="tokens per step")
    args = parser.parse_args(argv)
    steps = args.steps or (60 if args.quick else 600)
    vocab_size = args.vocab or (4096 if args.quick else 8192)
    start = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)

    tokens = corpus(200_000 if args.quick else 1_500_000, args.seed)
    ids, _ = encode(tokens, vocab_size)
    split = int(0.9 * len(ids))
    rng = np.random.default_rng(args.seed)
    windows = np.lib.stride_tricks.sliding_window_view(ids, CONTEXT + 1)
    train_windows, valid_windows = windows[: split - CONTEXT], windows[split:]
    valid = valid_windows[rng.choice(len(valid_windows), 8192, replace=False)]
    params0 = init(jax.random.key(args.seed), vocab_size, 32, 64)
    optimizer = optax.adam(2e-3)
    steppers = {
        "fused": make_step(fused_loss, optimizer),
        "naive": make_step(naive_loss, optimizer),
    }
    probe = train_windows[:args.batch]  # fmt: skip
    memory = {
        name: temp_bytes(s, params0, optimizer.init(params0), probe[:, :-1], probe[:, -1])
        for name, s in steppers.items()
    }
    large = big_loss_memory()

    curves = {name: [] for name in steppers}
    seconds_per_step = {name: [] for name in steppers}
    params = dict.fromkeys(steppers, params0)
    states = {name: optimizer.init(params0) for name in steppers}
    bar = tqdm(total=steps, desc="language_model", unit="step")
    for _ in range(steps):
        batch = train_windows[rng.integers(0, len(train_windows), args.batch)]
        context, labels = batch[:, :-1], batch[:, -1]
        for name, step in steppers.items():
            t0 = time.perf_counter()
            params[name], states[name], value = step(params[name], states[name], context, labels)
            curves[name].append(float(value))
            seconds_per_step[name].append(time.perf_counter() - t0)
        bar.update(1)
        bar.set_postfix_str(f"loss {curves['fused'][-1]:.3f}")
    bar.close()
    valid_loss = float(jax.jit(fused_loss)(params["fused"], valid[:, :-1], valid[:, -1]))
    difference = max(abs(a - b) for a, b in zip(curves["fused"], curves["naive"], strict=True))
    step_ms = {n: 1e3 * float(np.median(v[1:])) for n, v in seconds_per_step.items()}

    # --- figures
    fig, ax = plt.subplots(figsize=(7, 3.4))
    ax.plot(curves["naive"], color="#f4a582", lw=4, label="naive: hidden @ W + cross-entropy")
    ax.plot(curves["fused"], color="#2166ac", lw=1.2, label="linear_softmax_cross_entropy")
    ax.set_xlabel("Adam step")
    ax.set_ylabel("training loss (nats/token)")
    ax.set_title(
        f"Next-token model on the stdlib's source, V = {vocab_size}, {args.batch} tokens/step",
        fontsize=10,
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out / "curves.png", dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
    for ax, (title, mem) in zip(
        axes,
        [
            (f"training step, {args.batch} tokens, V = {vocab_size}", memory),
            ("loss + gradient, 8192 tokens, D = 256, V = 32768", large),
        ],
        strict=True,
    ):
        mib = [mem["naive"] / 2**20, mem["fused"] / 2**20]
        ax.bar(["naive", "fused"], mib, color=["#f4a582", "#2166ac"])
        for i, v in enumerate(mib):
            ax.text(i, v, f"{v:.1f} MiB", ha="center", va="bottom", fontsize=9)
        ax.set_title(title, fontsize=9)
        ax.set_ylabel("compiled temporary memory (MiB)")
    fig.tight_layout()
    fig.savefig(args.out / "memory.png", dpi=110)
    plt.close(fig)

    # --- results
    seconds = time.perf_counter() - start
    results = {
        "example": "language_model",
        "settings": {
            "quick": args.quick,
            "seed": args.seed,
            "steps": steps,
            "vocab": vocab_size,
            "batch": args.batch,
            "tokens": len(ids),
            "unknown_fraction": float(np.mean(ids == 0)),
        },
        "curves": curves,
        "max_curve_difference": difference,
        "final_train_loss": {n: float(np.mean(c[-20:])) for n, c in curves.items()},
        "valid_loss": valid_loss,
        "valid_perplexity": float(np.exp(valid_loss)),
        "temp_bytes": memory,
        "temp_bytes_large": large,
        "step_ms": step_ms,
        "figures": ["curves.png", "memory.png"],
        "seconds": round(seconds, 1),
    }
    (args.out / "results.json").write_text(json.dumps(results, indent=2))
    mib = {n: v / 2**20 for n, v in memory.items()}
    big = {n: v / 2**20 for n, v in large.items()}
    (args.out / "summary.md").write_text(
        f"A next-token MLP over {len(ids):,} tokens of the standard library's source "
        f"(vocabulary {vocab_size}, {results['settings']['unknown_fraction']:.1%} `<unk>`), "
        f"{steps} Adam steps of {args.batch} tokens, trained twice from the same start.\n\n"
        "| | fused (`linear_softmax_cross_entropy`) | naive (`h @ W` + CE) |\n"
        "| --- | --- | --- |\n"
        f"| final training loss | {results['final_train_loss']['fused']:.4f} "
        f"| {results['final_train_loss']['naive']:.4f} |\n"
        f"| training step temp memory | {mib['fused']:.1f} MiB | {mib['naive']:.1f} MiB |\n"
        f"| loss at 8192 × 32768 temp memory | {big['fused']:.1f} MiB | {big['naive']:.1f} MiB |\n"
        f"| median step time | {step_ms['fused']:.1f} ms | {step_ms['naive']:.1f} ms |\n\n"
        f"Largest difference between the two curves: {difference:.1e}; validation "
        f"perplexity {results['valid_perplexity']:.1f}.\n\n"
        "![training curves](curves.png)\n\n![memory](memory.png)\n"
    )
    print(
        f"language_model: final loss fused {results['final_train_loss']['fused']:.3f}, naive "
        f"{results['final_train_loss']['naive']:.3f} (curves within {difference:.1e}); "
        f"valid perplexity {results['valid_perplexity']:.1f}; step temp memory fused "
        f"{mib['fused']:.1f} MiB vs naive {mib['naive']:.1f} MiB; at 8192 x 32768 "
        f"{big['fused']:.0f} vs {big['naive']:.0f} MiB ({seconds:.0f} s)"
    )
    return results


if __name__ == "__main__":
    main()
