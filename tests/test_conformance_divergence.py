"""Conformance of the divergence losses with live PyTorch and optax.

Every test draws seeded random inputs, evaluates the peer (``torch.nn.functional``,
``optax.losses``, or the textbook formula written in torch for the losses no peer
has) and jaxloss on the same numbers, and compares the values and the gradients
with respect to both array inputs: torch autograd (``backward`` with a random
upstream cotangent for per-example outputs, plain ``backward()`` for scalars)
against ``jax.vjp`` of the public jaxloss function with the same cotangent.
Comparisons run in float64 with tight tolerances and in float32 with float32 ones.

Reductions map as documented in docs/divergence.md: jaxloss's per-example
``"none"`` is torch's elementwise ``"none"`` summed over the class axis;
``"sum"`` is ``"sum"``; torch's ``"batchmean"`` is jaxloss's ``"mean"`` for
[batch, classes] inputs (``"sum"`` divided by the leading size in general); and
torch's ``"mean"`` is that divided by the number of classes.

Deliberate differences that the tests account for: torch and optax give NaN
gradients with respect to zero targets (and NaN values at ``0 * -inf``); ours are
finite, 0 (or -1 for ``generalized_kl_divergence``) by the documented convention.
Those entries are compared against the convention, everything else against the peer.
"""

from __future__ import annotations

import functools
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
import torch.nn.functional as F

import jaxloss

DTYPES = ("float64", "float32")
TOLERANCES = {
    "float64": {"rtol": 1e-10, "atol": 1e-12},
    "float32": {"rtol": 2e-5, "atol": 2e-6},
}
SHAPES = ((6, 5), (3, 4, 7))


# --- harness


def _jax_run(fn, arrays, cotangent):
    """Value and gradients of ``fn`` with respect to every array, by ``jax.vjp``."""
    xs = [jnp.asarray(a) for a in arrays]
    out, vjp = jax.vjp(fn, *xs)
    ct = jnp.ones((), out.dtype) if out.ndim == 0 else jnp.asarray(cotangent, out.dtype)
    grads = vjp(ct)
    for x, g in zip(xs, grads, strict=True):
        assert g.dtype == x.dtype and g.shape == x.shape, (g.dtype, g.shape, x.dtype, x.shape)
    return np.asarray(out), [np.asarray(g) for g in grads]


def _torch_run(fn, arrays, cotangent):
    """Value and gradients of ``fn`` with respect to every array, by torch autograd."""
    tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
    with warnings.catch_warnings():
        # F.kl_div(reduction="mean") warns that it is not the KL divergence: we know.
        warnings.simplefilter("ignore", UserWarning)
        out = fn(*tensors)
    if out.ndim == 0:
        out.backward()
    else:
        out.backward(torch.tensor(cotangent))
    return out.detach().numpy(), [t.grad.numpy() for t in tensors]


def _close(got, want, dtype, what, mask=None):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    assert got.dtype == np.dtype(dtype), f"{what}: dtype {got.dtype} != {dtype}"
    if mask is not None:
        got, want = got[mask], want[mask]
    np.testing.assert_allclose(got, want, err_msg=what, **TOLERANCES[dtype])


def _compare(ours, theirs, arrays, dtype, names, seed, target_zero=None):
    """Runs both sides with one cotangent; at ``target_zero`` entries (where the peer's
    target gradient is NaN) ours must be finite and equal ``target_zero``'s value."""
    out_shape = np.shape(ours(*[jnp.asarray(a) for a in arrays]))
    cotangent = np.random.default_rng(seed).normal(size=out_shape).astype(dtype)
    value, grads = _jax_run(ours, arrays, cotangent)
    ref_value, ref_grads = _torch_run(theirs, arrays, cotangent)
    _close(value, ref_value, dtype, "value")
    _close(grads[0], ref_grads[0], dtype, f"gradient w.r.t. {names[0]}")
    if target_zero is None:
        _close(grads[1], ref_grads[1], dtype, f"gradient w.r.t. {names[1]}")
        return
    where_zero, expected = target_zero
    assert np.isfinite(grads[1]).all(), grads[1]
    assert np.isnan(ref_grads[1][where_zero]).all()  # the peer's NaN we do not copy
    _close(grads[1], ref_grads[1], dtype, f"gradient w.r.t. {names[1]}", ~where_zero)
    np.testing.assert_array_equal(grads[1][where_zero], expected(grads, where_zero))


