"""Conformance of the segmentation losses with live optax, Keras's formulas and the
Lovász authors' code.

Every test draws seeded random inputs, evaluates the peer and jaxloss on the same
numbers, and compares the values and the gradients with respect to every input
the peer differentiates, in float64 (tight) and float32 (float32 tolerances).

* optax: ``dice_loss`` (softmax / sigmoid / probabilities, ``alpha``/``beta`` as
  ``tversky``, ``class_weights``, ``ignore_background``, ``axis`` as our
  ``spatial_axes``) and ``multiclass_generalized_dice_loss``, differentiated by
  ``jax.vjp``; optax's per-example losses are reduced with ``jnp.mean``/``jnp.sum``.
* Keras is not installed: its ``dice`` and ``tversky`` (keras/src/losses/losses.py)
  are transcribed in torch below, with ``backend.epsilon()`` as an argument. Keras's
  ``tversky`` multiplies what it calls ``fp`` by ``alpha``, but its ``fp`` is
  ``sum((1 - y_pred) * y_true)``, the false negatives; the test shows
  ``keras.tversky(alpha=a, beta=b) == jaxloss.tversky(alpha=b, beta=a)``. Keras has
  no smoothing in the numerator: compared at ``smooth = 0`` with ``epsilon = 0``
  exactly, and with Keras's ``epsilon = 1e-7`` to 1e-6.
* ``lovasz_hinge``: a torch transcription of bermanmaxim/LovaszSoftmax
  ``pytorch/lovasz_losses.py`` (``lovasz_grad``, ``lovasz_hinge_flat``,
  ``flatten_binary_scores``, per-image mean), autograd for the gradient.
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

TOL = {"float64": {"rtol": 1e-10, "atol": 1e-12}, "float32": {"rtol": 1e-5, "atol": 1e-6}}
DTYPES = ("float64", "float32")


def _close(a, b, dtype):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64), **TOL[dtype])


def _vjp(f, args, argnums, cotangent):
    """Value and the gradients of ``f`` with respect to ``argnums`` for ``cotangent``."""

    def g(*diff):
        full = list(args)
        for i, d in zip(argnums, diff, strict=True):
            full[i] = d
        return f(*full)

    out, vjp = jax.vjp(g, *(args[i] for i in argnums))
    return out, vjp(jnp.asarray(cotangent, out.dtype))


def _images(seed, shape, dtype, classes_last=True):
    """Logits and one-hot targets [B, H, W, C] (a class absent from image 0)."""
    rng = np.random.default_rng(seed)
    b, h, w, c = shape
    z = rng.normal(size=shape) * 1.5
    labels = rng.integers(0, c, size=(b, h, w))
    if c > 2:
        labels[0][labels[0] == c - 1] = 0
    t = np.eye(c)[labels] if c > 1 else rng.integers(0, 2, size=(b, h, w, 1)).astype(float)
    return z.astype(dtype), t.astype(dtype)


def _cotangent(shape, seed=7):
    rng = np.random.default_rng(seed)
    return rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape)


# --- optax dice_loss

DICE_CASES = [
    # (our loss, our options, optax options, shape)
    ("dice", {}, {}, (3, 5, 4, 4)),
    ("dice", {"smooth": 0.5, "ignore_background": True}, {"smooth": 0.5, "ignore_background": True},
     (3, 5, 4, 4)),
    ("dice", {"class_weights": np.array([0.2, 1.0, 3.0])},
     {"class_weights": np.array([0.2, 1.0, 3.0])}, (2, 4, 6, 3)),
    ("dice", {}, {}, (3, 5, 4, 1)),  # binary: sigmoid
    ("dice", {"spatial_axes": (2,)}, {"axis": (2,)}, (3, 5, 4, 3)),
    ("dice", {"apply_softmax": False, "smooth": 0.0}, {"apply_softmax": False, "smooth": 0.0},
     (3, 5, 4, 3)),
    ("tversky", {"alpha": 0.3, "beta": 0.7}, {"alpha": 0.3, "beta": 0.7}, (3, 5, 4, 4)),
    ("tversky", {"alpha": 0.8, "beta": 0.1, "smooth": 2.0},
     {"alpha": 0.8, "beta": 0.1, "smooth": 2.0}, (3, 5, 4, 1)),
    ("jaccard", {}, {"alpha": 1.0, "beta": 1.0}, (3, 5, 4, 4)),
]  # fmt: skip


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("name", "ours", "theirs", "shape"), DICE_CASES)
def test_dice_family_matches_optax_dice_loss(name, ours, theirs, shape, dtype):
    z, t = _images(0, shape, dtype)
    if ours.get("apply_softmax") is False:
        z = np.asarray(jax.nn.softmax(jnp.asarray(z), axis=-1))  # optax checks the sums
    theirs = {k: jnp.asarray(v, dtype) if k == "class_weights" else v for k, v in theirs.items()}
    ours = {k: jnp.asarray(v, dtype) if k == "class_weights" else v for k, v in ours.items()}
    loss = getattr(jaxloss, name)
    args = (jnp.asarray(z), jnp.asarray(t))
    reductions = (("none", None), ("mean", jnp.mean), ("sum", jnp.sum))
    # float32 repeats the per-example comparison only (runtime: the reductions are shared code).
    for reduction, peer_reduce in reductions if dtype == "float64" else reductions[:1]:
        per_example = loss(*args, **ours).shape
        cot = _cotangent(per_example) if reduction == "none" else 1.0

        def peer(p, y, r=peer_reduce):
            with jax.numpy_rank_promotion("allow"):  # optax's class weights broadcast implicitly
                out = optax.losses.dice_loss(p, y, **theirs)
            return out if r is None else r(out)

        a, ga = _vjp(lambda p, y, r=reduction: loss(p, y, reduction=r, **ours), args, (0, 1), cot)
        b, gb = _vjp(peer, args, (0, 1), cot)
        assert a.dtype == jnp.dtype(dtype)
        _close(a, b, dtype)
        for x, y in zip(ga, gb, strict=True):
            _close(x, y, dtype)


def _optax_gdl(p, y, **options):
    with jax.numpy_rank_promotion("allow"):  # optax's class weights broadcast implicitly
        return optax.losses.multiclass_generalized_dice_loss(p, y, **options)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "options",
    [{}, {"ignore_background": True, "smooth": 0.3}, {"apply_softmax": False}],
    ids=["default", "ignore_background", "probabilities"],
)
def test_generalized_dice_matches_optax(options, dtype):
    z, t = _images(1, (3, 5, 4, 4), dtype)
    if options.get("apply_softmax") is False:
        z = np.asarray(jax.nn.softmax(jnp.asarray(z), axis=-1))
    args = (jnp.asarray(z), jnp.asarray(t))
    a, ga = _vjp(
        lambda p, y: jaxloss.generalized_dice(p, y, reduction="mean", **options), args, (0, 1), 1.0
    )
    b, gb = _vjp(lambda p, y: _optax_gdl(p, y, **options), args, (0, 1), 1.0)
    _close(a, b, dtype)
    for x, y in zip(ga, gb, strict=True):
        _close(x, y, dtype)


def test_generalized_dice_absent_class_matches_optax():
    """A class absent from the whole batch: optax's 1e-7 puts the weight on it."""
    z, t = _images(2, (2, 4, 4, 3), "float64")
    t = np.concatenate([t[..., :2], np.zeros_like(t[..., 2:])], axis=-1)
    t[..., 0] += 1 - t.sum(-1)
    args = (jnp.asarray(z), jnp.asarray(t))
    a, ga = _vjp(lambda p, y: jaxloss.generalized_dice(p, y, reduction="mean"), args, (0, 1), 1.0)
    b, gb = _vjp(_optax_gdl, args, (0, 1), 1.0)
    assert np.isfinite(a) and all(np.all(np.isfinite(g)) for g in ga)
    np.testing.assert_allclose(a, b, rtol=1e-10)
    for x, y in zip(ga, gb, strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-8, atol=1e-14)


