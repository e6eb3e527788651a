"""Adversarial inputs over the whole catalogue: NaN, ±inf, huge, tiny and tied inputs,
empty batches, and export under a symbolic batch dimension.

For every entry (its first option set, plus the option sets listed in ``_EXTRA_OPTIONS``
where a hyperparameter changes the edge behaviour), each floating differentiable
argument is perturbed in turn (one entry, one row, the whole array) and jointly. The
loss must return, and with ``where = isfinite(reference's per-example value)`` its
``"mean"`` must have a finite value, gradient and Hessian-vector product (forward over
reverse), with exactly zero gradient on the inputs that only feed masked examples.

Compilation dominates the cost, so each entry compiles one program: the variants are
stacked on a leading axis and ``jax.vmap``-ed, the reference and the loss (value,
gradient, hvp) inside the same ``jax.jit``. Every execution runs in a daemon thread
under a timeout: a ``lax.while_loop`` whose exit test compares floats never ends on
NaN, inside C++ where no Python signal reaches it.
"""

from __future__ import annotations

import math
import pathlib
import re
import subprocess
import sys
import threading

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxloss import catalogue

# Seconds one compiled call may run; the programs take milliseconds, so only a loop
# that never ends reaches it.
_TIMEOUT = 30.0

# Option sets checked besides each entry's first, where the edge behaviour depends on one.
_EXTRA_OPTIONS = {"general_robust": ({"alpha": -math.inf},), "multi_margin": ({"p": 2},)}
# Documented range limits (docs/detection.md, "Range"): ciou's Hessian-vector product at
# boxes scaled by 1e-30 sums second-order terms that overflow float32 with both signs
# (NaN), though the exact sum is representable; its value and gradient there are right.
_HVP_RANGE_LIMITS = {"ciou": ("x1e-30",)}

# Losses that compare the examples of a batch with each other: the leading axis of their
# inputs indexes independent problems, and an input feeds every example of its problem.
_CROSS_EXAMPLE = frozenset(
    {
        "ntxent",
        "supervised_contrastive",
        "info_nce",
        "sigmoid_pairwise",
        "batch_hard_triplet",
        "batch_all_triplet",
        "npairs",
        "circle",
    }
)

# The examples' axis of each argument where it is not the leading one (None: the
# argument has none): the contrastive and mining losses read [problems, N, D] with a
# temperature per problem, the large-vocabulary ones hidden [problems, tokens, D],
# weight [problems, D, V] and labels [problems, tokens]. Their empty batch and their
# symbolic batch are checked on both axes.
_EXAMPLE_AXES = {
    **dict.fromkeys(("ntxent", "supervised_contrastive", "info_nce"), (1, 1, None)),
    "sigmoid_pairwise": (1, 1, None, None),
    **dict.fromkeys(("batch_hard_triplet", "batch_all_triplet", "circle"), (1, 1)),
    "npairs": (1, 1, 1),
    **dict.fromkeys(
        ("linear_softmax_cross_entropy", "vocab_parallel_softmax_cross_entropy"), (1, None, 1)
    ),
}


def _batch_axes(name: str, nargs: int) -> list[tuple[int | None, ...]]:
    """The axes that index examples, one per argument: the leading axis, and the
    examples within each problem where the entry has problems."""
    axes = [(0,) * nargs]
    if name in _EXAMPLE_AXES:
        axes.append(_EXAMPLE_AXES[name])
    return axes


def _cases():
    for entry in catalogue.ENTRIES:
        settings = (entry.options[0], *_EXTRA_OPTIONS.get(entry.name, ()))
        for i, opts in enumerate(settings):
            yield pytest.param(entry.name, dict(opts), id=f"{entry.name}-{i}")


def _is_float(x) -> bool:
    return np.issubdtype(np.asarray(x).dtype, np.floating)


def _inputs(entry, opts, shape=(6, 5)):
    """The entry's seeded inputs (sampled with x64, as the harness does), floating ones
    in float32."""
    with jax.enable_x64(True):
        args = entry.inputs(0, shape, **opts)
    return tuple(np.asarray(a, np.float32) if _is_float(a) else np.asarray(a) for a in args)


