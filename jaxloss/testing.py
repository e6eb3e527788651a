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

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify
from jax.test_util import check_grads

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
class _Spec:
    fn: Callable[..., jax.Array]
    reference: Callable[..., jax.Array]
    args: tuple[Any, ...]
    argnums: tuple[int, ...]
    options: tuple[Mapping[str, Any], ...]
    kinks: tuple[Kink, ...]
    edge_cases: tuple[EdgeCase, ...]
    seed: int
    fd_order: int = 2  # finite differences: 2 also checks the gradient of the gradient


class _Mismatch(Exception):
    pass


# --- helpers


def _is_float(x: Any) -> bool:
    return jnp.issubdtype(jnp.asarray(x).dtype, jnp.floating)


def _cast(args: Sequence[Any], dtype: Any) -> tuple[Any, ...]:
    """Casts the floating arrays among ``args`` to ``dtype`` and integer ones (labels,
    lengths) to int32, which exists with or without x64; leaves the others."""
    return tuple(
        jnp.asarray(a, dtype) if _is_float(a) else jnp.asarray(np.asarray(a).astype(np.int32))
        if jnp.issubdtype(np.asarray(a).dtype, jnp.integer) else jnp.asarray(a)
        for a in args
    )  # fmt: skip


def _cotangent(shape: tuple[int, ...], dtype: Any, seed: int) -> jax.Array:
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


def _value_and_vjp(fn, args, argnums, options, seed, *, compiled=True):
    """The value and the vjp with a seeded random cotangent, as one compiled call.

    ``compiled=False`` runs it eagerly: the ``jit`` check compares the two, and the
    ``reductions`` and ``dtypes`` checks, which run many variants of one call, share
    the eager path's per-primitive compilations (cheaper there than one compilation
    per variant). ``kinks`` runs eagerly too.
    """

    def run(*args):
        f, diff = _partial(fn, args, argnums, options)
        out, vjp = jax.vjp(f, *diff)
        return out, vjp(_cotangent(out.shape, out.dtype, seed))

    return jax.jit(run)(*args) if compiled else run(*args)


def _call(fn, args, options):
    """``fn(*args, **options)``, compiled."""
    return jax.jit(lambda *a: fn(*a, **options))(*args)


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
        if not bool(jnp.all(jnp.isfinite(leaf))):
            raise _Mismatch(f"{what}: non-finite entries {np.asarray(leaf)}")


# --- the checks; each returns the worst error it saw (or None)


# value and gradient compare in float32, the dtype training runs in. float64 is checked
# by the checks that need its precision: reductions (against the reference at 1e-9, every
# combination), finite_differences (at order 2) and hessian.


def _check_value(s: _Spec) -> float:
    err = 0.0
    with jax.enable_x64(False):
        args = _cast(s.args, jnp.float32)
        for opts in s.options:
            a, b = _call(s.fn, args, opts), _call(s.reference, args, opts)
            err = max(err, _compare(f"value float32 {dict(opts)}", a, b, jnp.float32))
    return err


def _check_gradient(s: _Spec) -> float:
    err = 0.0
    with jax.enable_x64(False):
        args = _cast(s.args, jnp.float32)
        for opts in s.options:
            _, ga = _value_and_vjp(s.fn, args, s.argnums, opts, s.seed)
            _, gb = _value_and_vjp(s.reference, args, s.argnums, opts, s.seed)
            err = max(err, _compare(f"gradient float32 {dict(opts)}", ga, gb, jnp.float32))
    return err


def _finite_difference_failure(fn, args, argnums, opts, seed, order=2) -> str | None:
    """Why ``check_grads`` (reverse mode, float64, ``order`` 2 by default) rejects ``fn``
    at ``args``."""
    f, diff = _partial(fn, args, argnums, opts)
    cot = _cotangent(jax.eval_shape(f, *diff).shape, jnp.float64, seed)
    try:
        check_grads(jax.jit(lambda *d: jnp.sum(cot * f(*d))), diff, order=order, modes=["rev"])
    except AssertionError as e:
        return str(e).strip().splitlines()[0]
    return None