# --- Keras's formulas (keras/src/losses/losses.py), transcribed in torch


def keras_dice(y_true, y_pred, axis=None, epsilon=1e-7):
    inputs, targets = y_true, y_pred
    intersection = torch.sum(inputs * targets, dim=axis) if axis else torch.sum(inputs * targets)
    total = (torch.sum(y_true, dim=axis) + torch.sum(y_pred, dim=axis)) if axis else (
        torch.sum(y_true) + torch.sum(y_pred))  # fmt: skip
    return 1 - 2.0 * intersection / (total + epsilon)


def keras_tversky(y_true, y_pred, alpha=0.5, beta=0.5, epsilon=1e-7):
    inputs = torch.reshape(y_true, [-1])
    targets = torch.reshape(y_pred, [-1])
    intersection = torch.sum(inputs * targets)
    fp = torch.sum((1 - targets) * inputs)
    fn = torch.sum(targets * (1 - inputs))
    return 1 - intersection / (intersection + fp * alpha + fn * beta + epsilon)


def _torch_grad(fn, *arrays):
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*ts)
    out.backward(torch.ones_like(out))
    return out.detach().numpy(), [x.grad.numpy() for x in ts]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("epsilon", [0.0, 1e-7])
def test_dice_matches_keras_dice(dtype, epsilon):
    rng = np.random.default_rng(3)
    y_pred = rng.uniform(0.02, 0.98, (4, 6, 5)).astype(dtype)
    y_true = (rng.uniform(size=(4, 6, 5)) < 0.4).astype(dtype)
    value, (gt, gp) = _torch_grad(
        lambda t, p: keras_dice(t, p, axis=(1, 2), epsilon=epsilon), y_true, y_pred
    )
    ours, (dp, dt) = _vjp(
        lambda p, t: jaxloss.dice(p[..., None], t[..., None], apply_softmax=False, smooth=0.0),
        (jnp.asarray(y_pred), jnp.asarray(y_true)),
        (0, 1),
        np.ones(4),
    )
    tol = TOL[dtype] if epsilon == 0.0 else {"rtol": 1e-6, "atol": 1e-7}
    for a, b in ((ours, value), (dp, gp), (dt, gt)):
        np.testing.assert_allclose(a, b, **tol)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("alpha", "beta", "epsilon"), [(0.3, 0.7, 0.0), (0.9, 0.2, 1e-7)])
