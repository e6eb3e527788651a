"""Trace-time argument checks and their error messages.

Every check runs while JAX traces, on shapes, dtypes and static Python values
only, so none of them costs anything at run time and all of them work under
``jit``. Each error names the function, the argument, what it got and how to
fix it; bad types are ``TypeError`` and bad values or shapes are ``ValueError``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import jax.core
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

REDUCTIONS = ("none", "mean", "sum")


def float_array(fn: str, arg: str, x: ArrayLike) -> jax.Array:
    """Converts ``x`` to an array, refusing integer, boolean and complex dtypes."""
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise TypeError(
            f"{fn}: {arg} must have a floating dtype, got {x.dtype}; "
            f"convert it first, e.g. {arg}.astype(jnp.float32)"
        )
    return x


def data_array(fn: str, arg: str, x: ArrayLike) -> jax.Array:
    """Converts ``x`` (targets or other data) to an array; integers and bools are allowed."""
    x = jnp.asarray(x)
    if jnp.issubdtype(x.dtype, jnp.complexfloating):
        raise TypeError(f"{fn}: {arg} must be real, got {x.dtype}")
    return x


def same_shape(fn: str, a: str, x: jax.Array, b: str, y: jax.Array) -> None:
    if x.shape != y.shape:
        raise ValueError(
            f"{fn}: {a} and {b} must have the same shape, got {x.shape} and {y.shape}; "
            f"{_shape_fix(a, x.shape, b, y.shape)}"
        )


def _broadcasts_to(shape: tuple, target: tuple) -> bool:
    try:
        return np.broadcast_shapes(shape, target) == tuple(target)
    except ValueError:
        return False


def _shape_fix(a: str, xs: tuple, b: str, ys: tuple) -> str:
    """The edit that gives ``a`` (shape ``xs``) and ``b`` (shape ``ys``) one shape, for
    the shapes at hand: a missing size-1 axis, a broadcast, or a reshape."""
    if ys == (*xs, 1):
        return f"{a} lacks the trailing size-1 axis of {b}: pass {a}[..., None]"
    if xs == (*ys, 1):
        return f"{b} lacks the trailing size-1 axis of {a}: pass {b}[..., None]"
    if _broadcasts_to(ys, xs):
        return f"broadcast explicitly first, e.g. jnp.broadcast_to({b}, {a}.shape)"
    if _broadcasts_to(xs, ys):
        return f"broadcast explicitly first, e.g. jnp.broadcast_to({a}, {b}.shape)"
    if math.prod(xs) == math.prod(ys):
        return f"they hold as many entries: reshape one, e.g. {b}.reshape({a}.shape)"
    return f"pass one {b} entry per {a} entry"


def broadcastable(fn: str, arg: str, x: jax.Array, shape: tuple, of: str) -> None:
    """Checks that ``x`` broadcasts to ``shape`` without changing it; the shapes may hold
    symbolic dimensions (shape-polymorphic ``jax.export``), which numpy cannot compare."""
    try:
        ok = tuple(jnp.broadcast_shapes(x.shape, tuple(shape))) == tuple(shape)
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(
            f"{fn}: {arg} must be broadcastable to {of} {tuple(shape)}, got {x.shape}; "
            f"give it shape {tuple(shape)} or a shape that broadcasts to it"
        )


def reduction(fn: str, value: object) -> str:
    if value not in REDUCTIONS:
        raise ValueError(f"{fn}: reduction must be one of {REDUCTIONS}, got {value!r}")
    return str(value)


def static_float(
    fn: str,
    arg: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    allow_inf: bool = False,
) -> float:
    """Returns a static hyperparameter as a Python float, checked against its range.

    ``low``/``high`` bound the value (inclusive unless ``*_open``).
    """
    if isinstance(value, jax.core.Tracer):
        raise TypeError(
            f"{fn}: {arg} must be a static Python number, got a traced array; "
            f"hyperparameters are fixed at trace time (mark it static under jit, "
            f"or pass a float)"
        )
    try:
        if isinstance(value, str | bytes | bool | np.bool_):
            raise TypeError
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TypeError(f"{fn}: {arg} must be a number, got {value!r}") from None
    if math.isnan(v) or (math.isinf(v) and not allow_inf):
        raise ValueError(f"{fn}: {arg} must be finite, got {v}")
    too_low = low is not None and (v <= low if low_open else v < low)
    too_high = high is not None and (v >= high if high_open else v > high)
    if too_low or too_high:
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        left = "(" if low_open or low is None else "["
        right = ")" if high_open or high is None else "]"
        interval = f"{left}{lo}, {hi}{right}"
        raise ValueError(f"{fn}: {arg} must be in {interval}, got {v:g}")
    return v


def static_bool(fn: str, arg: str, value: object) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{fn}: {arg} must be True or False, got {value!r}")
    return bool(value)


def axes(fn: str, axis: int | Sequence[int] | None, ndim: int) -> tuple[int, ...]:
    """Normalises ``axis`` (int, sequence of ints, or None for all) to sorted positive axes."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int | np.integer) and not isinstance(axis, bool):
        raw = (int(axis),)
    elif isinstance(axis, Sequence) and not isinstance(axis, str | bytes):
        raw = tuple(axis)
    else:
        raise TypeError(f"{fn}: axis must be an int, a sequence of ints or None, got {axis!r}")
    out = []
    for a in raw:
        if not isinstance(a, int) or not -ndim <= a < ndim:
            raise ValueError(f"{fn}: axis {a!r} is out of range for inputs with {ndim} dimensions")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{fn}: axis {axis!r} repeats an axis")
    return tuple(sorted(out))