def _check_finite_differences(s: _Spec) -> None:
    with jax.enable_x64(True):
        args = _cast(s.args, jnp.float64)
        for opts in s.options:
            failure = _finite_difference_failure(s.fn, args, s.argnums, opts, s.seed, s.fd_order)
            if failure is None:
                continue
            # Tell a wrong rule from inputs where finite differences are themselves too
            # inaccurate (a large third derivative, a kink or a domain edge within the step):
            # there the plain reference, differentiated by autodiff, fails the same way.
            if _finite_difference_failure(s.reference, args, s.argnums, opts, s.seed, s.fd_order):
                failure += (
                    " (the plain reference fails this check too: finite differences are "
                    "inaccurate at these inputs; sample further from kinks and domain edges)"
                )
            raise _Mismatch(f"{dict(opts)}: {failure}")


def _check_jit(s: _Spec) -> float:
    err = 0.0
    args = _cast(s.args, jnp.float32)
    for opts in s.options:
        eager = _value_and_vjp(s.fn, args, s.argnums, opts, s.seed, compiled=False)
        jitted = _value_and_vjp(s.fn, args, s.argnums, opts, s.seed)
        err = max(err, _compare(f"jit {dict(opts)}", jitted, eager, jnp.float32))
    return err


def _check_vmap(s: _Spec) -> float:
    err = 0.0
    args = _cast(s.args, jnp.float32)
    n = args[0].shape[0]
    for opts in s.options:

        def one(*a, o=opts):
            return _value_and_vjp(s.fn, a, s.argnums, o, s.seed, compiled=False)

        batched = jax.jit(jax.vmap(one))(*args)
        # The rows share one shape: one compiled call serves them all.
        row = jax.jit(one)
        rows = [row(*(a[i] for a in args)) for i in range(n)]
        looped = jax.tree.map(lambda *xs: jnp.stack(xs), *rows)
        err = max(err, _compare(f"vmap {dict(opts)}", batched, looped, jnp.float32))
    return err


def _check_hessian(s: _Spec) -> float:
    err = 0.0
    with jax.enable_x64(True):
        args = _cast(s.args, jnp.float64)
        for opts in s.options:
            o = {**opts, "reduction": "mean"}
            diff = tuple(args[i] for i in s.argnums)
            ha = jax.jit(jax.hessian(_partial(s.fn, args, s.argnums, o)[0]))(*diff)
            hb = jax.jit(jax.hessian(_partial(s.reference, args, s.argnums, o)[0]))(*diff)
            _finite(f"hessian {dict(opts)}", ha)
            err = max(err, _compare(f"hessian {dict(opts)}", ha, hb, jnp.float32))
    return err


def _with_nans(args, argnums, mask):
    """NaN in every differentiable input at the excluded entries (where the shapes line up)."""
    out = list(args)
    for i in argnums:
        a = out[i]
        if a.shape[: mask.ndim] == mask.shape:
            m = jnp.reshape(mask, mask.shape + (1,) * (a.ndim - mask.ndim))
            out[i] = jnp.where(jnp.broadcast_to(m, a.shape), a, jnp.nan)
    return tuple(out)


def _check_reductions(s: _Spec) -> float:
    err = 0.0
    with jax.enable_x64(True):
        args = _cast(s.args, jnp.float64)
        opts = dict(s.options[0])
        shape = jax.eval_shape(lambda *a: s.fn(*a, **opts), *args).shape
        rng = np.random.default_rng(s.seed)
        weights = jnp.asarray(rng.uniform(0.1, 2.0, shape))
        where = jnp.asarray(rng.uniform(size=shape) < 0.7).at[(0,) * len(shape)].set(False)
        for reduction in ("none", "mean", "sum"):
            for w in (None, weights):
                for m in (None, where):
                    o = {**opts, "reduction": reduction, "weights": w, "where": m}
                    what = f"reduction={reduction} weights={w is not None} where={m is not None}"
                    a = _value_and_vjp(s.fn, args, s.argnums, o, s.seed, compiled=False)
                    b = _value_and_vjp(s.reference, args, s.argnums, o, s.seed, compiled=False)
                    err = max(err, _compare(what, a, b, jnp.float64))
        # Excluded entries: NaN inputs there change nothing and get exactly zero gradient.
        nan_args = _with_nans(args, s.argnums, where)
        for reduction in ("none", "mean", "sum"):
            o = {**opts, "reduction": reduction, "weights": weights, "where": where}
            clean = _value_and_vjp(s.fn, args, s.argnums, o, s.seed, compiled=False)
            dirty = _value_and_vjp(s.fn, nan_args, s.argnums, o, s.seed, compiled=False)
            err = max(err, _compare(f"NaN under where=False ({reduction})", dirty, clean,
                                    jnp.float64))  # fmt: skip
            _finite(f"gradient with NaN under where=False ({reduction})", dirty[1])
        # Everything excluded: the mean is 0 with zero gradient, never NaN.
        none = jnp.zeros(shape, bool)
        for w in (None, weights):
            o = {**opts, "reduction": "mean", "weights": w, "where": none}
            value, grads = _value_and_vjp(s.fn, nan_args, s.argnums, o, s.seed, compiled=False)
            if float(value) != 0.0 or any(bool(jnp.any(g != 0)) for g in grads):
                raise _Mismatch(f"fully masked mean gave {value} and gradients {grads}")
    return err


