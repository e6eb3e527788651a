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


def _torch(h, w, b, y, cot, opts, reduction, chunked):
    th = torch.tensor(h, requires_grad=True)
    tw = torch.tensor(np.ascontiguousarray(w.T), requires_grad=True)
    tb = torch.tensor(b, requires_grad=True) if opts.get("bias") else None
    kw = {"ignore_index": opts.get("ignore_index", -100),
          "label_smoothing": opts.get("label_smoothing", 0.0)}  # fmt: skip
    options = torch.nn.LinearCrossEntropyOptions() if chunked else None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a silent fallback to the reference path fails here
        loss = F.linear_cross_entropy(th, tw, torch.tensor(y), linear_bias=tb,
                                      reduction=reduction, options=options, **kw)  # fmt: skip
    loss.backward(torch.tensor(cot) if reduction == "none" else torch.tensor(2.5, dtype=loss.dtype))
    grads = [th.grad.numpy(), tw.grad.numpy().T] + ([tb.grad.numpy()] if tb is not None else [])
    return loss.detach().numpy(), grads


def _ours(h, w, b, y, cot, opts):
    use_bias = bool(opts.get("bias"))
    kw = {"ignore_index": opts.get("ignore_index", -100),
          "label_smoothing": opts.get("label_smoothing", 0.0), "block_size": 16}  # fmt: skip

    @jax.jit
    def run(h, w, b, cot):
        out = {}
        for reduction in ("none", "mean", "sum"):

            def f(h, w, b, reduction=reduction):
                return jaxloss.linear_softmax_cross_entropy(
                    h, w, jnp.asarray(y, jnp.int32), bias=b if use_bias else None,
                    reduction=reduction, **kw)  # fmt: skip

            value, vjp = jax.vjp(f, h, w, b)
            g = cot if reduction == "none" else jnp.asarray(2.5, value.dtype)
            grads = vjp(g)
            out[reduction] = (value, list(grads[:3] if use_bias else grads[:2]))
        return out

    return run(h, w, b, cot)


@pytest.mark.parametrize("case", range(len(CASES)), ids=lambda i: str(CASES[i]))
def test_matches_torch_linear_cross_entropy(case):
    opts, dtype = CASES[case]
    h, w, b, y, cot = _inputs(dtype, case, opts.get("ignore_index"))
    with jax.enable_x64(dtype == np.float64):
        ours = jax.device_get(_ours(h, w, b, y, cot, opts))
    tol = TOL[dtype]
    chunked_ok = not opts.get("label_smoothing")
    for reduction in ("none", "mean", "sum"):
        for chunked in (False, True) if chunked_ok else (False,):
            value, grads = _torch(h, w, b, y, cot, opts, reduction, chunked)
            got_value, got_grads = ours[reduction]
            assert got_value.dtype == dtype
            scale = np.max(np.abs(value))
            np.testing.assert_allclose(got_value, value, rtol=tol, atol=tol * scale)
            for g, t in zip(got_grads, grads, strict=True):
                assert g.dtype == dtype
                np.testing.assert_allclose(g, t, rtol=tol, atol=tol * np.max(np.abs(t)))
