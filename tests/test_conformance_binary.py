"""Conformance of the binary and multi-label losses with live PyTorch and optax.

Every test draws seeded random inputs, evaluates the peer (``torch.nn.functional``
or ``optax.losses``) and jaxloss on the same numbers, and compares the values and
the gradients with respect to every input the peer differentiates. Gradients come
from torch autograd (``backward`` with a random upstream cotangent for
``reduction="none"``, plain ``backward()`` for ``"mean"``/``"sum"``) and from
``jax.vjp`` of the public jaxloss function with the same cotangent; optax's
per-element losses are reduced with ``jnp.mean``/``jnp.sum`` and differentiated by
``jax.vjp``. Comparisons run in float64 with tight tolerances, and once more in
float32 with float32 tolerances.

Documented deliberate differences that the tests account for:

* PyTorch's ``weight`` with ``reduction="mean"`` divides the weighted sum by the
  number of elements; jaxloss's ``weights`` divide by the sum of the weights. The
  tests compare torch's weighted mean with jaxloss's weighted ``"sum"`` divided by
  the number of elements.
* ``F.binary_cross_entropy``'s target gradient is ``-logit(p)``, infinite at
  ``p`` in {0, 1}; jaxloss's is the derivative of the clamped value, ±100 there.
* PyTorch has no label smoothing for binary losses: jaxloss with
  ``label_smoothing=ε`` is compared with PyTorch on smoothed targets
  ``y(1 - ε) + ε/2`` (the target gradient then carries a factor ``1 - ε``).
* optax's ``sigmoid_focal_loss`` has a wrong gradient with respect to hard labels
  (0 or 1): its ``logsumexp(..., b=[1 - y, y])`` drops the term whose weight ``b``
  is 0, and with it that term's derivative with respect to ``b``. Label gradients
  are compared with optax at soft labels, and with one-sided finite differences
  (from inside [0, 1]) at hard labels, where optax's is shown to differ.
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
SHAPE = (6, 5)


# --- harness


def _torch_run(fn, arrays, diff, reduction, cotangent):
    """Value and gradients (None where not differentiated) of ``fn`` by torch autograd."""
    tensors = [torch.tensor(a, requires_grad=d) for a, d in zip(arrays, diff, strict=True)]
    out = fn(*tensors)
    if reduction == "none":
        out.backward(torch.tensor(cotangent))
    else:
        out.backward()
    grads = [t.grad.numpy() if d else None for t, d in zip(tensors, diff, strict=True)]
    return out.detach().numpy(), grads


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


def _compare_torch(ours, theirs, arrays, names, diff, reduction, dtype, out_shape, scale=None):
    """Runs both sides with one upstream cotangent; compares the value and the gradients
    torch computes. ``scale`` multiplies torch's gradients (per input) where a documented
    convention differs by a constant factor."""
    cotangent = np.random.default_rng(99).normal(size=out_shape).astype(dtype)
    value, grads = _jax_run(ours, arrays, reduction, cotangent)
    ref_value, ref_grads = _torch_run(theirs, arrays, diff, reduction, cotangent)
    _assert_close(value, ref_value, dtype, "value")
    scale = scale or [1.0] * len(arrays)
    for name, g, ref, s in zip(names, grads, ref_grads, scale, strict=True):
        if ref is not None:
            _assert_close(g, s * ref, dtype, f"gradient w.r.t. {name}")
    return grads


def _weighted(ours, reduction, n):
    """jaxloss's equivalent of a torch loss with ``weight`` under ``reduction``."""
    if reduction == "mean":
        return lambda *a: ours(*a, reduction="sum") / n
    return lambda *a: ours(*a, reduction=reduction)


def _labels(rng, shape):
    """Half hard 0/1 labels, half soft labels in [0, 1]."""
    hard = rng.integers(0, 2, size=shape).astype(np.float64)
    return np.where(rng.uniform(size=shape) < 0.5, hard, rng.uniform(size=shape))