def test_tversky_matches_keras_with_swapped_weights(dtype, alpha, beta, epsilon):
    rng = np.random.default_rng(4)
    y_pred = rng.uniform(0.02, 0.98, (3, 7, 2)).astype(dtype)
    y_true = (rng.uniform(size=(3, 7, 2)) < 0.3).astype(dtype)
    value, (gt, gp) = _torch_grad(
        lambda t, p: keras_tversky(t, p, alpha=alpha, beta=beta, epsilon=epsilon), y_true, y_pred
    )
    # Keras flattens everything into one mask: all axes spatial, one class.
    ours, (dp, dt) = _vjp(
        lambda p, t: jaxloss.tversky(
            p[..., None], t[..., None], alpha=beta, beta=alpha, smooth=0.0,
            apply_softmax=False, spatial_axes=(0, 1, 2),
        ),
        (jnp.asarray(y_pred), jnp.asarray(y_true)),
        (0, 1),
        1.0,
    )  # fmt: skip
    tol = TOL[dtype] if epsilon == 0.0 else {"rtol": 1e-6, "atol": 1e-7}
    for a, b in ((ours, value), (dp, gp), (dt, gt)):
        np.testing.assert_allclose(a, b, **tol)
    # With Keras's order the result differs: its alpha weighs the false negatives.
    unswapped = jaxloss.tversky(
        jnp.asarray(y_pred)[..., None], jnp.asarray(y_true)[..., None], alpha=alpha, beta=beta,
        smooth=0.0, apply_softmax=False, spatial_axes=(0, 1, 2),
    )  # fmt: skip
    assert abs(float(unswapped) - float(value)) > 1e-3


