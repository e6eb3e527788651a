"""Conformance of the reweighted softmax cross-entropies with live optax and PyTorch.

Every test draws seeded random inputs, evaluates the peer and jaxloss on the same
numbers, and compares values and gradients (with respect to the logits, the
probability labels, and a per-class ``alpha`` where there is one), in float64 with
tight tolerances and in float32 with float32 tolerances, for every reduction.
Gradients come from ``jax.vjp`` / torch autograd with one shared random upstream
cotangent for ``reduction="none"``.

Peers:

* ``poly_cross_entropy``: ``optax.losses.poly_loss_cross_entropy`` (several ε).
* ``softmax_focal`` with ``gamma=0, alpha=1``: ``optax.softmax_cross_entropy``.
* ``softmax_focal``: no library has it with logits (Keras's
  ``CategoricalFocalCrossentropy`` is not installed, and clips probabilities at
  1e-7); the textbook formula ``-Σ α y (1 - p)^γ log p`` is written with
  ``torch.nn.functional.log_softmax`` and differentiated by torch autograd.
* ``generalized_cross_entropy``: no builtin either; ``(1 - p_y^q) / q`` with
  ``F.log_softmax`` and ``gather`` in torch, the mean over the labels that are not
  ``ignore_index`` (PyTorch's ``cross_entropy`` convention).

optax reduces nothing: its per-example losses are reduced with ``jnp.mean`` /
``jnp.sum`` here.
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
# (logits shape, class axis): [N, C] and K-dimensional [N, C, H, W] with classes on axis 1.
LAYOUTS = {"NC": ((7, 5), -1), "NCHW": ((3, 5, 4, 2), 1)}


# --- harness


def _loss_shape(shape, axis):
    return tuple(d for i, d in enumerate(shape) if i != axis % len(shape))


def _inputs(seed, layout, dtype):
    """Logits ~ 2 N(0, 1) and probability labels along the class axis, some one-hot."""
    shape, axis = LAYOUTS[layout]
    rng = np.random.default_rng(seed)
    logits = 2 * rng.normal(size=shape)
    labels = np.exp(1.5 * rng.normal(size=shape))
    labels /= labels.sum(axis=axis, keepdims=True)
    hard = np.moveaxis(np.eye(shape[axis])[np.argmax(labels, axis=axis)], -1, axis)
    onehot = rng.uniform(size=_loss_shape(shape, axis)) < 0.3
    labels = np.where(np.expand_dims(onehot, axis), hard, labels)
    return logits.astype(dtype), labels.astype(dtype), axis


def _cotangent(seed, shape, dtype):
    return np.random.default_rng(seed).normal(size=shape).astype(dtype)


def _jax_run(fn, arrays, reduction, cotangent):
    """Value and gradients of ``fn`` with respect to every array, by ``jax.vjp``."""
    xs = [jnp.asarray(a) for a in arrays]
    out, vjp = jax.vjp(fn, *xs)
    grads = vjp(jnp.asarray(cotangent) if reduction == "none" else jnp.ones((), out.dtype))
    for x, g in zip(xs, grads, strict=True):
        assert g.dtype == x.dtype and g.shape == x.shape, (g.dtype, g.shape, x.dtype, x.shape)
    return np.asarray(out), [np.asarray(g) for g in grads]


def _torch_run(fn, arrays, reduction, cotangent):
    """Value and gradients of ``fn`` with respect to every array, by torch autograd."""
    tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*tensors)
    out.backward(torch.tensor(cotangent) if reduction == "none" else None)
    return out.detach().numpy(), [t.grad.numpy() for t in tensors]


def _assert_close(got, want, dtype, what):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    assert got.dtype == np.dtype(dtype), f"{what}: dtype {got.dtype} != {dtype}"
    np.testing.assert_allclose(got, want, err_msg=what, **TOLERANCES[dtype])


def _compare(ours, theirs, names, dtype):
    (value, grads), (ref_value, ref_grads) = ours, theirs
    _assert_close(value, ref_value, dtype, "value")
    for name, g, ref in zip(names, grads, ref_grads, strict=True):
        _assert_close(g, ref, dtype, f"gradient w.r.t. {name}")


def _reduce_jax(losses, reduction):
    return losses if reduction == "none" else getattr(jnp, reduction)(losses)


def _reduce_torch(losses, reduction):
    return losses if reduction == "none" else getattr(losses, reduction)()


# --- poly_cross_entropy vs optax


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("epsilon", [-1.0, 0.5, 2.0, 5.0])
def test_poly_cross_entropy_matches_optax(epsilon, layout, reduction, dtype):
    logits, labels, axis = _inputs(0, layout, dtype)
    ct = _cotangent(1, _loss_shape(logits.shape, axis), dtype)
    ours = _jax_run(
        lambda x, y: jaxloss.poly_cross_entropy(
            x, y, epsilon=epsilon, axis=axis, reduction=reduction
        ),
        [logits, labels],
        reduction,
        ct,
    )
    theirs = _jax_run(
        lambda x, y: _reduce_jax(
            optax.losses.poly_loss_cross_entropy(x, y, epsilon=epsilon, axis=axis), reduction
        ),
        [logits, labels],
        reduction,
        ct,
    )
    _compare(ours, theirs, ["logits", "labels"], dtype)


# --- softmax_focal at gamma = 0, alpha = 1 vs optax's softmax cross-entropy


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_focal_gamma0_matches_optax_softmax_cross_entropy(layout, reduction, dtype):
    logits, labels, axis = _inputs(2, layout, dtype)
    ct = _cotangent(3, _loss_shape(logits.shape, axis), dtype)
    ours = _jax_run(
        lambda x, y: jaxloss.softmax_focal(
            x, y, alpha=1.0, gamma=0.0, axis=axis, reduction=reduction
        ),
        [logits, labels],
        reduction,
        ct,
    )
    theirs = _jax_run(
        lambda x, y: _reduce_jax(optax.softmax_cross_entropy(x, y, axis=axis), reduction),
        [logits, labels],
        reduction,
        ct,
    )
    _compare(ours, theirs, ["logits", "labels"], dtype)


# --- softmax_focal vs the textbook formula in torch


def _torch_focal(x, y, alpha, gamma, dim, reduction):
    logp = F.log_softmax(x, dim=dim)
    p = logp.exp()
    return _reduce_torch(-(alpha * y * (1 - p) ** gamma * logp).sum(dim), reduction)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0, 2.0, 2.5])
def test_focal_matches_torch_formula(gamma, layout, reduction, dtype):
    logits, labels, axis = _inputs(4, layout, dtype)
    dim = axis % logits.ndim
    ct = _cotangent(5, _loss_shape(logits.shape, axis), dtype)
    ours = _jax_run(
        lambda x, y: jaxloss.softmax_focal(x, y, gamma=gamma, axis=axis, reduction=reduction),
        [logits, labels],
        reduction,
        ct,
    )
    theirs = _torch_run(
        lambda x, y: _torch_focal(x, y, 0.25, gamma, dim, reduction),
        [logits, labels],
        reduction,
        ct,
    )
    _compare(ours, theirs, ["logits", "labels"], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_focal_per_class_alpha_matches_torch_formula(layout, reduction, dtype):
    logits, labels, axis = _inputs(6, layout, dtype)
    dim = axis % logits.ndim
    classes = logits.shape[dim]
    alpha = np.random.default_rng(7).uniform(0.1, 2.0, classes).astype(dtype)
    # torch broadcasts from the right: lay the weights along dim.
    view = [classes if i == dim else 1 for i in range(logits.ndim)]
    ct = _cotangent(8, _loss_shape(logits.shape, axis), dtype)
    ours = _jax_run(
        lambda x, y, a: jaxloss.softmax_focal(
            x, y, alpha=a, gamma=1.5, axis=axis, reduction=reduction
        ),
        [logits, labels, alpha],
        reduction,
        ct,
    )
    theirs = _torch_run(
        lambda x, y, a: _torch_focal(x, y, a.reshape(view), 1.5, dim, reduction),
        [logits, labels, alpha],
        reduction,
        ct,
    )
    _compare(ours, theirs, ["logits", "labels", "alpha"], dtype)


# --- generalized_cross_entropy vs its formula in torch


def _gce_inputs(seed, layout, dtype, ignore_index):
    shape, axis = LAYOUTS[layout]
    rng = np.random.default_rng(seed)
    logits = (2 * rng.normal(size=shape)).astype(dtype)
    labels = rng.integers(0, shape[axis], _loss_shape(shape, axis))
    ignored = rng.uniform(size=labels.shape) < 0.2
    ignored.flat[0] = True
    ignored.flat[1] = False
    return logits, np.where(ignored, ignore_index, labels), axis


def _torch_gce(x, labels, q, dim, ignore_index, reduction):
    logp = F.log_softmax(x, dim=dim)
    keep = labels != ignore_index
    p_y = logp.gather(dim, labels.clamp(min=0).unsqueeze(dim)).squeeze(dim).exp()
    losses = torch.where(keep, (1 - p_y**q) / q, 0)
    if reduction == "mean":
        return losses.sum() / keep.sum()
    return _reduce_torch(losses, reduction)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("q", [0.1, 0.7, 1.0])
def test_generalized_cross_entropy_matches_torch_formula(q, layout, reduction, dtype):
    logits, labels, axis = _gce_inputs(9, layout, dtype, -100)
    dim = axis % logits.ndim
    ct = _cotangent(10, labels.shape, dtype)
    ours = _jax_run(
        lambda x: jaxloss.generalized_cross_entropy(
            x, jnp.asarray(labels), q=q, axis=axis, ignore_index=-100, reduction=reduction
        ),
        [logits],
        reduction,
        ct,
    )
    theirs = _torch_run(
        lambda x: _torch_gce(x, torch.tensor(labels), q, dim, -100, reduction),
        [logits],
        reduction,
        ct,
    )
    _compare(ours, theirs, ["logits"], dtype)