def _weight_array(rng, kind, shape):
    return {
        "none": None,
        "per-class": rng.uniform(0.2, 2.0, shape[-1:]),
        "full": rng.uniform(0.2, 2.0, shape),
    }[kind]


# --- binary_cross_entropy


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight", ["none", "per-class", "full"])
def test_binary_cross_entropy_matches_torch(weight, reduction, dtype):
    rng = np.random.default_rng(1)
    p = rng.uniform(0.01, 0.99, SHAPE).astype(dtype)
    y = _labels(rng, SHAPE).astype(dtype)
    w = _weight_array(rng, weight, SHAPE)
    if w is None:
        ours = lambda p, y: jaxloss.binary_cross_entropy(p, y, reduction=reduction)  # noqa: E731
        theirs = lambda p, y: F.binary_cross_entropy(p, y, reduction=reduction)  # noqa: E731
    else:
        w = w.astype(dtype)
        ours = _weighted(
            lambda p, y, **k: jaxloss.binary_cross_entropy(p, y, weights=jnp.asarray(w), **k),
            reduction,
            p.size,
        )
        theirs = lambda p, y: F.binary_cross_entropy(  # noqa: E731
            p, y, weight=torch.tensor(w), reduction=reduction
        )
    _compare_torch(
        ours, theirs, [p, y], ["probabilities", "labels"], [True, True], reduction, dtype, SHAPE
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_binary_cross_entropy_boundaries_match_torch_except_the_label_gradient(dtype):
    p = np.array([0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.5], dtype)
    y = np.array([0.0, 1.0, 1.0, 0.0, 0.3, 0.7, 1.0], dtype)
    cotangent = np.random.default_rng(2).normal(size=p.shape).astype(dtype)
    value, (gp, gy) = _jax_run(jaxloss.binary_cross_entropy, [p, y], "none", cotangent)
    ref_value, (ref_gp, ref_gy) = _torch_run(
        lambda p, y: F.binary_cross_entropy(p, y, reduction="none"),
        [p, y],
        [True, True],
        "none",
        cotangent,
    )
    _assert_close(value, ref_value, dtype, "value")
    _assert_close(gp, ref_gp, dtype, "gradient w.r.t. probabilities")
    # torch: -logit(p), infinite at 0 and 1; ours: the clamped logs' difference, ±100.
    assert np.isinf(ref_gy[:6]).all()
    _assert_close(gy[:6], cotangent[:6] * np.array([100, -100] * 3, dtype), dtype, "label grad")
    _assert_close(gy[6:], ref_gy[6:], dtype, "label gradient inside (0, 1)")


# --- sigmoid_binary_cross_entropy


def _logits(rng, shape, dtype):
    x = 3 * rng.normal(size=shape)
    x.flat[:4] = [30.0, -30.0, 60.0, -60.0]  # saturated: exercises the stable forms
    return x.astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    ("pos_weight", "weight"),
    [
        ("none", "none"),
        ("none", "full"),
        ("scalar", "per-class"),
        ("per-class", "none"),
        ("per-class", "full"),
    ],
)
def test_sigmoid_binary_cross_entropy_matches_torch(pos_weight, weight, reduction, dtype):
    rng = np.random.default_rng(3)
    x = _logits(rng, SHAPE, dtype)
    y = _labels(rng, SHAPE).astype(dtype)
    pw = {"none": None, "scalar": rng.uniform(0.5, 4.0, (1,)), "per-class": None}[pos_weight]
    if pos_weight == "per-class":
        pw = rng.uniform(0.5, 4.0, SHAPE[-1:])
    pw = None if pw is None else pw.astype(dtype)
    w = _weight_array(rng, weight, SHAPE)
    w = None if w is None else w.astype(dtype)
    pw_j = None if pw is None else jnp.asarray(pw)
    w_j = None if w is None else jnp.asarray(w)

    def ours(x, y, **k):
        return jaxloss.sigmoid_binary_cross_entropy(x, y, pos_weight=pw_j, weights=w_j, **k)

    def theirs(x, y):
        return F.binary_cross_entropy_with_logits(
            x,
            y,
            weight=None if w is None else torch.tensor(w),
            pos_weight=None if pw is None else torch.tensor(pw),
            reduction=reduction,
        )

    fn = _weighted(ours, reduction, x.size) if w is not None else (
        lambda x, y: ours(x, y, reduction=reduction)
    )  # fmt: skip
    _compare_torch(fn, theirs, [x, y], ["logits", "labels"], [True, True], reduction, dtype, SHAPE)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.1, 0.35])
