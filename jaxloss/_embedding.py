"""Embedding and metric-learning losses: cosine similarity and distance, PyTorch's
cosine-embedding, triplet, margin-ranking and hinge-embedding losses, the
contrastive loss of a pair distance, and the in-batch losses that mine their pairs
from integer labels (batch-hard and batch-all triplet, N-pair, circle).

Structure as elsewhere: a public wrapper checks the arguments, moves the feature
axis last, replaces the inputs of ``where=False`` entries by safe values *before*
any arithmetic, and hands a private ``jax.custom_vjp`` function arrays of the
compute dtype; :mod:`jaxloss._reduce` applies ``weights`` and ``reduction``. The
rules save the inputs and a few per-example numbers and recompute the rest. ``g``
is the cotangent of the unreduced losses.

The in-batch losses take ``embeddings [..., B, D]`` and ``labels [..., B]``: each
leading index is an independent batch ("group") mined on its own, and the losses
are per anchor, ``[..., B]``. ``where=False`` removes an example from its batch
entirely (it is neither an anchor nor anyone's positive or negative). They never
build ``[B, B, D]`` or ``[B, B, B]`` arrays: distances come from one ``[B, B]``
Gram matrix, and the backward rules turn a ``[B, B]`` matrix of distance
cotangents into embedding gradients with two matrix products.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax
from jax.typing import ArrayLike

from . import _checks, _reduce
from ._fusion import unshared

__all__ = [
    "batch_all_triplet",
    "batch_hard_triplet",
    "circle",
    "contrastive",
    "cosine_distance",
    "cosine_embedding",
    "cosine_similarity",
    "hinge_embedding",
    "margin_ranking",
    "npairs",
    "triplet_margin",
    "triplet_margin_with_distance",
]

METRICS = ("euclidean", "squared_euclidean", "cosine")

# --- shared argument handling


def _features_last(
    fn: str, names: Sequence[str], arrays: Sequence[ArrayLike], axis: object
) -> tuple[list[jax.Array], tuple[int, ...]]:
    """Float arrays of one shape with the feature ``axis`` (int or tuple) moved last and
    flattened into one axis; returns them and the loss shape."""
    xs = [_checks.float_array(fn, n, a) for n, a in zip(names, arrays, strict=True)]
    for n, x in zip(names[1:], xs[1:], strict=True):
        _checks.same_shape(fn, names[0], xs[0], n, x)
    x0 = xs[0]
    if x0.ndim == 0:
        raise ValueError(
            f"{fn}: {names[0]} must have a feature axis, got a scalar; "
            f"pass vectors of shape (..., num_features)"
        )
    if isinstance(axis, bool) or not (
        isinstance(axis, int) or (isinstance(axis, tuple | list) and axis)
    ):
        raise TypeError(f"{fn}: axis must be an int or a non-empty tuple of ints, got {axis!r}")
    axes = _checks.axes(fn, axis, x0.ndim)  # type: ignore[arg-type]
    rest = [i for i in range(x0.ndim) if i not in axes]
    loss_shape = tuple(x0.shape[i] for i in rest)
    k = math.prod(x0.shape[i] for i in axes)
    xs = [jnp.transpose(x, (*rest, *axes)).reshape((*loss_shape, k)) for x in xs]
    return xs, loss_shape


def _per_example(fn: str, arg: str, y: ArrayLike, shape: tuple[int, ...], of: str) -> jax.Array:
    y = _checks.data_array(fn, arg, y)
    if y.shape != shape:
        raise ValueError(
            f"{fn}: {arg} must have the loss shape {shape} ({of}), got {y.shape}; "
            f"pass one value per example"
        )
    return y


def _run(
    fn: str,
    core: Callable[..., jax.Array],
    rows: Sequence[jax.Array],
    extras: Sequence[jax.Array],
    hyper: tuple,
    *,
    safe_rows: Sequence[float],
    safe_extras: Sequence[float],
    loss_shape: tuple[int, ...],
    weights: ArrayLike | None,
    where: ArrayLike | None,
    reduction: str,
) -> jax.Array:
    """``core(*rows, *extras, *hyper)`` under the shared conventions: ``rows`` are
    ``[..., D]`` float arrays (features last), ``extras`` per-example arrays of the
    loss shape (float extras join the compute dtype, integer ones stay integers)."""
    reduction = _checks.reduction(fn, reduction)
    out_dtype = rows[0].dtype
    dtype = _reduce.compute_dtype(
        *rows, *(e for e in extras if jnp.issubdtype(e.dtype, jnp.floating))
    )
    mask = _reduce.mask_of(fn, where, loss_shape)
    xs = [_reduce.exclude(r.astype(dtype), mask, s, axes=(r.ndim - 1,))
          for r, s in zip(rows, safe_rows, strict=True)]  # fmt: skip
    es = []
    for e, s in zip(extras, safe_extras, strict=True):
        if jnp.issubdtype(e.dtype, jnp.floating):
            e = e.astype(dtype)
        es.append(_reduce.exclude(e, mask, s))
    losses = core(*xs, *es, *hyper)
    return _reduce.reduce(fn, losses, weights=weights, mask=mask, reduction=reduction).astype(
        out_dtype
    )


def _target_cotangent(t: jax.Array) -> jax.Array | None:
    """Zero cotangent for float targets the loss is piecewise constant in; None for integers."""
    return jnp.zeros_like(t) if jnp.issubdtype(t.dtype, jnp.floating) else None


def _active(z: jax.Array, zero: Any = 0) -> jax.Array:
    """[z > 0] as a float (the subgradient 0 at the hinge z = 0), as ``max(sign z, 0)``.

    No compare and select: on CPU, XLA fused ``(z > 0).astype(...)`` into a backward
    pass such that the forward's ``max(z, 0)`` lost its constant 0 to a materialised
    [N] buffer of zeros (margin_ranking: 2x the time of this form). Rules behind
    :func:`~jaxloss._fusion.unshared` pass their ``zero`` through the barrier too.
    """
    return jnp.maximum(jnp.sign(z), zero)


# --- cosine_similarity / cosine_distance


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _cosine(a, b, epsilon, distance):
    return _cosine_fwd(a, b, epsilon, distance)[0]


def _norm_range(dtype: Any) -> tuple[float, float]:
    """Squared norms in ``[lo, hi]`` are summed without overflow or lost precision, and
    their reciprocals stay normal numbers (``2^-100`` to ``2^100`` in float32)."""
    info = jnp.finfo(dtype)
    lo = float(info.tiny) * 2.0 ** (info.nmant + 3)
    return lo, 1 / lo


def _scaled_sums(a: jax.Array, b: jax.Array, lo: float | None = None, hi: float | None = None
                 ) -> tuple[jax.Array, ...]:  # fmt: skip
    """``(1/m_a, 1/m_b, |a'|², |b'|², a'·b')`` per example with ``a' = a/m_a``: ``m = 1``
    when every squared norm of the batch is in :func:`_norm_range` (one pass, the common
    case), else the largest ``|entry|`` of each vector (as ``jnp.linalg.norm`` scales),
    so that entries beyond ~1.8e19 or below ~1e-19 (float32) neither overflow nor flush
    to zero. The second pass runs only for a batch that needs it (``lax.cond``)."""
    na2, nb2, dot = jnp.sum(a * a, axis=-1), jnp.sum(b * b, axis=-1), jnp.sum(a * b, axis=-1)
    lo0, hi0 = _norm_range(a.dtype)
    lo, hi = lo0 if lo is None else lo, hi0 if hi is None else hi
    fine = (na2 >= lo) & (na2 <= hi) & (nb2 >= lo) & (nb2 <= hi)
    one = jnp.ones_like(na2)

    def scaled():
        # The results are exact for any fixed scale m (a cosine is scale-invariant), so m
        # is held constant: its own derivative, -1/m² per unit, overflows for tiny
        # vectors (m ~ 1e-30) and turned the tangents of a Hessian-vector product NaN.
        ia, ib = (1 / lax.stop_gradient(_max_abs(x)) for x in (a, b))
        sa, sb = a * ia[..., None], b * ib[..., None]
        return ia, ib, jnp.sum(sa * sa, axis=-1), jnp.sum(sb * sb, axis=-1), jnp.sum(sa * sb, -1)

    return lax.cond(jnp.all(fine), lambda: (one, one, na2, nb2, dot), scaled)


def _max_abs(x: jax.Array) -> jax.Array:
    """The largest |entry| per vector, 1 for a zero vector."""
    m = jnp.max(jnp.abs(x), axis=-1)
    return jnp.where(m > 0, m, 1)


def _cosine_parts(a, b, epsilon):
    """Per example, in the scaled units of :func:`_scaled_sums`: ``1/m_a``, ``1/m_b``,
    ``p_a = m_a/n_a`` and ``p_b`` (0 for a zero vector when ε = 0), whether each squared
    norm is above its floor ε, and the cosine ``(a'·b') p_a p_b``."""
    ia, ib, na2, nb2, dot = _scaled_sums(a, b)

    def p(n2, i):
        # ‖a‖² > ε is |a'|² > ε/m² (an overflow of ε/m² to inf reads as below, correctly).
        above = n2 > (epsilon * i) * i if epsilon > 0 else n2 > 0
        below = lax.rsqrt(jnp.asarray(epsilon, n2.dtype)) / i if epsilon > 0 else 0
        return jnp.where(above, lax.rsqrt(jnp.where(above, n2, 1)), below), above

    pa, above_a = p(na2, ia)
    pb, above_b = p(nb2, ib)
    return ia, ib, pa, pb, above_a, above_b, dot * (pa * pb)


def _cosine_fwd(a, b, epsilon, distance):
    ia, ib, pa, pb, above_a, above_b, c = _cosine_parts(a, b, epsilon)
    # ∂c/∂a = (b'/(|a'||b'|) - [‖a‖² > ε] c a'/|a'|²)/m_a in the scaled units a' = a/m_a:
    # two per-example coefficients per input, and 1/m_a, 1/m_b.
    s = pa * pb
    ta = jnp.where(above_a, c * pa * pa, 0)
    tb = jnp.where(above_b, c * pb * pb, 0)
    return (1 - c if distance else c), (a, b, ia, ib, s, ta, tb)


def _cosine_bwd(epsilon, distance, res, g):
    (a, b, ia, ib, s, ta, tb), _ = unshared(res)
    g = -g if distance else g
    gs, gta, gtb = (g * s)[..., None], (g * ta)[..., None], (g * tb)[..., None]

    def plain():
        return gs * b - gta * a, gs * a - gtb * b

    def scaled():  # the per-row factors 1/(m_a m_b) could underflow: scale each vector
        sa, sb = a * ia[..., None], b * ib[..., None]
        return ia[..., None] * (gs * sb - gta * sa), ib[..., None] * (gs * sa - gtb * sb)

    return lax.cond(jnp.all((ia == 1) & (ib == 1)), plain, scaled)


_cosine.defvjp(_cosine_fwd, _cosine_bwd)


def _cosine_call(fn, core, predictions, targets, *, epsilon, axis, weights, where, reduction,
                 distance):  # fmt: skip
    """Argument handling shared by the losses and their references."""
    epsilon = _checks.static_float(fn, "epsilon", epsilon, low=0.0)
    (a, b), shape = _features_last(fn, ("predictions", "targets"), (predictions, targets), axis)
    return _run(fn, core, (a, b), (), (epsilon, distance), safe_rows=(1.0, 1.0), safe_extras=(),
                loss_shape=shape, weights=weights, where=where, reduction=reduction)  # fmt: skip


def cosine_similarity(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    epsilon: float = 0.0,
    axis: int | tuple[int, ...] = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Cosine of the angle between predictions and targets along the feature ``axis``.

    optax's ``cosine_similarity`` (same arguments and ``epsilon``), Keras's
    ``CosineSimilarity`` without its sign flip, PyTorch's ``F.cosine_similarity``
    (see ``epsilon`` below). A similarity, not a loss: minimise ``cosine_distance``.
    .. math::

        c = \frac{\langle a, b\rangle}{n_a\, n_b}, \quad
        n_a = \sqrt{\max(\lVert a\rVert^2, \epsilon)}, \qquad
        \frac{\partial c}{\partial a} = \frac{b}{n_a n_b}
            - [\lVert a\rVert^2 > \epsilon]\,\frac{c\, a}{n_a^2}

    (and symmetrically for ``b``). ``epsilon`` floors the *squared* norms, as in
    optax; PyTorch's ``eps`` floors the norms, so PyTorch's ``eps`` is
    ``epsilon = eps**2`` here (same values). Below the floor the norm is a
    constant and the projection term vanishes (PyTorch clamps under ``no_grad``
    and keeps it). A zero vector with ``epsilon = 0`` (optax's default,
    where optax gives NaN) has cosine similarity **0** (cosine distance **1**), and
    the gradient with respect to the zero vector is taken as 0; the other input's
    gradient is then 0 as well. **Range:** a batch whose squared norms leave
    ``[2^-100, 2^100]`` (float32) is recomputed with each vector divided by its largest
    ``|entry|`` first, as ``jnp.linalg.norm`` does, so entries up to the dtype's max and
    down to its smallest normal give the right cosine and gradient.
    Args:
      predictions: vectors ``[..., D, ...]`` of any float dtype.
      targets: vectors of the same shape.
      epsilon: floor ``ε >= 0`` on each squared norm.
      axis: the feature axis, or a tuple of axes, reduced by the similarity.
      weights: optional weights broadcastable to the loss shape (the inputs' shape
        without ``axis``).
      where: optional boolean mask broadcastable to the loss shape. Unlike optax's
        ``where`` (a mask over the features), it excludes whole examples; to drop
        features as optax does, zero them in both inputs.
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
      The per-example similarities in ``[-1, 1]`` (``"none"``) or a scalar, in the
      dtype of ``predictions``.

    Raises:
      TypeError: non-float inputs or a bad ``axis`` type.
      ValueError: ``epsilon < 0``, mismatched shapes, a scalar input or an unknown
        ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.cosine_similarity(jnp.array([[1.0, 0.0], [0.0, 0.0]]),
      ...                           jnp.array([[1.0, 1.0], [1.0, 1.0]]))
      Array([0.70710677, 0.        ], dtype=float32)
    """
    return _cosine_call("cosine_similarity", _cosine, predictions, targets, epsilon=epsilon,
                        axis=axis, weights=weights, where=where, reduction=reduction,
                        distance=False)  # fmt: skip