def _in_thread(what, fn, *args):
    """``fn(*args)`` with its results ready, in a daemon thread; fails if it does not
    return within the timeout."""
    out = {}

    def run():
        try:
            out["value"] = jax.block_until_ready(fn(*args))
        except BaseException as e:  # re-raised in the caller's thread
            out["error"] = e

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(_TIMEOUT)
    if thread.is_alive():
        pytest.fail(f"{what}: did not return within {_TIMEOUT:g} s (a loop that never ends)")
    if "error" in out:
        raise out["error"]
    return out["value"]


def _compile(fn, *args):
    """``jax.jit(fn)`` compiled for ``args`` without LLVM's optimisation passes: the
    programs here run once on tiny arrays, where those passes would be most of the
    compile time and buy nothing (XLA's own passes, fusion included, still run)."""
    return jax.jit(fn).lower(*args).compile({"xla_backend_optimization_level": 0})


# --- adversarial variants

_ENTRY_VALUES = {
    "nan": math.nan,
    "+inf": math.inf,
    "-inf": -math.inf,
    "+1e30": 1e30,
    "-1e30": -1e30,
    "1e-30": 1e-30,
    "+50": 50.0,
    "-50": -50.0,
    "0": 0.0,
    "1": 1.0,
}
_ROW_VALUES = {"-inf": -math.inf, "+inf": math.inf, "0": 0.0}
_KINDS = (
    *(f"entry {k}" for k in _ENTRY_VALUES),
    *(f"row {k}" for k in _ROW_VALUES),
    "row tied",
    "duplicate",
    "x1e4",
    "x25",
    "x1e-30",
    "all tied",
)
# What stays meaningful in a target whose samples are probabilities ([0, 1]) or signs
# (±1): masked, boundary, tiny and tied values; a target of 1e30 or -inf is no input.
_DOMAIN_KINDS = {
    "real": frozenset(_KINDS),
    "probability": frozenset(
        {
            *("entry nan", "entry 0", "entry 1", "entry 1e-30"),
            *("row 0", "row tied", "duplicate", "x1e-30", "all tied"),
        }
    ),
    "sign": frozenset({"entry nan", "row tied", "duplicate", "all tied"}),
}


def _in_domain(a: np.ndarray, domain: str) -> bool:
    if domain == "sign":
        return bool(np.all(np.isin(a, (-1.0, 1.0))))
    if domain == "probability":
        return bool(np.all((a >= 0) & (a <= 1)))
    return True


def _domain(a: np.ndarray) -> str:
    return next(d for d in ("sign", "probability", "real") if _in_domain(a, d))


def _perturb(a: np.ndarray, kind: str) -> np.ndarray | None:
    """``a`` with one adversarial change, or None where the change does not apply."""
    a = a.copy()
    first = (0,) * a.ndim
    row = (0,) * (a.ndim - 1)  # the last axis (classes, features) at the first index
    if kind.startswith("entry "):
        a[first] = _ENTRY_VALUES[kind[6:]]
    elif kind.startswith("row "):
        if a.ndim < 2:
            return None
        a[row] = a[first] if kind == "row tied" else _ROW_VALUES[kind[4:]]
    elif kind == "duplicate":  # the second vector of the first problem equals the first
        if a.ndim < 2 or a.shape[-2] < 2:
            return None
        a[(0,) * (a.ndim - 2) + (1,)] = a[row]
    elif kind == "x1e4":
        a = a * np.float32(1e4)
    elif kind == "x25":
        a = a * np.float32(25)
    elif kind == "x1e-30":
        a = a * np.float32(1e-30)
    elif kind == "all tied":
        a[...] = a[first]
    else:
        raise ValueError(kind)
    return a


