"""Plots of every catalogue loss and its derivative for the site's catalogue pages.

Imported by hooks.py; a separate module so that the plots can be drawn in worker
processes (``spawn``), which import it by name: tracing and compiling ~60 losses,
each with its reference, is most of the site's build time.
"""

from __future__ import annotations

import inspect
import io
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any

# Elementwise losses of an error d = p − t: plotted against d (target 0), not around a sample.
ERROR_LOSSES = {
    "squared_error",
    "absolute_error",
    "huber",
    "smooth_l1",
    "log_cosh",
    "pinball",
    "charbonnier",
    "general_robust",
}


def _curves(entry) -> dict[str, Any]:
    """Loss and derivative of the first output element along one input coordinate, for the
    custom rule and for autodiff of the reference, in float32."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    options = dict(entry.options[0])
    args = [jnp.asarray(a) for a in entry.inputs(0, **options)]
    i = entry.argnums[0]
    if entry.name in ERROR_LOSSES and len(args) > 1 and args[1].shape == args[0].shape:
        args[1] = args[1].at[(0,) * args[1].ndim].set(0.0)
        lo, hi = -3.0, 3.0
    else:
        x0 = float(args[i].reshape(-1)[0])
        lo, hi = x0 - 3.0, x0 + 3.0

    def along(fn):
        def scalar(s):
            a = list(args)
            a[i] = a[i].reshape(-1).at[0].set(s.astype(a[i].dtype)).reshape(a[i].shape)
            return jnp.ravel(fn(*a, **options))[0].astype(jnp.float32)

        return jax.vmap(jax.value_and_grad(scalar))

    # One compilation for both (compiling dominates the build's time).
    both = jax.jit(lambda g: (along(entry.fn)(g), along(entry.reference)(g)))
    grid = np.linspace(lo, hi, 301, dtype=np.float32)
    (v_rule, g_rule), (v_ref, g_ref) = jax.tree.map(np.asarray, both(grid))
    finite = np.isfinite(v_rule)
    if finite.any() and finite.mean() < 0.5:  # a bounded domain (probabilities, ...): zoom in
        inside = grid[finite]
        pad = 0.002 * (inside.max() - inside.min())
        grid = np.linspace(inside.min() + pad, inside.max() - pad, 301, dtype=np.float32)
        (v_rule, g_rule), (v_ref, g_ref) = jax.tree.map(np.asarray, both(grid))
    name = list(inspect.signature(entry.fn).parameters)[i]
    coordinate = f"{name}[{', '.join(['0'] * args[i].ndim)}]" if args[i].ndim else name
    return {
        "x": grid,
        "value": v_rule,
        "value_reference": v_ref,
        "grad": g_rule,
        "grad_reference": g_ref,
        "coordinate": coordinate,
        "options": options,
        "error": entry.name in ERROR_LOSSES,
    }


def _plot(entry, c: dict[str, Any]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8.0, 2.7))
    x = c["x"]
    xlabel = "error d = p − t" if c["error"] else c["coordinate"]
    ax1.plot(x, c["value_reference"], color="#f4a582", lw=4, label="reference")
    ax1.plot(x, c["value"], color="#2166ac", lw=1.4, label=entry.name)
    ax1.set_title("loss", fontsize=10)
    ax2.plot(x, c["grad_reference"], color="#f4a582", lw=4, label="jax.grad of the reference")
    ax2.plot(x, c["grad"], color="#2166ac", lw=1.4, label="custom rule")
    ax2.set_title("derivative", fontsize=10)
    ax2.legend(fontsize=7, loc="best")
    for ax in (ax1, ax2):
        ax.set_xlabel(xlabel, fontsize=9)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=72)
    plt.close(fig)
    return buf.getvalue()


def _setup() -> None:
    import jax

    os.environ.setdefault("MPLBACKEND", "Agg")
    # The plots need no optimised code: compiling them fast is what counts.
    jax.config.update("jax_disable_most_optimizations", True)


def render(name: str) -> tuple[str, bytes | None, str]:
    """(name, PNG bytes or None, why not)."""
    from jaxloss import catalogue

    entry = catalogue.get(name)
    try:
        return name, _plot(entry, _curves(entry)), ""
    except Exception as exc:  # a plot must not break the site; the page says so
        return name, None, f"{type(exc).__name__}: {exc}"


def render_all(names: list[str]) -> list[tuple[str, bytes | None, str]]:
    """Renders in worker processes, one per usable CPU (up to 4)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    workers = min(len(names), 4, cpus or 1)
    if not names:
        return []
    if workers <= 1:
        _setup()
        return [render(n) for n in names]
    here = os.path.dirname(os.path.abspath(__file__))
    if here not in sys.path:  # the workers import this module by name
        sys.path.insert(0, here)
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_setup) as pool:
        return list(pool.map(render, names))