def cosine_distance(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    epsilon: float = 0.0,
    axis: int | tuple[int, ...] = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Cosine distance ``1 - cosine_similarity`` along the feature ``axis``.

    optax's ``cosine_distance`` (same arguments), Keras's ``CosineSimilarity`` loss
    plus 1. Its gradient is minus that of ``cosine_similarity``:
    ``∂(1 - c)/∂a = -∂c/∂a``.
    .. math::

        c = \frac{\langle a, b\rangle}{n_a\, n_b}, \quad
        n_a = \sqrt{\max(\lVert a\rVert^2, \epsilon)}, \qquad
        \frac{\partial c}{\partial a} = \frac{b}{n_a n_b}
            - [\lVert a\rVert^2 > \epsilon]\,\frac{c\, a}{n_a^2}

    (and symmetrically for ``b``). ``epsilon`` floors the *squared* norms, as in
    optax; PyTorch's ``eps`` floors the norms, so PyTorch's ``eps`` is
    ``epsilon = eps**2`` here (same values). Below the floor the norm is a
    constant and the projection term vanishes (PyTorch clamps under ``no_grad``
    and keeps it). A zero vector with ``epsilon = 0`` (optax's default,
    where optax gives NaN) has cosine similarity **0** (cosine distance **1**), and
    the gradient with respect to the zero vector is taken as 0; the other input's
    gradient is then 0 as well.
    Args:
      predictions: vectors ``[..., D, ...]`` of any float dtype.
      targets: vectors of the same shape.
      epsilon: floor ``ε >= 0`` on each squared norm.
      axis: the feature axis, or a tuple of axes.
      weights: optional weights broadcastable to the loss shape.
      where: optional boolean mask broadcastable to the loss shape (whole examples).
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
      The per-example distances in ``[0, 2]`` (``"none"``) or a scalar, in the dtype
      of ``predictions``.

    Raises:
      TypeError: non-float inputs or a bad ``axis`` type.
      ValueError: ``epsilon < 0``, mismatched shapes, a scalar input or an unknown
        ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.cosine_distance(jnp.array([[1.0, 0.0], [0.0, 0.0]]),
      ...                         jnp.array([[-1.0, 0.0], [1.0, 1.0]]))
      Array([2., 1.], dtype=float32)
    """
    return _cosine_call("cosine_distance", _cosine, predictions, targets, epsilon=epsilon,
                        axis=axis, weights=weights, where=where, reduction=reduction,
                        distance=True)  # fmt: skip


# --- cosine_embedding

# PyTorch's EPSILON added to each squared magnitude: a float32 constant in ATen, also for
# float64 inputs (1e-12 rounded to float32).
_TORCH_EPS = 9.999999960041972e-13


@functools.partial(jax.custom_vjp, nondiff_argnums=(3,))
def _cosine_embedding(x1, x2, t, margin):
    return _cosine_embedding_fwd(x1, x2, t, margin)[0]


def _cosine_embedding_parts(x1, x2, t, margin):
    # In the scaled units of _scaled_sums (PyTorch's ε scaled with them); the product of
    # the squared norms stays below overflow: up to 2^100 in float32.
    ia, ib, n1, n2, dot = _scaled_sums(x1, x2, 0.0, math.sqrt(_norm_range(x1.dtype)[1]))
    m1 = n1 + (_TORCH_EPS * ia) * ia
    m2 = n2 + (_TORCH_EPS * ib) * ib
    r = lax.rsqrt(m1 * m2)
    c = dot * r
    pos, neg = t == 1, t == -1
    return ia, ib, m1, m2, r, c, pos, neg


def _cosine_embedding_fwd(x1, x2, t, margin):
    ia, ib, m1, m2, r, c, pos, neg = _cosine_embedding_parts(x1, x2, t, margin)
    loss = jnp.where(pos, 1 - c, 0) + jnp.where(neg, jnp.maximum(c - margin, 0), 0)
    # dℓ/dc: -1 for t = 1, [c > margin] for t = -1 (subgradient 0 at c = margin).
    slope = jnp.where(pos, -1.0, 0.0).astype(c.dtype) + jnp.where(neg, _active(c - margin), 0)
    res = (x1, x2, t, ia, ib, slope * r, slope * c / m1, slope * c / m2)
    return loss.astype(x1.dtype), res


def _cosine_embedding_bwd(margin, res, g):
    (x1, x2, t, ia, ib, sr, s1, s2), _ = unshared(res)
    gr, g1, g2 = (g * sr)[..., None], (g * s1)[..., None], (g * s2)[..., None]

    def plain():
        return gr * x2 - g1 * x1, gr * x1 - g2 * x2

    def scaled():  # as in _cosine_bwd
        u1, u2 = x1 * ia[..., None], x2 * ib[..., None]
        return ia[..., None] * (gr * u2 - g1 * u1), ib[..., None] * (gr * u1 - g2 * u2)

    d1, d2 = lax.cond(jnp.all((ia == 1) & (ib == 1)), plain, scaled)
    return d1, d2, _target_cotangent(t)


_cosine_embedding.defvjp(_cosine_embedding_fwd, _cosine_embedding_bwd)


def _cosine_embedding_call(core, input1, input2, target, *, margin, axis, weights, where,
                           reduction):  # fmt: skip
    """Argument handling shared by the loss and its reference."""
    fn = "cosine_embedding"
    margin = _checks.static_float(fn, "margin", margin, low=-1.0, high=1.0)
    (x1, x2), shape = _features_last(fn, ("input1", "input2"), (input1, input2), axis)
    t = _per_example(fn, "target", target, shape, "the inputs' shape without axis")
    return _run(fn, core, (x1, x2), (t,), (margin,), safe_rows=(1.0, 1.0), safe_extras=(1,),
                loss_shape=shape, weights=weights, where=where, reduction=reduction)  # fmt: skip


def cosine_embedding(
    input1: ArrayLike,
    input2: ArrayLike,
    target: ArrayLike,
    *,
    margin: float = 0.0,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""PyTorch's ``cosine_embedding_loss``: pull pairs labelled 1 together, push pairs
    labelled -1 below a cosine ``margin``.

    .. math::

        c = \frac{\langle x_1, x_2\rangle}{\sqrt{(\lVert x_1\rVert^2 + \epsilon)
            (\lVert x_2\rVert^2 + \epsilon)}}, \qquad
        \ell = \begin{cases} 1 - c & t = 1 \\ \max(0,\ c - m) & t = -1 \\
                             0 & \text{otherwise} \end{cases}

    .. math::

        \frac{\partial \ell}{\partial x_1} = s\Bigl(\frac{x_2}{\sqrt{(\lVert x_1\rVert^2
            + \epsilon)(\lVert x_2\rVert^2 + \epsilon)}}
            - \frac{c\, x_1}{\lVert x_1\rVert^2 + \epsilon}\Bigr), \qquad
        s = \frac{\partial \ell}{\partial c} = -[t = 1] + [t = -1]\,[c > m]

    (symmetrically for ``x_2``), with PyTorch's ``ε = 1e-12`` added to each squared
    norm, so zero vectors have ``c = 0`` and finite gradients. At the hinge
    ``c = m`` the rule takes the subgradient 0 (PyTorch's ``clamp_min`` passes the
    full gradient there). Targets other than ±1 give 0, as in PyTorch.

    Args:
      input1: vectors ``[..., D, ...]`` of any float dtype.
      input2: vectors of the same shape.
      target: ``1`` (similar) or ``-1`` (dissimilar) per example: the inputs' shape
        without ``axis``; any real dtype (no gradient flows to it).
      margin: the cosine margin ``m`` in ``[-1, 1]``.
      axis: the feature axis.
      weights: optional weights broadcastable to ``target.shape``.
      where: optional boolean mask broadcastable to ``target.shape``.
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
      The per-example losses (``"none"``) or a scalar, in the dtype of ``input1``.

    Raises:
      TypeError: non-float inputs.
      ValueError: ``margin`` outside ``[-1, 1]``, mismatched shapes or an unknown
        ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> x1 = jnp.array([[1.0, 0.0], [1.0, 0.0]])
      >>> x2 = jnp.array([[0.0, 1.0], [1.0, 1.0]])
      >>> jaxloss.cosine_embedding(x1, x2, jnp.array([1, -1]), margin=0.5)
      Array([1.        , 0.20710677], dtype=float32)
    """
    return _cosine_embedding_call(_cosine_embedding, input1, input2, target, margin=margin,
                                  axis=axis, weights=weights, where=where,
                                  reduction=reduction)  # fmt: skip


# --- triplet_margin


def _pnorm(u: jax.Array, p: float) -> jax.Array:
    """‖u‖_p over the last axis (scaled by max|u| for p ∉ {1, 2, ∞}: no overflow);
    ∞ where an entry is infinite."""
    a = jnp.abs(u)
    if p == 1:
        return jnp.sum(a, axis=-1)
    if p == 2:
        return jnp.sqrt(jnp.sum(u * u, axis=-1))
    top = jnp.max(a, axis=-1)
    if p == math.inf:
        return top
    # Unscaled where top is 0 or infinite (∞/∞ would make an infinite norm NaN).
    safe = jnp.where((top > 0) & (top < math.inf), top, 1)[..., None]
    return top * jnp.sum((a / safe) ** p, axis=-1) ** (1 / p)


def _pnorm_grad(u: jax.Array, n: jax.Array, p: float) -> jax.Array:
    """∂‖u‖_p/∂u given n = ‖u‖_p: 0 at u = 0 (the subgradient at the zero vector);
    for p = ∞ shared equally by the tied largest |u_i|."""
    if p == 1:
        return jnp.sign(u)
    inv = jnp.where(n > 0, 1 / jnp.where(n > 0, n, 1), 0)[..., None]
    if p == 2:
        return u * inv
    a = jnp.abs(u)
    if p == math.inf:
        # [|u_i| = n > 0] as 1 - sign(n - |u_i|) (n >= |u_i|) times sign(n): plain
        # arithmetic, which XLA recomputes inside the count's reduction and the final
        # product instead of materialising a [.., D] mask (12 MiB of temporaries at
        # 4096 x 256 with a compare and select, none now).
        nn = n[..., None]
        top = (1 - jnp.sign(nn - a)) * jnp.sign(nn)
        count = jnp.sum(top, axis=-1, keepdims=True)
        return jnp.sign(u) * top * (1 / jnp.maximum(count, 1))
    return jnp.sign(u) * (a * inv) ** (p - 1)


def _live(k: jax.Array, x: jax.Array, zero: Any = 0) -> jax.Array:
    """``k[..., None] * x``, exactly 0 on the rows where ``k == 0``: an inactive hinge
    leaves the row's direction ``x`` unused, and ``x`` is 0·∞ = NaN where that row's
    distance is infinite (a negative infinitely far away, whose loss is 0). A select on
    the product, not a sanitised input, so that its tangent (the Hessian-vector
    product through this rule) drops the NaN too."""
    kk = k[..., None]
    return jnp.where(kk != 0, kk * x, zero)


def _swap_share(dn, ds):
    """The share of min(dn, ds)'s gradient that goes to dn: 1, 0 or ½ at a tie."""
    return jnp.where(dn < ds, 1.0, jnp.where(dn == ds, 0.5, 0.0)).astype(dn.dtype)


@functools.partial(jax.custom_vjp, nondiff_argnums=(3, 4, 5, 6))
def _triplet(a, p, n, margin, degree, eps, swap):
    return _triplet_fwd(a, p, n, margin, degree, eps, swap)[0]


def _triplet_fwd(a, p, n, margin, degree, eps, swap):
    dp = _pnorm(a - p + eps, degree)
    dn = _pnorm(a - n + eps, degree)
    if swap:
        ds = _pnorm(p - n + eps, degree)
        z = margin + dp - jnp.minimum(dn, ds)
        return jnp.maximum(z, 0), (a, p, n, dp, dn, ds)
    z = margin + dp - dn
    return jnp.maximum(z, 0), (a, p, n, dp, dn)


def _triplet_bwd(margin, degree, eps, swap, res, g):
    (a, p, n, dp, dn, *ds), (margin, eps, zero) = unshared(res, margin, eps, 0)
    dneg = jnp.minimum(dn, ds[0]) if swap else dn
    k = g * _active(margin + dp - dneg, zero)
    gu = k[..., None] * _pnorm_grad(a - p + eps, dp, degree)
    if swap:
        wn = _swap_share(dn, ds[0])
        gv = _live(k * wn, _pnorm_grad(a - n + eps, dn, degree), zero)
        gw = _live(k * (1 - wn), _pnorm_grad(p - n + eps, ds[0], degree), zero)
        return gu - gv, -gu - gw, gv + gw
    gv = _live(k, _pnorm_grad(a - n + eps, dn, degree), zero)
    return gu - gv, -gu, gv


_triplet.defvjp(_triplet_fwd, _triplet_bwd)


def _triplet_call(core, anchors, positives, negatives, *, margin, norm_degree, eps, swap, axis,
                  weights, where, reduction):  # fmt: skip
    """Argument handling shared by the loss and its reference."""
    fn = "triplet_margin"
    margin = _checks.static_float(fn, "margin", margin)
    degree = _checks.static_float(fn, "norm_degree", norm_degree, low=1.0, allow_inf=True)
    eps = _checks.static_float(fn, "eps", eps, low=0.0)
    swap = _checks.static_bool(fn, "swap", swap)
    if isinstance(axis, tuple | list):
        raise TypeError(f"{fn}: axis must be an int, got {axis!r}")
    rows, shape = _features_last(fn, ("anchors", "positives", "negatives"),
                                 (anchors, positives, negatives), axis)  # fmt: skip
    return _run(fn, core, rows, (), (margin, degree, eps, swap), safe_rows=(0.0, 1.0, -1.0),
                safe_extras=(), loss_shape=shape, weights=weights, where=where,
                reduction=reduction)  # fmt: skip


def triplet_margin(
    anchors: ArrayLike,
    positives: ArrayLike,
    negatives: ArrayLike,
    *,
    margin: float = 1.0,
    norm_degree: float = 2.0,
    eps: float = 1e-6,
    swap: bool = False,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Triplet margin loss: the positive must be closer to the anchor than the
    negative, by ``margin``, in the p-norm.

    PyTorch's ``triplet_margin_loss`` (``p`` is ``norm_degree`` here, ``eps`` is
    added to the difference as PyTorch's ``pairwise_distance`` does, ``swap`` is
    the distance swap of Balntas et al.), optax's ``triplet_margin_loss`` with
    optax's argument names. Unlike optax, every ``norm_degree >= 1`` (including 1,
    3 and ``inf``) is the true p-norm of ``|a - p + ε|``: optax omits the absolute
    value, which is wrong for odd degrees, and adds ``eps`` inside the root.

    .. math::

        d(x, y) = \lVert x - y + \epsilon\rVert_p, \qquad
        \ell = \max\bigl(0,\ m + d(a, p) - d^-\bigr), \quad
        d^- = \begin{cases} \min(d(a, n), d(p, n)) & \text{swap} \\
                            d(a, n) & \text{otherwise} \end{cases}

    .. math::

        \frac{\partial \ell}{\partial a} = [\ell > 0]\bigl(\nabla_p(a - p + \epsilon)
            - \nabla_p(a - n + \epsilon)\bigr), \qquad
        \nabla_p(u)_i = \operatorname{sign}(u_i)\Bigl(\frac{|u_i|}{\lVert u\rVert_p}\Bigr)^{p-1}

    (without swap; ``∂ℓ/∂p = -[ℓ>0]∇_p(a - p + ε)``, ``∂ℓ/∂n = [ℓ>0]∇_p(a - n + ε)``;
    with swap the ``min`` routes the negative term to ``d(p, n)`` when that is
    smaller, half to each at a tie). Conventions: at the hinge ``ℓ = 0`` the
    subgradient 0 (PyTorch passes the full gradient there); at a zero difference
    (anchor equal to positive with ``eps = 0``) the norm's subgradient 0, so the
    gradients stay finite; ``∇_1 = sign(u)``; ``∇_∞`` is ``sign(u_i)`` on the
    largest ``|u_i|``, shared equally among ties.

    Args:
      anchors: embeddings ``[..., D, ...]`` of any float dtype.
      positives: embeddings of the same shape.
      negatives: embeddings of the same shape.
      margin: the margin ``m`` (any finite number).
      norm_degree: ``p >= 1`` of the distance, or ``math.inf``.
      eps: ``ε >= 0`` added to every difference (PyTorch's default ``1e-6``).
      swap: use ``min(d(a, n), d(p, n))`` as the negative distance.
      axis: the feature axis.
      weights: optional weights broadcastable to the loss shape (the inputs' shape
        without ``axis``).
      where: optional boolean mask broadcastable to the loss shape.
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
      The per-triplet losses (``"none"``) or a scalar, in the dtype of ``anchors``.

    Raises:
      TypeError: non-float inputs, non-bool ``swap`` or a tuple ``axis``.
      ValueError: ``norm_degree < 1``, ``eps < 0``, mismatched shapes or an unknown
        ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> a = jnp.array([[0.0, 0.0], [1.0, 1.0]])
      >>> p = jnp.array([[0.0, 1.0], [1.0, 1.0]])
      >>> n = jnp.array([[3.0, 0.0], [1.0, 1.5]])
      >>> jaxloss.triplet_margin(a, p, n, eps=0.0)
      Array([0. , 0.5], dtype=float32)

    References:
      Balntas et al., "Learning local feature descriptors with triplets and shallow
      convolutional neural networks", BMVC 2016.
    """
    return _triplet_call(_triplet, anchors, positives, negatives, margin=margin,
                         norm_degree=norm_degree, eps=eps, swap=swap, axis=axis, weights=weights,
                         where=where, reduction=reduction)  # fmt: skip


# --- triplet_margin_with_distance


def pairwise_distance(x1: jax.Array, x2: jax.Array) -> jax.Array:
    """PyTorch's ``F.pairwise_distance`` defaults: ``‖x1 - x2 + 1e-6‖_2`` over the last axis."""
    u = x1 - x2 + 1e-6
    return jnp.sqrt(jnp.sum(u * u, axis=-1))


@functools.partial(jax.custom_vjp, nondiff_argnums=(3, 4, 5))
def _triplet_distance(a, p, n, distance, margin, swap):
    return _triplet_distance_fwd(a, p, n, distance, margin, swap)[0]


def _distances(distance, a, p, n, swap):
    dtype = a.dtype
    dp, dn = distance(a, p).astype(dtype), distance(a, n).astype(dtype)
    return dp, dn, (distance(p, n).astype(dtype) if swap else None)


def _all_distances(distance, swap, a, p, n):
    dtype = a.dtype
    out = (distance(a, p).astype(dtype), distance(a, n).astype(dtype))
    return (*out, distance(p, n).astype(dtype)) if swap else out


def _triplet_distance_fwd(a, p, n, distance, margin, swap):
    # The distance's own gradient rule, by jax.vjp of the callable: its residuals are
    # saved (recomputing the distances in the backward was 2-3x slower).
    ds, vjp = jax.vjp(functools.partial(_all_distances, distance, swap), a, p, n)
    dneg = jnp.minimum(ds[1], ds[2]) if swap else ds[1]
    loss = jnp.maximum(margin + ds[0] - dneg, 0)
    return loss, (ds, vjp)


def _triplet_distance_bwd(distance, margin, swap, res, g):
    ds, vjp = res
    dp, dn = ds[0], ds[1]
    dneg = jnp.minimum(dn, ds[2]) if swap else dn
    k = g * _active(margin + dp - dneg)
    if swap:
        wn = _swap_share(dn, ds[2])
        grads = vjp((k, -k * wn, -k * (1 - wn)))
    else:
        grads = vjp((k, -k))
    # A zero cotangent through an infinite distance is 0·∞ = NaN in the distance's own
    # rule (a negative infinitely far away, whose loss is 0): rows with an inactive
    # hinge get exactly 0, selected after the rule so that its tangent (the
    # Hessian-vector product) drops the NaN too. Without swap the positives' gradient
    # needs none: it only sees δ(a, p), infinite only where the loss is inf or NaN.
    live = (k != 0)[..., None]
    ga, gp, gn = (jnp.where(live, x, 0) if swap or i != 1 else x for i, x in enumerate(grads))
    return ga, gp, gn


_triplet_distance.defvjp(_triplet_distance_fwd, _triplet_distance_bwd)


def _triplet_distance_call(core, anchors, positives, negatives, *, distance, margin, swap,
                           weights, where, reduction):  # fmt: skip
    """Argument handling shared by the loss and its reference."""
    fn = "triplet_margin_with_distance"
    margin = _checks.static_float(fn, "margin", margin)
    swap = _checks.static_bool(fn, "swap", swap)
    if distance is None:
        distance = pairwise_distance
    if not callable(distance):
        raise TypeError(
            f"{fn}: distance must be a callable (x1, x2) -> distances, got {distance!r}"
        )
    names = ("anchors", "positives", "negatives")
    rows, shape = _features_last(fn, names, (anchors, positives, negatives), -1)
    dtype = _reduce.compute_dtype(*rows)
    probe = jax.ShapeDtypeStruct(rows[0].shape, dtype)
    out = jax.eval_shape(distance, probe, probe)
    if not hasattr(out, "shape") or out.shape != shape:
        raise ValueError(
            f"{fn}: distance must map two arrays of shape {rows[0].shape} to one distance per "
            f"example, shape {shape}, got {getattr(out, 'shape', out)}; reduce the last axis "
            f"(e.g. jnp.linalg.norm(x1 - x2, axis=-1))"
        )
    return _run(fn, core, rows, (), (distance, margin, swap), safe_rows=(1.0, 2.0, -1.0),
                safe_extras=(), loss_shape=shape, weights=weights, where=where,
                reduction=reduction)  # fmt: skip


def triplet_margin_with_distance(
    anchors: ArrayLike,
    positives: ArrayLike,
    negatives: ArrayLike,
    *,
    distance: Callable[[jax.Array, jax.Array], jax.Array] | None = None,
    margin: float = 1.0,
    swap: bool = False,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Triplet margin loss with any distance, PyTorch's ``triplet_margin_with_distance_loss``.

    ``distance(x1, x2)`` maps two ``[..., D]`` arrays to ``[...]`` distances (the
    last axis is the feature axis); the default is PyTorch's ``pairwise_distance``,
    ``‖x1 - x2 + 1e-6‖_2``. It is called on arrays of the compute dtype (float32 at
    least) and must be differentiable by ``jax.vjp``; a jitted or ``functools.partial``
    function is best (the callable is a static argument: a fresh lambda per call
    retraces under ``jit``).

    .. math::

        \ell = \max\bigl(0,\ m + \delta(a, p) - \delta^-\bigr), \quad
        \delta^- = \min(\delta(a, n), \delta(p, n)) \text{ with swap, else } \delta(a, n)

    .. math::

        \frac{\partial \ell}{\partial a} = [\ell > 0]\bigl(\partial_1\delta(a, p)
            - \partial_1\delta(a, n)\bigr), \quad
        \frac{\partial \ell}{\partial p} = -[\ell > 0]\,\partial_2\delta(a, p), \quad
        \frac{\partial \ell}{\partial n} = [\ell > 0]\,\partial_2\delta(a, n)

    (with swap the negative term goes to ``δ(p, n)`` where that is smaller, half to
    each at a tie). The rule applies ``jax.vjp`` of ``distance``; at the hinge
    ``ℓ = 0`` it takes the subgradient 0.

    Args:
      anchors: embeddings ``[..., D]`` of any float dtype.
      positives: embeddings of the same shape.
      negatives: embeddings of the same shape.
      distance: callable ``(x1, x2) -> [...]`` distances, or ``None`` for PyTorch's
        ``pairwise_distance``.
      margin: the margin ``m``.
      swap: use ``min(δ(a, n), δ(p, n))`` as the negative distance.
      weights: optional weights broadcastable to ``anchors.shape[:-1]``.
      where: optional boolean mask broadcastable to ``anchors.shape[:-1]``.
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
      The per-triplet losses (``"none"``) or a scalar, in the dtype of ``anchors``.

    Raises:
      TypeError: non-float inputs, a non-callable ``distance``, non-bool ``swap``.
      ValueError: mismatched shapes, a ``distance`` whose output is not one number
        per example, or an unknown ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> l1 = lambda x, y: jnp.sum(jnp.abs(x - y), axis=-1)
      >>> a, p, n = jnp.array([[0.0, 0.0]]), jnp.array([[1.0, 1.0]]), jnp.array([[0.0, 2.5]])
      >>> jaxloss.triplet_margin_with_distance(a, p, n, distance=l1)
      Array([0.5], dtype=float32)
    """
    return _triplet_distance_call(_triplet_distance, anchors, positives, negatives,
                                  distance=distance, margin=margin, swap=swap, weights=weights,
                                  where=where, reduction=reduction)  # fmt: skip


# --- contrastive, margin_ranking, hinge_embedding (elementwise)


def _elementwise_call(fn, core, names, arrays, hyper, *, safe, weights, where, reduction):
    """Same-shape inputs: the first float (differentiated), the others any real dtype."""
    first = _checks.float_array(fn, names[0], arrays[0])
    rest = []
    for n, a in zip(names[1:], arrays[1:], strict=True):
        x = _checks.data_array(fn, n, a)
        _checks.same_shape(fn, names[0], first, n, x)
        rest.append(x)
    reduction = _checks.reduction(fn, reduction)
    floats = [first, *(x for x in rest if jnp.issubdtype(x.dtype, jnp.floating))]
    dtype = _reduce.compute_dtype(*floats)
    mask = _reduce.mask_of(fn, where, first.shape)
    xs = [_reduce.exclude(x.astype(dtype) if jnp.issubdtype(x.dtype, jnp.floating) else x, mask, s)
          for x, s in zip((first, *rest), safe, strict=True)]  # fmt: skip
    losses = core(*xs, *hyper)
    return _reduce.reduce(fn, losses, weights=weights, mask=mask, reduction=reduction).astype(
        first.dtype
    )


def _as(x: jax.Array, dtype) -> jax.Array:
    return x if x.dtype == dtype else x.astype(dtype)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _contrastive(d, y, margin):
    return _contrastive_fwd(d, y, margin)[0]


def _contrastive_fwd(d, y, margin):
    yf = _as(y, d.dtype)
    h = jnp.maximum(margin - d, 0)
    return yf * (d * d) + (1 - yf) * (h * h), (d, y)


def _contrastive_bwd(margin, res, g):
    # No optimization barrier here: with it the backward's pass over [N] ran 1.07-1.24x
    # the reference's; without, XLA fuses both passes as it does autodiff's (0.97-1.02x).
    d, y = res
    yf = _as(y, d.dtype)
    h = jnp.maximum(margin - d, 0)
    gd = 2 * g * (yf * d - (1 - yf) * h)
    gy = g * (d * d - h * h) if jnp.issubdtype(y.dtype, jnp.floating) else None
    return gd, gy


_contrastive.defvjp(_contrastive_fwd, _contrastive_bwd)


def _contrastive_call(core, distances, labels, *, margin, weights, where, reduction):
    """Argument handling shared by the loss and its reference."""
    fn = "contrastive"
    margin = _checks.static_float(fn, "margin", margin)
    return _elementwise_call(fn, core, ("distances", "labels"), (distances, labels), (margin,),
                             safe=(0.0, 1), weights=weights, where=where,
                             reduction=reduction)  # fmt: skip


def contrastive(
    distances: ArrayLike,
    labels: ArrayLike,
    *,
    margin: float = 1.0,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Contrastive loss of a pair distance (Hadsell, Chopra and LeCun 2006).

    Similar pairs (``labels = 1``) are pulled together, dissimilar pairs
    (``labels = 0``) pushed at least ``margin`` apart. TensorFlow Addons'
    ``contrastive_loss`` (same label convention, no ½); Hadsell et al. write
    ``Y = 0`` for similar pairs and halve both terms: their loss is
    ``contrastive(d, 1 - Y) / 2``. Fractional labels interpolate the two terms.

    .. math::

        \ell = y\, d^2 + (1 - y)\max(0,\ m - d)^2

    .. math::

        \frac{\partial \ell}{\partial d} = 2\,y\, d - 2\,(1 - y)\max(0,\ m - d), \qquad
        \frac{\partial \ell}{\partial y} = d^2 - \max(0,\ m - d)^2

    The loss is continuously differentiable (no kink to choose a convention for).

    Args:
      distances: pair distances ``d`` of any float dtype and shape (typically
        ``‖f(x1) - f(x2)‖``, see ``triplet_margin``'s ``pairwise`` or
        ``cosine_distance``).
      labels: ``1`` for similar pairs, ``0`` for dissimilar, same shape; any real
        dtype (float labels get a gradient).
      margin: the margin ``m`` for dissimilar pairs.
      weights: optional weights broadcastable to ``distances.shape``.
      where: optional boolean mask broadcastable to ``distances.shape``.
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
      The per-pair losses (``"none"``) or a scalar, in the dtype of ``distances``.

    Raises:
      TypeError: non-float ``distances``.
      ValueError: mismatched shapes or an unknown ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.contrastive(jnp.array([0.5, 0.25, 2.0]), jnp.array([1, 0, 0]))
      Array([0.25  , 0.5625, 0.    ], dtype=float32)

    References:
      Hadsell, Chopra and LeCun, "Dimensionality Reduction by Learning an Invariant
      Mapping", CVPR 2006.
    """
    return _contrastive_call(_contrastive, distances, labels, margin=margin, weights=weights,
                             where=where, reduction=reduction)  # fmt: skip


@functools.partial(jax.custom_vjp, nondiff_argnums=(3,))
def _margin_ranking(x1, x2, y, margin):
    return _margin_ranking_fwd(x1, x2, y, margin)[0]


def _margin_ranking_fwd(x1, x2, y, margin):
    return jnp.maximum(margin - _as(y, x1.dtype) * (x1 - x2), 0), (x1, x2, y)


def _margin_ranking_bwd(margin, res, g):
    (x1, x2, y), (margin, zero) = unshared(res, margin, 0)
    yf = _as(y, x1.dtype)
    d = x1 - x2
    k = g * _active(margin - yf * d, zero)
    # Off the hinge (k = 0) an infinite difference would make 0 · inf = NaN: select.
    gy = jnp.where(k != 0, -k * d, 0) if jnp.issubdtype(y.dtype, jnp.floating) else None
    g2 = k * yf
    return -g2, g2, gy


_margin_ranking.defvjp(_margin_ranking_fwd, _margin_ranking_bwd)


def _margin_ranking_call(core, input1, input2, target, *, margin, weights, where, reduction):
    """Argument handling shared by the loss and its reference."""
    fn = "margin_ranking"
    margin = _checks.static_float(fn, "margin", margin)
    x2 = _checks.float_array(fn, "input2", input2)
    return _elementwise_call(fn, core, ("input1", "input2", "target"), (input1, x2, target),
                             (margin,), safe=(0.0, 0.0, 1), weights=weights, where=where,
                             reduction=reduction)  # fmt: skip


def margin_ranking(
    input1: ArrayLike,
    input2: ArrayLike,
    target: ArrayLike,
    *,
    margin: float = 0.0,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""PyTorch's ``margin_ranking_loss``: ``input1`` should rank above ``input2`` by
    ``margin`` where ``target = 1``, below where ``target = -1``.

    .. math::

        \ell = \max\bigl(0,\ m - y\,(x_1 - x_2)\bigr), \qquad
        \frac{\partial \ell}{\partial x_1} = -[\ell > 0]\, y
            = -\frac{\partial \ell}{\partial x_2}, \quad
        \frac{\partial \ell}{\partial y} = -[\ell > 0]\,(x_1 - x_2)

    At the hinge ``m = y (x_1 - x_2)`` the rule takes the subgradient 0 (PyTorch's
    ``clamp_min`` passes the full gradient there). Where the loss is 0 every gradient
    is exactly 0, also when ``x_1 - x_2`` is infinite (no ``0 · inf``).

    Args:
      input1: scores of any float dtype and shape.
      input2: scores of the same shape.
      target: ``1`` or ``-1`` (any real value scales the difference, as in PyTorch),
        same shape; float targets get a gradient.
      margin: the margin ``m``.
      weights: optional weights broadcastable to the inputs' shape.
      where: optional boolean mask broadcastable to the inputs' shape.
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
      The per-pair losses (``"none"``) or a scalar, in the dtype of ``input1``.

    Raises:
      TypeError: non-float ``input1`` or ``input2``.
      ValueError: mismatched shapes or an unknown ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.margin_ranking(jnp.array([1.0, 1.0]), jnp.array([0.5, 0.5]),
      ...                        jnp.array([1, -1]), margin=1.0)
      Array([0.5, 1.5], dtype=float32)
    """
    return _margin_ranking_call(_margin_ranking, input1, input2, target, margin=margin,
                                weights=weights, where=where, reduction=reduction)  # fmt: skip


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _hinge_embedding(x, y, margin):
    return _hinge_embedding_fwd(x, y, margin)[0]


def _hinge_embedding_fwd(x, y, margin):
    # A target other than ±1 (only possible traced: known targets are checked) is NaN.
    hinge = jnp.where(y == -1, jnp.maximum(margin - x, 0), jnp.nan)
    return jnp.where(y == 1, x, hinge), (x, y)


def _hinge_embedding_bwd(margin, res, g):
    (x, y), (margin, zero) = unshared(res, margin, 0)
    slope = jnp.where(y == 1, 1.0, 0.0).astype(x.dtype) - jnp.where(
        y == -1, _active(margin - x, zero), 0
    )
    return g * slope, _target_cotangent(y)


_hinge_embedding.defvjp(_hinge_embedding_fwd, _hinge_embedding_bwd)


def _hinge_embedding_call(core, inputs, target, *, margin, weights, where, reduction):
    """Argument handling shared by the loss and its reference."""
    fn = "hinge_embedding"
    margin = _checks.static_float(fn, "margin", margin)
    _checks.concrete_values_in(fn, "target", target, (1, -1), where)
    return _elementwise_call(fn, core, ("inputs", "target"), (inputs, target), (margin,),
                             safe=(0.0, 1), weights=weights, where=where,
                             reduction=reduction)  # fmt: skip


def hinge_embedding(
    inputs: ArrayLike,
    target: ArrayLike,
    *,
    margin: float = 1.0,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""PyTorch's ``hinge_embedding_loss``: ``inputs`` (typically a distance) is kept
    small where ``target = 1`` and pushed above ``margin`` where ``target = -1``.

    .. math::

        \ell = [y \ne -1]\, x + [y \ne 1]\max(0,\ m - x), \qquad
        \frac{\partial \ell}{\partial x} = [y \ne -1] - [y \ne 1]\,[m - x > 0]

    At the hinge ``x = m`` the rule takes the subgradient 0 for the hinge term
    (PyTorch's ``clamp_min`` passes the full gradient there). No gradient flows to
    ``target``.

    **Targets other than ±1** (PyTorch silently adds both terms): a target known at
    trace time (a NumPy or concrete JAX array, or a list) holding any other value is a
    ``ValueError``; under ``jit`` the target is traced and cannot be checked, so such
    an entry's loss is NaN, with gradient 0, as for out-of-range integer labels.

    Args:
      inputs: values of any float dtype and shape.
      target: ``1`` or ``-1``, same shape, any real dtype.
      margin: the margin ``m``.
      weights: optional weights broadcastable to ``inputs.shape``.
      where: optional boolean mask broadcastable to ``inputs.shape``.
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
      The per-element losses (``"none"``) or a scalar, in the dtype of ``inputs``.

    Raises:
      TypeError: non-float ``inputs``.
      ValueError: mismatched shapes, a known target other than ±1 or an unknown
        ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.hinge_embedding(jnp.array([0.3, 0.3, 2.0]), jnp.array([1, -1, -1]))
      Array([0.3, 0.7, 0. ], dtype=float32)
    """
    return _hinge_embedding_call(_hinge_embedding, inputs, target, margin=margin,
                                 weights=weights, where=where, reduction=reduction)  # fmt: skip


# --- in-batch losses: shared pieces

_HIGHEST = lax.Precision.HIGHEST


def _per_problem(core: Callable[..., Any], *arrays: jax.Array) -> Any:
    """``core`` on each in-batch problem along the leading axis of ``arrays``.

    One problem (the usual [batch, features] call) runs unbatched: ``jax.vmap`` over a
    size-1 axis made XLA:CPU's fusions over the [B, B] similarities about 3× slower
    (npairs' forward at B = 4096: 292 ms vmapped, 88 ms not).
    """
    if arrays[0].shape[0] == 1:
        return jax.tree.map(lambda o: o[None], core(*(a[0] for a in arrays)))
    return jax.vmap(core)(*arrays)


def _no_examples(b: Any) -> bool:
    """An empty batch (``B = 0``, static): no anchors, so no losses and no mining at all;
    the callers return an empty ``"none"`` and a 0 ``"sum"``/``"mean"``."""
    return isinstance(b, int) and b == 0


def _finite_or_zero(x: jax.Array) -> jax.Array:
    """``x``, with its non-finite entries (the max of an empty masked row) set to 0."""
    return jnp.where(jnp.isfinite(x), x, 0)


def _mm(x: jax.Array, y: jax.Array) -> jax.Array:
    """x @ y.T in full precision (no TF32/bf16 passes on accelerators)."""
    return jnp.matmul(x, y.T, precision=_HIGHEST)


def _masks(y: jax.Array, valid: jax.Array) -> tuple[jax.Array, jax.Array]:
    """[B, B] positives (same label, other example) and negatives (other label)."""
    return _row_masks(y, valid, y, valid, jnp.arange(y.shape[0], dtype=jnp.int32))


def _row_masks(
    y: jax.Array, valid: jax.Array, yr: jax.Array, vr: jax.Array, ir: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """:func:`_masks`' rows ``ir`` (labels ``yr``, validity ``vr``): [R, B]."""
    both = vr[:, None] & valid[None, :]
    same = yr[:, None] == y[None, :]
    other = ir[:, None] != lax.broadcasted_iota(jnp.int32, (1, y.shape[0]), 1)
    return same & other & both, ~same & both


# Rows per block of :func:`_by_row_blocks`: a [rows, B] float32 block of 4 MiB.
_BLOCK_ELEMENTS = 1 << 20


def _by_row_blocks(f: Callable[..., Any], y: jax.Array, valid: jax.Array, *rows: jax.Array) -> Any:
    """``f(yr, vr, ir, *rows_r)`` over blocks of the batch's rows, outputs stacked back.

    ``rows`` are [B, ...] arrays cut into blocks of ``r`` rows with their labels
    ``yr``, validity ``vr`` and indices ``ir``; ``f`` returns arrays with leading axis
    ``r``. The last block is padded with rows marked invalid, whose outputs are
    dropped. A loss whose every anchor reads one [B] row of pair terms then never
    holds more than one [r, B] block of each intermediate: on CPU each fresh [B, B]
    float32 buffer costs about 25 ms at B = 4096, while the blocks' buffers are
    reused from one row block to the next.
    """
    b = y.shape[0]
    ir = jnp.arange(b, dtype=jnp.int32)
    if not isinstance(b, int):  # symbolic (shape-polymorphic export): one block
        return f(y, valid, ir, *rows)
    r = max(8, min(b, _BLOCK_ELEMENTS // b))
    if r >= b:
        return f(y, valid, ir, *rows)
    nb = -(-b // r)
    pad = nb * r - b

    def cut(a: jax.Array) -> jax.Array:
        a = jnp.pad(a, [(0, pad)] + [(0, 0)] * (a.ndim - 1))
        return a.reshape(nb, r, *a.shape[1:])

    out = lax.map(lambda a: f(*a), tuple(cut(a) for a in (y, valid, ir, *rows)))
    return jax.tree.map(lambda o: o.reshape(nb * r, *o.shape[2:])[:b], out)


def _inv_norms(e: jax.Array) -> jax.Array:
    """1/‖e‖ per row, 0 for a zero vector."""
    n2 = jnp.sum(e * e, axis=-1)
    return jnp.where(n2 > 0, lax.rsqrt(jnp.where(n2 > 0, n2, 1)), 0)


def _safe_sqrt(x: jax.Array) -> jax.Array:
    """sqrt(x) for x >= 0 whose derivatives at 0 are 0, not inf (double where): the
    rules differentiate through it for second-order derivatives."""
    pos = x > 0
    return jnp.where(pos, jnp.sqrt(jnp.where(pos, x, 1)), 0)


def _distance_matrix(e: jax.Array, metric: str) -> jax.Array:
    """[B, B] distances from the Gram matrix; squared distances are clamped at 0.

    An embedding whose squared norm exceeds a quarter of the dtype's largest value (or
    is infinite) would make ‖x‖² + ‖y‖² - 2x·y an ∞ - ∞ = NaN: its pairs are put at
    infinite distance, what the squared difference gives (overflowing) except between
    two such huge, nearby embeddings. Below that bound the Gram form cannot overflow.
    """
    if metric == "cosine":
        n = e * _inv_norms(e)[:, None]
        return 1 - _mm(n, n)
    sq = jnp.sum(e * e, axis=-1)
    far = sq > jnp.finfo(e.dtype).max / 4  # False for a NaN embedding: its pairs stay NaN
    d2 = jnp.maximum((sq[:, None] + sq[None, :]) - 2 * _mm(e, e), 0)
    d2 = jnp.where(far[:, None] | far[None, :], jnp.inf, d2)
    return d2 if metric == "squared_euclidean" else _safe_sqrt(d2)


def _row_distance(x: jax.Array, y: jax.Array, metric: str) -> jax.Array:
    """Distances between matching rows, from the differences (exact, no Gram matrix)."""
    if metric == "cosine":
        return 1 - jnp.sum(x * y, axis=-1) * (_inv_norms(x) * _inv_norms(y))
    u = x - y
    d2 = jnp.sum(u * u, axis=-1)
    return d2 if metric == "squared_euclidean" else _safe_sqrt(d2)


def _row_distance_grad(x, y, d, metric):
    """(∂d/∂x, ∂d/∂y) of :func:`_row_distance`; the subgradient 0 at a zero difference
    (Euclidean) or a zero vector (cosine)."""
    if metric == "cosine":
        rx, ry = _inv_norms(x)[:, None], _inv_norms(y)[:, None]
        c = (1 - d)[:, None]
        return -(y * (rx * ry) - c * x * (rx * rx)), -(x * (rx * ry) - c * y * (ry * ry))
    u = x - y
    if metric == "squared_euclidean":
        return 2 * u, -2 * u
    gu = u * jnp.where(d > 0, 1 / jnp.where(d > 0, d, 1), 0)[:, None]
    return gu, -gu


def _pair_matrix_grad(e: jax.Array, w: jax.Array, metric: str) -> jax.Array:
    """∂/∂e of Σ_aj W_aj D_aj for the [B, B] distance matrix D, given W scaled for the
    metric (see :func:`_grad_scale`): two matrix products, no [B, B, D] array."""
    if metric == "cosine":
        r = _inv_norms(e)[:, None]
        n = e * r
        v = -_symmetric_product(w, n)
        return r * (v - jnp.sum(v * n, axis=-1, keepdims=True) * n)
    rows = jnp.sum(w, axis=1, keepdims=True) + jnp.sum(w, axis=0)[:, None]
    return rows * e - _symmetric_product(w, e)


def _symmetric_product(w: jax.Array, x: jax.Array, scale: jax.Array | None = None) -> jax.Array:
    """``(w + wᵀ) x`` as two products: materialising the transpose of a [B, B] matrix
    cost three times both products together on CPU (circle at B = 4096).

    With ``scale`` ([B, 1], e.g. the cotangent), ``(s w + (s w)ᵀ) x``, scaling the
    cheaper side: the [B, B] ``w`` when B <= D, else the [B, D] side as
    ``s (w x) + wᵀ (s x)``, with no scaled copy of ``w`` (circle at 1024 groups of 8 x
    256: 1.01-1.02x the reference scaling ``w``, 1.06-1.08x scaling ``x``).
    """
    wide = isinstance(x.shape[0], int) and x.shape[0] > x.shape[1]  # symbolic B: scale w
    if scale is not None and wide:
        return scale * jnp.matmul(w, x, precision=_HIGHEST) + jnp.matmul(
            w.T, scale * x, precision=_HIGHEST
        )
    if scale is not None:
        w = scale * w
    return jnp.matmul(w, x, precision=_HIGHEST) + jnp.matmul(w.T, x, precision=_HIGHEST)


def _grad_scale(c: jax.Array, d: jax.Array, metric: str) -> jax.Array:
    """∂S/∂D turned into the weights of (e_a - e_j) in the embedding gradient."""
    if metric == "squared_euclidean":
        return 2 * c
    if metric == "euclidean":  # ∂‖u‖/∂u = u/‖u‖, the subgradient 0 at u = 0
        return jnp.where(d > 0, c / jnp.where(d > 0, d, 1), 0)
    return c


def _mining_call(fn, core, embeddings, labels, hyper, *, weights, where, reduction,
                 counted=False):  # fmt: skip
    """In-batch losses: ``embeddings [..., B, D]``, integer ``labels [..., B]``; each
    leading index is a separate batch. ``core(e [B, D], y [B], valid [B], *hyper)``
    gives per-anchor losses (and, if ``counted``, per-anchor triplet counts, the
    normaliser of ``"mean"``)."""
    reduction = _checks.reduction(fn, reduction)
    e = _checks.float_array(fn, "embeddings", embeddings)
    if e.ndim < 2:
        raise ValueError(
            f"{fn}: embeddings must have shape (..., batch, features), got {e.shape}; "
            f"pass at least a 2-D array"
        )
    y = _checks.int_array(fn, "labels", labels)
    shape = e.shape[:-1]
    if y.shape != shape:
        raise ValueError(
            f"{fn}: labels must have shape {shape} (embeddings {e.shape} without the feature "
            f"axis), got {y.shape}; pass one integer label per embedding"
        )
    mask = _reduce.mask_of(fn, where, shape)
    dtype = _reduce.compute_dtype(e)
    es = _reduce.exclude(e.astype(dtype), mask, 0.0, axes=(e.ndim - 1,))
    ys = _reduce.exclude(y, mask, 0)
    valid = jnp.ones(shape, bool) if mask is None else mask
    b, d = e.shape[-2:]
    if _no_examples(b):
        zeros = jnp.zeros(shape, dtype)
        out = (zeros, zeros) if counted else zeros
    else:
        out = _per_problem(
            lambda e_, y_, v_: core(e_, y_, v_, *hyper),
            es.reshape(-1, b, d),
            ys.reshape(-1, b),
            valid.reshape(-1, b),
        )
    if not counted:
        return _reduce.reduce(fn, out.reshape(shape), weights=weights, mask=mask,
                              reduction=reduction).astype(e.dtype)  # fmt: skip
    losses, counts = (o.reshape(shape) for o in out)
    if reduction != "mean":
        return _reduce.reduce(fn, losses, weights=weights, mask=mask,
                              reduction=reduction).astype(e.dtype)  # fmt: skip
    total = _reduce.reduce(fn, losses, weights=weights, mask=mask, reduction="sum")
    n = _reduce.reduce(fn, lax.stop_gradient(counts), weights=weights, mask=mask,
                       reduction="sum")  # fmt: skip
    # No active triplet anywhere: 0, with zero gradient.
    return (total / jnp.where(n == 0, 1, n)).astype(e.dtype)


def _metric(fn: str, metric: object) -> str:
    if metric not in METRICS:
        raise ValueError(f"{fn}: metric must be one of {METRICS}, got {metric!r}")
    return str(metric)


def _margin_soft(fn: str, margin: object, soft: object) -> tuple[float, bool]:
    soft = _checks.static_bool(fn, "soft", soft)
    if margin is None:
        return (0.0 if soft else 1.0), soft
    return _checks.static_float(fn, "margin", margin), soft


# --- batch_hard_triplet


@functools.partial(jax.custom_vjp, nondiff_argnums=(3, 4, 5))
def _batch_hard(e, y, valid, margin, soft, metric):
    return _batch_hard_fwd(e, y, valid, margin, soft, metric)[0]


def _batch_hard_fwd(e, y, valid, margin, soft, metric):
    pos, neg = _masks(y, valid)
    # Mining on the Gram-matrix distances (squared for Euclidean: same order) ...
    dm = _distance_matrix(e, "squared_euclidean" if metric == "euclidean" else metric)
    hp = jnp.argmax(jnp.where(pos, dm, -jnp.inf), axis=1)
    hn = jnp.argmin(jnp.where(neg, dm, jnp.inf), axis=1)
    has = jnp.any(pos, axis=1) & jnp.any(neg, axis=1)
    # ... and the loss from the exact differences of the chosen pairs.
    dp, dn = _row_distance(e, e[hp], metric), _row_distance(e, e[hn], metric)
    z = margin + dp - dn
    loss = jax.nn.softplus(z) if soft else jnp.maximum(z, 0)
    return jnp.where(has, loss, 0), (e, hp, hn, has, dp, dn)


def _batch_hard_bwd(margin, soft, metric, res, g):
    (e, hp, hn, has, dp, dn), (margin,) = unshared(res, margin)
    z = margin + dp - dn
    k = jnp.where(has, g * (jax.nn.sigmoid(z) if soft else _active(z)), 0)[:, None]
    ep, en = e[hp], e[hn]
    ga_p, gp = _row_distance_grad(e, ep, dp, metric)
    ga_n, gn = _row_distance_grad(e, en, dn, metric)
    ge = k * (ga_p - ga_n)
    ge = ge.at[hp].add(k * gp).at[hn].add(-k * gn)
    return ge, None, None


_batch_hard.defvjp(_batch_hard_fwd, _batch_hard_bwd)


def _batch_hard_call(core, embeddings, labels, *, margin, soft, metric, weights, where,
                     reduction):  # fmt: skip
    """Argument handling shared by the loss and its reference."""
    fn = "batch_hard_triplet"
    margin, soft = _margin_soft(fn, margin, soft)
    metric = _metric(fn, metric)
    return _mining_call(fn, core, embeddings, labels, (margin, soft, metric), weights=weights,
                        where=where, reduction=reduction)  # fmt: skip


def batch_hard_triplet(
    embeddings: ArrayLike,
    labels: ArrayLike,
    *,
    margin: float | None = None,
    soft: bool = False,
    metric: str = "euclidean",
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Batch-hard triplet loss: each anchor against its farthest positive and its
    nearest negative in the batch (Hermans, Beyer and Leibe 2017).

    TensorFlow Addons' ``TripletHardLoss`` (``soft``, ``distance_metric`` "L2",
    "squared-L2", "angular" are ``metric`` "euclidean", "squared_euclidean",
    "cosine"), mined from integer labels: a positive of anchor ``a`` is another
    example with its label, a negative one with a different label.

    .. math::

        \ell_a = h\bigl(m + \max_{p \in P(a)} D_{ap} - \min_{n \in N(a)} D_{an}\bigr),
        \qquad h(z) = \max(0, z) \text{ or, with soft, } \log(1 + e^z)

    .. math::

        \frac{\partial \ell_a}{\partial e} = h'(z_a)\bigl(\nabla D_{a p^*} - \nabla D_{a n^*}\bigr),
        \qquad h'(z) = [z > 0] \text{ or } \sigma(z)

    where ``p*``, ``n*`` are the mined pair (the gradient flows to the anchor and to
    those two embeddings only). ``D`` is the Euclidean distance, its square, or the
    cosine distance ``1 - cos``. Conventions: an anchor with no positive or no
    negative in its batch has loss 0 and zero gradient, and counts in ``"mean"``
    (as an anchor with loss 0; exclude it with ``where`` to drop it); at the hinge
    the subgradient 0; at coincident embeddings the Euclidean distance's
    subgradient 0 (the ``sqrt`` at 0), and a zero vector's cosine distance is 1
    with gradient 0. Mining uses the ``[B, B]`` Gram-matrix distances (ties go to
    the first index); the loss of the mined pairs is recomputed from their exact
    differences. Memory ``O(B² + BD)``, time ``O(B² D)``.

    Args:
      embeddings: ``[..., B, D]`` float embeddings; each leading index is a
        separate batch, mined on its own.
      labels: ``[..., B]`` integer labels (any values; only equality matters).
      margin: the margin ``m``; default 1 (0 with ``soft``, the soft-margin form of
        Hermans et al.).
      soft: use ``softplus`` instead of the hinge.
      metric: ``"euclidean"``, ``"squared_euclidean"`` or ``"cosine"``.
      weights: optional per-anchor weights broadcastable to ``labels.shape``.
      where: optional boolean mask broadcastable to ``labels.shape``; ``False``
        removes the example from its batch (not an anchor, positive or negative).
      reduction: ``"none"``, ``"mean"`` (over anchors) or ``"sum"``.

    Returns:
      The per-anchor losses ``[..., B]`` (``"none"``) or a scalar, in the dtype of
      ``embeddings``.

    Raises:
      TypeError: non-float ``embeddings``, non-integer ``labels``, non-bool ``soft``.
      ValueError: fewer than 2 dimensions, mismatched shapes, an unknown ``metric``
        or ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> e = jnp.array([[0.0, 0.0], [0.0, 3.0], [4.0, 0.0], [4.0, 3.0]])
      >>> jaxloss.batch_hard_triplet(e, jnp.array([0, 0, 1, 1]), margin=2.5)
      Array([1.5, 1.5, 1.5, 1.5], dtype=float32)

    References:
      Hermans, Beyer and Leibe, "In Defense of the Triplet Loss for Person
      Re-Identification", arXiv:1703.07737, 2017.
    """
    return _batch_hard_call(_batch_hard, embeddings, labels, margin=margin, soft=soft,
                            metric=metric, weights=weights, where=where,
                            reduction=reduction)  # fmt: skip


# --- batch_all_triplet


def _batch_all_hinge_parts(d, y, valid, pos, neg, margin):
    """Per anchor a: S_a = Σ_{p,n} max(0, m + D_ap - D_an), the number of active
    triplets, and C_aj = ∂S_a/∂D_aj, in O(B² M) time (M the largest class in the
    batch) and O(B²) memory.

    With thresholds t_p = m + D_ap, a triplet is active when D_an < t_p: positive p
    is in k_p = #{n : D_an < t_p} active triplets and negative n in
    c_n = #{p : t_p > D_an}; then S_a = Σ_p k_p t_p - Σ_n c_n D_an, ∂S/∂D_ap = k_p,
    ∂S/∂D_an = -c_n. The counts are piecewise constant: a loop over the i-th member
    of each anchor's class (the labels sorted once, O(B log B)) compares that one
    positive with every negative, a [B, B] pass per step, M steps. It runs on the
    distances with their gradient stopped; S is then formed from the counts and the
    differentiable distances.
    """
    b = d.shape[0]
    dc = lax.stop_gradient(d)
    key = jnp.where(valid, y, jnp.iinfo(y.dtype).max)  # excluded examples sort last
    order = jnp.argsort(key, stable=True).astype(jnp.int32)
    sorted_y = key[order]
    if isinstance(b, int):
        start = jnp.searchsorted(sorted_y, y, side="left").astype(jnp.int32)
        end = jnp.searchsorted(sorted_y, y, side="right").astype(jnp.int32)
    else:
        # A symbolic batch (shape-polymorphic export) has no static number of bisection
        # steps: count by comparing every pair, a [B, B] pass like the loop's.
        start = jnp.sum(sorted_y[None, :] < y[:, None], axis=1, dtype=jnp.int32)
        end = jnp.sum(sorted_y[None, :] <= y[:, None], axis=1, dtype=jnp.int32)
    size = jnp.where(valid, end - start, 0)
    rows = lax.iota(jnp.int32, b)

    def step(i, carry):
        k, c = carry
        j = order[jnp.minimum(start + i, b - 1)]
        is_pos = (i < size) & (j != rows) & valid
        t = margin + dc[rows, j]
        active = neg & (dc < t[:, None]) & is_pos[:, None]
        k = k.at[rows, j].add(jnp.sum(active, axis=1, dtype=jnp.int32))
        return k, c + active.astype(jnp.int32)

    zeros = jnp.zeros((b, b), jnp.int32)
    k, c = lax.fori_loop(0, jnp.max(size, initial=0), step, (zeros, zeros))
    dtype = d.dtype
    k, c = k.astype(dtype), c.astype(dtype)
    # k and c never share a pair; the select keeps an infinitely far negative (or a
    # NaN pair in no active triplet) from adding 0 * inf = NaN.
    kc = k - c
    s = jnp.sum(jnp.where(kc != 0, kc * d, 0) + k * margin, axis=1)
    return s, jnp.sum(k, axis=1), kc


def _batch_all_soft_parts(d, y, valid, pos, neg, margin):
    """The same with softplus: every valid triplet, O(B³) time in anchor blocks that
    keep the memory O(B²)."""
    b = d.shape[0]

    def anchor(row):
        dr, pr, nr = row
        z = (margin + dr)[:, None] - dr[None, :]
        both = pr[:, None] & nr[None, :]
        ez = jnp.exp(-jnp.abs(z))  # one exp for softplus and sigmoid
        sp = jnp.where(both, jnp.maximum(z, 0) + jnp.log1p(ez), 0)
        sig = jnp.where(both, jnp.where(z >= 0, 1, ez) / (1 + ez), 0)
        return jnp.sum(sp), jnp.sum(sig, axis=1) - jnp.sum(sig, axis=0)

    if isinstance(b, int):
        block = max(1, (1 << 22) // max(b * b, 1))
        s, c = lax.map(anchor, (d, pos, neg), batch_size=min(block, b))
    else:  # symbolic batch (shape-polymorphic export): one anchor per step
        s, c = lax.map(anchor, (d, pos, neg))
    n = jnp.sum(pos, axis=1).astype(d.dtype) * jnp.sum(neg, axis=1).astype(d.dtype)
    return s, n, c


@functools.partial(jax.custom_vjp, nondiff_argnums=(3, 4, 5))
def _batch_all(e, y, valid, margin, soft, metric):
    return _batch_all_fwd(e, y, valid, margin, soft, metric)[0]


def _batch_all_fwd(e, y, valid, margin, soft, metric):
    pos, neg = _masks(y, valid)
    d = _distance_matrix(e, metric)
    parts = _batch_all_soft_parts if soft else _batch_all_hinge_parts
    s, n, c = parts(d, y, valid, pos, neg, margin)
    # The one [B, B] residual: the weights of the embedding differences.
    return (s, n), (e, _grad_scale(c, d, metric))


def _batch_all_bwd(margin, soft, metric, res, g):
    (e, w), _ = unshared(res)
    gs, _ = g  # the counts have no gradient
    return _pair_matrix_grad(e, gs[:, None] * w, metric), None, None


_batch_all.defvjp(_batch_all_fwd, _batch_all_bwd)


def _batch_all_call(core, embeddings, labels, *, margin, soft, metric, weights, where,
                    reduction):  # fmt: skip
    """Argument handling shared by the loss and its reference."""
    fn = "batch_all_triplet"
    margin, soft = _margin_soft(fn, margin, soft)
    metric = _metric(fn, metric)
    return _mining_call(fn, core, embeddings, labels, (margin, soft, metric), weights=weights,
                        where=where, reduction=reduction, counted=True)  # fmt: skip


def batch_all_triplet(
    embeddings: ArrayLike,
    labels: ArrayLike,
    *,
    margin: float | None = None,
    soft: bool = False,
    metric: str = "euclidean",
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Batch-all triplet loss: every valid (anchor, positive, negative) triplet of the
    batch, mined from integer labels.

    Per anchor ``a`` the sum over its triplets; ``reduction="mean"`` divides the
    (weighted) total by the (weighted) number of *active* triplets, those with a
    positive loss: the "batch all" average of Hermans et al., of the widely copied
    TensorFlow implementation (``batch_all_triplet_loss``) and of
    pytorch-metric-learning's ``TripletMarginLoss`` (``AvgNonZeroReducer``). With
    ``soft`` every triplet is active. No active triplet gives 0.

    .. math::

        \ell_a = \sum_{p \in P(a)} \sum_{n \in N(a)} h(m + D_{ap} - D_{an}), \qquad
        \text{mean} = \frac{\sum_a w_a \ell_a}{\sum_a w_a\, \#\{(p, n) : h(\cdot) > 0\}}

    .. math::

        \frac{\partial \ell_a}{\partial D_{ap}} = \sum_{n} h'(z_{apn}), \qquad
        \frac{\partial \ell_a}{\partial D_{an}} = -\sum_{p} h'(z_{apn}),

    chained through the distance matrix ``D`` (Euclidean, its square, or cosine
    distance) to the embeddings; ``h`` is the hinge (``h' = [z > 0]``, the
    subgradient 0 at the hinge) or softplus (``h' = σ``). The count in the mean is
    piecewise constant and gets no gradient. Conventions as
    :func:`batch_hard_triplet`: anchors with no positive or no negative add 0;
    coincident embeddings take the Euclidean subgradient 0.

    Cost: ``D`` comes from the ``[B, B]`` Gram matrix. The hinge form never builds
    the ``B³`` triplets: it counts, for each anchor's i-th positive, the negatives
    closer than ``m + D_ap`` (one ``[B, B]`` pass per step, as many steps as the
    largest class in the batch, ``M``), and forms the loss and the distance
    cotangents from those counts: ``O(B² M)`` time (``M = K`` for the usual
    P-classes-by-K-examples batches), ``O(B²)`` memory. The soft form has no such
    shortcut: ``O(B³)`` time, evaluated in blocks of anchors whose memory stays
    ``O(B²)``.

    Args:
      embeddings: ``[..., B, D]`` float embeddings; each leading index is a
        separate batch.
      labels: ``[..., B]`` integer labels.
      margin: the margin ``m``; default 1 (0 with ``soft``).
      soft: use ``softplus`` instead of the hinge.
      metric: ``"euclidean"``, ``"squared_euclidean"`` or ``"cosine"``.
      weights: optional per-anchor weights broadcastable to ``labels.shape`` (they
        weight both the anchor's loss and its triplet count in the mean).
      where: optional boolean mask broadcastable to ``labels.shape``; ``False``
        removes the example from its batch.
      reduction: ``"none"`` (per-anchor sums), ``"mean"`` (over active triplets) or
        ``"sum"``.

    Returns:
      The per-anchor losses ``[..., B]`` (``"none"``) or a scalar, in the dtype of
      ``embeddings``.

    Raises:
      TypeError: non-float ``embeddings``, non-integer ``labels``, non-bool ``soft``.
      ValueError: fewer than 2 dimensions, mismatched shapes, an unknown ``metric``
        or ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> e = jnp.array([[0.0, 0.0], [0.0, 3.0], [4.0, 0.0], [4.0, 3.0]])
      >>> y = jnp.array([0, 0, 1, 1])
      >>> jaxloss.batch_all_triplet(e, y, margin=2.5)  # triplets 1.5 and 0.5 per anchor
      Array([2., 2., 2., 2.], dtype=float32)
      >>> jaxloss.batch_all_triplet(e, y, margin=2.5, reduction="mean")  # 8 / 8 triplets
      Array(1., dtype=float32)

    References:
      Hermans, Beyer and Leibe, "In Defense of the Triplet Loss for Person
      Re-Identification", arXiv:1703.07737, 2017.
    """
    return _batch_all_call(_batch_all, embeddings, labels, margin=margin, soft=soft,
                           metric=metric, weights=weights, where=where,
                           reduction=reduction)  # fmt: skip


# --- npairs


def _npairs_targets(y, valid):
    t = (y[:, None] == y[None, :]) & valid[None, :]
    return t, jnp.maximum(jnp.sum(t, axis=1), 1).astype(jnp.float32)


@jax.custom_vjp
def _npairs(a, p, y, valid):
    return _npairs_fwd(a, p, y, valid)[0]


def _npairs_fwd(a, p, y, valid):
    s = _mm(a, p)
    cols = valid[None, :]
    # Written as the reference writes it, log_softmax then exp: on XLA:CPU this lets
    # the similarity product fuse with the row max and shift, and measured faster than
    # one shared exp whose row sums give the log-sum-exp (1024 groups of 8 x 256:
    # 0.96-0.99x the reference against 1.12-1.33x; one batch of 4096 x 256: 0.82x
    # against 0.88x, temporaries 128 MiB against 192). A row with no valid column
    # (a masked anchor) is NaN here and zeroed below.
    logp = jax.nn.log_softmax(jnp.where(cols, s, -jnp.inf), axis=1)
    t, count = _npairs_targets(y, valid)
    target = jnp.where(t, 1 / count.astype(s.dtype)[:, None], 0)
    loss = -jnp.sum(jnp.where(t, target * logp, 0), axis=1)
    # The one [B, B] residual: ∂ℓ_a/∂s_aj = softmax - target (saving it beats
    # recomputing the product and the exponentials in the backward).
    w = jnp.where(valid[:, None], jnp.exp(logp) - target, 0)
    return jnp.where(valid, loss, 0), (a, p, w)


def _npairs_bwd(res, g):
    (a, p, w), _ = unshared(res)
    w = g[:, None] * w
    return (jnp.matmul(w, p, precision=_HIGHEST), jnp.matmul(w.T, a, precision=_HIGHEST),
            None, None)  # fmt: skip


_npairs.defvjp(_npairs_fwd, _npairs_bwd)


def _npairs_call(core, anchors, positives, labels, *, weights, where, reduction):
    """Argument handling shared by the loss and its reference."""
    fn = "npairs"
    reduction = _checks.reduction(fn, reduction)
    a = _checks.float_array(fn, "anchors", anchors)
    p = _checks.float_array(fn, "positives", positives)
    _checks.same_shape(fn, "anchors", a, "positives", p)
    if a.ndim < 2:
        raise ValueError(
            f"{fn}: anchors must have shape (..., batch, features), got {a.shape}; "
            f"pass at least a 2-D array"
        )
    shape = a.shape[:-1]
    if labels is None:
        y = jnp.broadcast_to(lax.iota(jnp.int32, shape[-1]), shape)
    else:
        y = _checks.int_array(fn, "labels", labels)
        if y.shape != shape:
            raise ValueError(
                f"{fn}: labels must have shape {shape} (anchors {a.shape} without the "
                f"feature axis), got {y.shape}; pass one integer label per pair"
            )
    mask = _reduce.mask_of(fn, where, shape)
    dtype = _reduce.compute_dtype(a, p)
    xs = [_reduce.exclude(x.astype(dtype), mask, 0.0, axes=(x.ndim - 1,)) for x in (a, p)]
    ys = _reduce.exclude(y, mask, 0)
    valid = jnp.ones(shape, bool) if mask is None else mask
    b, d = a.shape[-2:]
    if _no_examples(b):
        losses = jnp.zeros(shape, dtype)
    else:
        losses = _per_problem(core, xs[0].reshape(-1, b, d), xs[1].reshape(-1, b, d),
                              ys.reshape(-1, b), valid.reshape(-1, b)).reshape(shape)  # fmt: skip
    return _reduce.reduce(fn, losses, weights=weights, mask=mask, reduction=reduction).astype(
        a.dtype
    )


def npairs(
    anchors: ArrayLike,
    positives: ArrayLike,
    labels: ArrayLike | None = None,
    *,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Multi-class N-pair loss (Sohn 2016): each anchor must pick out its own positive
    among the positives of the whole batch.

    A softmax cross-entropy over the similarities ``s_aj = ⟨a_a, p_j⟩`` of anchor
    ``a`` to every positive ``j``, with the target spread evenly over the positives
    that share its label. TensorFlow Addons' ``npairs_loss`` (which takes the
    similarity matrix ``s`` itself) on ``anchors @ positives.T``. Sohn's ``L2``
    regulariser of the embeddings is not included: add
    ``λ * mean(‖a‖² + ‖p‖²)`` yourself.

    .. math::

        \ell_a = \log \sum_j e^{s_{aj}} - \sum_j T_{aj}\, s_{aj}, \qquad
        T_{aj} = \frac{[y_a = y_j]}{\#\{k : y_k = y_a\}}

    .. math::

        \frac{\partial \ell_a}{\partial s_{aj}} = \operatorname{softmax}(s_a)_j - T_{aj},
        \qquad \frac{\partial}{\partial A} = W P, \quad \frac{\partial}{\partial P} = W^\top A

    with ``W`` the ``[B, B]`` matrix of those derivatives times each anchor's
    cotangent. ``labels=None`` means every pair is its own class (``T`` is the
    identity), the original N-pair setting.

    Args:
      anchors: ``[..., B, D]`` float embeddings; each leading index is a separate
        batch.
      positives: ``[..., B, D]``: ``positives[..., i, :]`` pairs with anchor ``i``.
      labels: optional ``[..., B]`` integer class of each pair.
      weights: optional per-anchor weights broadcastable to ``anchors.shape[:-1]``.
      where: optional boolean mask broadcastable to ``anchors.shape[:-1]``;
        ``False`` removes the pair from its batch (its anchor and its positive).
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
      The per-anchor losses ``[..., B]`` (``"none"``) or a scalar, in the dtype of
      ``anchors``.

    Raises:
      TypeError: non-float embeddings or non-integer ``labels``.
      ValueError: fewer than 2 dimensions, mismatched shapes or an unknown
        ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> a = jnp.array([[1.0, 0.0], [0.0, 1.0]])
      >>> jaxloss.npairs(a, a)
      Array([0.31326163, 0.31326163], dtype=float32)

    References:
      Sohn, "Improved Deep Metric Learning with Multi-class N-pair Loss Objective",
      NeurIPS 2016.
    """
    return _npairs_call(_npairs, anchors, positives, labels, weights=weights, where=where,
                        reduction=reduction)  # fmt: skip


# --- circle


def _circle_logits(s, gamma, margin, one):
    """Keras's circle terms from the similarities s: d = max(1 - s, 0), the weights
    α_p = max(m + d, 0), α_n = max(1 + m - d, 0), and the two logits."""
    d = jnp.maximum(one - s, 0)
    ap = jnp.maximum(margin + d, 0)
    an = jnp.maximum((one + margin) - d, 0)
    return d, ap, an, -gamma * ap * (margin - d), gamma * an * ((one - margin) - d)


@functools.partial(jax.custom_vjp, nondiff_argnums=(3, 4))
def _circle(e, y, valid, gamma, margin):
    return _circle_fwd(e, y, valid, gamma, margin)[0]


def _circle_fwd(e, y, valid, gamma, margin):
    # Each anchor reads one row of the similarities: the rows go by blocks, so that
    # the [B, B] intermediates never exist whole; the one [B, B] array written is the
    # residual (at B = 4096: 0.25x the temporaries and 0.75x the time of one pass
    # over whole [B, B] arrays).
    loss, w = _by_row_blocks(
        lambda yr, vr, ir, er: _circle_rows(e, y, valid, er, yr, vr, ir, gamma, margin),
        y, valid, e,
    )  # fmt: skip
    return loss, (e, w)


def _circle_rows(e, y, valid, er, yr, vr, ir, gamma, margin):
    """Losses and ∂ℓ_a/∂s_aj of the anchors ``er`` (rows ``ir``) against all of ``e``."""
    pos, neg = _row_masks(y, valid, yr, vr, ir)
    s = _mm(er, e)
    d, ap, an, lp, ln = _circle_logits(s, gamma, margin, 1)
    has = jnp.any(pos, axis=1) & jnp.any(neg, axis=1)
    # Positives and negatives are disjoint: one exponential per pair serves both
    # log-sum-exps and both softmaxes (exp over [B, B] is the forward's cost on CPU).
    top_p = _finite_or_zero(jnp.max(jnp.where(pos, lp, -jnp.inf), axis=1, keepdims=True))
    top_n = _finite_or_zero(jnp.max(jnp.where(neg, ln, -jnp.inf), axis=1, keepdims=True))
    ex = jnp.exp(jnp.where(pos, lp - top_p, jnp.where(neg, ln - top_n, -jnp.inf)))
    sp = jnp.sum(jnp.where(pos, ex, 0), axis=1, keepdims=True)
    sn = jnp.sum(jnp.where(neg, ex, 0), axis=1, keepdims=True)
    sp, sn = jnp.where(sp > 0, sp, 1), jnp.where(sn > 0, sn, 1)  # rows without any: unused
    zp = jnp.where(has, top_p[:, 0] + jnp.log(sp[:, 0]), 0)
    zn = jnp.where(has, top_n[:, 0] + jnp.log(sn[:, 0]), 0)
    loss = jnp.where(has, jax.nn.softplus(zp + zn), 0)
    # ∂ℓ_a/∂s_aj, with the gradient flowing through the weights α as Keras computes
    # them (no stop-gradient):
    k = jnp.where(has, jax.nn.sigmoid(zp + zn), 0)[:, None]
    wp = jnp.where(pos, ex / sp, 0)
    wn = jnp.where(neg, ex / sn, 0)
    dlp = -gamma * ((margin - d) * _active(margin + d) - ap)  # ∂λ_p/∂d
    dln = -gamma * (((1 - margin) - d) * _active((1 + margin) - d) + an)  # ∂λ_n/∂d
    return loss, k * (wp * dlp + wn * dln) * -_active(1 - s)  # ∂d/∂s = -[1 - s > 0]


def _circle_bwd(gamma, margin, res, g):
    (e, w), _ = unshared(res)
    return _symmetric_product(w, e, g[:, None]), None, None


_circle.defvjp(_circle_fwd, _circle_bwd)


def _circle_call(core, embeddings, labels, *, gamma, margin, weights, where, reduction):
    """Argument handling shared by the loss and its reference."""
    fn = "circle"
    gamma = _checks.static_float(fn, "gamma", gamma, low=0.0, low_open=True)
    margin = _checks.static_float(fn, "margin", margin)
    return _mining_call(fn, core, embeddings, labels, (gamma, margin), weights=weights,
                        where=where, reduction=reduction)  # fmt: skip


def circle(
    embeddings: ArrayLike,
    labels: ArrayLike,
    *,
    gamma: float = 80.0,
    margin: float = 0.4,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Circle loss (Sun et al. 2020) over the pairs of a batch, Keras's ``circle``.

    Each anchor's within-class similarities ``s_p`` and between-class similarities
    ``s_n`` (dot products: pass L2-normalised embeddings, as Keras expects) are
    pushed towards ``1`` and ``0``, each weighted by how far it is from its optimum.
    With Keras's ``d = max(1 - s, 0)`` and ``m`` the relaxation ``margin``:

    .. math::

        \ell_a = \log\Bigl(1 + \sum_{p} e^{-\gamma\,\alpha_p (m - d_p)}
                  \sum_{n} e^{\gamma\,\alpha_n (1 - m - d_n)}\Bigr), \quad
        \alpha_p = \max(m + d_p, 0), \ \alpha_n = \max(1 + m - d_n, 0)

    .. math::

        \frac{\partial \ell_a}{\partial s_{aj}} = -\sigma(z_a)\,\pi_{aj}\,
            \frac{\partial \lambda_{aj}}{\partial d_{aj}}\,[1 - s_{aj} > 0]

    where ``λ`` are the logits above, ``z_a = lse(λ_p) + lse(λ_n)`` and ``π`` their
    softmax weights within the positives or the negatives; the gradient flows
    through the weights ``α`` as in Keras (the paper and pytorch-metric-learning
    treat ``α`` as constants). Conventions: an anchor without positives or
    negatives has loss 0 and zero gradient; the subgradient 0 at the clamps
    (``s = 1``, ``α = 0``).

    Args:
      embeddings: ``[..., B, D]`` float embeddings (L2-normalised); each leading
        index is a separate batch.
      labels: ``[..., B]`` integer labels.
      gamma: the scale ``γ > 0`` (Keras's default 80).
      margin: the relaxation ``m`` (Keras's default 0.4).
      weights: optional per-anchor weights broadcastable to ``labels.shape``.
      where: optional boolean mask broadcastable to ``labels.shape``; ``False``
        removes the example from its batch.
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
      The per-anchor losses ``[..., B]`` (``"none"``) or a scalar, in the dtype of
      ``embeddings``.

    Raises:
      TypeError: non-float ``embeddings`` or non-integer ``labels``.
      ValueError: ``gamma <= 0``, fewer than 2 dimensions, mismatched shapes or an
        unknown ``reduction``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> e = jnp.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])
      >>> jaxloss.circle(e, jnp.array([0, 0, 1]), gamma=1.0)
      Array([0.5629153, 0.733947 , 0.       ], dtype=float32)

    References:
      Sun et al., "Circle Loss: A Unified Perspective of Pair Similarity
      Optimization", CVPR 2020.
    """
    return _circle_call(_circle, embeddings, labels, gamma=gamma, margin=margin, weights=weights,
                        where=where, reduction=reduction)  # fmt: skip