def _variants(args, argnums):
    """(description, args) pairs: the clean inputs, each single-argument change, and
    joint changes of all differentiable arguments. The first differentiable argument
    (scores, predictions, embeddings) gets every change; the others only those that
    stay meaningful in their domain."""
    domains = {i: "real" if i == argnums[0] else _domain(args[i]) for i in argnums}
    out = [("clean", args)]
    for i in argnums:
        for kind in _KINDS:
            p = _perturb(args[i], kind) if kind in _DOMAIN_KINDS[domains[i]] else None
            if p is not None:
                out.append((f"argument {i}: {kind}", (*args[:i], p, *args[i + 1 :])))
    if len(argnums) > 1:
        first = argnums[0]

        def each(kind_of):
            change = {}
            for i in argnums:
                kind = kind_of(i)
                if kind in _DOMAIN_KINDS[domains[i]]:
                    change[i] = _perturb(args[i], kind)
            return change

        joint = {
            # A fully masked row: -inf scores with zero targets or weights.
            f"argument {first}: row -inf, others: row 0": each(
                lambda i: "row -inf" if i == first else "row 0"
            ),
            "all: row 0": each(lambda i: "row 0"),
            "all: entry nan": each(lambda i: "entry nan"),
            "all: entry +inf": each(lambda i: "entry +inf"),
            "all: x1e-30": each(lambda i: "x1e-30"),
        }
        # Predictions equal to targets (a zero residual, identical boxes).
        if len({args[i].shape for i in argnums}) == 1 and all(
            _in_domain(args[first], domains[i]) for i in argnums
        ):
            joint[f"all: equal to argument {first}"] = {i: args[first] for i in argnums}
        for name, change in joint.items():
            if len(change) < 2 or any(v is None for v in change.values()):
                continue
            out.append((name, tuple(change.get(i, a) for i, a in enumerate(args))))
    return out


def _dead(where: np.ndarray, shape: tuple[int, ...], cross: bool) -> np.ndarray:
    """The entries of an input of ``shape`` that feed only masked examples: the input's
    leading axes that match the output's index the examples it feeds (only the problem
    axis for cross-example losses)."""
    k = 1 if cross else where.ndim
    k = min(k, len(shape))
    while k > 0 and shape[:k] != where.shape[:k]:
        k -= 1
    alive = np.any(~np.reshape(~where, (*where.shape[:k], -1)), axis=-1)
    return np.broadcast_to(~alive.reshape(alive.shape + (1,) * (len(shape) - k)), shape)


def _derivatives(loss, opts, argnums, tangents, dtype):
    """``f(full, where) -> (value, grads, hvp)`` of ``loss``'s masked mean in ``dtype``."""

    def run(where, *full):
        def mean(*diff):
            a = list(full)
            for i, d in zip(argnums, diff, strict=True):
                a[i] = d
            return loss(*a, where=where, reduction="mean", **opts)

        diff = tuple(full[i] for i in argnums)
        value_and_grad = jax.value_and_grad(mean, argnums=tuple(range(len(diff))))
        # Forward over reverse: the tangent of the gradient is a Hessian-vector product.
        t = tuple(jnp.asarray(x, dtype) for x in tangents)
        (value, grads), (_, hvp) = jax.jvp(value_and_grad, diff, t)
        return value, grads, hvp

    return run


_F32_MAX = float(np.finfo(np.float32).max)