def _check_kinks(s: _Spec) -> float:
    err = 0.0
    for k in s.kinks:
        args = _cast(k.args, jnp.float32)
        f, diff = _partial(s.fn, args, s.argnums, k.options)
        # Eager: exactness at a kink is a property of the rule's arithmetic, which the
        # compiler may reassociate (diou's identical boxes give 1.5e-8, not 0, under jit).
        grads = jax.grad(lambda *d, f=f: jnp.sum(f(*d)), argnums=tuple(range(len(diff))))(*diff)
        expected = _cast(k.grads, jnp.float32)
        e = max(_error(g, x) for g, x in zip(grads, expected, strict=True))
        if not e <= 1e-6:
            got = [np.asarray(g).tolist() for g in grads]
            raise _Mismatch(f"{k.description}: gradients {got}, documented {k.grads}")
        err = max(err, e)
    return err


def _check_edge_cases(s: _Spec) -> None:
    for c in s.edge_cases:
        args = _cast(c.args, jnp.float32)
        f, diff = _partial(s.fn, args, s.argnums, c.options)

        def run(*d, f=f):
            value, vjp = jax.vjp(f, *d)
            return value, vjp(jnp.ones_like(value))

        value, grads = jax.jit(run)(*diff)
        _finite(f"{c.description}: value", value)
        _finite(f"{c.description}: gradients", grads)
        if c.value is not None and _error(value, c.value) > 1e-6:
            raise _Mismatch(f"{c.description}: value {np.asarray(value)}, documented {c.value}")


def _check_dtypes(s: _Spec) -> float:
    err = 0.0
    opts = s.options[0]
    dtypes = [(jnp.bfloat16, False), (jnp.float16, False), (jnp.float32, False)]
    dtypes.append((jnp.float64, True))
    for dtype, x64 in dtypes:
        with jax.enable_x64(x64):
            args = _cast(s.args, dtype)
            value, grads = _value_and_vjp(s.fn, args, s.argnums, opts, s.seed, compiled=False)
            if value.dtype != jnp.dtype(dtype):
                raise _Mismatch(f"{dtype.__name__} inputs gave a {value.dtype} output")
            for i, g in zip(s.argnums, grads, strict=True):
                if g.dtype != args[i].dtype:
                    raise _Mismatch(f"{dtype.__name__}: gradient of argument {i} is {g.dtype}")
            # The float32 result on the same (rounded) inputs, rounded once at the end;
            # float64 is held to float32's tolerance.
            tol_dtype = jnp.float32 if dtype == jnp.float64 else dtype
            exact = _value_and_vjp(
                s.fn, _cast(args, jnp.float32), s.argnums, opts, s.seed, compiled=False
            )
            exact = jax.tree.map(lambda x, d=tol_dtype: x.astype(d), exact)
            got = jax.tree.map(lambda x, d=tol_dtype: x.astype(d), (value, grads))
            err = max(err, _compare(f"{dtype.__name__} vs float32", got, exact, tol_dtype))
    return err