def _distributions(seed, shape, dtype, zeros=False):
    """Log-probabilities and probabilities over the last axis; with ``zeros``, about a
    fifth of the target probabilities are exactly 0 (renormalised)."""
    rng = np.random.default_rng(seed)
    log_p = torch.log_softmax(torch.tensor(rng.normal(size=shape)), -1).numpy()
    t = torch.softmax(torch.tensor(1.5 * rng.normal(size=shape)), -1).numpy()
    if zeros:
        t = np.where(rng.uniform(size=shape) < 0.2, 0.0, t)
        t.reshape(-1, shape[-1])[:, 0] = 0.0  # at least one zero per row ...
        t.reshape(-1, shape[-1])[:, 1] += 0.1  # ... and never a row of zeros
        t = t / t.sum(-1, keepdims=True)
    return log_p.astype(dtype), t.astype(dtype)


TORCH_REDUCTIONS = ("none", "sum", "batchmean", "mean")


def _ours_for(fn, torch_reduction, shape, **kwargs):
    """jaxloss's equivalent of a torch reduction, as the docs' migration table writes it."""
    if torch_reduction == "none":
        return lambda a, b: fn(a, b, reduction="none", **kwargs)
    if torch_reduction == "sum":
        return lambda a, b: fn(a, b, reduction="sum", **kwargs)
    if torch_reduction == "batchmean":
        if len(shape) == 2:
            return lambda a, b: fn(a, b, reduction="mean", **kwargs)
        return lambda a, b: fn(a, b, reduction="sum", **kwargs) / shape[0]
    # torch's "mean": the mean over every element, i.e. batchmean / classes for 2-D.
    if len(shape) == 2:
        return lambda a, b: fn(a, b, reduction="mean", **kwargs) / shape[-1]
    return lambda a, b: fn(a, b, reduction="sum", **kwargs) / int(np.prod(shape))


def _torch_for(torch_fn, torch_reduction):
    """The torch side; its elementwise "none" is summed over the class axis."""
    if torch_reduction == "none":
        return lambda *a: torch_fn(*a, reduction="none").sum(-1)
    return lambda *a: torch_fn(*a, reduction=torch_reduction)


