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


def sweep(entry) -> tuple[str | None, list[dict]]:
    """The hyperparameter settings to draw: every setting the catalogue verifies when they
    differ in one real-valued hyperparameter only (pinball's tau, huber's delta, ...),
    ordered by it, so that a plot shows how it shapes the loss; else the first setting."""
    import numbers

    settings = [dict(o) for o in entry.options]
    first = settings[0]
    if len(settings) > 1 and all(set(o) == set(first) for o in settings):
        varied = [k for k in first if len({repr(o[k]) for o in settings}) > 1]
        if len(varied) == 1:
            (key,) = varied
            real = all(
                isinstance(o[key], numbers.Real) and not isinstance(o[key], bool) for o in settings
            )
            if real:
                settings = sorted(settings, key=lambda o: o[key])
                if len(settings) > MAX_CURVES:  # the extremes and the middle: each compiles
                    n = len(settings) - 1
                    picks = sorted({round(k * n / (MAX_CURVES - 1)) for k in range(MAX_CURVES)})
                    settings = [settings[k] for k in picks]
                return key, settings
    return None, [first]


MAX_CURVES = 3


def _curves(entry) -> dict[str, Any]:
    """Loss and derivative of the first output element along one input coordinate, for the
    custom rule and for autodiff of the reference, in float32, for each setting of
    ``sweep``."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    key, settings = sweep(entry)
    # The sample and the coordinate come from the first verified setting; the sweep
    # redraws the same inputs under each setting.
    args = [jnp.asarray(a) for a in entry.inputs(0, **dict(entry.options[0]))]
    i = entry.argnums[0]
    if entry.name in ERROR_LOSSES and len(args) > 1 and args[1].shape == args[0].shape:
        args[1] = args[1].at[(0,) * args[1].ndim].set(0.0)
        lo, hi = -3.0, 3.0
    else:
        x0 = float(args[i].reshape(-1)[0])
        lo, hi = x0 - 3.0, x0 + 3.0

    def along(fn, options):
        def scalar(s):
            a = list(args)
            a[i] = a[i].reshape(-1).at[0].set(s.astype(a[i].dtype)).reshape(a[i].shape)
            return jnp.ravel(fn(*a, **options))[0].astype(jnp.float32)

        return jax.vmap(jax.value_and_grad(scalar))

    def compiled(options):
        # One compilation for the rule and the reference (compiling dominates the build's
        # time), reused when the grid is zoomed.
        both = jax.jit(lambda g: (along(entry.fn, options)(g), along(entry.reference, options)(g)))
        return lambda grid: jax.tree.map(np.asarray, both(grid))

    grid = np.linspace(lo, hi, 301, dtype=np.float32)
    first_fn = compiled(settings[0])
    first = first_fn(grid)
    finite = np.isfinite(first[0][0])
    if finite.any() and finite.mean() < 0.5:  # a bounded domain (probabilities, ...): zoom in
        inside = grid[finite]
        pad = 0.002 * (inside.max() - inside.min())
        grid = np.linspace(inside.min() + pad, inside.max() - pad, 301, dtype=np.float32)
        first = first_fn(grid)
    curves = []
    for k, options in enumerate(settings):
        (v_rule, g_rule), (v_ref, g_ref) = first if k == 0 else compiled(options)(grid)
        label = f"{key} = {options[key]:g}" if key else None
        curves.append(
            {
                "label": label,
                "value": v_rule,
                "value_reference": v_ref,
                "grad": g_rule,
                "grad_reference": g_ref,
            }
        )
    name = list(inspect.signature(entry.fn).parameters)[i]
    coordinate = f"{name}[{', '.join(['0'] * args[i].ndim)}]" if args[i].ndim else name
    return {
        "x": grid,
        "curves": curves,
        "coordinate": coordinate,
        "error": entry.name in ERROR_LOSSES,
    }


# A colour per setting of a sweep: the rule's thin line in the dark shade is drawn over
# the reference's thick line in the light shade of the same hue.
PAIRS = [
    ("#2166ac", "#92c5de"),
    ("#b2182b", "#f4a582"),
    ("#1b7837", "#a6dba0"),
    ("#762a83", "#c2a5cf"),
    ("#8c510a", "#dfc27d"),
]


def _plot(entry, c: dict[str, Any]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10.0, 4.0))
    x = c["x"]
    xlabel = "error d = p − t" if c["error"] else c["coordinate"]
    sweep_handles = []
    for k, curve in enumerate(c["curves"]):
        # One setting: the reference in orange under the rule in blue; a sweep: a hue per
        # setting, the reference in its light shade under the rule in its dark shade.
        dark, light = PAIRS[k % len(PAIRS)] if curve["label"] else ("#2166ac", "#f4a582")
        for ax, value in ((ax1, "value"), (ax2, "grad")):
            ax.plot(x, curve[f"{value}_reference"], color=light, lw=5, solid_capstyle="butt")
            ax.plot(x, curve[value], color=dark, lw=1.6)
        if curve["label"]:
            sweep_handles.append(Line2D([], [], color=dark, lw=3, label=curve["label"]))
    ax1.set_title(f"{entry.name}: loss", fontsize=12)
    ax2.set_title("derivative", fontsize=12)
    light, dark = ("#bbbbbb", "#333333") if sweep_handles else ("#f4a582", "#2166ac")
    handles = [
        Line2D([], [], color=light, lw=5, label="jax.grad of the reference (thick)"),
        Line2D([], [], color=dark, lw=1.6, label="custom rule (thin)"),
        *sweep_handles,
    ]
    for ax in (ax1, ax2):
        ax.set_xlabel(xlabel, fontsize=11)
        ax.tick_params(labelsize=10)
        ax.grid(alpha=0.3)
    # The legend under the axes, where it hides no curve.
    ncol = min(len(handles), 5)
    rows = -(-len(handles) // ncol)
    fig.legend(handles=handles, loc="lower center", ncol=ncol, fontsize=10, frameon=False)
    fig.tight_layout(rect=(0, 0.075 * rows, 1, 1))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
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