# --- Lovász hinge: the authors' PyTorch code (bermanmaxim/LovaszSoftmax)


def lovasz_grad(gt_sorted, dtype):
    # The authors' `.float()` (float32 even for float64 logits) is `.to(dtype)` here,
    # so that the float64 comparison is exact.
    p = len(gt_sorted)
    gts = gt_sorted.sum()
    intersection = gts - gt_sorted.to(dtype).cumsum(0)
    union = gts + (1 - gt_sorted).to(dtype).cumsum(0)
    jaccard = 1.0 - intersection / union
    if p > 1:  # cover 1-pixel case
        jaccard[1:p] = jaccard[1:p] - jaccard[0:-1]
    return jaccard


def lovasz_hinge_flat(logits, labels):
    if len(labels) == 0:
        return logits.sum() * 0.0
    signs = 2.0 * labels.float() - 1.0
    errors = 1.0 - logits * signs
    errors_sorted, perm = torch.sort(errors, dim=0, descending=True)
    gt_sorted = labels[perm]
    grad = lovasz_grad(gt_sorted, logits.dtype)
    return torch.dot(F.relu(errors_sorted), grad)


def flatten_binary_scores(scores, labels, ignore=None):
    scores = scores.view(-1)
    labels = labels.view(-1)
    if ignore is None:
        return scores, labels
    valid = labels != ignore
    return scores[valid], labels[valid]


def authors_lovasz_hinge(logits, labels, per_image=True, ignore=None):
    if per_image:
        losses = [
            lovasz_hinge_flat(*flatten_binary_scores(log.unsqueeze(0), lab.unsqueeze(0), ignore))
            for log, lab in zip(logits, labels, strict=True)
        ]
        return sum(losses) / len(losses)
    return lovasz_hinge_flat(*flatten_binary_scores(logits, labels, ignore))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("per_image", "ignore"), [(True, None), (False, None), (True, 255), (False, 255)]
)
def test_lovasz_hinge_matches_authors(per_image, ignore, dtype):
    rng = np.random.default_rng(5)
    z = (rng.normal(size=(4, 6, 5)) * 1.5).astype(dtype)
    y = (rng.uniform(size=z.shape) < 0.4).astype(np.int64)
    y[1] = 0  # an image without foreground
    y[2] = 1  # an image that is all foreground
    if ignore is not None:
        y[rng.uniform(size=y.shape) < 0.2] = ignore
        y[3] = ignore  # an image with every pixel ignored
    zt = torch.tensor(z, requires_grad=True)
    value = authors_lovasz_hinge(zt, torch.tensor(y), per_image=per_image, ignore=ignore)
    value.backward()
    ours, grad = jax.value_and_grad(
        lambda x: jaxloss.lovasz_hinge(
            x, jnp.asarray(y, jnp.int32), per_image=per_image, ignore_index=ignore,
            reduction="mean",
        )
    )(jnp.asarray(z))  # fmt: skip
    assert ours.dtype == jnp.dtype(dtype)
    _close(ours, value.detach().numpy(), dtype)
    _close(grad, zt.grad.numpy(), dtype)


def test_lovasz_hinge_per_image_losses_match_authors():
    rng = np.random.default_rng(6)
    z = rng.normal(size=(5, 8, 3))
    y = (rng.uniform(size=z.shape) < 0.5).astype(np.int64)
    ours = jaxloss.lovasz_hinge(jnp.asarray(z), jnp.asarray(y, jnp.int32))
    theirs = [
        float(lovasz_hinge_flat(torch.tensor(a).view(-1), torch.tensor(b).view(-1)))
        for a, b in zip(z, y, strict=True)
    ]
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