@pytest.mark.parametrize(("name", "opts"), list(_cases()))
def test_adversarial_inputs(name, opts):
    entry = catalogue.get(name)
    args = _inputs(entry, opts)
    argnums = tuple(i for i in entry.argnums if _is_float(args[i]))
    variants = _variants(args, argnums)
    stacked = tuple(
        np.stack([v[i] for _, v in variants]) if i in argnums else a for i, a in enumerate(args)
    )
    axes = tuple(0 if i in argnums else None for i in range(len(args)))
    rng = np.random.default_rng(0)
    tangents = tuple(rng.normal(size=args[i].shape).astype(np.float32) for i in argnums)
    derivatives = _derivatives(entry.fn, opts, argnums, tangents, jnp.float32)

    def one(*full):
        where = jnp.isfinite(entry.reference(*full, **opts))
        # Without the mask: the call must return, finite where the reference is.
        plain = entry.fn(*full, **opts)
        return where, plain, *derivatives(where, *full)

    program = _compile(jax.vmap(one, in_axes=axes), *stacked)
    where, plain, value, grads, hvp = jax.device_get(_in_thread(name, program, *stacked))

    failures = {}  # variant -> problems
    derivative_failures = []  # (variant, "gradient"/"hvp", j, array)
    for v in range(len(variants)):
        problems = failures.setdefault(v, [])
        if not np.all(np.isfinite(plain[v][where[v]])):
            problems.append(f"'none' value not finite where the reference is: {plain[v]}")
        if not np.isfinite(value[v]):
            problems.append(f"masked mean {value[v]}")
        for j, i in enumerate(argnums):
            g = grads[j][v]
            if np.all(np.isfinite(g)):
                if np.any(g[_dead(where[v], g.shape, name in _CROSS_EXAMPLE)] != 0):
                    problems.append(f"gradient of argument {i} nonzero on masked examples")
            else:
                derivative_failures.append((v, "gradient", j, g))
            if not np.all(np.isfinite(hvp[j][v])):
                derivative_failures.append((v, "hvp", j, hvp[j][v]))

    if derivative_failures:
        # A derivative whose exact value lies beyond float32's range rounds to ±inf
        # correctly (a target of 1e-30 under a fractional power, a temperature of 1e-30):
        # the plain reference in float64 tells those from the loss's own NaN and inf.
        bad = sorted({v for v, *_ in derivative_failures})
        subset = tuple(
            np.stack([variants[v][1][i] for v in bad]).astype(np.float64) if i in argnums else a
            for i, a in enumerate(args)
        )
        exact = _derivatives(entry.reference, opts, argnums, tangents, jnp.float64)
        with jax.enable_x64(True):
            _, grads64, hvp64 = jax.device_get(
                _in_thread(
                    f"{name} float64 reference",
                    jax.jit(jax.vmap(exact, in_axes=(0, *axes))),
                    where[bad],
                    *subset,
                )
            )
        for v, what, j, got in derivative_failures:
            limits = _HVP_RANGE_LIMITS.get(name, ())
            if what == "hvp" and any(k in variants[v][0] for k in limits):
                continue
            want = (grads64 if what == "gradient" else hvp64)[j][bad.index(v)]
            off = ~np.isfinite(got)
            if np.all(np.isfinite(want[off]) & (np.abs(want[off]) > _F32_MAX)):
                continue
            failures[v].append(f"{what} of argument {argnums[j]} not finite: {got}")

    report = [
        f"{variants[v][0]}: {'; '.join(problems)}" for v, problems in failures.items() if problems
    ]
    assert not report, f"{name} {opts}:\n" + "\n".join(report)


# --- empty batches


def _empty(args, axes):
    return tuple(
        a if axis is None else np.take(a, np.arange(0), axis=axis)
        for a, axis in zip(args, axes, strict=True)
    )


def _empty_batch(entry, opts, args):
    argnums = tuple(i for i in entry.argnums if _is_float(args[i]))

    def run(*full):
        def loss(reduction, *diff):
            a = list(full)
            for i, d in zip(argnums, diff, strict=True):
                a[i] = d
            return entry.fn(*a, reduction=reduction, **opts)

        diff = tuple(full[i] for i in argnums)
        grads = jax.grad(lambda *d: loss("mean", *d), argnums=tuple(range(len(diff))))(*diff)
        return loss("none", *diff), loss("sum", *diff), loss("mean", *diff), grads

    what = f"{entry.name} {[a.shape for a in args]}"
    none, total, mean, grads = jax.device_get(_in_thread(what, _compile(run, *args), *args))
    assert none.size == 0, f"{what}: 'none' gave shape {none.shape}"
    assert total.shape == () and total == 0, f"{what}: 'sum' gave {total}"
    assert mean.shape == () and mean == 0, f"{what}: 'mean' gave {mean}"
    for i, g in zip(argnums, grads, strict=True):
        assert g.shape == args[i].shape, f"{what}: gradient of argument {i} has shape {g.shape}"
        assert np.all(g == 0), f"{what}: gradient of argument {i}: {g}"


