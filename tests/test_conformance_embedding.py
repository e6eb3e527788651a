"""Conformance of the embedding losses with live PyTorch and optax.

Seeded random inputs go to the peer (``torch.nn.functional`` or ``optax.losses``)
and to jaxloss; values and the gradients with respect to every float input are
compared: torch autograd with a random upstream cotangent (``reduction="none"``)
or ``backward()`` of the scalar, against ``jax.vjp`` of the public jaxloss function
with the same cotangent. Float64 with tight tolerances, then float32. optax has no
``reduction``: its ``"mean"``/``"sum"`` are ``jnp.mean``/``jnp.sum`` of its
per-example values.
"""

from __future__ import annotations

import math

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
    "float32": {"rtol": 1e-5, "atol": 2e-6},
}
N, D = 17, 6


def _cotangent(reduction, shape, dtype, seed):
    if reduction != "none":
        return None
    return np.random.default_rng(seed + 1000).normal(size=shape).astype(dtype)


def _ours(fn, xs, cotangent):
    xs = tuple(jnp.asarray(x) for x in xs)
    out, vjp = jax.vjp(fn, *xs)
    grads = vjp(jnp.ones((), out.dtype) if cotangent is None else jnp.asarray(cotangent))
    for g, x in zip(grads, xs, strict=True):
        assert g.dtype == x.dtype and g.shape == x.shape
    return np.asarray(out), [np.asarray(g) for g in grads]


def _torch(fn, xs, cotangent):
    ts = [torch.tensor(x, requires_grad=True) for x in xs]
    out = fn(*ts)
    out.backward(None if cotangent is None else torch.tensor(cotangent))
    return out.detach().numpy(), [t.grad.numpy() for t in ts]


def _optax(fn, xs, reduction, cotangent):
    def f(*a):
        with jax.numpy_dtype_promotion("standard"), jax.numpy_rank_promotion("allow"):
            per = fn(*a)
        return {"none": per, "mean": jnp.mean(per), "sum": jnp.sum(per)}[reduction]

    with jax.enable_x64(np.asarray(xs[0]).dtype == np.float64):
        return _ours(f, xs, cotangent)


def _check(ours, theirs, what=""):
    (value, grads), (ref_value, ref_grads) = ours, theirs
    dtype = str(np.asarray(ref_value).dtype)
    assert value.dtype == np.dtype(dtype), f"{what} value dtype {value.dtype}"
    np.testing.assert_allclose(value, ref_value, err_msg=f"{what} value", **TOLERANCES[dtype])
    for i, (g, r) in enumerate(zip(grads, ref_grads, strict=True)):
        np.testing.assert_allclose(g, r, err_msg=f"{what} gradient {i}", **TOLERANCES[dtype])


def _normal(seed, dtype, *shapes, scale=1.0):
    rng = np.random.default_rng(seed)
    return [(scale * rng.normal(size=s)).astype(dtype) for s in shapes]


def _signs(seed, n, dtype=np.int64):
    return np.where(np.random.default_rng(seed).uniform(size=n) < 0.5, 1, -1).astype(dtype)


# --- cosine_embedding vs F.cosine_embedding_loss


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("margin", [0.0, 0.3, -0.5])
def test_cosine_embedding_matches_torch(margin, dtype):
    x1, x2 = _normal(1, dtype, (N, D), (N, D))
    x2[0] = 0.0  # a zero vector: PyTorch's 1e-12 keeps it finite
    t = _signs(2, N)
    for reduction in REDUCTIONS:
        ct = _cotangent(reduction, (N,), dtype, 3)
        ours = _ours(
            lambda a, b, r=reduction: jaxloss.cosine_embedding(a, b, t, margin=margin, reduction=r),
            (x1, x2),
            ct,
        )
        theirs = _torch(
            lambda a, b, r=reduction: F.cosine_embedding_loss(
                a, b, torch.tensor(t), margin=margin, reduction=r
            ),
            (x1, x2),
            ct,
        )
        _check(ours, theirs, reduction)