def _check_fused_reduction(s: _Spec) -> float:
    err = 0.0
    args = _cast(s.args, jnp.float32)
    reps = -(-_FUSED_SIZE // max(args[0].size, 1))
    big = tuple(jnp.tile(a, (reps,) + (1,) * (a.ndim - 1)) if a.ndim else a for a in args)
    for opts in s.options:
        per = np.asarray(jax.jit(lambda *a, o=opts: s.fn(*a, **o))(*big), np.float64)
        scale = max(float(np.mean(np.abs(per))), 1e-30)
        # The mean's normaliser is the loss's own (class-weighted losses divide by the
        # summed class weights): take it from the reference, in float64.
        with jax.enable_x64(True):
            ref_sum, ref_mean = map(float, jax.jit(
                lambda *a, o=opts: tuple(s.reference(*a, **o, reduction=r) for r in ("sum", "mean"))
            )(*_cast(big, jnp.float64)))  # fmt: skip
        mean = float(np.sum(per)) * (ref_mean / ref_sum) if ref_sum else float(np.mean(per))
        for reduction, expected in (("mean", mean), ("sum", float(np.sum(per)))):
            got = float(jax.jit(lambda *a, o=opts, r=reduction: s.fn(*a, reduction=r, **o))(*big))
            e = abs(got - expected) / (scale * (per.size if reduction == "sum" else 1))
            if not e <= 1e-4:
                raise _Mismatch(
                    f"{dict(opts)}: compiled {reduction} over {per.size} elements is {got:.7g}, "
                    f"the per-element losses give {expected:.7g} (a backend compiler bug)"
                )
            err = max(err, e)
    return err


_FUSED_SIZE = 65536

_RUNNERS: dict[str, Callable[[_Spec], float | None]] = {
    "value": _check_value,
    "gradient": _check_gradient,
    "finite_differences": _check_finite_differences,
    "jit": _check_jit,
    "vmap": _check_vmap,
    "hessian": _check_hessian,
    "reductions": _check_reductions,
    "kinks": _check_kinks,
    "edge_cases": _check_edge_cases,
    "dtypes": _check_dtypes,
    "fused_reduction": _check_fused_reduction,
}


def _run(s: _Spec, check: str) -> CheckResult:
    if check not in _RUNNERS:
        raise ValueError(f"check_loss: unknown check {check!r}; known: {', '.join(CHECKS)}")
    try:
        err = _RUNNERS[check](s)
    except _Mismatch as e:
        return CheckResult(check, False, None, str(e))
    except Exception as e:  # a crash inside the loss is a failed check, not a crash here
        return CheckResult(check, False, None, f"{type(e).__name__}: {e}")
    return CheckResult(check, True, err)


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
    """
    spec = _Spec(
        fn,
        reference,
        tuple(jnp.asarray(a) for a in sample_inputs),
        tuple(argnums),
        tuple(options) or ({},),
        tuple(kinks),
        tuple(edge_cases),
        seed,
    )
    report = Report(name or getattr(fn, "__name__", "loss"))
    for check in checks:
        report.results.append(_run(spec, check))
    return report


# The checks whose outcome depends on a hyperparameter's math run under every option set
# of a catalogue entry (finite_differences at order 2, which also checks the gradient of
# the gradient, under the first option set, at order 1 under the others; the second
# order is also covered by the hessian check). The others check the conventions and the
# transformations (jit, vmap, hessian, reductions, dtypes, the compiled reduction), which
# do not change with the hyperparameters: they run under the entry's first option set.
PER_OPTION_CHECKS = ("value", "gradient", "finite_differences")


def run_check(entry: Entry, check: str, *, seed: int = 0) -> CheckResult:
    """Runs one check on one catalogue entry: on inputs sampled for each option set for
    the checks of :data:`PER_OPTION_CHECKS`, for the first option set otherwise."""
    # Options may change the input domain, so each option set gets its own sample.
    results = []
    settings = entry.options if check in PER_OPTION_CHECKS else entry.options[:1]
    for i, opts in enumerate(settings):
        # Sampled with x64 on whatever the caller's setting, so that `jaxloss verify` and
        # the test suite check the same inputs (jax.random draws differ with x64).
        with jax.enable_x64(True):
            inputs = entry.inputs(seed, **opts)
        spec = _Spec(entry.fn, entry.reference, inputs, entry.argnums, (opts,),
                     entry.kinks, entry.edge_cases, seed, 2 if i == 0 else 1)  # fmt: skip
        results.append(_run(spec, check))
    failed = [r for r in results if not r.passed]
    if failed:
        return failed[0]
    errors = [r.error for r in results if r.error is not None]
    return CheckResult(check, True, max(errors) if errors else None)


def check_entry(entry: Entry, checks: Iterable[str] = CHECKS, *, seed: int = 0) -> Report:
    """All checks on one catalogue entry: what ``jaxloss verify NAME`` runs."""
    return Report(entry.name, [run_check(entry, c, seed=seed) for c in checks])


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
