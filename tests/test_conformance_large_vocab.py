"""Live conformance with PyTorch 2.13's ``F.linear_cross_entropy`` (weight [V, D], ours
[D, V]): its reference path (``options=None``, linear + cross_entropy) for every option
both have, and its chunked path (``LinearCrossEntropyOptions``) where it supports them
(no label smoothing). Values and gradients w.r.t. input, weight and bias, every
reduction, a random cotangent for ``"none"``, float64 (tight) and float32.
vocab_parallel_softmax_cross_entropy equals this loss (tests/test_sharded_large_vocab.py)."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import jaxloss

N, D, V = 24, 8, 53
TOL = {np.float64: 1e-10, np.float32: 2e-5}

# (options, dtype): each option set once, two in float64 and two in float32.
CASES = [
    ({}, np.float64),
    ({"bias": True, "ignore_index": -100}, np.float32),
    ({"bias": True, "label_smoothing": 0.1, "ignore_index": -100}, np.float64),
    ({"ignore_index": 3, "label_smoothing": 0.25}, np.float32),
    # torch's weight= (our class_weights), and float targets [N, V] (probability targets).
    ({"weight": True, "ignore_index": -100}, np.float64),
    ({"weight": True, "bias": True, "label_smoothing": 0.2, "ignore_index": 3}, np.float64),
    ({"weight": True, "label_smoothing": 0.1, "ignore_index": -100}, np.float32),
    ({"soft": True, "bias": True}, np.float64),
    ({"soft": True, "weight": True, "label_smoothing": 0.15}, np.float64),
    ({"soft": True, "weight": True, "bias": True}, np.float32),
]


def _inputs(dtype, seed, ignore_index=None):
    rng = np.random.default_rng(seed)
    h = rng.normal(size=(N, D)).astype(dtype)
    w = rng.normal(size=(D, V)).astype(dtype)
    b = rng.normal(size=(V,)).astype(dtype)
    y = rng.integers(0, V, N)
    if ignore_index is not None:
        y[::5] = ignore_index
    y[1::7] = 3
    cot = (rng.uniform(0.5, 1.5, N) * rng.choice([-1.0, 1.0], N)).astype(dtype)
    return h, w, b, y, cot


def _extras(dtype, seed, opts):
    """Class weights and probability targets (with exact zeros) when the case asks."""
    rng = np.random.default_rng(seed + 100)
    cw = rng.uniform(0.2, 2.0, V).astype(dtype) if opts.get("weight") else None
    t = None
    if opts.get("soft"):
        t = rng.dirichlet(np.ones(V), N)
        t = np.where(rng.uniform(size=t.shape) < 0.2, 0.0, t).astype(dtype)
    return cw, t


def _torch(h, w, b, y, cot, opts, reduction, chunked, cw=None, t=None):
    th = torch.tensor(h, requires_grad=True)
    tw = torch.tensor(np.ascontiguousarray(w.T), requires_grad=True)
    tb = torch.tensor(b, requires_grad=True) if opts.get("bias") else None
    kw = {"ignore_index": opts.get("ignore_index", -100),
          "label_smoothing": opts.get("label_smoothing", 0.0)}  # fmt: skip
    if cw is not None:
        kw["weight"] = torch.tensor(cw)
    tt = None if t is None else torch.tensor(t, requires_grad=True)
    if tt is not None:  # both torch and jaxloss refuse ignore_index with probability targets
        del kw["ignore_index"]
    options = torch.nn.LinearCrossEntropyOptions() if chunked else None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a silent fallback to the reference path fails here
        target = torch.tensor(y) if tt is None else tt
        loss = F.linear_cross_entropy(th, tw, target, linear_bias=tb,
                                      reduction=reduction, options=options, **kw)  # fmt: skip
    loss.backward(torch.tensor(cot) if reduction == "none" else torch.tensor(2.5, dtype=loss.dtype))
    grads = [th.grad.numpy(), tw.grad.numpy().T] + ([tb.grad.numpy()] if tb is not None else [])
    if tt is not None:
        grads.append(tt.grad.numpy())
    return loss.detach().numpy(), grads


def _ours(h, w, b, y, cot, opts, cw=None, t=None):
    use_bias = bool(opts.get("bias"))
    kw = {"label_smoothing": opts.get("label_smoothing", 0.0), "block_size": 16}
    if t is None:
        kw["ignore_index"] = opts.get("ignore_index", -100)
    if cw is not None:
        kw["class_weights"] = jnp.asarray(cw)

    @jax.jit
    def run(h, w, b, t, cot):
        out = {}
        for reduction in ("none", "mean", "sum"):

            def f(h, w, b, t, reduction=reduction):
                labels = jnp.asarray(y, jnp.int32) if t is None else t
                bias = b if use_bias else None
                return jaxloss.linear_softmax_cross_entropy(
                    h, w, labels, bias=bias, reduction=reduction, **kw
                )

            value, vjp = jax.vjp(f, h, w, b, t)
            g = cot if reduction == "none" else jnp.asarray(2.5, value.dtype)
            gh, gw, gb, gt = vjp(g)
            out[reduction] = (
                value,
                [gh, gw] + ([gb] if use_bias else []) + ([gt] if t is not None else []),
            )
        return out

    return run(h, w, b, t, cot)


@pytest.mark.parametrize("case", range(len(CASES)), ids=lambda i: str(CASES[i]))
def test_matches_torch_linear_cross_entropy(case):
    opts, dtype = CASES[case]
    h, w, b, y, cot = _inputs(dtype, case, opts.get("ignore_index"))
    cw, t = _extras(dtype, case, opts)
    with jax.enable_x64(dtype == np.float64):
        ours = jax.device_get(_ours(h, w, b, y, cot, opts, cw, t))
    tol = TOL[dtype]
    chunked_ok = not (opts.get("label_smoothing") or opts.get("weight") or opts.get("soft"))
    for reduction in ("none", "mean", "sum"):
        for chunked in (False, True) if chunked_ok else (False,):
            value, grads = _torch(h, w, b, y, cot, opts, reduction, chunked, cw, t)
            got_value, got_grads = ours[reduction]
            assert got_value.dtype == dtype
            scale = np.max(np.abs(value))
            np.testing.assert_allclose(got_value, value, rtol=tol, atol=tol * scale)
            for g, want in zip(got_grads, grads, strict=True):
                assert g.dtype == dtype
                np.testing.assert_allclose(g, want, rtol=tol, atol=tol * np.max(np.abs(want)))


def test_torch_k_dimensional_weight_is_a_batch_of_weights():
    """torch's weight (C, d1, D) (a projection per position d1, hidden (N, D), targets
    (N, d1)) is our batch of weights [d1, D, C] with labels [d1, N] (jnp.matmul's axes)."""
    rng = np.random.default_rng(40)
    d1 = 3
    h = rng.normal(size=(N, D))
    w = rng.normal(size=(V, d1, D))
    y = rng.integers(0, V, (N, d1))
    cw = rng.uniform(0.2, 2.0, V)
    th, tw = torch.tensor(h, requires_grad=True), torch.tensor(w, requires_grad=True)
    loss = F.linear_cross_entropy(th, tw, torch.tensor(y), weight=torch.tensor(cw))
    loss.backward()
    with jax.enable_x64(True):
        ours = jax.value_and_grad(
            lambda h, w: jaxloss.linear_softmax_cross_entropy(
                h,
                w,
                jnp.asarray(y.T, jnp.int32),
                class_weights=jnp.asarray(cw),
                reduction="mean",
                block_size=16,
            ),
            (0, 1),
        )(jnp.asarray(h), jnp.asarray(np.transpose(w, (1, 2, 0))))
    value, (gh, gw) = jax.device_get(ours)
    np.testing.assert_allclose(value, loss.item(), rtol=1e-10)
    np.testing.assert_allclose(gh, th.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(gw, np.transpose(tw.grad.numpy(), (1, 2, 0)), rtol=1e-9, atol=1e-12)