def predictions_targets(
    fn: str, predictions: ArrayLike, targets: ArrayLike | None
) -> tuple[jax.Array, jax.Array]:
    """Converts a (predictions, targets) pair; ``targets=None`` means zeros (optax's convention)."""
    p = float_array(fn, "predictions", predictions)
    if targets is None:
        return p, jnp.zeros_like(p)
    t = data_array(fn, "targets", targets)
    same_shape(fn, "predictions", p, "targets", t)
    return p, t


def static_int(fn: str, arg: str, value: object, *, low: int | None = None) -> int:
    """Returns a static integer hyperparameter (``ignore_index``, ``blank``, ...)."""
    if isinstance(value, jax.core.Tracer):
        raise TypeError(f"{fn}: {arg} must be a static Python int, got a traced array")
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise TypeError(f"{fn}: {arg} must be an int, got {value!r}")
    if low is not None and value < low:
        raise ValueError(f"{fn}: {arg} must be >= {low}, got {value}")
    return int(value)


def int_array(fn: str, arg: str, x: ArrayLike) -> jax.Array:
    """Converts integer labels (or lengths) to an array, refusing float and bool dtypes."""
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.integer):
        raise TypeError(
            f"{fn}: {arg} must have an integer dtype, got {x.dtype}; "
            f"pass class indices such as {arg}.astype(jnp.int32)"
        )
    return x


def axis(fn: str, value: object, ndim: int) -> int:
    """Normalises one ``axis`` (the class or feature axis) to a non-negative int."""
    if isinstance(value, tuple | list):
        raise TypeError(
            f"{fn}: axis must be an int, got {value!r}; this loss takes one class (or "
            f"feature) axis: to use several, merge them into one first, e.g. move them "
            f"last and reshape, x.reshape(*x.shape[:-2], -1) for the last two"
        )
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{fn}: axis must be an int, got {value!r}")
    if not -ndim <= value < ndim:
        raise ValueError(f"{fn}: axis {value} is out of range for inputs with {ndim} dimensions")
    return int(value) % ndim


def class_axis(fn: str, scores: str, x: jax.Array, value: object) -> int:
    """The class axis of ``x`` (``scores`` names it in errors), normalised; a scalar has none."""
    if x.ndim == 0:
        raise ValueError(
            f"{fn}: {scores} must have a class axis, got a scalar; "
            f"pass one score per class, shape (..., num_classes)"
        )
    ax = axis(fn, value, x.ndim)
    nonempty_axis(fn, scores, x, ax, "class")
    return ax


def nonempty_axis(fn: str, arg: str, x: jax.Array, ax: int, what: str) -> None:
    """Refuses a zero-size ``what`` axis (class, list, feature): a loss over no classes has
    no meaning, and a zero-size max or log-sum-exp would fail with a bare message."""
    if isinstance(x.shape[ax], int) and x.shape[ax] == 0:
        raise ValueError(
            f"{fn}: {arg} has a zero-size {what} axis {ax} (shape {x.shape}); "
            f"it needs at least one {what}"
        )


