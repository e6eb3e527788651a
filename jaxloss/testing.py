"""Verification harness: check any loss, ours or yours, against a plain reference.

:func:`check_loss` runs a loss with a hand-written gradient rule through the
checks that ``jaxloss verify`` runs over the whole catalogue, on the current
backend, and returns a :class:`Report`:

``value``
    values equal the reference's (float32) for every option set.
``gradient``
    the rule's vector-Jacobian product with a random cotangent equals
    ``jax.vjp`` of the reference (float32).
``finite_differences``
    ``jax.test_util.check_grads(..., order=2, modes=["rev"])`` in float64 (order 1
    under a catalogue entry's option sets after the first: :func:`run_check`).
``jit``
    jitted values and gradients equal eager ones.
``vmap``
    ``jax.vmap`` over the leading axis equals a loop over examples.
``hessian``
    ``jax.hessian`` (forward over reverse) works and equals the reference's.
``reductions``
    every ``reduction`` × ``weights`` × ``where`` combination equals the
    reference; excluded entries get exactly zero gradient even when their inputs
    are NaN; a fully masked mean is 0 with zero gradient.
``kinks``
    at each documented kink the gradient is the documented one.
``edge_cases``
    extreme inputs give finite values and gradients (and the documented value).
``dtypes``
    bfloat16, float16, float32 (and float64) inputs give outputs and gradients in
    the inputs' dtypes, close to the float32 result.
``fused_reduction``
    on 65,536+ elements, the compiled ``"mean"`` and ``"sum"`` equal a float64 sum
    of the compiled per-element losses. This checks the backend's compiler, not
    the rule: jaxlib 0.10.2's CPU reduction fusion (YNNPACK) miscompiles some
    expressions, e.g. ``sum(log(x) + log(2 * x))``, from 4,096 elements on.

The loss must follow jaxloss's calling convention: ``fn(*arrays, **options,
reduction=..., weights=..., where=...)``, returning per-element or per-example
losses for ``reduction="none"``; :func:`jaxloss.apply_conventions` gives a custom
loss exactly that.

Example:
  A custom loss verified in one call (its rule here is deliberately right):

  >>> import jax, jax.numpy as jnp
  >>> from jaxloss import apply_conventions, testing
  >>> @jax.custom_vjp
  ... def _quartic(p, t):
  ...     return (p - t) ** 4
  >>> _quartic.defvjp(lambda p, t: ((p - t) ** 4, (p, t)),
  ...                 lambda r, g: (4 * g * (r[0] - r[1]) ** 3, -4 * g * (r[0] - r[1]) ** 3))
  >>> def quartic(p, t, **conventions):  # weights=, where=, reduction=
  ...     return apply_conventions("quartic", _quartic, (p, t), **conventions)
  >>> def quartic_ref(p, t, **conventions):
  ...     return apply_conventions("quartic", lambda p, t: (p - t) ** 4, (p, t), **conventions)
  >>> k1, k2 = jax.random.split(jax.random.key(0))
  >>> sample = (jax.random.normal(k1, (4, 3)), jax.random.normal(k2, (4, 3)))
  >>> report = testing.check_loss(quartic, quartic_ref, sample, argnums=(0, 1), name="quartic")
  >>> report.passed
  True
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify

from . import _programs
from . import catalogue as _catalogue
from .catalogue import EdgeCase, Entry, Kink

__all__ = [
    "CHECKS",
    "CheckResult",
    "Report",
    "check_entry",
    "check_labels",
    "check_loss",
    "run_check",
]

CHECKS = (
    "value",
    "gradient",
    "finite_differences",
    "jit",
    "vmap",
    "hessian",
    "reductions",
    "kinks",
    "edge_cases",
    "dtypes",
    "fused_reduction",
)

# Scale-relative tolerance per dtype: |a - b| <= tol * (|b| + max|b|).
TOLERANCES = {
    jnp.dtype(jnp.float64): 1e-9,
    jnp.dtype(jnp.float32): 2e-5,
    jnp.dtype(jnp.float16): 4e-3,
    jnp.dtype(jnp.bfloat16): 3e-2,
}


@dataclass
class CheckResult:
    """The outcome of one check: passed or not, the worst error seen, and why."""

    check: str
    passed: bool
    error: float | None = None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check, "passed": self.passed, "error": self.error,
                "detail": self.detail}  # fmt: skip


@dataclass
class Report:
    """All checks of one loss."""

    name: str
    results: list[CheckResult] = field(default_factory=list)
    seconds: float | None = None  # wall time of the checks

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    def __getitem__(self, check: str) -> CheckResult:
        for r in self.results:
            if r.check == check:
                return r
        raise KeyError(check)

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if not r.passed]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "passed": self.passed,
            "seconds": None if self.seconds is None else round(self.seconds, 3),
            "checks": {r.check: r.to_dict() for r in self.results},
        }

    def raise_for_failure(self) -> None:
        """Raises ``AssertionError`` naming every failed check (for use in a test)."""
        if not self.passed:
            lines = [f"  {r.check}: {r.detail}" for r in self.failures]
            raise AssertionError(f"{self.name} failed verification:\n" + "\n".join(lines))

    def __str__(self) -> str:
        rows = [f"{self.name}: {'passed' if self.passed else 'FAILED'}"]
        for r in self.results:
            err = "" if r.error is None else f" (max error {r.error:.2e})"
            rows.append(f"  {'ok  ' if r.passed else 'FAIL'} {r.check}{err} {r.detail}".rstrip())
        return "\n".join(rows)


@dataclass(frozen=True)
class _Case:
    """One option set with the inputs it is checked at, and the checks that run under it."""

    args: tuple[np.ndarray, ...]
    options: Mapping[str, Any]
    checks: tuple[str, ...]
    fd_order: int = 2  # finite differences: 2 also checks the gradient of the gradient


@dataclass(frozen=True)
class _Spec:
    fn: Callable[..., jax.Array]
    reference: Callable[..., jax.Array]
    argnums: tuple[int, ...]
    cases: tuple[_Case, ...]
    kinks: tuple[Kink, ...]
    edge_cases: tuple[EdgeCase, ...]
    seed: int
    # Names this spec's programs among those kept between runs (a catalogue entry's name,
    # checks and seed); None: not kept (a user's own loss).
    program_name: tuple[Any, ...] | None = None


class _Mismatch(Exception):
    pass


# --- helpers


def _is_float(x: Any) -> bool:
    return jnp.issubdtype(np.asarray(x).dtype, jnp.floating)


def _cast(args: Sequence[Any], dtype: Any) -> tuple[Any, ...]:
    """Casts the floating arrays among ``args`` to ``dtype`` and integer ones (labels,
    lengths) to int32, which exists with or without x64; leaves the others. Works on
    host arrays and inside a traced program."""
    out = []
    for a in args:
        a = jnp.asarray(a)
        if jnp.issubdtype(a.dtype, jnp.floating):
            a = a.astype(dtype)
        elif jnp.issubdtype(a.dtype, jnp.integer):
            a = a.astype(jnp.int32)
        out.append(a)
    return tuple(out)


def _host(args: Sequence[Any], dtype: Any) -> tuple[np.ndarray, ...]:
    """``_cast`` on the host: the arrays a compiled program takes as its arguments."""
    return tuple(
        np.asarray(a).astype(dtype) if _is_float(a)
        else np.asarray(a).astype(np.int32) if jnp.issubdtype(np.asarray(a).dtype, jnp.integer)
        else np.asarray(a)
        for a in args
    )  # fmt: skip


def _cotangent(shape: tuple[int, ...], dtype: Any, seed: int) -> jax.Array:
    """A seeded cotangent of magnitude 0.5-1.5 and random sign. Drawn on the host from
    the static shape, it is a constant of the program: the same numbers eagerly and
    compiled, and no random-number generator in the program."""
    rng = np.random.default_rng(seed)
    return jnp.asarray(rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape), dtype)


def _partial(fn, args, argnums, options):
    """``fn`` as a function of the differentiable arguments only."""

    def f(*diff):
        full = list(args)
        for i, d in zip(argnums, diff, strict=True):
            full[i] = d
        return fn(*full, **options)

    return f, tuple(args[i] for i in argnums)


def _value_and_vjp(fn, args, argnums, options, seed):
    """The value and the vjp with a seeded random cotangent."""
    f, diff = _partial(fn, args, argnums, options)
    out, vjp = jax.vjp(f, *diff)
    return out, vjp(_cotangent(out.shape, out.dtype, seed))


def _error(a: Any, b: Any) -> float:
    """Scale-relative max error of ``a`` against ``b``; inf on shape or NaN-pattern mismatch."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape or not np.array_equal(np.isnan(a), np.isnan(b)):
        return math.inf
    ok = ~np.isnan(b)
    if not ok.any():
        return 0.0
    a, b = a[ok], b[ok]
    same_inf = np.isinf(b) & (a == b)
    if (np.isinf(a) | np.isinf(b))[~same_inf].any():
        return math.inf
    a, b = a[~same_inf], b[~same_inf]
    if a.size == 0:
        return 0.0
    # The floor keeps round-off around an exact zero (1e-16 against 0) from counting.
    scale = max(float(np.max(np.abs(b))), 1e-9)
    return float(np.max(np.abs(a - b) / (np.abs(b) + scale)))