@pytest.mark.parametrize("name", catalogue.names())
def test_empty_batch(name):
    entry = catalogue.get(name)
    opts = dict(entry.options[0])
    args = _inputs(entry, opts)
    for axes in _batch_axes(name, len(args)):
        _empty_batch(entry, opts, _empty(args, axes))


# --- export under a symbolic batch dimension

_STATIC = re.compile(r"\bstatic\b", re.IGNORECASE)
_DIMENSION = re.compile(r"\b(axis|dimension)\b", re.IGNORECASE)


def _exported(name, axes):
    """The entry's value and gradient (``"mean"``) as a function, its inputs, and
    its export with a symbolic ``b`` on ``axes`` (one per argument, None: static)."""
    entry = catalogue.get(name)
    opts = dict(entry.options[0])
    args = _inputs(entry, opts)
    argnums = tuple(i for i in entry.argnums if _is_float(args[i]))

    def value_and_grad(*full):
        def mean(*diff):
            a = list(full)
            for i, d in zip(argnums, diff, strict=True):
                a[i] = d
            return entry.fn(*a, reduction="mean", **opts)

        diff = tuple(full[i] for i in argnums)
        return jax.value_and_grad(mean, argnums=tuple(range(len(diff))))(*diff)

    (b,) = jax.export.symbolic_shape("b")
    specs = tuple(
        jax.ShapeDtypeStruct(
            a.shape if axis is None else (*a.shape[:axis], b, *a.shape[axis + 1 :]), a.dtype
        )
        for a, axis in zip(args, axes, strict=True)
    )
    return value_and_grad, args, lambda: jax.export.export(jax.jit(value_and_grad))(*specs)


# An export over several devices (the vocabulary-sharded loss) is called on the 8-device
# mesh in a process of its own: a crash there (a segmentation fault in XLA) fails the
# test instead of ending the test run.
_CALL_ON_MESH = """
import os, sys
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"
import jax, numpy as np
from jax.sharding import AxisType, NamedSharding, PartitionSpec
jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update("jax_numpy_dtype_promotion", "strict")
sys.path.insert(0, sys.argv[1])
import test_edge_inputs as t
_, args, export = t._exported(sys.argv[2], eval(sys.argv[3]))
exported = export()
mesh = jax.make_mesh((exported.nr_devices,), ("vocab",), axis_types=(AxisType.Auto,))
out = jax.jit(exported.call, in_shardings=NamedSharding(mesh, PartitionSpec()))(*args)
np.savez(sys.argv[4], *jax.tree.leaves(jax.device_get(out)))
"""


@pytest.mark.parametrize("name", catalogue.names())
def test_export_symbolic_batch(name, tmp_path):
    for axes in _batch_axes(name, len(catalogue.get(name).inputs(0))):
        what = f"{name} with a symbolic batch on axes {axes}"
        plain, args, export = _exported(name, axes)
        try:
            exported = export()
        except (ValueError, TypeError) as e:
            message = str(e)
            # The alternative to exporting: a clear error naming the loss and the dimension
            # that must be static.
            assert name in message and _STATIC.search(message) and _DIMENSION.search(message), (
                f"{what}: export failed without saying which dimension must be static: "
                f"{type(e).__name__}: {message[:500]}"
            )
            continue
        if exported.nr_devices == 1:
            # One program for both calls: one compilation instead of two.
            both = _compile(lambda *a, e=exported, p=plain: (e.call(*a), p(*a)), *args)
            got, want = jax.device_get(_in_thread(what, both, *args))
            got, want = jax.tree.leaves(got), jax.tree.leaves(want)
        else:
            out = tmp_path / "out.npz"
            here = str(pathlib.Path(__file__).parent)
            run = subprocess.run(
                [sys.executable, "-c", _CALL_ON_MESH, here, name, repr(axes), str(out)],
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert run.returncode == 0, (
                f"{what}: exited with {run.returncode}: {run.stderr[-2000:]}"
            )
            got = [np.load(out)[f"arr_{i}"] for i in range(len(np.load(out).files))]
            want = jax.tree.leaves(
                jax.device_get(_in_thread(f"{name} plain", _compile(plain, *args), *args))
            )
        for x, y in zip(got, want, strict=True):
            np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6, err_msg=what)
