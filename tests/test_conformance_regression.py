"""Conformance of the regression losses with live PyTorch and optax.

Every test draws seeded random inputs, evaluates the peer (``torch.nn.functional``
or ``optax.losses``) and jaxloss on the same numbers, and compares the values and
the gradients with respect to every array input. Gradients come from torch
autograd (``backward`` with a random upstream cotangent for ``reduction="none"``,
plain ``backward()`` for ``"mean"``/``"sum"``) and from ``jax.vjp`` on the public
jaxloss function with the same cotangent. Comparisons run in float64 with tight
tolerances, and once more in float32 with float32 tolerances.

Documented deliberate differences that the tests account for:

* ``F.poisson_nll_loss(full=True)`` has a NaN gradient with respect to zero
  targets; ours is finite. Target gradients are compared where torch's is finite,
  ours is checked finite everywhere, and at zero targets ours must equal the
  gradient without the Stirling term (which is masked out for ``t <= 1``).
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
    "float64": {"rtol": 1e-12, "atol": 1e-13},
    "float32": {"rtol": 1e-5, "atol": 1e-6},
}
SHAPES = ((37,), (4, 5, 3))


# --- harness


def _torch_run(fn, arrays, reduction, cotangent):
    """Value and gradients of ``fn`` with respect to every array, by torch autograd."""
    tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*tensors)
    if reduction == "none":
        out.backward(torch.tensor(cotangent))
    else:
        out.backward()
    return out.detach().numpy(), [t.grad.numpy() for t in tensors]


def _jax_run(fn, arrays, reduction, cotangent):
    """Value and gradients of ``fn`` with respect to every array, by ``jax.vjp``."""
    xs = [jnp.asarray(a) for a in arrays]
    out, vjp = jax.vjp(fn, *xs)
    ct = jnp.asarray(cotangent) if reduction == "none" else jnp.ones((), out.dtype)
    grads = vjp(ct)
    for x, g in zip(xs, grads, strict=True):
        assert g.dtype == x.dtype, (g.dtype, x.dtype)
        assert g.shape == x.shape, (g.shape, x.shape)
    return np.asarray(out), [np.asarray(g) for g in grads]


def _assert_close(got, want, dtype, what):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    assert got.dtype == np.dtype(dtype), f"{what}: dtype {got.dtype} != {dtype}"
    np.testing.assert_allclose(got, want, err_msg=what, **TOLERANCES[dtype])


def _compare(ours, theirs, arrays, names, reduction, dtype, out_shape, seed):
    """Runs both sides with one upstream cotangent and compares value and gradients."""
    cotangent = np.random.default_rng(seed).normal(size=out_shape).astype(dtype)
    value, grads = _jax_run(ours, arrays, reduction, cotangent)
    ref_value, ref_grads = _torch_run(theirs, arrays, reduction, cotangent)
    _assert_close(value, ref_value, dtype, "value")
    for name, g, ref in zip(names, grads, ref_grads, strict=True):
        _assert_close(g, ref, dtype, f"gradient w.r.t. {name}")


def _pair(seed, shape, dtype, scale):
    """Targets ~ N(0, 1) and predictions = targets + d with d ~ U(-3, 3) * scale.

    With ``scale`` the loss's threshold, about a third of the errors lie inside
    the threshold and the rest outside, so both branches are exercised.
    """
    rng = np.random.default_rng(seed)
    targets = rng.normal(size=shape)
    predictions = targets + scale * rng.uniform(-3.0, 3.0, size=shape)
    return predictions.astype(dtype), targets.astype(dtype)


# --- elementwise losses against torch.nn.functional

ELEMENTWISE = [
    # (id, ours, torch's, threshold used to spread the errors)
    ("mse", jaxloss.squared_error, F.mse_loss, 1.0),
    ("l1", jaxloss.absolute_error, F.l1_loss, 1.0),
    *[
        (
            f"huber-delta{delta}",
            lambda p, t, *, reduction, delta=delta: jaxloss.huber(
                p, t, delta=delta, reduction=reduction
            ),
            lambda p, t, *, reduction, delta=delta: F.huber_loss(
                p, t, delta=delta, reduction=reduction
            ),
            delta,
        )
        for delta in (0.1, 0.5, 1.0, 2.5)
    ],
    *[
        (
            f"smooth_l1-beta{beta}",
            lambda p, t, *, reduction, beta=beta: jaxloss.smooth_l1(
                p, t, beta=beta, reduction=reduction
            ),
            lambda p, t, *, reduction, beta=beta: F.smooth_l1_loss(
                p, t, beta=beta, reduction=reduction
            ),
            beta if beta > 0 else 1.0,
        )
        for beta in (0.0, 0.05, 0.5, 1.0, 3.0)
    ],
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize(
    ("ours", "theirs", "scale"),
    [case[1:] for case in ELEMENTWISE],
    ids=[case[0] for case in ELEMENTWISE],
)
def test_elementwise_matches_torch(ours, theirs, scale, shape, reduction, dtype):
    predictions, targets = _pair(0, shape, dtype, scale)
    _compare(
        lambda p, t: ours(p, t, reduction=reduction),
        lambda p, t: theirs(p, t, reduction=reduction),
        [predictions, targets],
        ["predictions", "targets"],
        reduction,
        dtype,
        shape,
        seed=1,
    )


# --- poisson_nll


def _poisson_inputs(seed, shape, dtype, log_input, eps):
    """Log-rates or rates, and counts with zeros, ones and a few fractional targets."""
    rng = np.random.default_rng(seed)
    targets = rng.poisson(2.0, size=shape).astype(np.float64)
    targets.flat[:5] = [0.0, 1.0, 0.5, 1.5, 0.0]
    if log_input:
        predictions = rng.normal(size=shape)
    else:
        predictions = rng.uniform(0.05, 4.0, size=shape)
        if eps > 0:
            predictions.flat[5] = 0.0  # a zero rate is finite only thanks to eps
    return predictions.astype(dtype), targets.astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("eps", [1e-8, 0.0, 0.3])
@pytest.mark.parametrize("full", [False, True], ids=["partial", "full"])
@pytest.mark.parametrize("log_input", [True, False], ids=["log_input", "rate_input"])
def test_poisson_nll_matches_torch(log_input, full, eps, reduction, dtype):
    shape = (6, 5)
    predictions, targets = _poisson_inputs(2, shape, dtype, log_input, eps)
    cotangent = np.random.default_rng(3).normal(size=shape).astype(dtype)

    def ours(p, t, full=full):
        return jaxloss.poisson_nll(
            p, t, log_input=log_input, full=full, eps=eps, reduction=reduction
        )

    def theirs(p, t, full=full):
        return F.poisson_nll_loss(
            p, t, log_input=log_input, full=full, eps=eps, reduction=reduction
        )

    args = [predictions, targets]
    value, (gp, gt) = _jax_run(ours, args, reduction, cotangent)
    ref_value, (ref_gp, ref_gt) = _torch_run(theirs, args, reduction, cotangent)
    _assert_close(value, ref_value, dtype, "value")
    _assert_close(gp, ref_gp, dtype, "gradient w.r.t. predictions")

    # Ours is finite everywhere, torch's is NaN at zero targets with full=True only.
    assert np.isfinite(gt).all(), gt
    finite = np.isfinite(ref_gt)
    assert np.all(finite | (full & (targets == 0))), ref_gt
    _assert_close(gt[finite], ref_gt[finite], dtype, "gradient w.r.t. targets")
    if full:
        # The Stirling term is masked out for t <= 1, so at t = 0 the target
        # gradient is the one without it (torch's, which is finite there).
        zero = targets == 0
        assert zero.any()
        _, (_, ref_gt_partial) = _torch_run(
            lambda p, t: theirs(p, t, full=False), args, reduction, cotangent
        )
        _assert_close(gt[zero], ref_gt_partial[zero], dtype, "target gradient at t = 0")


# --- gaussian_nll

VARIANCE_SHAPES = [
    # (predictions' shape, variance shape): every shape torch's gaussian_nll_loss accepts
    ((6, 4), (6, 4)),  # heteroscedastic
    ((6, 4), (6,)),  # input.shape[:-1]
    ((6, 4), (6, 1)),  # one axis of size 1
    ((6, 4), (1, 4)),
    ((4, 2, 3), (4, 2, 3)),
    ((4, 2, 3), (4, 2)),
    ((4, 2, 3), (4, 2, 1)),
    ((4, 2, 3), (4, 1, 3)),
    ((4, 2, 3), (1, 2, 3)),
    ((7,), (7,)),
    ((7,), (1,)),
    ((7,), ()),  # input.shape[:-1] == (): torch unsqueezes it to (1,)
]


def _gaussian_inputs(seed, shape, var_shape, dtype, low=0.05):
    rng = np.random.default_rng(seed)
    predictions = rng.normal(size=shape)
    targets = predictions + rng.normal(scale=1.5, size=shape)
    variance = rng.uniform(low, 2.0, size=var_shape)
    return predictions.astype(dtype), targets.astype(dtype), variance.astype(dtype)


def _gaussian_compare(predictions, targets, variance, full, eps, reduction, dtype):
    _compare(
        lambda p, t, v: jaxloss.gaussian_nll(p, t, v, full=full, eps=eps, reduction=reduction),
        lambda p, t, v: F.gaussian_nll_loss(p, t, v, full=full, eps=eps, reduction=reduction),
        [predictions, targets, variance],
        ["predictions", "targets", "variance"],
        reduction,
        dtype,
        predictions.shape,
        seed=5,
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("eps", [1e-6, 0.1])
@pytest.mark.parametrize("full", [False, True], ids=["partial", "full"])
@pytest.mark.parametrize(("shape", "var_shape"), VARIANCE_SHAPES, ids=str)
def test_gaussian_nll_matches_torch(shape, var_shape, full, eps, reduction, dtype):
    # Variances from U(0.05, 2): with eps = 0.1 some entries are clamped.
    predictions, targets, variance = _gaussian_inputs(4, shape, var_shape, dtype)
    _gaussian_compare(predictions, targets, variance, full, eps, reduction, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("eps", [1e-6, 1e-2, 0.5])
@pytest.mark.parametrize(("shape", "var_shape"), [((5, 4), (5, 4)), ((5, 4), (5,))], ids=str)
def test_gaussian_nll_clamp_is_straight_through_like_torch(shape, var_shape, eps, reduction, dtype):
    """Variances below eps (one exactly zero): clamped value, gradient through the clamp."""
    predictions, targets, variance = _gaussian_inputs(6, shape, var_shape, "float64", low=0.6)
    rng = np.random.default_rng(7)
    below = rng.uniform(size=var_shape) < 0.4
    variance = np.where(below, eps * rng.uniform(size=var_shape), variance)
    variance.flat[0] = 0.0
    predictions, targets, variance = (x.astype(dtype) for x in (predictions, targets, variance))
    assert (variance < eps).sum() >= 2
    _gaussian_compare(predictions, targets, variance, False, eps, reduction, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gaussian_nll_scalar_variance_matches_torch_float(reduction, dtype):
    """torch takes a Python float variance for any shape; ours takes a 0-d array."""
    shape = (6, 4)
    predictions, targets, _ = _gaussian_inputs(8, shape, (), dtype)
    _compare(
        lambda p, t: jaxloss.gaussian_nll(
            p, t, jnp.asarray(0.7, dtype), full=True, reduction=reduction
        ),
        lambda p, t: F.gaussian_nll_loss(p, t, 0.7, full=True, reduction=reduction),
        [predictions, targets],
        ["predictions", "targets"],
        reduction,
        dtype,
        shape,
        seed=9,
    )


# --- optax.losses (per-element losses; reduced with jnp.mean / jnp.sum for "mean"/"sum")

OPTAX = [
    ("squared_error", jaxloss.squared_error, optax.losses.squared_error, 1.0),
    *[
        (
            f"huber_loss-delta{delta}",
            lambda p, t, *, reduction, delta=delta: jaxloss.huber(
                p, t, delta=delta, reduction=reduction
            ),
            lambda p, t, delta=delta: optax.losses.huber_loss(p, t, delta=delta),
            delta,
        )
        for delta in (0.1, 1.0, 2.5)
    ],
    ("log_cosh", jaxloss.log_cosh, optax.losses.log_cosh, 1.0),
]

_OPTAX_REDUCE = {"none": lambda x: x, "mean": jnp.mean, "sum": jnp.sum}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize(
    ("ours", "theirs", "scale"),
    [case[1:] for case in OPTAX],
    ids=[case[0] for case in OPTAX],
)
def test_matches_optax(ours, theirs, scale, shape, reduction, dtype):
    predictions, targets = _pair(10, shape, dtype, scale)
    # A few large errors: log_cosh must stay accurate (no overflow of cosh).
    predictions.flat[:3] = targets.flat[:3] + np.array([40.0, -300.0, 800.0], dtype)
    cotangent = np.random.default_rng(11).normal(size=shape).astype(dtype)
    args = [predictions, targets]
    value, grads = _jax_run(
        lambda p, t: ours(p, t, reduction=reduction), args, reduction, cotangent
    )
    ref_value, ref_grads = _jax_run(
        lambda p, t: _OPTAX_REDUCE[reduction](theirs(p, t)), args, reduction, cotangent
    )
    _assert_close(value, ref_value, dtype, "value")
    for name, g, ref in zip(["predictions", "targets"], grads, ref_grads, strict=True):
        _assert_close(g, ref, dtype, f"gradient w.r.t. {name}")