def test_sigmoid_binary_cross_entropy_label_smoothing_is_torch_on_smoothed_targets(
    label_smoothing, reduction, dtype
):
    rng = np.random.default_rng(4)
    x = _logits(rng, SHAPE, dtype)
    y = _labels(rng, SHAPE).astype(dtype)
    pw = rng.uniform(0.5, 4.0, SHAPE[-1:]).astype(dtype)
    eps = label_smoothing
    _compare_torch(
        lambda x, y: jaxloss.sigmoid_binary_cross_entropy(
            x, y, pos_weight=jnp.asarray(pw), label_smoothing=eps, reduction=reduction
        ),
        lambda x, y: F.binary_cross_entropy_with_logits(
            x, y * (1 - eps) + eps / 2, pos_weight=torch.tensor(pw), reduction=reduction
        ),
        [x, y],
        ["logits", "labels"],
        [True, True],
        reduction,
        dtype,
        SHAPE,
    )


# --- soft_margin


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(37,), (4, 5, 3)], ids=str)
def test_soft_margin_matches_torch(shape, reduction, dtype):
    rng = np.random.default_rng(5)
    # |x| <= ~12: PyTorch's log(1 + exp(-y x)) overflows in float32 beyond -y x ≈ 89.
    x = (3 * rng.normal(size=shape)).astype(dtype)
    t = rng.choice([-1.0, 1.0], size=shape).astype(dtype)
    _compare_torch(
        lambda x, t: jaxloss.soft_margin(x, t, reduction=reduction),
        lambda x, t: F.soft_margin_loss(x, t, reduction=reduction),
        [x, t],
        ["predictions", "targets"],
        [True, False],  # torch does not differentiate the targets
        reduction,
        dtype,
        shape,
    )


# --- multilabel_soft_margin


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("class_weights", [False, True], ids=["unweighted", "class_weights"])
@pytest.mark.parametrize("shape", [(6, 5), (3, 4, 5), (5,)], ids=str)
def test_multilabel_soft_margin_matches_torch(shape, class_weights, reduction, dtype):
    rng = np.random.default_rng(6)
    x = _logits(rng, shape, dtype)
    y = _labels(rng, shape).astype(dtype)
    arrays, names = [x, y], ["logits", "labels"]
    if class_weights:
        arrays.append(rng.uniform(0.2, 2.0, shape[-1:]).astype(dtype))
        names.append("class_weights")

    def ours(x, y, *w):
        return jaxloss.multilabel_soft_margin(
            x, y, class_weights=w[0] if w else None, reduction=reduction
        )

    def theirs(x, y, *w):
        return F.multilabel_soft_margin_loss(x, y, weight=w[0] if w else None, reduction=reduction)

    _compare_torch(ours, theirs, arrays, names, [True] * len(arrays), reduction, dtype, shape[:-1])


# --- optax (per-element losses; reduced with jnp.mean / jnp.sum)

_OPTAX_REDUCE = {"none": lambda x: x, "mean": jnp.mean, "sum": jnp.sum}


