"""Conformance of the multiclass margin losses with live PyTorch and optax.

Each test draws seeded random inputs, evaluates the peer (``torch.nn.functional``
or ``optax.losses``) and jaxloss on the same numbers, and compares the values and
the gradients with respect to the scores: torch autograd with a random upstream
cotangent (``reduction="none"``) or ``backward()`` of the scalar, against
``jax.vjp`` of the public jaxloss function with the same cotangent; optax through
``jax.vjp`` of its own function. Float64 with tight tolerances, then float32.

Peers without a ``reduction`` argument (optax) are reduced by hand: ``"mean"`` is
``jnp.mean`` and ``"sum"`` is ``jnp.sum`` of their per-example losses.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
import torch.nn.functional as F

import jaxloss

REDUCTIONS = ("none", "mean", "sum")
DTYPES = ("float64", "float32")
TOLERANCES = {
    "float64": {"rtol": 1e-10, "atol": 1e-12},
    "float32": {"rtol": 1e-5, "atol": 1e-6},
}
N, C = 23, 7


# --- harness


def _cotangent(reduction, shape, dtype, seed):
    if reduction != "none":
        return None
    return np.random.default_rng(seed + 1000).normal(size=shape).astype(dtype)


def _ours(fn, x, rest, cotangent):
    xs = jnp.asarray(x)
    out, vjp = jax.vjp(lambda s: fn(s, *rest), xs)
    (grad,) = vjp(jnp.ones((), out.dtype) if cotangent is None else jnp.asarray(cotangent))
    assert grad.dtype == xs.dtype and grad.shape == xs.shape
    return np.asarray(out), np.asarray(grad)


def _torch(fn, x, rest, cotangent):
    xt = torch.tensor(x, requires_grad=True)
    out = fn(xt, *rest)
    if cotangent is None:
        out.backward()
    else:
        out.backward(torch.tensor(cotangent))
    return out.detach().numpy(), xt.grad.numpy()


def _optax(fn, x, rest, reduction, cotangent):
    """optax's loss, run as a user would: x64 only for float64 inputs, standard
    promotion (its one-hot is in the default float dtype)."""
    rest = tuple(np.asarray(r, np.int32) for r in rest)  # integer labels

    def f(s):
        # optax relies on standard promotion (its float64 one-hot meets float32 scores).
        with jax.numpy_dtype_promotion("standard"), jax.numpy_rank_promotion("allow"):
            per = fn(s, *rest)
        return {"none": per, "mean": jnp.mean(per), "sum": jnp.sum(per)}[reduction]

    with jax.enable_x64(np.asarray(x).dtype == np.float64):
        return _ours(f, x, (), cotangent)


def _close(got, want, dtype, what):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    assert got.dtype == np.dtype(dtype), f"{what}: dtype {got.dtype} != {dtype}"
    np.testing.assert_allclose(got, want, err_msg=what, **TOLERANCES[dtype])


def _check(ours, theirs):
    (value, grad), (ref_value, ref_grad) = ours, theirs
    dtype = str(np.asarray(ref_value).dtype)
    _close(value, ref_value, dtype, "value")
    _close(grad, ref_grad, dtype, "gradient")


def _scores(seed, dtype, shape=(N, C), scale=1.5):
    rng = np.random.default_rng(seed)
    x = (scale * rng.normal(size=shape)).astype(dtype)
    y = rng.integers(0, shape[-1], size=shape[:-1])
    return x, y


# --- multi_margin vs F.multi_margin_loss


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "class_weights"])
@pytest.mark.parametrize(("p", "margin"), [(1, 1.0), (1, 0.3), (2, 1.0), (2, 2.5), (1, -0.5)])
def test_multi_margin_matches_torch(p, margin, weighted, dtype):
    seed = 10 * p + int(10 * abs(margin))
    x, y = _scores(seed, dtype)
    w = np.random.default_rng(seed + 1).uniform(0.2, 3.0, C).astype(dtype) if weighted else None
    for reduction in REDUCTIONS:
        ct = _cotangent(reduction, (N,), dtype, seed)

        def ours(s, labels, reduction=reduction):
            return jaxloss.multi_margin(
                s, labels, p=p, margin=margin, class_weights=w, reduction=reduction
            )

        def theirs(s, labels, reduction=reduction):
            weight = None if w is None else torch.tensor(w)
            return F.multi_margin_loss(
                s, labels, p=p, margin=margin, weight=weight, reduction=reduction
            )

        _check(_ours(ours, x, (jnp.asarray(y),), ct), _torch(theirs, x, (torch.tensor(y),), ct))


def test_multi_margin_matches_torch_on_one_example_and_at_hinges():
    """A 1-D input (torch's unbatched form) and scores exactly on the hinge points,
    where both take the subgradient 0."""
    x = np.array([0.5, -0.5, 1.5, 0.5, 3.0])  # label 0: class 1 sits on the hinge
    for label, p in ((0, 1), (3, 1), (0, 2)):
        ours = _ours(lambda s, y, p=p: jaxloss.multi_margin(s, y, p=p), x, (label,), None)
        theirs = _torch(
            lambda s, y, p=p: F.multi_margin_loss(s, torch.tensor(y), p=p), x, (label,), None
        )
        _check(ours, theirs)


# --- multilabel_margin vs F.multilabel_margin_loss


def _multilabel_targets(seed, shape=(N, C)):
    """Target lists with every format feature: no targets (-1 first), all classes
    (no terminator), repeated -1s, junk after the first -1 (within [-1, C), which
    torch checks), and a class listed twice."""
    rng = np.random.default_rng(seed)
    n, c = shape
    t = np.full(shape, -1, np.int64)
    for i in range(n):
        k = rng.integers(0, c + 1)
        t[i, :k] = rng.permutation(c)[:k]
        if k + 1 < c:
            t[i, k + 1 :] = rng.integers(-1, c, size=c - k - 1)
    t[0] = -1  # no targets, repeated -1s
    t[1] = rng.permutation(c)  # every class a target: loss 0
    t[2, :3] = [4, 4, -1]  # a class listed twice counts twice
    t[3, :2] = [-1, 2]  # -1 first, junk after
    return t


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("seed", "classes"), [(0, C), (1, C), (2, 150)], ids=["7a", "7b", "150"])
def test_multilabel_margin_matches_torch(seed, classes, dtype):
    """Seven classes (every pair summed) and 150 (the sorted path)."""
    x, _ = _scores(seed, dtype, shape=(N, classes), scale=1.0)
    t = _multilabel_targets(seed, shape=(N, classes))
    for reduction in REDUCTIONS:
        ct = _cotangent(reduction, (N,), dtype, seed)
        ours = _ours(
            lambda s, tt, r=reduction: jaxloss.multilabel_margin(s, tt, reduction=r),
            x,
            (jnp.asarray(t),),
            ct,
        )
        theirs = _torch(
            lambda s, tt, r=reduction: F.multilabel_margin_loss(s, tt, reduction=r),
            x,
            (torch.tensor(t),),
            ct,
        )
        _check(ours, theirs)


def test_multilabel_margin_matches_torch_on_one_example_and_at_hinges():
    x = np.array([0.0, 1.0, 0.0, 2.5])  # target 1 against non-targets 0 and 2: on the hinge
    for t in ([1, -1, 0, 0], [1, 3, -1, -1], [-1, -1, -1, -1], [3, 1, 2, 0]):
        ours = _ours(lambda s, t=t: jaxloss.multilabel_margin(s, jnp.asarray(t)), x, (), None)
        theirs = _torch(lambda s, t=t: F.multilabel_margin_loss(s, torch.tensor(t)), x, (), None)
        _check(ours, theirs)


# --- multiclass_hinge vs optax.losses.multiclass_hinge_loss


@pytest.mark.parametrize("dtype", DTYPES)
def test_multiclass_hinge_matches_optax(dtype):
    x, y = _scores(3, dtype, scale=1.0)
    for reduction in REDUCTIONS:
        ct = _cotangent(reduction, (N,), dtype, 3)
        ours = _ours(lambda s, r=reduction: jaxloss.multiclass_hinge(s, y, reduction=r), x, (), ct)
        theirs = _optax(optax.losses.multiclass_hinge_loss, x, (y,), reduction, ct)
        _check(ours, theirs)


@pytest.mark.parametrize("dtype", DTYPES)
def test_multiclass_hinge_matches_optax_at_ties(dtype):
    """Tied maxima (all-equal scores of a fresh model, the hinge, tied wrong classes):
    the same subgradient as jax.grad of optax's formula."""
    x = np.array(
        [
            [0.0, 0.0, 0.0, 0.0],  # everything tied
            [2.0, 1.0, -3.0, 0.5],  # label 0 exactly on the hinge with class 1
            [0.0, 1.0, 1.0, -1.0],  # two wrong classes tied
            [5.0, 1.0, 1.0, 1.0],  # well separated: zero loss and gradient
        ],
        dtype,
    )
    y = np.array([0, 0, 0, 0])
    ct = _cotangent("none", (4,), dtype, 4)
    ours = _ours(lambda s: jaxloss.multiclass_hinge(s, y), x, (), ct)
    theirs = _optax(optax.losses.multiclass_hinge_loss, x, (jnp.asarray(y),), "none", ct)
    _check(ours, theirs)


# --- sparsemax vs optax.losses.multiclass_sparsemax_loss (and the binary sparsemax_loss)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("scale", [0.3, 4.0])
def test_sparsemax_matches_optax(scale, dtype):
    """Dense (small scores) and sparse (large scores) projections."""
    x, y = _scores(5, dtype, shape=(N, 11), scale=scale)
    for reduction in REDUCTIONS:
        ct = _cotangent(reduction, (N,), dtype, 5)
        ours = _ours(lambda s, r=reduction: jaxloss.sparsemax(s, y, reduction=r), x, (), ct)
        theirs = _optax(optax.losses.multiclass_sparsemax_loss, x, (y,), reduction, ct)
        _check(ours, theirs)


@pytest.mark.parametrize("dtype", DTYPES)
def test_sparsemax_on_two_scores_is_optax_binary_sparsemax_loss(dtype):
    rng = np.random.default_rng(6)
    x = (2 * rng.normal(size=(N,))).astype(dtype)
    t = rng.integers(0, 2, size=(N,))
    ct = _cotangent("none", (N,), dtype, 6)

    def ours(s):
        return jaxloss.sparsemax(jnp.stack([jnp.zeros_like(s), s], axis=-1), t)

    theirs = _optax(optax.losses.sparsemax_loss, x, (jnp.asarray(t),), "none", ct)
    _check(_ours(ours, x, (), ct), theirs)


# --- zero_one vs torch.argmax (first maximum on ties)


@pytest.mark.parametrize("dtype", DTYPES)
def test_zero_one_matches_torch_argmax(dtype):
    rng = np.random.default_rng(7)
    x = rng.integers(-2, 3, size=(200, 5)).astype(dtype)  # small integers: many ties
    y = rng.integers(0, 5, size=(200,))
    want = (torch.argmax(torch.tensor(x), dim=-1) != torch.tensor(y)).numpy().astype(dtype)
    value, grad = _ours(lambda s: jaxloss.zero_one(s, y), x, (), np.ones(200, dtype))
    _close(value, want, dtype, "value")
    np.testing.assert_array_equal(grad, np.zeros_like(x))
    mean, _ = _ours(lambda s: jaxloss.zero_one(s, y, reduction="mean"), x, (), None)
    _close(mean, np.asarray(want.mean(), dtype), dtype, "mean")