def _compare(what: str, a: Any, b: Any, dtype: Any) -> float:
    """Asserts ``a`` close to ``b`` (pytrees) at the tolerance of ``dtype``; returns the error."""
    tol = TOLERANCES[jnp.dtype(dtype)]
    errs = [_error(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True)]
    err = max(errs, default=0.0)
    if not err <= tol:
        raise _Mismatch(f"{what}: error {err:.3g} above tolerance {tol:g}")
    return err


def _finite(what: str, tree: Any) -> None:
    for leaf in jax.tree.leaves(tree):
        if not np.all(np.isfinite(np.asarray(leaf, np.float64))):
            raise _Mismatch(f"{what}: non-finite entries {np.asarray(leaf)}")


def _describe(options: Mapping[str, Any]) -> str:
    """An option set in words, for messages: ``delta=0.5, reduction='mean'`` or ``defaults``."""
    if not options:
        return "default options"
    return ", ".join(f"{k}={v!r}" for k, v in options.items())


def _argname(fn: Callable[..., Any], index: int) -> str:
    """The name of positional argument ``index`` of ``fn`` (``argument 1`` if unknown)."""
    try:
        params = [
            p.name
            for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        params = []
    return params[index] if index < len(params) else f"argument {index}"


# --- how the checks run
#
# Compilation, not arithmetic, is the cost of verification: the inputs are a few dozen
# numbers, and XLA's compile time grows with the size of a program. So each check
# contributes parts (a function and the host arrays it takes) and says how each runs:
#
# * ``"fast"``: compiled with XLA:CPU's fast-compile preset, no LLVM optimisation and its
#   classic element-wise emitters: the same HLO passes and the same IEEE arithmetic (no
#   fast-math), several times quicker to compile. The checks of the
#   gradient's mathematics (value, gradient, finite differences, vmap, hessian, kinks,
#   edge cases, dtypes) use it.
# * ``"default"``: compiled exactly as a user's ``jax.jit`` compiles it. The ``jit``
#   check (compiled against eager) and the ``fused_reduction`` check (a backend
#   compiler bug) are about that program, so they use it.
#
# The op-by-op runs (the ``jit`` check's eager side, a kink's second look) happen in the
# checks' judges, not in parts.
#
# Same-shaped variants of one call (edge cases and kinks of one shape, the points of a
# finite difference, the rounded inputs of the dtypes check) go through one compiled
# loop (``lax.map``) over the stacked inputs: one copy of the loss in the program, not
# one per variant. The inputs are always the program's arguments, never constants, so
# the compiler cannot fold the loss at compile time.

_FAST_COMPILE = {
    "xla_cpu_opt_preset": "CPU_OPT_PRESET_FAST_COMPILE",
    "xla_backend_optimization_level": 0,
    # The classic element-wise emitters: the same arithmetic, compiled several times faster.
    "xla_cpu_use_fusion_emitters": False,
    # One LLVM module, not 32 compiled on parallel threads: splitting and cloning it was a
    # tenth of the compile time, and `jaxloss verify` already keeps every core busy.
    "xla_cpu_parallel_codegen_split_count": 1,
}
# XLA:CPU's own defaults, for the checks of the program a user's jax.jit compiles: they
# hold whatever XLA_FLAGS says (`jaxloss verify` compiles everything else fast).
_DEFAULT_COMPILE = {
    "xla_cpu_opt_preset": "CPU_OPT_PRESET_DEFAULT",
    "xla_backend_optimization_level": 3,
    "xla_cpu_use_fusion_emitters": True,
    "xla_cpu_parallel_codegen_split_count": 32,
}


def fast_compile_flags() -> str:
    """``XLA_FLAGS`` that compile every program, eager operations included, with the
    fast-compile settings of the ``"fast"`` checks. ``jaxloss verify`` and the test suite
    set them before JAX starts its CPU backend; the ``jit`` and ``fused_reduction``
    checks still compile with XLA's defaults."""
    return " ".join(f"--{k}={str(v).lower() if isinstance(v, bool) else v}"
                    for k, v in _FAST_COMPILE.items())  # fmt: skip


@dataclass(frozen=True)
class _Part:
    key: tuple[Any, ...]  # (check, case index, ...)
    x64: bool
    fn: Callable[..., Any]
    inputs: tuple[Any, ...]
    mode: str = "fast"  # "fast" or "default"


class _Failed:
    """Stands for the outputs of a part that raised while tracing or running."""

    def __init__(self, error: Exception):
        self.error = error


def _compiler_options(mode: str) -> dict[str, Any] | None:
    # These are XLA:CPU options; other backends compile as they do.
    if jax.default_backend() != "cpu":
        return None
    return _FAST_COMPILE if mode == "fast" else _DEFAULT_COMPILE


def _run_part(p: _Part, name: tuple[Any, ...] | None = None) -> Any:
    with jax.enable_x64(p.x64):
        program = None if name is None else _programs.key((*name, p.key, p.x64, p.mode),
                                                          p.inputs)  # fmt: skip
        kept = _programs.load(program)
        if kept is not None:
            try:
                return jax.device_get(kept(*p.inputs))
            except Exception:  # a kept program this process cannot run: compiled again
                pass
        lowered = jax.jit(p.fn).lower(*p.inputs)
        compiled = _programs.compile_and_keep(lowered, _compiler_options(p.mode), program)
        return jax.device_get(compiled(*p.inputs))


def _run_parts(parts: Sequence[_Part], name: tuple[Any, ...] | None = None
               ) -> dict[tuple[Any, ...], Any]:  # fmt: skip
    """Runs the parts, one program per precision and mode (fewer, larger programs compile
    faster than many small ones); returns each part's outputs as numpy arrays, or a
    :class:`_Failed` for a part that could not run. A part that breaks its program is
    found by running the parts one by one: only its own check fails. ``name`` (a
    catalogue entry's) keeps the compiled programs between runs."""
    groups: dict[tuple[bool, str], list[_Part]] = {}
    for p in parts:
        groups.setdefault((p.x64, p.mode), []).append(p)
    results: dict[tuple[Any, ...], Any] = {}
    for (x64, mode), group in groups.items():
        if len(group) > 1:
            merged = _Part(("merged", *(p.key for p in group)), x64,
                           partial(_all_of, [p.fn for p in group]),
                           tuple(p.inputs for p in group), mode)  # fmt: skip
            try:
                outs = _run_part(merged, name)
            except Exception:
                pass
            else:
                results.update({p.key: out for p, out in zip(group, outs, strict=True)})
                continue
        for p in group:
            try:
                results[p.key] = _run_part(p, name)
            except Exception as e:
                results[p.key] = _Failed(e)
    return results


def _all_of(fns: Sequence[Callable[..., Any]], *inputs: Sequence[Any]) -> list[Any]:
    return [f(*xs) for f, xs in zip(fns, inputs, strict=True)]


def _stack(variants: Sequence[Sequence[Any]]) -> tuple[Any, ...]:
    """Same-shaped argument tuples stacked on a new leading axis."""
    return tuple(np.stack(xs) for xs in zip(*variants, strict=True))


def _loop(fn: Callable[..., Any], stacked: Sequence[Any]) -> Any:
    """``fn`` on each slice of the stacked arguments: a compiled loop, one copy of ``fn``."""
    return jax.lax.map(lambda xs: fn(*xs), tuple(stacked))


def _groups(items: Sequence[Any], args_of: Callable[[Any], Sequence[Any]]) -> list[list[int]]:
    """Indices of ``items`` grouped by the shapes and dtypes of their arguments and by
    their options (one compiled loop per group)."""
    groups: dict[Any, list[int]] = {}
    for j, item in enumerate(items):
        sig = tuple((np.shape(a), np.asarray(a).dtype.str) for a in args_of(item))
        groups.setdefault((sig, repr(sorted(item.options.items()))), []).append(j)
    return list(groups.values())


def _out(outputs: Mapping[tuple[Any, ...], Any], key: tuple[Any, ...]) -> Any:
    out = outputs[key]
    if isinstance(out, _Failed):
        raise out.error
    return out


# --- the checks: each adds parts to the programs, then judges their outputs


def _vjp32_part(s: _Spec, i: int, c: _Case, which: str) -> _Part:
    """The value and vector-Jacobian product of the loss (``"ours"``) or of the reference
    (``"reference"``) in float32: one part that the value, gradient and dtypes checks
    share."""
    fn = s.fn if which == "ours" else s.reference

    def vjp32(*a):
        return _value_and_vjp(fn, a, s.argnums, c.options, s.seed)

    return _Part((which, i), False, vjp32, _host(c.args, np.float32))


def _value_parts(s: _Spec, i: int, c: _Case) -> list[_Part]:
    def ours(*a):  # the plain call, not the rule's forward pass
        return s.fn(*a, **c.options)

    return [_Part(("value", i), False, ours, _host(c.args, np.float32)),
            _vjp32_part(s, i, c, "reference")]  # fmt: skip


def _value_judge(s: _Spec, i: int, c: _Case, out: Mapping) -> float:
    a = _out(out, ("value", i))
    b, _ = _out(out, ("reference", i))
    return _compare(f"float32, {_describe(c.options)}", a, b, jnp.float32)


def _gradient_parts(s: _Spec, i: int, c: _Case) -> list[_Part]:
    return [_vjp32_part(s, i, c, "ours"), _vjp32_part(s, i, c, "reference")]


def _gradient_judge(s: _Spec, i: int, c: _Case, out: Mapping) -> float:
    _, ga = _out(out, ("ours", i))
    _, gb = _out(out, ("reference", i))
    err = 0.0
    for n, a, b in zip(s.argnums, ga, gb, strict=True):
        what = f"w.r.t. {_argname(s.fn, n)} (float32, {_describe(c.options)})"
        err = max(err, _compare(what, a, b, jnp.float32))
    return err


# Finite differences, as jax.test_util.check_grads(f, args, order, modes=["rev"]) does them
# (same step, tangents, cotangents and tolerances), computed inside the compiled program:
# the rule's vector-Jacobian product against central differences of the compiled loss.
_FD_EPS = 1e-4
_FD_TOL = 1e-5  # check_grads' float64 tolerance, absolute and relative


def _fd_directions(diff: Sequence[np.ndarray], order: int) -> list[tuple[Any, Any]]:
    """check_grads' random tangents and cotangents, level by level (numpy, seed 0)."""
    levels = []
    for level in range(order):
        rng = np.random.RandomState(0)
        tangents = tuple(rng.randn(*np.shape(d)) for d in diff)
        if level == 0:
            cot: Any = np.asarray(rng.randn())
        else:
            cot = tuple(rng.randn(*np.shape(d)) for d in diff)
        levels.append((tangents, cot))
    return levels


def _fd_parts(s: _Spec, i: int, c: _Case) -> list[_Part]:
    args = _host(c.args, np.float64)
    diff = tuple(args[n] for n in s.argnums)
    program = partial(_fd_program, s.fn, s.argnums, c.options, s.seed)
    return [_Part(("finite_differences", i), True, program,
                  (args, _fd_directions(diff, c.fd_order)))]  # fmt: skip


def _fd_program(fn, argnums, options, seed, args, levels):
    f, diff = _partial(fn, args, argnums, options)

    def scalar(*d):
        out = f(*d)
        return jnp.sum(_cotangent(out.shape, out.dtype, seed) * out)

    def safe_sub(a, b):  # inf - inf is 0, as in check_grads
        return jnp.where(a == b, jnp.zeros_like(a), a - b)

    results = []
    g = scalar
    for level, (tangents, cot) in enumerate(levels):
        value, vjp = jax.vjp(g, *diff)
        # The primal and the two steps: one compiled loop over the three points.
        points = tuple(jnp.stack([d, d + _FD_EPS * t, d - _FD_EPS * t])
                       for d, t in zip(diff, tangents, strict=True))  # fmt: skip
        evals = _loop(g, points)
        direct, pos, neg = (jax.tree.map(lambda x, k=k: x[k], evals) for k in range(3))
        numerical = jax.tree.map(lambda a, b: safe_sub(a, b) * (0.5 / _FD_EPS), pos, neg)
        projected = vjp(cot)
        ip = sum(jnp.vdot(t, p) for t, p in zip(tangents, projected, strict=True))
        pairs = zip(jax.tree.leaves(numerical), jax.tree.leaves(cot), strict=True)
        ip_expected = sum(jnp.vdot(a, b) for a, b in pairs)
        results.append((value, direct, ip, ip_expected))
        if level + 1 < len(levels):

            def g(*d, g=g):  # check_grads' next level: the vjp at the primal as cotangent
                value, vjp = jax.vjp(g, *d)
                return vjp(value)

    return results


def _fd_failure(levels_out) -> str | None:
    """check_grads' verdict on the program's outputs: the first failing comparison."""
    prefix = "VJP"
    for value, direct, ip, ip_expected in levels_out:
        for name, a, b in (("primal", value, direct), ("cotangent projection", ip, ip_expected)):
            for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
                x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
                tol = _FD_TOL * max(y.size, 1)
                if not np.isclose(x, y, rtol=tol, atol=tol, equal_nan=True).all():
                    return (f"{prefix} {name}: not close (atol={tol:g}, rtol={tol:g}): "
                            f"got {x.ravel()[:4]}, finite differences {y.ravel()[:4]}")  # fmt: skip
        prefix = f"VJP of {prefix}"
    return None


def _fd_judge(s: _Spec, i: int, c: _Case, out: Mapping) -> None:
    failure = _fd_failure(_out(out, ("finite_differences", i)))
    if failure is None:
        return
    # Tell a wrong rule from inputs where finite differences are themselves too inaccurate
    # (a large third derivative, a kink or a domain edge within the step): there the plain
    # reference, differentiated by autodiff, fails the same way.
    ref_parts = _fd_parts(dataclasses.replace(s, fn=s.reference), i, c)
    ref_out = _run_parts(ref_parts)
    if _fd_failure(_out(ref_out, ("finite_differences", i))):
        failure += (
            " (the plain reference fails this check too: finite differences are "
            "inaccurate at these inputs; sample further from kinks and domain edges)"
        )
    raise _Mismatch(f"{_describe(c.options)}: {failure}")


def _jit_parts(s: _Spec, i: int, c: _Case) -> list[_Part]:
    def jitted(*a):
        return _value_and_vjp(s.fn, a, s.argnums, c.options, s.seed)

    return [_Part(("jit", i), False, jitted, _host(c.args, np.float32), "default")]


def _jit_judge(s: _Spec, i: int, c: _Case, out: Mapping) -> float:
    jitted = _out(out, ("jit", i))
    # Eager, op by op, as a user's unjitted code runs it.
    with jax.enable_x64(False):
        args = _cast(c.args, jnp.float32)
        eager = jax.device_get(_value_and_vjp(s.fn, args, s.argnums, c.options, s.seed))
    return _compare(f"compiled against eager ({_describe(c.options)})", jitted, eager, jnp.float32)


def _vmap_parts(s: _Spec, i: int, c: _Case) -> list[_Part]:
    def one(*a):
        return _value_and_vjp(s.fn, a, s.argnums, c.options, s.seed)

    def both(*a):
        # The loop over examples is a compiled loop (lax.map), not a batched computation.
        return jax.vmap(one)(*a), jax.lax.map(lambda row: one(*row), a)

    return [_Part(("vmap", i), False, both, _host(c.args, np.float32))]


def _vmap_judge(s: _Spec, i: int, c: _Case, out: Mapping) -> float:
    batched, looped = _out(out, ("vmap", i))
    return _compare(f"against a loop over examples ({_describe(c.options)})", batched,
                    looped, jnp.float32)  # fmt: skip


def _hessian_parts(s: _Spec, i: int, c: _Case) -> list[_Part]:
    o = {**c.options, "reduction": "mean"}

    def both(*a):
        out = []
        for f in (s.fn, s.reference):
            g, diff = _partial(f, a, s.argnums, o)
            out.append(jax.hessian(g, argnums=tuple(range(len(diff))))(*diff))
        return tuple(out)

    return [_Part(("hessian", i), True, both, _host(c.args, np.float64))]


def _hessian_judge(s: _Spec, i: int, c: _Case, out: Mapping) -> float:
    ha, hb = _out(out, ("hessian", i))
    _finite(f"{_describe(c.options)}", ha)
    return _compare(f"{_describe(c.options)}", ha, hb, jnp.float32)


def _with_nans(args, argnums, mask):
    """NaN in every differentiable input at the excluded entries (where the shapes line up)."""
    out = list(args)
    for i in argnums:
        a = out[i]
        if a.shape[: mask.ndim] == mask.shape:
            m = jnp.reshape(mask, mask.shape + (1,) * (a.ndim - mask.ndim))
            out[i] = jnp.where(jnp.broadcast_to(m, a.shape), a, jnp.nan)
    return tuple(out)


_COMBINATIONS = [(r, w, m) for r in ("none", "mean", "sum") for w in (False, True)
                 for m in (False, True)]  # fmt: skip


def _reductions_parts(s: _Spec, i: int, c: _Case) -> list[_Part]:
    args = _host(c.args, np.float64)
    with jax.enable_x64(True):
        shape = jax.eval_shape(lambda *a: s.fn(*a, **c.options), *args).shape
    rng = np.random.default_rng(s.seed)
    weights = rng.uniform(0.1, 2.0, shape)
    where = rng.uniform(size=shape) < 0.7
    where[(0,) * len(shape)] = False

    def program(args, weights, where):
        def ours(a, **conv):
            return _value_and_vjp(s.fn, a, s.argnums, {**c.options, **conv}, s.seed)

        combos = [ours(args, reduction=r, weights=weights if w else None,
                       where=where if m else None) for r, w, m in _COMBINATIONS]  # fmt: skip
        # The reference defines the conventions: weights=None weighs every entry 1 and
        # where=None keeps every entry. So its four (weights, where) settings of every
        # reduction run as one compiled loop over explicit arrays.
        ones, keep = jnp.ones_like(weights), jnp.ones_like(where)
        settings = (jnp.stack([ones, ones, weights, weights]),
                    jnp.stack([keep, where, keep, where]))  # fmt: skip

        def theirs(w, m):
            return [_value_and_vjp(s.reference, args, s.argnums,
                                   {**c.options, "reduction": r, "weights": w, "where": m},
                                   s.seed) for r in ("none", "mean", "sum")]  # fmt: skip

        looped = _loop(theirs, settings)
        expected = [jax.tree.map(lambda x, k=k: x[k], looped[n])
                    for n in range(3) for k in range(4)]  # fmt: skip
        # Excluded entries: NaN inputs there change nothing and get exactly zero gradient
        # (against the combination with weights and where above).
        nan_args = _with_nans(args, s.argnums, where)
        nans = [ours(nan_args, reduction=r, weights=weights, where=where)
                for r in ("none", "mean", "sum")]  # fmt: skip
        # Everything excluded: the mean is 0 with zero gradient, never NaN.
        none = jnp.zeros(shape, bool)
        masked = [ours(nan_args, reduction="mean", weights=w, where=none) for w in (None, weights)]
        return combos, expected, nans, masked

    return [_Part(("reductions", i), True, program, (args, weights, where))]


def _reductions_judge(s: _Spec, i: int, c: _Case, out: Mapping) -> float:
    combos, expected, nans, masked = _out(out, ("reductions", i))
    err = 0.0
    for (r, w, m), a, b in zip(_COMBINATIONS, combos, expected, strict=True):
        err = max(err, _compare(f"reduction={r} weights={w} where={m}", a, b, jnp.float64))
    clean = [a for (r, w, m), a in zip(_COMBINATIONS, combos, strict=True) if w and m]
    for r, dirty, ok in zip(("none", "mean", "sum"), nans, clean, strict=True):
        err = max(err, _compare(f"NaN under where=False ({r})", dirty, ok, jnp.float64))
        _finite(f"gradient with NaN under where=False ({r})", dirty[1])
    for value, grads in masked:
        if float(value) != 0.0 or any(np.any(np.asarray(g) != 0) for g in grads):
            raise _Mismatch(f"fully masked mean gave {value} and gradients {grads}")
    return err


def _kink_grads(fn, argnums, k, *args):
    f, diff = _partial(fn, args, argnums, k.options)
    return jax.grad(lambda *d: jnp.sum(f(*d)), argnums=tuple(range(len(diff))))(*diff)


def _looped_parts(check: str, i: int, points: Sequence[Any], program_of) -> list[_Part]:
    """One part per group of same-shaped points (kinks or edge cases): ``program_of(point)``
    run as a compiled loop over the group's stacked arguments."""
    parts = []
    for group in _groups(points, lambda p: p.args):
        stacked = _stack([_host(points[j].args, np.float32) for j in group])
        program = partial(_loop, program_of(points[group[0]]))
        parts.append(_Part((check, i, tuple(group)), False, program, (stacked,)))
    return parts


def _kinks_parts(s: _Spec, i: int, c: _Case) -> list[_Part]:
    return _looped_parts("kinks", i, s.kinks, lambda k: partial(_kink_grads, s.fn, s.argnums, k))


def _kinks_judge(s: _Spec, i: int, c: _Case, out: Mapping) -> float | None:
    if not s.kinks:
        return None
    err = 0.0
    for group in _groups(s.kinks, lambda k: k.args):
        looped = _out(out, ("kinks", i, tuple(group)))
        for n, j in enumerate(group):
            k = s.kinks[j]
            expected = _host(k.grads, np.float32)
            grads = [g[n] for g in looped]
            e = max(_error(g, x) for g, x in zip(grads, expected, strict=True))
            if not e <= 1e-6:
                # The documented value is the rule's exact arithmetic, which a compiler may
                # reassociate (diou's identical boxes give 1.5e-8, not 0, under jit): the
                # eager, op-by-op gradient is the one held to it.
                with jax.enable_x64(False):
                    args = _cast(k.args, jnp.float32)
                    grads = jax.device_get(_kink_grads(s.fn, s.argnums, k, *args))
                e = max(_error(g, x) for g, x in zip(grads, expected, strict=True))
            if not e <= 1e-6:
                got = [np.asarray(g).tolist() for g in grads]
                raise _Mismatch(f"{k.description}: gradients {got}, documented {k.grads}")
            err = max(err, e)
    return err


def _edge_program(fn, argnums, case, *args):
    f, diff = _partial(fn, args, argnums, case.options)
    value = f(*diff)
    # The gradient of the summed loss and, at the extremes, its derivative along a unit
    # direction (forward over reverse, as jax.hessian runs): a Hessian-vector product.
    ones = tuple(jnp.ones_like(d) for d in diff)
    grad_sum = jax.grad(lambda *d: jnp.sum(f(*d)), argnums=tuple(range(len(diff))))
    grads, hvp = jax.jvp(grad_sum, diff, ones)
    return value, grads, hvp


def _edge_cases_parts(s: _Spec, i: int, c: _Case) -> list[_Part]:
    return _looped_parts("edge_cases", i, s.edge_cases,
                         lambda e: partial(_edge_program, s.fn, s.argnums, e))  # fmt: skip


def _edge_cases_judge(s: _Spec, i: int, c: _Case, out: Mapping) -> None:
    for group in _groups(s.edge_cases, lambda e: e.args):
        looped = _out(out, ("edge_cases", i, tuple(group)))
        for n, j in enumerate(group):
            e = s.edge_cases[j]
            value, grads, hvp = jax.tree.map(lambda x, n=n: x[n], looped)
            _finite(f"{e.description}: value", value)
            _finite(f"{e.description}: gradients", grads)
            _finite(f"{e.description}: second derivative (Hessian-vector product)", hvp)
            if e.value is not None and _error(value, e.value) > 1e-6:
                raise _Mismatch(f"{e.description}: value {np.asarray(value)}, "
                                f"documented {e.value}")  # fmt: skip


_NARROW = (jnp.bfloat16, jnp.float16)


def _dtypes_program(s: _Spec, c: _Case, dtypes, *args):
    def run(*a):
        return _value_and_vjp(s.fn, a, s.argnums, c.options, s.seed)

    got = [run(*_cast(args, dtype)) for dtype in dtypes]
    if dtypes == (jnp.float64,):
        return got
    # The float32 result on the same (rounded) inputs: one compiled loop over them.
    rounded = [_cast(_cast(args, dtype), jnp.float32) for dtype in dtypes]
    exact = _loop(run, tuple(jnp.stack(xs) for xs in zip(*rounded, strict=True)))
    return [(g, jax.tree.map(lambda x, n=n: x[n], exact)) for n, g in enumerate(got)]


def _dtypes_parts(s: _Spec, i: int, c: _Case) -> list[_Part]:
    # float32 is the shared float32 part (as are float64's rounded inputs: the sample is
    # float32, so its float64 cast rounds back exactly).
    args = _host(c.args, np.float32)
    return [
        _Part(("dtypes", i), False, partial(_dtypes_program, s, c, _NARROW), args),
        _Part(("dtypes64", i), True, partial(_dtypes_program, s, c, (jnp.float64,)), args),
        _vjp32_part(s, i, c, "ours"),
    ]


def _dtypes_judge(s: _Spec, i: int, c: _Case, out: Mapping) -> float:
    float32 = _out(out, ("ours", i))
    (float64,) = _out(out, ("dtypes64", i))
    results = [*_out(out, ("dtypes", i)), (float32, float32), (float64, float32)]
    err = 0.0
    for dtype, ((value, grads), exact) in zip((*_NARROW, jnp.float32, jnp.float64), results,
                                              strict=True):  # fmt: skip
        name = jnp.dtype(dtype).name
        if value.dtype != jnp.dtype(dtype):
            raise _Mismatch(f"{name} inputs gave a {value.dtype} output")
        for n, g in zip(s.argnums, grads, strict=True):
            if _is_float(c.args[n]) and g.dtype != jnp.dtype(dtype):
                raise _Mismatch(f"{name}: gradient w.r.t. {_argname(s.fn, n)} is {g.dtype}")
        # float64 is held to float32's tolerance; the others are rounded once at the end.
        tol_dtype = jnp.float32 if dtype == jnp.float64 else dtype
        got = jax.tree.map(lambda x, d=tol_dtype: np.asarray(x).astype(d), (value, grads))
        exact = jax.tree.map(lambda x, d=tol_dtype: np.asarray(x).astype(d), exact)
        err = max(err, _compare(f"{name} vs float32", got, exact, tol_dtype))
    return err


_FUSED_SIZE = 65536


def _big(args: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
    reps = -(-_FUSED_SIZE // max(np.asarray(args[0]).size, 1))
    return tuple(np.tile(a, (reps,) + (1,) * (a.ndim - 1)) if a.ndim else a for a in args)


def _fused_parts(s: _Spec, i: int, c: _Case) -> list[_Part]:
    big = _big(c.args)

    def ours(*a):
        return tuple(s.fn(*a, **c.options, reduction=r) for r in ("none", "mean", "sum"))

    def theirs(*a):
        # The mean's normaliser is the loss's own (class-weighted losses divide by the
        # summed class weights): take it from the reference, in float64.
        return tuple(s.reference(*a, **c.options, reduction=r) for r in ("sum", "mean"))

    return [
        _Part(("fused_reduction", i), False, ours, _host(big, np.float32), "default"),
        # The reference only gives the normaliser: compiled fast.
        _Part(("fused_reference", i), True, theirs, _host(big, np.float64)),
    ]


def _fused_judge(s: _Spec, i: int, c: _Case, out: Mapping) -> float:
    per, got_mean, got_sum = _out(out, ("fused_reduction", i))
    ref_sum, ref_mean = map(float, _out(out, ("fused_reference", i)))
    per = np.asarray(per, np.float64)
    scale = max(float(np.mean(np.abs(per))), 1e-30)
    mean = float(np.sum(per)) * (ref_mean / ref_sum) if ref_sum else float(np.mean(per))
    err = 0.0
    for reduction, got, expected in (("mean", got_mean, mean), ("sum", got_sum, np.sum(per))):
        got, expected = float(got), float(expected)
        e = abs(got - expected) / (scale * (per.size if reduction == "sum" else 1))
        if not e <= 1e-4:
            raise _Mismatch(
                f"{_describe(c.options)}: compiled {reduction} over {per.size} elements is "
                f"{got:.7g}, the per-element losses give {expected:.7g} (a backend compiler bug)"
            )
        err = max(err, e)
    return err


_CHECKERS: dict[str, tuple[Callable[..., list[_Part]], Callable[..., float | None]]] = {
    "value": (_value_parts, _value_judge),
    "gradient": (_gradient_parts, _gradient_judge),
    "finite_differences": (_fd_parts, _fd_judge),
    "jit": (_jit_parts, _jit_judge),
    "vmap": (_vmap_parts, _vmap_judge),
    "hessian": (_hessian_parts, _hessian_judge),
    "reductions": (_reductions_parts, _reductions_judge),
    "kinks": (_kinks_parts, _kinks_judge),
    "edge_cases": (_edge_cases_parts, _edge_cases_judge),
    "dtypes": (_dtypes_parts, _dtypes_judge),
    "fused_reduction": (_fused_parts, _fused_judge),
}
# Checks that look at the spec's kinks or edge cases, not at an option set's inputs: they
# run once, with the first option set.
_ONCE = ("kinks", "edge_cases")


def _verify(s: _Spec, checks: Sequence[str]) -> list[CheckResult]:
    """Runs ``checks`` on every case of ``s`` that asks for them: one compiled program per
    precision for all of them, then one verdict per check (the first failure, or the
    worst error over the cases)."""
    for check in checks:
        if check not in _CHECKERS:
            raise ValueError(f"check_loss: unknown check {check!r}; known: {', '.join(CHECKS)}")
    todo = _todo(s, checks)
    parts: dict[tuple[Any, ...], _Part] = {}  # by key: checks share some parts
    broken: dict[tuple[str, int], Exception] = {}
    for check, i, c in todo:
        try:
            parts.update((p.key, p) for p in _CHECKERS[check][0](s, i, c))
        except Exception as e:  # a crash inside the loss is a failed check, not a crash here
            broken[check, i] = e
    outputs = _run_parts(list(parts.values()), s.program_name)
    verdicts: dict[str, list[CheckResult]] = {check: [] for check in checks}
    for check, i, c in todo:
        try:
            if (check, i) in broken:
                raise broken[check, i]
            err = _CHECKERS[check][1](s, i, c, outputs)
            result = CheckResult(check, True, err)
        except _Mismatch as e:
            result = CheckResult(check, False, None, str(e))
        except Exception as e:
            result = CheckResult(check, False, None, f"{type(e).__name__}: {e}")
        verdicts[check].append(result)
    results = []
    for check in checks:
        rs = verdicts[check]
        failed = [r for r in rs if not r.passed]
        if failed:
            results.append(failed[0])
            continue
        errors = [r.error for r in rs if r.error is not None]
        detail = "none given" if check in _ONCE and not _given(s, check) else ""
        results.append(CheckResult(check, True, max(errors) if errors else None, detail))
    return results


def _todo(s: _Spec, checks: Sequence[str]) -> list[tuple[str, int, _Case]]:
    """Each check with each case it runs under."""
    return [(check, i, c) for check in checks for i, c in enumerate(s.cases)
            if check in c.checks and not (check in _ONCE and i > 0)]  # fmt: skip


def _given(s: _Spec, check: str) -> bool:
    return bool(s.kinks if check == "kinks" else s.edge_cases)


def check_loss(
    fn: Callable[..., jax.Array],
    reference: Callable[..., jax.Array],
    sample_inputs: Sequence[Any],
    *,
    argnums: Sequence[int] = (0,),
    options: Iterable[Mapping[str, Any]] = ({},),
    kinks: Iterable[Kink] = (),
    edge_cases: Iterable[EdgeCase] = (),
    checks: Iterable[str] = CHECKS,
    name: str | None = None,
    seed: int = 0,
) -> Report:
    """Verifies a loss and its gradient rule against a plain reference.

    All the checks of one call run in two compiled programs (one in float32 and
    narrower dtypes, one in float64), plus the eager run that the ``jit`` check
    compares against.

    Args:
      fn: the loss under test, following jaxloss's calling convention.
      reference: the same loss written with plain ``jax.numpy`` (autodiff only).
      sample_inputs: positional arrays to check at; the leading axis is the batch
        for the ``vmap`` check. Floating arrays are cast to each dtype checked.
      argnums: positions of the arguments to differentiate.
      options: hyperparameter settings (keyword arguments) to check each under.
      kinks: :class:`jaxloss.catalogue.Kink` points with their documented gradients.
      edge_cases: :class:`jaxloss.catalogue.EdgeCase` inputs that must stay finite.
      checks: which of :data:`CHECKS` to run.
      name: the name in the report.
      seed: seed of the random cotangents, weights and masks.

    Returns:
      A :class:`Report`; ``report.passed`` is the verdict and
      ``report.raise_for_failure()`` turns it into a test assertion.

    Raises:
      ValueError: for a name in ``checks`` that is not in :data:`CHECKS`.
    """
    checks = tuple(checks)
    args = tuple(np.asarray(a) for a in sample_inputs)
    # reductions and dtypes check conventions, not a hyperparameter's math: the first
    # option set only (kinks and edge cases carry their own options).
    first_only = ("reductions", "dtypes")
    cases = tuple(
        _Case(args, dict(o), checks if n == 0 else tuple(c for c in checks if c not in first_only))
        for n, o in enumerate(tuple(options) or ({},))
    )
    spec = _Spec(fn, reference, tuple(argnums), cases, tuple(kinks), tuple(edge_cases), seed)
    start = time.perf_counter()
    results = _verify(spec, checks)
    return Report(name or getattr(fn, "__name__", "loss"), results,
                  time.perf_counter() - start)  # fmt: skip


# The checks whose outcome depends on a hyperparameter's math run under every option set
# of a catalogue entry (finite_differences at order 2, which also checks the gradient of
# the gradient, under the first option set, at order 1 under the others; the second
# order is also covered by the hessian check). The others check the conventions and the
# transformations (jit, vmap, hessian, reductions, dtypes, the compiled reduction), which
# do not change with the hyperparameters: they run under the entry's first option set.
PER_OPTION_CHECKS = ("value", "gradient", "finite_differences")


def _entry_spec(entry: Entry, checks: Sequence[str], seed: int) -> _Spec:
    # Only the catalogue's own entries have programs (and samples) kept between runs: the
    # fingerprint of what is kept covers the library's source, not a caller's.
    ours = entry.name in _catalogue.names() and _catalogue.get(entry.name) is entry
    cases = []
    for i, opts in enumerate(entry.options):
        mine = tuple(c for c in checks if i == 0 or c in PER_OPTION_CHECKS)
        if not mine:
            continue

        # Options may change the input domain, so each option set gets its own sample,
        # drawn with x64 on whatever the caller's setting, so that `jaxloss verify` and
        # the test suite check the same inputs (jax.random draws differ with x64).
        def draw(opts=opts):
            with jax.enable_x64(True):
                return tuple(np.asarray(a) for a in entry.inputs(seed, **opts))

        inputs = _programs.kept_arrays(("sample", entry.name, seed, i), draw) if ours else draw()
        cases.append(_Case(inputs, dict(opts), mine, 2 if i == 0 else 1))
    return _Spec(entry.fn, entry.reference, entry.argnums, tuple(cases), entry.kinks,
                 entry.edge_cases, seed, (entry.name, checks, seed) if ours else None)  # fmt: skip


def export_entry(
    entry: Entry, platforms: Sequence[str], checks: Iterable[str] = CHECKS, *, seed: int = 0
) -> CheckResult:
    """Lowers and serialises every program that :func:`check_entry` compiles for ``entry``
    (the loss, its gradient, vmap, hessian, every reduction, each dtype) for each of
    ``platforms`` (``"cuda"``, ``"tpu"``, ``"rocm"``, ``"cpu"``) with :mod:`jax.export`,
    without the hardware. Returns a ``CheckResult`` named ``"export"`` that fails with
    the first program that does not lower or serialise, and why."""
    from jax import export

    checks = tuple(checks)
    s = _entry_spec(entry, checks, seed)
    # By key, as check_entry runs them: checks share some parts.
    parts = list({p.key: (p, c) for check, i, c in _todo(s, checks)
                  for p in _CHECKERS[check][0](s, i, c)}.values())  # fmt: skip

    def lower(fn, inputs, x64):
        with jax.enable_x64(x64):
            export.export(jax.jit(fn), platforms=tuple(platforms))(*inputs).serialize()

    # One program per precision, as check_entry compiles them; part by part only to name
    # the one that fails.
    groups: dict[bool, list[tuple[_Part, _Case]]] = {}
    for p, c in parts:
        groups.setdefault(p.x64, []).append((p, c))
    for x64, group in groups.items():
        try:
            lower(partial(_all_of, [p.fn for p, _ in group]), [p.inputs for p, _ in group], x64)
            continue
        except Exception:
            pass
        for p, c in group:
            try:
                lower(p.fn, p.inputs, x64)
            except Exception as e:
                what = f"{p.key[0]} ({_describe(c.options)})"
                return CheckResult("export", False, None,
                                   f"{what} for {', '.join(platforms)}: "
                                   f"{type(e).__name__}: {str(e).splitlines()[0]}")  # fmt: skip
    return CheckResult("export", True, None,
                       f"{len(parts)} programs for {', '.join(platforms)}")  # fmt: skip


def run_check(entry: Entry, check: str, *, seed: int = 0) -> CheckResult:
    """Runs one check on one catalogue entry: on inputs sampled for each option set for
    the checks of :data:`PER_OPTION_CHECKS`, for the first option set otherwise."""
    return _verify(_entry_spec(entry, (check,), seed), (check,))[0]


def check_entry(entry: Entry, checks: Iterable[str] = CHECKS, *, seed: int = 0) -> Report:
    """All checks on one catalogue entry, in one compiled program per precision: what
    ``jaxloss verify NAME`` runs."""
    checks = tuple(checks)
    start = time.perf_counter()
    results = _verify(_entry_spec(entry, checks, seed), checks)
    return Report(entry.name, results, time.perf_counter() - start)


def check_labels(labels: Any, num_classes: int, *, ignore_index: int | None = None) -> jax.Array:
    """Reports integer labels outside ``[0, num_classes)`` (other than ``ignore_index``).

    Under ``jit`` a loss cannot raise on a bad label; jaxloss's integer-label losses
    give NaN for it instead. This check finds the label: eagerly it raises at once;
    inside a jitted step, wrap the step with :func:`jax.experimental.checkify.checkify`
    and call ``err.throw()`` on the returned error. It returns ``labels`` unchanged.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> from jax.experimental import checkify
      >>> from jaxloss import testing
      >>> def step(labels):
      ...     return testing.check_labels(labels, 10, ignore_index=-100)
      >>> err, _ = checkify.checkify(jax.jit(step))(jnp.array([3, -100, 12]))
      >>> print(err.get())
      labels must be in [0, 10) or ignore_index: found 12 at flat index 2 (`check` failed)
    """
    labels = jnp.asarray(labels)
    if not jnp.issubdtype(labels.dtype, jnp.integer):
        raise TypeError(f"check_labels: labels must be integers, got {labels.dtype}")
    ok = (labels >= 0) & (labels < num_classes)
    if ignore_index is not None:
        ok = ok | (labels == ignore_index)
    flat = jnp.ravel(ok)
    first = jnp.argmin(flat) if flat.size else jnp.zeros((), jnp.int32)
    bad = jnp.ravel(labels)[first] if flat.size else jnp.zeros((), labels.dtype)
    checkify.check(
        jnp.all(ok),
        f"labels must be in [0, {num_classes}) or ignore_index: found {{bad}} at flat index {{i}}",
        bad=bad,
        i=first,
    )
    return labels