def _compare_optax(ours, theirs, arrays, names, reduction, dtype, where=None):
    """Compares values and gradients; ``where`` (per input, or None) limits a gradient's
    comparison to some entries."""
    cotangent = np.random.default_rng(7).normal(size=arrays[0].shape).astype(dtype)
    value, grads = _jax_run(lambda *a: ours(*a, reduction=reduction), arrays, reduction, cotangent)
    ref_value, ref_grads = _jax_run(
        lambda *a: _OPTAX_REDUCE[reduction](theirs(*a)), arrays, reduction, cotangent
    )
    _assert_close(value, ref_value, dtype, "value")
    where = where or [None] * len(arrays)
    for name, g, ref, m in zip(names, grads, ref_grads, where, strict=True):
        if m is not None:
            g, ref = g[m], ref[m]
        _assert_close(g, ref, dtype, f"gradient w.r.t. {name}")
    return grads, ref_grads


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_sigmoid_binary_cross_entropy_matches_optax(reduction, dtype):
    rng = np.random.default_rng(8)
    x = (3 * rng.normal(size=SHAPE)).astype(dtype)
    y = _labels(rng, SHAPE).astype(dtype)
    _compare_optax(
        jaxloss.sigmoid_binary_cross_entropy,
        optax.losses.sigmoid_binary_cross_entropy,
        [x, y],
        ["logits", "labels"],
        reduction,
        dtype,
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    ("alpha", "gamma"),
    [(None, 2.0), (0.25, 2.0), (None, 0.0), (0.75, 0.5), (0.25, 1.5), (None, 3.0)],
)
def test_sigmoid_focal_matches_optax(alpha, gamma, reduction, dtype):
    rng = np.random.default_rng(9)
    x = (3 * rng.normal(size=SHAPE)).astype(dtype)
    y = _labels(rng, SHAPE).astype(dtype)
    soft = (y > 0) & (y < 1)
    assert 0 < soft.sum() < soft.size
    _compare_optax(
        lambda x, y, **k: jaxloss.sigmoid_focal(x, y, alpha=alpha, gamma=gamma, **k),
        lambda x, y: optax.losses.sigmoid_focal_loss(x, y, alpha=alpha, gamma=gamma),
        [x, y],
        ["logits", "labels"],
        reduction,
        dtype,
        where=[None, soft],
    )


@pytest.mark.parametrize(("alpha", "gamma"), [(None, 2.0), (0.25, 0.5)])
def test_sigmoid_focal_label_gradient_at_hard_labels_is_the_one_sided_derivative(alpha, gamma):
    rng = np.random.default_rng(11)
    x = jnp.asarray(2 * rng.normal(size=(16,)))
    y = jnp.asarray(rng.integers(0, 2, size=(16,)).astype(np.float64))

    def ours(y):
        return jaxloss.sigmoid_focal(x, y, alpha=alpha, gamma=gamma)

    def theirs(y):
        return optax.losses.sigmoid_focal_loss(x, y, alpha=alpha, gamma=gamma)

    # Finite differences from inside [0, 1]: step up from 0, down from 1 (second order).
    h = 1e-5 * (1 - 2 * y)
    one_sided = (-3 * ours(y) + 4 * ours(y + h) - ours(y + 2 * h)) / (2 * h)
    grad = jax.grad(lambda y: jnp.sum(ours(y)))(y)
    np.testing.assert_allclose(grad, one_sided, rtol=1e-7, atol=1e-9)
    optax_grad = jax.grad(lambda y: jnp.sum(theirs(y)))(y)
    assert np.abs(optax_grad - grad).max() > 1e-2  # optax's is wrong there


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (jaxloss.hinge, optax.losses.hinge_loss),
        (jaxloss.perceptron, optax.losses.perceptron_loss),
    ],
    ids=["hinge", "perceptron"],
)
def test_margin_losses_match_optax(ours, theirs, reduction, dtype):
    rng = np.random.default_rng(10)
    # Continuous scores: no sample sits on a kink (where optax's autodiff gives half).
    s = (2 * rng.normal(size=SHAPE)).astype(dtype)
    t = rng.choice([-1.0, 1.0], size=SHAPE).astype(dtype)
    _compare_optax(ours, theirs, [s, t], ["predictor_outputs", "targets"], reduction, dtype)