# --- triplet_margin vs F.triplet_margin_loss


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("swap", [False, True], ids=["noswap", "swap"])
@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, math.inf, 1.5])
def test_triplet_margin_matches_torch(p, swap, dtype):
    a, pos, neg = _normal(4, dtype, (N, D), (N, D), (N, D))
    margin = 1.5 if p != 1.0 else 3.0  # some triplets active, some not
    for reduction in REDUCTIONS:
        ct = _cotangent(reduction, (N,), dtype, 5)
        ours = _ours(
            lambda x, y, z, r=reduction: jaxloss.triplet_margin(
                x, y, z, norm_degree=p, margin=margin, swap=swap, reduction=r
            ),
            (a, pos, neg),
            ct,
        )
        theirs = _torch(
            lambda x, y, z, r=reduction: F.triplet_margin_loss(
                x, y, z, p=p, margin=margin, swap=swap, reduction=r
            ),
            (a, pos, neg),
            ct,
        )
        _check(ours, theirs, f"{reduction}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_triplet_margin_with_eps_zero_and_anchor_equal_positive(dtype):
    """With eps = 0 and anchor == positive PyTorch's p = 2 norm gives a zero subgradient
    too; jaxloss also stays finite for p = 3 and 1.5, where the norm is not smooth."""
    a, neg = _normal(6, dtype, (N, D), (N, D))
    pos = a.copy()
    pos[1::2] += _normal(7, dtype, (N // 2, D))[0]
    ct = _cotangent("none", (N,), dtype, 8)
    ours = _ours(
        lambda x, y, z: jaxloss.triplet_margin(x, y, z, eps=0.0, margin=2.0), (a, pos, neg), ct
    )
    theirs = _torch(
        lambda x, y, z: F.triplet_margin_loss(x, y, z, eps=0.0, margin=2.0, reduction="none"),
        (a, pos, neg),
        ct,
    )
    _check(ours, theirs)
    for p in (3.0, 1.5, 1.0, math.inf):
        _, grads = _ours(
            lambda x, y, z, p=p: jaxloss.triplet_margin(
                x, y, z, eps=0.0, margin=2.0, norm_degree=p
            ),
            (a, pos, neg),
            ct,
        )
        assert all(np.isfinite(g).all() for g in grads)


@pytest.mark.parametrize("dtype", DTYPES)
def test_triplet_margin_matches_optax_for_p2(dtype):
    """optax adds eps inside the root (sqrt(Σd² + eps)); with eps = 0 both are the
    Euclidean distance."""
    a, pos, neg = _normal(9, dtype, (N, D), (N, D), (N, D))
    for reduction in REDUCTIONS:
        ct = _cotangent(reduction, (N,), dtype, 10)
        ours = _ours(
            lambda x, y, z, r=reduction: jaxloss.triplet_margin(
                x, y, z, eps=0.0, margin=1.5, reduction=r
            ),
            (a, pos, neg),
            ct,
        )
        theirs = _optax(
            lambda x, y, z: optax.losses.triplet_margin_loss(x, y, z, margin=1.5, eps=0.0),
            (a, pos, neg),
            reduction,
            ct,
        )
        _check(ours, theirs, reduction)


def test_triplet_margin_differs_from_optax_for_odd_degrees_as_documented():
    """optax's |·| is missing for odd degrees: it is not a norm there; ours is torch's."""
    a, pos, neg = _normal(11, "float64", (N, D), (N, D), (N, D))
    with jax.numpy_dtype_promotion("standard"):
        theirs = optax.losses.triplet_margin_loss(a, pos, neg, norm_degree=1, eps=0.0)
    ours = jaxloss.triplet_margin(a, pos, neg, norm_degree=1, eps=0.0)
    want = F.triplet_margin_loss(
        *(torch.tensor(x) for x in (a, pos, neg)), p=1, eps=0.0, reduction="none"
    ).numpy()
    np.testing.assert_allclose(ours, want, rtol=1e-12)
    assert not np.allclose(np.asarray(theirs), want)


# --- triplet_margin_with_distance vs F.triplet_margin_with_distance_loss


def _l1_jax(x, y):
    return jnp.sum(jnp.abs(x - y), axis=-1)


def _l1_torch(x, y):
    return torch.sum(torch.abs(x - y), dim=-1)


def _cos_jax(x, y):
    return 1 - jaxloss.cosine_similarity(x, y)


def _cos_torch(x, y):
    return 1 - F.cosine_similarity(x, y, eps=0.0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("swap", [False, True], ids=["noswap", "swap"])
@pytest.mark.parametrize("which", ["default", "l1", "cosine"])
def test_triplet_margin_with_distance_matches_torch(which, swap, dtype):
    a, pos, neg = _normal(12, dtype, (N, D), (N, D), (N, D))
    ours_d, theirs_d, margin = {
        "default": (None, None, 1.5),
        "l1": (_l1_jax, _l1_torch, 3.0),
        "cosine": (_cos_jax, _cos_torch, 0.5),
    }[which]
    for reduction in REDUCTIONS:
        ct = _cotangent(reduction, (N,), dtype, 13)
        ours = _ours(
            lambda x, y, z, r=reduction: jaxloss.triplet_margin_with_distance(
                x, y, z, distance=ours_d, margin=margin, swap=swap, reduction=r
            ),
            (a, pos, neg),
            ct,
        )
        theirs = _torch(
            lambda x, y, z, r=reduction: F.triplet_margin_with_distance_loss(
                x, y, z, distance_function=theirs_d, margin=margin, swap=swap, reduction=r
            ),
            (a, pos, neg),
            ct,
        )
        _check(ours, theirs, reduction)


# --- margin_ranking and hinge_embedding


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("margin", [0.0, 0.5])
def test_margin_ranking_matches_torch(margin, dtype):
    x1, x2 = _normal(14, dtype, (N, 3), (N, 3))
    t = _signs(15, (N, 3)).astype(dtype)
    t[0, 0] = 0.5  # PyTorch scales by any target value
    for reduction in REDUCTIONS:
        ct = _cotangent(reduction, (N, 3), dtype, 16)
        ours = _ours(
            lambda a, b, y, r=reduction: jaxloss.margin_ranking(
                a, b, y, margin=margin, reduction=r
            ),
            (x1, x2, t),
            ct,
        )
        theirs = _torch(
            lambda a, b, y, r=reduction: F.margin_ranking_loss(a, b, y, margin=margin, reduction=r),
            (x1, x2, t),
            ct,
        )
        _check(ours, theirs, reduction)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("margin", [1.0, 0.3])
def test_hinge_embedding_matches_torch(margin, dtype):
    (x,) = _normal(17, dtype, (N, 4))
    t = _signs(18, (N, 4)).astype(dtype)  # other targets are refused (PyTorch: both terms)
    for reduction in REDUCTIONS:
        ct = _cotangent(reduction, (N, 4), dtype, 19)
        ours = _ours(
            lambda s, r=reduction: jaxloss.hinge_embedding(s, t, margin=margin, reduction=r),
            (x,),
            ct,
        )
        theirs = _torch(
            lambda s, r=reduction: F.hinge_embedding_loss(
                s, torch.tensor(t), margin=margin, reduction=r
            ),
            (x,),
            ct,
        )
        _check(ours, theirs, reduction)


# --- cosine_similarity / cosine_distance vs optax


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("epsilon", [0.0, 4.0])
@pytest.mark.parametrize("axis", [-1, 0, (1, 2)], ids=["last", "first", "tuple"])
@pytest.mark.parametrize("name", ["cosine_similarity", "cosine_distance"])
def test_cosine_matches_optax(name, axis, epsilon, dtype):
    a, b = _normal(20, dtype, (5, 4, 3), (5, 4, 3), scale=1.5)
    ours_fn, theirs_fn = getattr(jaxloss, name), getattr(optax.losses, name)
    shape = jnp.sum(jnp.asarray(a), axis=axis).shape
    for reduction in REDUCTIONS:
        ct = _cotangent(reduction, shape, dtype, 21)
        ours = _ours(
            lambda x, y, r=reduction: ours_fn(x, y, epsilon=epsilon, axis=axis, reduction=r),
            (a, b),
            ct,
        )
        theirs = _optax(
            lambda x, y: theirs_fn(x, y, epsilon=epsilon, axis=axis), (a, b), reduction, ct
        )
        _check(ours, theirs, reduction)


def test_cosine_is_finite_at_zero_vectors_where_optax_is_nan():
    a = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 2.0]])
    b = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    with jax.numpy_dtype_promotion("standard"):
        assert np.isnan(np.asarray(optax.losses.cosine_similarity(a, b))).all()
    value, grads = _ours(lambda x, y: jaxloss.cosine_similarity(x, y), (a, b), np.ones(2))
    np.testing.assert_array_equal(value, [0.0, 0.0])
    for g in grads:
        np.testing.assert_array_equal(g, np.zeros_like(g))


def test_cosine_epsilon_is_torch_eps_squared():
    """PyTorch floors each norm at eps; jaxloss (like optax) floors the squared norm:
    the same values with epsilon = eps². Below the floor PyTorch's gradient treats the
    clamp as the identity (it clamps under no_grad); jaxloss's is the derivative of the
    value (the norm is a constant there). Above it the gradients agree."""
    a, b = _normal(22, "float64", (N, D), (N, D))
    a[:3] *= 1e-3
    ct = np.random.default_rng(23).normal(size=N)
    value, grads = _ours(lambda x, y: jaxloss.cosine_similarity(x, y, epsilon=0.01), (a, b), ct)
    want, want_grads = _torch(lambda x, y: F.cosine_similarity(x, y, eps=0.1), (a, b), ct)
    np.testing.assert_allclose(value, want, **TOLERANCES["float64"])
    for g, w in zip(grads, want_grads, strict=True):
        np.testing.assert_allclose(g[3:], w[3:], **TOLERANCES["float64"])
    # Below the floor: ∂c/∂a = b / (n_a n_b), no projection term.
    nb = np.linalg.norm(b[:3], axis=-1, keepdims=True)
    np.testing.assert_allclose(grads[0][:3], ct[:3, None] * b[:3] / (0.1 * nb), rtol=1e-10)