def class_labels(
    fn: str, x: jax.Array, labels: ArrayLike, value: object, *, scores: str = "logits"
) -> tuple[int, jax.Array]:
    """``(class axis, labels)`` for integer class labels of ``x``'s examples.

    The one check every integer-label loss shares: ``labels`` has ``x``'s shape
    without the class axis, and an integer dtype; probability or one-hot labels (a
    float array of ``x``'s shape) get a ``TypeError`` that says what to pass instead.
    """
    ax = class_axis(fn, scores, x, value)
    raw = jnp.asarray(labels)
    if jnp.issubdtype(raw.dtype, jnp.floating) and raw.shape == x.shape:
        raise TypeError(
            f"{fn}: labels of shape {raw.shape} and dtype {raw.dtype} look like one-hot or "
            f"probability vectors; this loss takes integer class indices: pass "
            f"jnp.argmax(labels, axis={ax}), or use softmax_cross_entropy for probability labels"
        )
    y = int_array(fn, "labels", raw)
    expected = x.shape[:ax] + x.shape[ax + 1 :]
    if y.shape != expected:
        if y.shape == x.shape:
            fix = (
                "pass class indices, not one-hot vectors "
                "(softmax_cross_entropy takes probability labels)"
            )
        elif math.prod(y.shape) == math.prod(expected):
            fix = f"they hold one index per example: pass labels.reshape({expected})"
        else:
            fix = f"pass one class index per example of {scores}"
        raise ValueError(
            f"{fn}: labels must have the shape of {scores} without its class axis {ax}, "
            f"i.e. {expected} for {scores} {x.shape}, got {y.shape}; {fix}"
        )
    return ax, y


def class_axes(fn: str, scores: str, x: jax.Array, value: object, *, allow_none: bool) -> tuple:
    """optax's class ``axis`` that may name several axes: a tuple (or list) of ints, kept in
    the order given (the classes are the flat index over them in that order), or ``None``
    for every axis when ``allow_none``. A single int is returned as a 1-tuple."""
    if x.ndim == 0:
        class_axis(fn, scores, x, -1)  # raises: a scalar has no class axis
    if value is None and allow_none:
        return tuple(range(x.ndim))
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return (class_axis(fn, scores, x, value),)
    if not isinstance(value, tuple | list) or not value:
        kinds = "an int or a non-empty tuple of ints"
        if allow_none:
            kinds = "an int, a non-empty tuple of ints or None"
        raise TypeError(f"{fn}: axis must be {kinds}, got {value!r}")
    out = tuple(axis(fn, a, x.ndim) for a in value)
    if len(set(out)) != len(out):
        raise ValueError(f"{fn}: axis {tuple(value)!r} repeats an axis of {scores} {x.shape}")
    for a in out:
        nonempty_axis(fn, scores, x, a, "class")
    return out


def concrete_hyperparameter(
    fn: str, arg: str, value: object, *, positive: bool, fix: str
) -> object:
    """Checks a hyperparameter that may also be a traced (learnt) array, where it is known.

    A Python number or a NumPy array is checked at trace time: finite, and ``> 0`` when
    ``positive``; a Python int becomes a float. A ``jax.Array`` (traced or not) passes
    unchecked: its value is not known here without a transfer from the device.
    """
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"{fn}: {arg} must be a number or a float array, got {value!r}")
    if not isinstance(value, int | float | np.number | np.ndarray):
        return value
    v = np.asarray(value, np.float64)
    bad = ~np.isfinite(v) | (v <= 0) if positive else ~np.isfinite(v)
    if np.any(bad):
        got = v[bad].flat[0]
        need = "finite and > 0" if positive else "finite"
        raise ValueError(f"{fn}: {arg} must be {need}, got {got:g}; {fix}")
    return float(value) if isinstance(value, int) else value


def concrete_values_in(
    fn: str, arg: str, value: object, allowed: tuple[float, ...], where: object = None
) -> None:
    """Checks that an array known at trace time (not a tracer) holds only ``allowed``
    values where ``where`` (if given, and known too) is True; a traced array cannot be
    checked under ``jit`` and passes."""
    if isinstance(value, jax.core.Tracer) or isinstance(where, jax.core.Tracer):
        return
    v = np.asarray(value)
    if v.dtype == object or jnp.issubdtype(v.dtype, jnp.complexfloating):
        return
    bad = ~np.isin(v, allowed)
    if where is not None:
        try:
            bad &= np.broadcast_to(np.asarray(where, bool), v.shape)
        except ValueError:
            return  # the shape check of ``where`` reports it
    if np.any(bad):
        got = v[bad].flat[0].item()
        raise ValueError(
            f"{fn}: {arg} must hold only the values {allowed}, got {got!r} "
            f"(at index {tuple(int(i) for i in np.argwhere(bad)[0])}); map the labels first, "
            f"e.g. jnp.where({arg} > 0, 1, -1)"
        )
