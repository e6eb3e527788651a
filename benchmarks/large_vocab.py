"""Large-vocabulary cross-entropy: memory and time of the loss and its gradient.

Measures ``jit(value_and_grad(mean loss))`` with respect to the hidden states and the
weight at N tokens x D features x V vocabulary, for

* ``naive``: ``h @ W`` then the textbook cross-entropy (logsumexp minus the target
  logit), differentiated by JAX: it holds [N, V] logits and their gradient;
* ``jaxloss``: :func:`jaxloss.linear_softmax_cross_entropy` (default ``block_size``);
* ``torch_chunked``: PyTorch 2.13's ``F.linear_cross_entropy`` with its chunked path
  (``options=LinearCrossEntropyOptions()``: auto chunking, 16 rows a chunk here);
* ``torch_chunked_1024``: the same with ``batch_chunk_size=1024``;
* ``torch_reference``: ``F.linear_cross_entropy(options=None)`` (linear + cross_entropy;
  not run unless named in ``--variants``).

Each variant runs in its own subprocess (so its peak RSS is its own): compiled
temporary memory (``compiled.memory_analysis().temp_size_in_bytes``; JAX only),
peak RSS and RSS above the inputs (``ru_maxrss``), median wall time of ``--reps``
runs after one warm-up, and the largest gradient error relative to the naive
version (on dh and on a slice of dW). One invocation runs every variant and writes a
table and JSON::

    python benchmarks/large_vocab.py                      # 8192 x 256 x 128256 float32, CPU
    python benchmarks/large_vocab.py --v 16384 --reps 3   # a quick smaller run
    python benchmarks/large_vocab.py --gpu-shape          # 8192 x 4096 x 128256 bfloat16

``--gpu-shape`` runs the JAX variants only (the installed torch is a CPU build) and
also reports the device's peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

VARIANTS = ("naive", "jaxloss", "torch_chunked", "torch_chunked_1024", "torch_reference")
DEFAULT = ("jaxloss", "torch_chunked_1024", "naive", "torch_chunked")
SLICE = 4096  # dW columns kept for the gradient comparison


def _inputs(n, d, v, seed=0):
    rng = np.random.default_rng(seed)
    h = rng.standard_normal((n, d), np.float32)
    w = (rng.standard_normal((d, v), np.float32) / np.sqrt(d)).astype(np.float32)
    y = rng.integers(0, v, n).astype(np.int32)
    return h, w, y


def _rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _child_jax(variant, args, out_npz):
    import jax
    import jax.numpy as jnp

    import jaxloss

    h, w, y = _inputs(args.n, args.d, args.v)
    dtype = jnp.dtype(args.dtype)
    h, w, y = jnp.asarray(h, dtype), jnp.asarray(w, dtype), jnp.asarray(y)
    jax.block_until_ready((h, w, y))
    base = _current_rss_mib()

    if variant == "naive":

        def loss(h, w):
            x = jnp.matmul(h, w, preferred_element_type=jnp.float32)
            nll = jax.nn.logsumexp(x, axis=-1) - jnp.take_along_axis(x, y[:, None], 1)[:, 0]
            return jnp.mean(nll).astype(h.dtype)
    else:

        def loss(h, w):
            return jaxloss.linear_softmax_cross_entropy(h, w, y, reduction="mean",
                                                        block_size=args.block_size)  # fmt: skip

    f = jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))
    t0 = time.perf_counter()
    compiled = f.lower(h, w).compile()
    compile_s = time.perf_counter() - t0
    temp = compiled.memory_analysis().temp_size_in_bytes
    # Printed now, so that a run killed later (out of memory) still reports it.
    print("TEMP " + json.dumps({"temp_mib": temp / 2**20}), flush=True)
    value, (dh, dw) = jax.block_until_ready(compiled(h, w))
    times = []
    for _ in range(args.reps):
        t0 = time.perf_counter()
        jax.block_until_ready(compiled(h, w))
        times.append(time.perf_counter() - t0)
    dw = np.asarray(jnp.concatenate([dw[:, :SLICE], dw[:, -SLICE:]], 1), np.float32)
    np.savez(out_npz, value=np.float32(value), dh=np.asarray(dh, np.float32), dw=dw)
    stats = jax.devices()[0].memory_stats() or {}
    return {
        "temp_mib": temp / 2**20,
        "compile_s": compile_s,
        "times_s": times,
        "rss_base_mib": base,
        "device_peak_mib": stats.get("peak_bytes_in_use", 0) / 2**20 or None,
    }


def _child_torch(variant, args, out_npz):
    import torch
    import torch.nn.functional as F

    h, w, y = _inputs(args.n, args.d, args.v)
    h = torch.tensor(h, requires_grad=True)
    wt = torch.tensor(np.ascontiguousarray(w.T), requires_grad=True)  # torch's [V, D]
    y = torch.tensor(y.astype(np.int64))
    base = _current_rss_mib()
    options = {
        "torch_chunked": torch.nn.LinearCrossEntropyOptions(),
        "torch_chunked_1024": torch.nn.LinearCrossEntropyOptions(
            batch_chunk_size=1024, chunking_method=None
        ),
        "torch_reference": None,
    }[variant]

    def step():
        h.grad = wt.grad = None
        loss = F.linear_cross_entropy(h, wt, y, options=options)
        loss.backward()
        return loss

    slow = variant == "torch_chunked"
    if not slow:  # eager torch needs no compilation; the slow path's first run is timed
        value = step()
    reps = args.torch_reps if slow else args.reps
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        value = step()
        times.append(time.perf_counter() - t0)
    dw = wt.grad.T.numpy()
    dw = np.concatenate([dw[:, :SLICE], dw[:, -SLICE:]], 1)
    np.savez(out_npz, value=np.float32(value.item()), dh=h.grad.numpy(), dw=dw)
    return {"temp_mib": None, "times_s": times, "rss_base_mib": base,
            "threads": torch.get_num_threads()}  # fmt: skip


def _child(args):
    run = _child_torch if args.child.startswith("torch") else _child_jax
    out = run(args.child, args, args.npz)
    out["peak_rss_mib"] = _rss_mib()
    print("RESULT " + json.dumps(out), flush=True)


def _rel_error(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=8192)
    p.add_argument("--d", type=int, default=256)
    p.add_argument("--v", type=int, default=128256)
    p.add_argument("--dtype", default="float32")
    p.add_argument("--gpu-shape", action="store_true",
                   help="8192 x 4096 x 128256 bfloat16, JAX variants only")  # fmt: skip
    p.add_argument("--block-size", type=int, default=None)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--torch-reps", type=int, default=1,
                   help="timed runs of torch's auto-chunked path (slow on CPU)")  # fmt: skip
    p.add_argument("--timeout", type=float, default=600,
                   help="seconds per variant; a variant past it is reported as such")  # fmt: skip
    p.add_argument("--variants", default=",".join(DEFAULT),
                   help=f"comma-separated, of {', '.join(VARIANTS)}")  # fmt: skip
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                 "large_vocab_cpu"))  # fmt: skip
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    p.add_argument("--npz", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.gpu_shape:
        args.n, args.d, args.v, args.dtype = 8192, 4096, 128256, "bfloat16"
        if args.variants == ",".join(DEFAULT):
            args.variants = "naive,jaxloss"
    if args.child:
        return _child(args)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)

    variants = [v for v in args.variants.split(",") if v]
    results, grads = {}, {}
    tmp = tempfile.mkdtemp(prefix="large_vocab_")
    for variant in variants:
        npz = os.path.join(tmp, f"{variant}.npz")
        cmd = [sys.executable, __file__, "--child", variant, "--npz", npz, "--n", str(args.n),
               "--d", str(args.d), "--v", str(args.v), "--dtype", args.dtype,
               "--reps", str(args.reps), "--torch-reps", str(args.torch_reps)]  # fmt: skip
        if args.block_size:
            cmd += ["--block-size", str(args.block_size)]
        print(f"[{variant}] running ...", flush=True)
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
            stdout, stderr, rc = proc.stdout, proc.stderr, proc.returncode
        except subprocess.TimeoutExpired as e:
            stdout = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
            stderr, rc = f"timed out after {args.timeout:.0f} s", "timeout"
        line = [x for x in stdout.splitlines() if x.startswith("RESULT ")]
        if rc or not line:
            temp = [x for x in stdout.splitlines() if x.startswith("TEMP ")]
            why = "killed (out of memory?)" if rc == -9 else f"exit {rc}"
            results[variant] = {"error": f"{why}: {stderr[-300:]}".strip(),
                                "wall_s": time.perf_counter() - t0,
                                **(json.loads(temp[0][5:]) if temp else {})}  # fmt: skip
            print(f"[{variant}] {results[variant]['error']}", flush=True)
        else:
            r = json.loads(line[0][7:])
            r["median_s"] = statistics.median(r["times_s"])
            r["wall_s"] = time.perf_counter() - t0
            with np.load(npz) as z:
                grads[variant] = {k: z[k] for k in z.files}
            os.remove(npz)
            results[variant] = r
            print(f"[{variant}] {r['median_s']:.2f} s, temp {r['temp_mib']} MiB, "
                  f"peak RSS {r['peak_rss_mib']:.0f} MiB", flush=True)  # fmt: skip
        _write(args, results, grads)  # after each variant: a stopped run keeps its rows


def _write(args, results, grads):
    base = results.get("naive", {})
    for variant, r in results.items():
        if base.get("temp_mib") and r.get("temp_mib") is not None:
            r["temp_vs_naive"] = r["temp_mib"] / base["temp_mib"]
        if "error" in r:
            continue
        if "median_s" in base:
            r["time_vs_naive"] = r["median_s"] / base["median_s"]
        if "naive" in grads:
            g, ref = grads[variant], grads["naive"]
            r["value_rel_error"] = _rel_error(g["value"], ref["value"])
            r["dh_rel_error"] = _rel_error(g["dh"], ref["dh"])
            r["dw_rel_error"] = _rel_error(g["dw"], ref["dw"])
    meta = {
        "shape": {"n": args.n, "d": args.d, "v": args.v, "dtype": args.dtype},
        "reps": args.reps,
        "torch_chunked_reps": args.torch_reps,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        "load_average": os.getloadavg(),
        "command": " ".join(["python", "benchmarks/large_vocab.py", *sys.argv[1:]]),
    }
    try:
        import jax

        meta["jax"] = jax.__version__
        meta["device"] = str(jax.devices()[0].device_kind)
    except Exception:  # the table is written anyway
        pass
    with open(args.out + ".json", "w") as f:
        json.dump({"meta": meta, "results": results}, f, indent=2)
    with open(args.out + ".md", "w") as f:
        f.write(_table(meta, results))


def _fmt(x, spec):
    return "–" if x is None else format(x, spec)


def _table(meta, results):
    s = meta["shape"]
    rows = [
        f"# Large-vocabulary cross-entropy: N={s['n']}, D={s['d']}, V={s['v']}, {s['dtype']}",
        "",
        f"`{meta['command']}` — {meta['machine']}; jax {meta.get('jax', '?')}; "
        f"load average at the end {', '.join(f'{x:.1f}' for x in meta['load_average'])}. "
        f"`jit(value_and_grad(mean loss))` w.r.t. hidden and weight; median of "
        f"{meta['reps']} runs after a warm-up ({meta['torch_chunked_reps']} run, no "
        f"warm-up, for torch's auto-chunked path); each variant in its own process.",
        "",
        "| variant | temp MiB (compiled) | temp / naive | peak RSS MiB | RSS above inputs MiB "
        "| median s | time / naive | dh rel. err | dW rel. err |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, r in results.items():
        if "error" in r:
            rows.append(f"| {name} | {_fmt(r.get('temp_mib'), '.1f')} "
                        f"| {_fmt(r.get('temp_vs_naive'), '.4f')} | – | – "
                        f"| {r['error'][:60]} (after {r['wall_s']:.0f} s) | | | |")  # fmt: skip
            continue
        rows.append(
            f"| {name} | {_fmt(r.get('temp_mib'), '.1f')} | {_fmt(r.get('temp_vs_naive'), '.4f')} "
            f"| {r['peak_rss_mib']:.0f} | {r['peak_rss_mib'] - r['rss_base_mib']:.0f} "
            f"| {r['median_s']:.2f} | {_fmt(r.get('time_vs_naive'), '.2f')} "
            f"| {_fmt(r.get('dh_rel_error'), '.1e')} | {_fmt(r.get('dw_rel_error'), '.1e')} |"
        )
    rows += [
        "",
        "temp: XLA's compiled temporary buffers (torch has no compiled program: –). "
        "RSS above inputs: peak RSS minus the RSS once the inputs exist (the loss's own "
        "memory, incl. the gradients). Errors: max |g − g_naive| / max |g_naive| on dh and "
        f"on the first and last {SLICE} columns of dW.",
        "",
    ]
    return "\n".join(rows)


if __name__ == "__main__":
    main()
