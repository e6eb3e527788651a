"""Reduction, weights and ``where``: the one implementation every loss shares.

Conventions (see ``docs/conventions.md``):

* ``reduction="none"`` returns the unreduced losses (per element for elementwise
  losses, per example for losses that reduce a feature or class axis), multiplied
  by ``weights`` when given; ``"sum"`` returns their sum; ``"mean"`` returns
  ``sum(w * l) / sum(w)`` (the plain mean without weights).
* ``where=False`` entries are excluded: they add exactly zero to the value and to
  every gradient, even when their inputs are NaN or outside the loss's domain,
  because the inputs are replaced by safe values *before* the loss is computed
  (a mask applied only afterwards would multiply a NaN gradient by zero).
* A ``"mean"`` whose total weight is zero (everything masked, or all weights 0) is
  0, with zero gradient, never NaN. Weights are meant to be non-negative: mixed
  signs summing to zero give ``sum(w * l)``.
* Arithmetic runs in float32 at least (bfloat16/float16 inputs are upcast) and
  the result comes back in the dtype of the first (prediction) input.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from . import _checks


def compute_dtype(*xs: jax.Array) -> jnp.dtype:
    """float64 when any input is float64, float32 otherwise (never less)."""
    if any(x.dtype == jnp.float64 for x in xs):
        return jnp.dtype(jnp.float64)
    return jnp.dtype(jnp.float32)


def mask_of(fn: str, where: ArrayLike | None, shape: tuple[int, ...]) -> jax.Array | None:
    """Checks ``where`` and broadcasts it to the loss shape."""
    if where is None:
        return None
    where = jnp.asarray(where)
    if where.dtype != jnp.bool_:
        raise TypeError(
            f"{fn}: where must be a boolean array, got dtype {where.dtype}; "
            f"pass a comparison such as where=(mask > 0)"
        )
    _checks.broadcastable(fn, "where", where, shape, "the loss shape")
    return jnp.broadcast_to(where, shape)


def reduce(
    fn: str,
    losses: jax.Array,
    *,
    weights: ArrayLike | None,
    mask: jax.Array | None,
    reduction: str,
) -> jax.Array:
    """Applies ``weights``, a boolean ``mask`` (already broadcast) and ``reduction``."""
    reduction = _checks.reduction(fn, reduction)
    w = None
    if weights is not None:
        weights = _checks.data_array(fn, "weights", weights)
        _checks.broadcastable(fn, "weights", weights, losses.shape, "the loss shape")
        w = jnp.broadcast_to(weights.astype(losses.dtype), losses.shape)
        if mask is not None:
            # Double where: a NaN weight on an excluded entry must not leak.
            w = jnp.where(mask, w, 0)
        losses = losses * w
    if mask is not None:
        losses = jnp.where(mask, losses, 0)
    if reduction == "none":
        return losses
    total = jnp.sum(losses)
    if reduction == "sum":
        return total
    if w is not None:
        count = jnp.sum(w)
    elif mask is not None:
        count = jnp.sum(mask, dtype=losses.dtype)
    else:
        return total / losses.size if losses.size else total
    # A zero total weight (all entries masked) gives 0, with zero gradient.
    return total / jnp.where(count == 0, 1, count)


def exclude(
    x: jax.Array, mask: jax.Array | None, safe: float | int, axes: Sequence[int] = ()
) -> jax.Array:
    """``x`` with the entries under ``mask=False`` replaced by ``safe``, before any math.

    ``mask`` has the loss shape, i.e. ``x``'s shape without ``axes`` (the class or
    feature axes the loss reduces); it is broadcast along them. Use this on every
    input of a loss that is not elementwise (then :func:`reduce` the losses with the
    same mask): excluded entries then give exactly zero gradient even if they hold
    NaN, out-of-range labels or ``-inf``.
    """
    if mask is None:
        return x
    m = jnp.expand_dims(mask, tuple(axes)) if axes else mask
    return jnp.where(m, x, jnp.asarray(safe, x.dtype))


def apply(
    fn: str,
    core: Callable[..., Any],
    inputs: Sequence[jax.Array],
    hyper: tuple = (),
    *,
    safe: Sequence[float] | None = None,
    weights: ArrayLike | None,
    where: ArrayLike | None,
    reduction: str,
    axes: tuple[int, ...] = (),
) -> jax.Array:
    """Evaluates ``core(*inputs, *hyper)`` under the shared conventions.

    Args:
      fn: the public name, for error messages.
      core: the loss on same-shaped compute-dtype arrays (a custom_vjp function,
        or a plain one in ``jaxloss.reference``); hyperparameters follow the arrays.
      inputs: checked arrays of one common shape; the first sets the output dtype.
      hyper: static hyperparameters passed after the arrays.
      safe: a value per input that keeps the loss and its gradient finite; excluded
        (``where=False``) entries are replaced by it before ``core`` runs.
      axes: the input axes ``core`` reduces (empty for elementwise losses).
    """
    reduction = _checks.reduction(fn, reduction)
    out_dtype = inputs[0].dtype
    dtype = compute_dtype(*inputs)
    shape = inputs[0].shape
    loss_shape = tuple(d for i, d in enumerate(shape) if i not in axes)
    xs = [x.astype(dtype) for x in inputs]
    mask = mask_of(fn, where, loss_shape)
    if mask is not None:
        full = jnp.broadcast_to(jnp.expand_dims(mask, axes), shape)
        safe = (0.0,) * len(xs) if safe is None else safe
        xs = [jnp.where(full, x, jnp.asarray(s, dtype)) for x, s in zip(xs, safe, strict=True)]
    losses = core(*xs, *hyper)
    return reduce(fn, losses, weights=weights, mask=mask, reduction=reduction).astype(out_dtype)


def apply_pair(
    fn: str,
    core: Callable[..., Any],
    predictions: ArrayLike,
    targets: ArrayLike | None,
    hyper: tuple = (),
    *,
    weights: ArrayLike | None,
    where: ArrayLike | None,
    reduction: str,
    safe: Sequence[float] | None = None,
) -> jax.Array:
    """:func:`apply` for the common (predictions, targets) pair of one shape."""
    p, t = _checks.predictions_targets(fn, predictions, targets)
    return apply(
        fn, core, (p, t), hyper, safe=safe, weights=weights, where=where, reduction=reduction
    )


def apply_conventions(
    name: str,
    core: Callable[..., Any],
    inputs: Sequence[ArrayLike],
    hyper: Sequence[Any] = (),
    *,
    safe: Sequence[float] | None = None,
    axes: Sequence[int] = (),
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Runs a loss of your own under jaxloss's conventions.

    The machinery every jaxloss loss uses, for a custom loss: ``core(*inputs,
    *hyper)`` computes the unreduced losses from arrays of one shape (typically a
    ``jax.custom_vjp`` function); this adds the dtype policy (float32 arithmetic at
    least, result in the first input's dtype), ``where`` (excluded entries are
    replaced by ``safe`` values *before* ``core`` runs, so they add exactly zero
    to the value and every gradient even when they hold NaN), ``weights`` and
    ``reduction``, with jaxloss's error messages. A loss written this way can be
    verified by :func:`jaxloss.testing.check_loss` in one call.

    Args:
      name: the loss's name, for error messages.
      core: the unreduced loss of the input arrays followed by ``hyper``.
      inputs: arrays of one shape; the first (the predictions) must be floating.
      hyper: static hyperparameters passed to ``core`` after the arrays.
      safe: per input, a value at which ``core`` and its gradient are finite
        (default 0 for every input).
      axes: the input axes that ``core`` reduces (empty for an elementwise loss);
        ``weights`` and ``where`` then refer to the remaining axes.
      weights: optional weights broadcastable to the unreduced loss.
      where: optional boolean mask broadcastable to the unreduced loss.
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
      The losses (``"none"``) or a scalar, in the first input's dtype.

    Raises:
      TypeError: non-floating predictions or a non-boolean ``where``.
      ValueError: inputs of different shapes, or bad ``weights``/``where`` shapes or
        ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> quartic = lambda p, t: (p - t) ** 4
      >>> p, t = jnp.array([1.0, 2.0, jnp.nan]), jnp.zeros(3)
      >>> jaxloss.apply_conventions("quartic", quartic, (p, t), reduction="mean",
      ...                           where=jnp.array([True, True, False]))
      Array(8.5, dtype=float32)
    """
    arrays = [_checks.float_array(name, "predictions", inputs[0])]
    for i, x in enumerate(inputs[1:], 1):
        arrays.append(_checks.data_array(name, f"inputs[{i}]", x))
        _checks.same_shape(name, "predictions", arrays[0], f"inputs[{i}]", arrays[i])
    return apply(
        name, core, arrays, tuple(hyper), safe=safe, weights=weights, where=where,
        reduction=reduction, axes=_checks.axes(name, tuple(axes), arrays[0].ndim) if axes else (),
    )  # fmt: skip