# --- kl_divergence / kl_divergence_with_log_targets against F.kl_div


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", TORCH_REDUCTIONS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_kl_divergence_matches_torch_kl_div(shape, reduction, dtype):
    log_p, t = _distributions(0, shape, dtype)
    _compare(
        _ours_for(jaxloss.kl_divergence, reduction, shape),
        _torch_for(F.kl_div, reduction),
        [log_p, t],
        dtype,
        ("log_predictions", "targets"),
        seed=1,
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", TORCH_REDUCTIONS)
def test_kl_divergence_zero_targets_torch_nan_ours_zero(reduction, dtype):
    """Zero targets: torch's target gradient is NaN there, ours is 0; the rest agrees."""
    shape = (6, 5)
    log_p, t = _distributions(2, shape, dtype, zeros=True)
    _compare(
        _ours_for(jaxloss.kl_divergence, reduction, shape),
        _torch_for(F.kl_div, reduction),
        [log_p, t],
        dtype,
        ("log_predictions", "targets"),
        seed=3,
        target_zero=(t == 0, lambda grads, z: np.zeros(z.sum(), dtype)),
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", TORCH_REDUCTIONS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_kl_divergence_with_log_targets_matches_torch(shape, reduction, dtype):
    log_p, t = _distributions(4, shape, dtype)
    log_t = np.log(t)
    _compare(
        _ours_for(jaxloss.kl_divergence_with_log_targets, reduction, shape),
        _torch_for(functools.partial(F.kl_div, log_target=True), reduction),
        [log_p, log_t],
        dtype,
        ("log_predictions", "log_targets"),
        seed=5,
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_kl_divergence_with_log_targets_minus_inf_targets(dtype):
    """log t = -inf: torch gives a NaN value (0 * -inf); ours adds exactly 0, and the
    finite entries agree with torch on the same rows without those classes."""
    shape = (6, 5)
    log_p, t = _distributions(6, shape, dtype, zeros=True)
    with np.errstate(divide="ignore"):
        log_t = np.log(t)
    value, (g_lp, g_lt) = _jax_run(
        jaxloss.kl_divergence_with_log_targets, [log_p, log_t], np.ones(6, dtype)
    )
    assert np.isfinite(value).all() and np.isfinite(g_lp).all() and np.isfinite(g_lt).all()
    zero = t == 0
    np.testing.assert_array_equal(g_lp[zero], 0)
    np.testing.assert_array_equal(g_lt[zero], 0)
    # torch on the same numbers with the zero classes removed by a tiny target instead
    ref_value, (ref_lp, ref_lt) = _torch_run(
        lambda a, b: F.kl_div(a, b, reduction="none", log_target=True).nan_to_num(0.0).sum(-1),
        [log_p, np.where(zero, np.asarray(-np.inf, dtype), log_t)],
        np.ones(6, dtype),
    )
    _close(value, ref_value, dtype, "value")
    _close(g_lp, ref_lp, dtype, "gradient w.r.t. log_predictions", ~zero)
    _close(g_lt, ref_lt, dtype, "gradient w.r.t. log_targets", ~zero)


# --- optax


def _optax_reduce(reduction):
    return {"none": lambda x: x, "mean": jnp.mean, "sum": jnp.sum}[reduction]


OPTAX = [
    ("kl_divergence", jaxloss.kl_divergence, optax.losses.kl_divergence, False),
    (
        "kl_divergence_with_log_targets",
        jaxloss.kl_divergence_with_log_targets,
        optax.losses.kl_divergence_with_log_targets,
        True,
    ),
    (
        "generalized_kl_divergence",
        jaxloss.generalized_kl_divergence,
        optax.losses.generalized_kl_divergence,
        False,
    ),
]
# (axis, reduction): every reduction on the default axis, the other axis forms once each.
AXIS_REDUCTIONS = [(-1, "none"), (-1, "mean"), (-1, "sum"), (0, "none"), ((0, 2), "mean"),
                   (None, "none")]  # fmt: skip


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("axis", "reduction"), AXIS_REDUCTIONS, ids=str)
@pytest.mark.parametrize(
    ("ours", "theirs", "log_targets"), [c[1:] for c in OPTAX], ids=[c[0] for c in OPTAX]
)
def test_matches_optax(ours, theirs, log_targets, axis, reduction, dtype):
    shape = (3, 4, 5)
    rng = np.random.default_rng(7)
    log_p = (0.8 * rng.normal(size=shape)).astype(dtype)  # unnormalised is fine too
    t = rng.uniform(0.05, 2.0, size=shape).astype(dtype)
    second = np.log(t) if log_targets else t
    per_example = np.shape(optax.losses.kl_divergence(log_p, t, axis=axis))
    ct = rng.normal(size=per_example).astype(dtype)
    value, grads = _jax_run(
        lambda a, b: ours(a, b, axis=axis, reduction=reduction), [log_p, second], ct
    )
    ref_value, ref_grads = _jax_run(
        lambda a, b: _optax_reduce(reduction)(theirs(a, b, axis=axis)), [log_p, second], ct
    )
    _close(value, ref_value, dtype, "value")
    for name, g, r in zip(("log_predictions", "targets"), grads, ref_grads, strict=True):
        _close(g, r, dtype, f"gradient w.r.t. {name}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("ours", "theirs", "at_zero"),
    [
        (jaxloss.kl_divergence, optax.losses.kl_divergence, 0.0),
        (jaxloss.generalized_kl_divergence, optax.losses.generalized_kl_divergence, -1.0),
    ],
    ids=["kl_divergence", "generalized_kl_divergence"],
)
def test_optax_zero_targets(ours, theirs, at_zero, dtype):
    """optax's target gradient is NaN at zero targets; ours is the documented convention."""
    log_p, t = _distributions(8, (6, 5), dtype, zeros=True)
    ct = np.random.default_rng(9).normal(size=6).astype(dtype)
    value, (g_lp, g_t) = _jax_run(ours, [log_p, t], ct)
    ref_value, (ref_lp, ref_t) = _jax_run(theirs, [log_p, t], ct)
    zero = t == 0
    assert np.isnan(ref_t[zero]).all()
    _close(value, ref_value, dtype, "value")
    _close(g_lp, ref_lp, dtype, "gradient w.r.t. log_predictions")
    _close(g_t, ref_t, dtype, "gradient w.r.t. targets", ~zero)
    expected = at_zero * np.broadcast_to(ct[:, None], t.shape)
    np.testing.assert_array_equal(g_t[zero], expected[zero])


def test_optax_convex_kl_divergence_is_generalized():
    """optax's deprecated convex_kl_divergence is generalized_kl_divergence."""
    log_p, t = _distributions(10, (6, 5), "float64")
    t = 3.0 * t  # unnormalised
    with pytest.warns(DeprecationWarning):
        ref = optax.losses.convex_kl_divergence(log_p, t)
    _close(jaxloss.generalized_kl_divergence(log_p, t), ref, "float64", "value")


# --- distillation against the textbook formula in torch


def _torch_distillation(temperature):
    def f(s, t, reduction):
        log_q = F.log_softmax(s / temperature, dim=-1)
        p = F.softmax(t / temperature, dim=-1)
        return F.kl_div(log_q, p, reduction=reduction) * temperature**2

    return f


# (shape, temperature): three temperatures on [batch, classes], one on three axes.
DISTILLATION_CASES = [((6, 5), 1.0), ((6, 5), 4.0), ((6, 5), 0.5), ((3, 4, 7), 2.0)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", TORCH_REDUCTIONS)
@pytest.mark.parametrize(("shape", "temperature"), DISTILLATION_CASES, ids=str)
def test_distillation_matches_torch_textbook(shape, temperature, reduction, dtype):
    rng = np.random.default_rng(12)
    s = (3 * rng.normal(size=shape)).astype(dtype)
    t = (3 * rng.normal(size=shape)).astype(dtype)
    _compare(
        _ours_for(jaxloss.distillation, reduction, shape, temperature=temperature),
        _torch_for(_torch_distillation(temperature), reduction),
        [s, t],
        dtype,
        ("student_logits", "teacher_logits"),
        seed=13,
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_distillation_masked_classes_match_torch_on_the_rest(dtype):
    """-inf logits in both at the same classes: torch's value is NaN (0 * -inf), ours
    equals torch on the inputs with those classes dropped."""
    rng = np.random.default_rng(14)
    s = (2 * rng.normal(size=(5, 6))).astype(dtype)
    t = (2 * rng.normal(size=(5, 6))).astype(dtype)
    masked = np.zeros((5, 6), bool)
    masked[:, 4:] = True
    s_m = np.where(masked, np.asarray(-np.inf, dtype), s)
    t_m = np.where(masked, np.asarray(-np.inf, dtype), t)
    ct = rng.normal(size=5).astype(dtype)
    value, (gs, gt) = _jax_run(lambda a, b: jaxloss.distillation(a, b, temperature=2.0),
                               [s_m, t_m], ct)  # fmt: skip
    ref_value, (ref_s, ref_t) = _torch_run(
        lambda a, b: _torch_distillation(2.0)(a, b, "none").sum(-1), [s[:, :4], t[:, :4]], ct
    )
    _close(value, ref_value, dtype, "value")
    _close(gs[:, :4], ref_s, dtype, "gradient w.r.t. student_logits")
    _close(gt[:, :4], ref_t, dtype, "gradient w.r.t. teacher_logits")
    assert not gs[:, 4:].any() and not gt[:, 4:].any()


# --- js_divergence against the textbook formula in torch (and SciPy for the value)


def _torch_js(a, b, reduction):
    p, q = a.exp(), b.exp()
    log_m = torch.log(0.5 * (p + q))
    elementwise = 0.5 * (p * (a - log_m) + q * (b - log_m))
    if reduction == "none":
        return elementwise
    if reduction == "batchmean":
        return elementwise.sum() / a.shape[0]
    return getattr(elementwise, reduction)()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", TORCH_REDUCTIONS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_js_divergence_matches_torch_textbook(shape, reduction, dtype):
    log_p, t = _distributions(15, shape, dtype)
    log_q = np.log(t)
    _compare(
        _ours_for(jaxloss.js_divergence, reduction, shape),
        _torch_for(_torch_js, reduction),
        [log_p, log_q],
        dtype,
        ("log_predictions", "log_targets"),
        seed=16,
    )


def test_js_divergence_is_scipy_jensenshannon_squared():
    from scipy.spatial.distance import jensenshannon

    log_p, t = _distributions(17, (8, 6), "float64", zeros=True)
    p = np.exp(log_p)
    with np.errstate(divide="ignore"):
        log_t = np.log(t)
    ours = np.asarray(jaxloss.js_divergence(log_p, log_t))
    theirs = jensenshannon(p, t, axis=-1) ** 2
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-14)
