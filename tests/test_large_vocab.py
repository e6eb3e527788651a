"""linear_softmax_cross_entropy: equal to the naive ``h @ W`` + cross-entropy across its
options, for any cotangent, in bfloat16, with batch axes; conventions, errors, and a
compiled-memory bound the naive version exceeds."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss
from jaxloss import _large_vocab as lv
from jaxloss.testing import _DEFAULT_COMPILE as DEFAULT_COMPILE

LSCE = lv.linear_softmax_cross_entropy
T, D, V = 11, 6, 37  # V prime: every block size leaves a partial last block


def naive(h, w, y, *, b=None, cap=None, eps=0.0, z=0.0):
    """Per-token loss from the whole logits, written independently of the library."""
    x = h @ w
    if b is not None:
        x = x + b[None, :]
    if cap:
        x = cap * jnp.tanh(x / cap)
    lse = jax.nn.logsumexp(x, axis=-1)
    lp = x - lse[:, None]
    nll = -jnp.take_along_axis(lp, y[:, None], axis=1)[:, 0]
    finite = x > -jnp.inf
    uniform = -jnp.sum(jnp.where(finite, lp, 0), -1) / jnp.sum(finite, -1).astype(x.dtype)
    return (1 - eps) * nll + eps * uniform + z * lse**2, lse


def _inputs(seed=0, t=T, d=D, v=V, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return (
        jnp.asarray(rng.normal(size=(t, d)), dtype),
        jnp.asarray(rng.normal(size=(d, v)), dtype),
        jnp.asarray(rng.normal(size=(v,)), dtype),
        jnp.asarray(rng.integers(0, v, t), jnp.int32),
        jnp.asarray(rng.uniform(0.5, 1.5, t) * rng.choice([-1.0, 1.0], t), dtype),
    )


def _close(a, b, tol=1e-10):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(x, np.float64), np.asarray(y, np.float64),
                                   rtol=tol, atol=tol)  # fmt: skip


OPTIONS = [
    {"block_size": 8},
    {"block_size": 5, "label_smoothing": 0.1},
    {"block_size": 16, "z_loss": 1e-2, "logit_softcap": 2.5},
    {"block_size": None, "label_smoothing": 0.2, "z_loss": 1e-3, "logit_softcap": 4.0, "bias": 1},
]


@pytest.mark.parametrize("opts", OPTIONS, ids=str)
def test_equals_naive_values_and_gradients(opts):
    """Values and gradients (hidden, weight, bias) against the naive loss, for every
    reduction with per-token weights and a non-unit cotangent (a random one for "none")."""
    h, w, b, y, cot = _inputs()
    opts = dict(opts)
    use_bias = opts.pop("bias", None) is not None
    weights = jnp.abs(cot)
    kw = {"eps": opts.get("label_smoothing", 0.0), "z": opts.get("z_loss", 0.0),
          "cap": opts.get("logit_softcap")}  # fmt: skip

    def ours(h, w, b, reduction):
        return LSCE(h, w, y, bias=b if use_bias else None, weights=weights, reduction=reduction,
                    **opts)  # fmt: skip

    def theirs(h, w, b, reduction):
        loss = naive(h, w, y, b=b if use_bias else None, **kw)[0] * weights
        total = jnp.sum(loss)
        return {"none": loss, "sum": total, "mean": total / jnp.sum(weights)}[reduction]

    @jax.jit
    def both(h, w, b):
        out = []
        for reduction in ("none", "mean", "sum"):
            for f in (ours, theirs):
                value, vjp = jax.vjp(functools.partial(f, reduction=reduction), h, w, b)
                g = cot if reduction == "none" else 2.5 * jnp.ones_like(value)
                out.append((value, vjp(g)))
        return out

    results = both(h, w, b)
    for got, want in zip(results[::2], results[1::2], strict=True):
        _close(got, want)


def test_gradient_is_linear_in_the_cotangent():
    """Two public fused losses shipped rules that ignored a non-unit cotangent: the vjp
    with cotangent c must equal the c-weighted sum of the per-token gradients."""
    h, w, b, y, cot = _inputs(1)

    @jax.jit
    def grads(h, w, b):
        f = functools.partial(LSCE, labels=y, block_size=4, label_smoothing=0.1, z_loss=1e-2,
                              logit_softcap=3.0)  # fmt: skip
        _, vjp = jax.vjp(lambda h, w, b: f(h, w, bias=b), h, w, b)
        return vjp(cot), jax.vmap(vjp)(jnp.eye(T))

    got, per_token = grads(h, w, b)
    _close(got, [jnp.tensordot(cot, g, 1) for g in per_token])


def test_bfloat16_runs_with_float32_accumulation():
    h, w, b, y, _ = _inputs(2, t=64, d=32, v=300, dtype=np.float32)
    hb, wb, bb = (x.astype(jnp.bfloat16) for x in (h, w, b))
    f = jax.jit(jax.value_and_grad(
        lambda h, w, b: LSCE(h, w, y, bias=b, block_size=64, z_loss=1e-3, reduction="mean"),
        argnums=(0, 1, 2)))  # fmt: skip
    value, grads = f(hb, wb, bb)
    assert value.dtype == jnp.bfloat16
    assert [g.dtype for g in grads] == [jnp.bfloat16] * 3
    # The float32 result on the same rounded inputs.
    exact_value, exact = f(*(x.astype(jnp.float32) for x in (hb, wb, bb)))
    np.testing.assert_allclose(float(value), float(exact_value), rtol=1e-2)
    for g, e in zip(grads, exact, strict=True):
        scale = float(jnp.max(jnp.abs(e)))
        np.testing.assert_allclose(np.asarray(g, np.float32), e, atol=2e-2 * scale)


def test_block_size_does_not_change_the_result():
    h, w, b, y, _ = _inputs(3)
    f = jax.jit(
        lambda h, w, bs: jax.value_and_grad(
            lambda h, w: LSCE(h, w, y, bias=b, block_size=bs, label_smoothing=0.1,
                              reduction="sum"), (0, 1))(h, w),
        static_argnums=2,
    )  # fmt: skip
    want = f(h, w, V)
    for bs in (1, 36, 1000):
        _close(f(h, w, bs), want, 1e-12)


def test_return_lse_and_its_gradient():
    h, w, b, y, cot = _inputs(4)

    def ours(h, w):
        loss, lse = LSCE(h, w, y, bias=b, block_size=8, return_lse=True)
        return loss + 0.3 * lse**2 + cot * lse

    def theirs(h, w):
        loss, lse = naive(h, w, y, b=b)
        return loss + 0.3 * lse**2 + cot * lse

    both = jax.jit(lambda h, w: [jax.vjp(f, h, w)[1](cot) for f in (ours, theirs)])
    got, want = both(h, w)
    _close(got, want)
    _, lse = LSCE(h, w, y, bias=b, return_lse=True, where=jnp.arange(T) > 0)
    _close(lse[1:], naive(h, w, y, b=b)[1][1:])
    assert float(lse[0]) == 0.0


def test_ignore_index_is_where_false_even_with_bad_inputs():
    h, w, _, y, _ = _inputs(5)
    ignored = jnp.arange(T) % 3 == 0
    y_ign = jnp.where(ignored, -100, y)
    h_nan = jnp.where(ignored[:, None], jnp.nan, h)

    def run(h, w, **kw):
        return jax.value_and_grad(lambda h, w: LSCE(h, w, reduction="mean", block_size=8, **kw),
                                  (0, 1))(h, w)  # fmt: skip

    a = jax.jit(lambda h, w: run(h, w, labels=y_ign, ignore_index=-100))(h_nan, w)
    b = jax.jit(lambda h, w: run(h, w, labels=y, where=~ignored))(h, w)
    _close(a, b, 1e-12)
    assert not bool(jnp.any(a[1][0][ignored] != 0))
    # All ignored: a mean of 0 with zero gradients.
    value, (gh, gw) = jax.jit(lambda h, w: run(h, w, labels=jnp.full(T, -100), ignore_index=-100))(
        h_nan, w
    )
    assert float(value) == 0.0 and not bool(jnp.any(gh != 0)) and not bool(jnp.any(gw != 0))


def test_out_of_range_labels_give_nan_with_zero_gradient():
    h, w, _, y, _ = _inputs(6)
    bad = y.at[0].set(V).at[1].set(-1)
    f = functools.partial(LSCE, labels=bad, block_size=8)
    loss, (gh, gw) = jax.jit(
        lambda h, w: (f(h, w), jax.grad(lambda h, w: jnp.sum(f(h, w)[2:]), (0, 1))(h, w))
    )(h, w)
    assert np.isnan(loss[:2]).all() and np.isfinite(loss[2:]).all()
    assert bool(jnp.all(gh[:2] == 0)) and bool(jnp.all(jnp.isfinite(gw)))


def test_minus_inf_bias_masks_classes():
    h, w, b, y, _ = _inputs(7)
    masked = jnp.arange(V) % 4 == 1
    y = jnp.where(masked[y], (y + 1) % V, y)
    bm = jnp.where(masked, -jnp.inf, b)
    f = jax.jit(jax.value_and_grad(lambda h, w, b: LSCE(h, w, y, bias=b, block_size=8,
                                   label_smoothing=0.1, reduction="sum"), (0, 1, 2)))  # fmt: skip
    value, (gh, gw, gb) = f(h, w, bm)
    keep = ~masked
    y2 = jnp.cumsum(keep)[y] - 1  # the labels' indices among the kept classes
    f2 = jax.jit(jax.value_and_grad(lambda h, w, b: LSCE(h, w, y2, bias=b, block_size=8,
                                    label_smoothing=0.1, reduction="sum"), (0, 1, 2)))  # fmt: skip
    v2, (gh2, gw2, gb2) = f2(h, w[:, keep], b[keep])
    # The masked classes are simply absent (also from the smoothing's C').
    _close((value, gh, gw[:, keep], gb[keep]), (v2, gh2, gw2, gb2))
    assert bool(jnp.all(gw[:, masked] == 0)) and bool(jnp.all(gb[masked] == 0))


def test_batch_axes_follow_matmul():
    h, w, b, y, _ = _inputs(8, t=12)
    flat = LSCE(h, w, y, bias=b, block_size=8)
    _close(LSCE(h.reshape(3, 4, D), w, y.reshape(3, 4), bias=b, block_size=8),
           flat.reshape(3, 4))  # fmt: skip
    # A batch of weights: one problem per weight; and vmap with a shared weight.
    ws = jnp.stack([w, 2 * w, -w])
    hs, ys = h.reshape(3, 4, D), y.reshape(3, 4)
    batched = LSCE(hs, ws, ys, block_size=8)
    looped = jnp.stack([LSCE(hs[i], ws[i], ys[i], block_size=8) for i in range(3)])
    _close(batched, looped)
    vm = jax.vmap(lambda h, y: LSCE(h, w, y, bias=b, block_size=8), (0, 0))(hs, ys)
    _close(vm, flat.reshape(3, 4))
    # 1-D hidden: one token.
    _close(LSCE(h[0], w, y[0], bias=b), flat[0])
    one = jnp.stack([LSCE(h[:1], ws[i], ys[i, :1])[0] for i in range(3)])
    _close(LSCE(h[0], ws, ys[:, 0]), one)


def test_documented_example():
    hidden = jnp.array([[1.0, 0.0], [0.0, 2.0]], jnp.float32)
    weight = jnp.array([[2.0, 0.0, 0.0], [0.0, 1.0, -1.0]], jnp.float32)
    got = LSCE(hidden, weight, jnp.array([0, 1]))
    want = naive(hidden, weight, jnp.array([0, 1]))[0]
    np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"hidden": np.ones((4, 3))},
            ValueError,
            r"hidden's last axis must match.*\(4, 3\).*\(5, 7\)",
        ),
        ({"weight": np.ones(5)}, ValueError, r"weight must have shape \[D, V\].*nn.Linear"),
        (
            {"labels": np.zeros(3, np.int32)},
            ValueError,
            r"labels must have the shape.*\(4,\).*\(3,\)",
        ),
        ({"labels": np.zeros((4, 8))}, ValueError, r"probability targets .* shape .*\(4, 7\)"),
        ({"labels": np.zeros(4)}, TypeError, "labels must have an integer dtype"),
        ({"hidden": np.ones((4, 5), np.int32)}, TypeError, "hidden must have a floating dtype"),
        ({"bias": np.ones(6)}, ValueError, r"bias must be broadcastable.*\(7,\)"),
        ({"block_size": 0}, ValueError, "block_size must be >= 1"),
        ({"logit_softcap": 0.0}, ValueError, r"logit_softcap must be in \(0"),
        ({"label_smoothing": 1.5}, ValueError, "label_smoothing must be in"),
        ({"reduction": "avg"}, ValueError, "reduction must be one of"),
        ({"return_lse": 1}, TypeError, "return_lse must be True or False"),
    ],
    ids=lambda x: str(x)[:30],
)
def test_errors_name_the_function_and_argument(kwargs, error, match):
    args = {"hidden": np.ones((4, 5)), "weight": np.ones((5, 7)),
            "labels": np.zeros(4, np.int32)}  # fmt: skip
    args.update(kwargs)
    with pytest.raises(error, match="linear_softmax_cross_entropy: " + ".*" + match):
        LSCE(**args)


def test_compiled_temp_memory_stays_under_a_bound_the_naive_version_exceeds():
    """jit(value_and_grad(mean)) at [2048 tokens, 64] x [64, 65536]: the naive version
    holds [tokens, V] float32 buffers (512 MiB each); the blocked one stays under 1/10."""
    n, d, v = 2048, 64, 65536
    h = jax.ShapeDtypeStruct((n, d), jnp.float32)
    w = jax.ShapeDtypeStruct((d, v), jnp.float32)
    y = jax.ShapeDtypeStruct((n,), jnp.int32)

    def naive_mean(h, w, y):
        return jnp.mean(naive(h, w, y)[0])

    def ours(h, w, y):
        return LSCE(h, w, y, reduction="mean")

    def temp(f):
        # What a user's jax.jit compiles (conftest.py compiles the rest fast).
        compiled = jax.jit(jax.value_and_grad(f, (0, 1))).lower(h, w, y).compile(DEFAULT_COMPILE)
        return compiled.memory_analysis().temp_size_in_bytes

    bound = n * v * 4 // 10
    assert temp(naive_mean) > 2 * n * v * 4 > bound
    assert temp(ours) < bound


# --- empty batches, symbolic token counts, class weights and probability targets


@pytest.mark.parametrize("kw", [{}, {"label_smoothing": 0.1, "z_loss": 1e-3}, {"soft": True}])
def test_zero_tokens_give_empty_none_and_zero_sum_and_mean(kw):
    h, w, _, _, _ = _inputs(0, t=0)
    kw = dict(kw)
    labels = jnp.zeros((0, V)) if kw.pop("soft", False) else jnp.zeros((0,), jnp.int32)
    assert LSCE(h, w, labels, **kw).shape == (0,)
    for reduction in ("sum", "mean"):
        for extra in ({}, {"weights": jnp.ones(0)}, {"class_weights": jnp.ones(V)}):

            def loss(h, w, r=reduction, e=extra):
                return LSCE(h, w, labels, reduction=r, **kw, **e)

            value, (gh, gw) = jax.jit(jax.value_and_grad(loss, (0, 1)))(h, w)
            assert value == 0.0 and gh.shape == h.shape and bool(jnp.all(gw == 0))


def test_export_with_a_symbolic_token_count_matches_the_plain_call():
    from jax import export

    (t,) = export.symbolic_shape("t")
    h, w, _, y, _ = _inputs(3, t=9, dtype=np.float32)

    def f(h, w, y):
        return LSCE(h, w, y, reduction="mean", label_smoothing=0.1)

    specs = (jax.ShapeDtypeStruct((t, D), jnp.float32), jax.ShapeDtypeStruct((D, V), jnp.float32),
             jax.ShapeDtypeStruct((t,), jnp.int32))  # fmt: skip
    for g in (f, jax.grad(f, (0, 1))):
        exported = export.export(jax.jit(g))(*specs)
        _close(exported.call(h, w, y), g(h, w, y), tol=1e-5)


def _soft_targets(seed, t=T, v=V):
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(v), t)
    return jnp.asarray(np.where(rng.uniform(size=p.shape) < 0.2, 0.0, p))


@pytest.mark.parametrize("opts", [{}, {"label_smoothing": 0.2, "z_loss": 1e-2}], ids=str)
def test_class_weights_and_probability_targets_equal_naive(opts):
    h, w, b, y, cot = _inputs(4)
    cw = jnp.asarray(np.random.default_rng(5).uniform(0.2, 2.0, V))
    tg = _soft_targets(6)
    eps, z = opts.get("label_smoothing", 0.0), opts.get("z_loss", 0.0)

    def naive_soft(h, w, b, t, cw):
        x = h @ w + b[None, :]
        lse = jax.nn.logsumexp(x, axis=-1)
        ts = (1 - eps) * t + eps / V
        return -jnp.sum(cw[None, :] * ts * (x - lse[:, None]), -1) + z * lse**2

    def naive_int(h, w, b, y, cw):
        x = h @ w + b[None, :]
        lse = jax.nn.logsumexp(x, axis=-1)
        nll = lse - jnp.take_along_axis(x, y[:, None], axis=1)[:, 0]
        uniform = jnp.sum(cw[None, :] * (lse[:, None] - x), -1) / V
        return (1 - eps) * cw[y] * nll + eps * uniform + z * lse**2

    for labels, naive_f, argnums in (
        (y, naive_int, (0, 1, 2, 4)),
        (tg, naive_soft, (0, 1, 2, 3, 4)),
    ):

        def ours(h, w, b, lab, cw):
            return jnp.sum(cot * LSCE(h, w, lab, bias=b, class_weights=cw, block_size=8, **opts))

        def want(h, w, b, lab, cw, f=naive_f):
            return jnp.sum(cot * f(h, w, b, lab, cw))

        _close(jax.value_and_grad(ours, argnums)(h, w, b, labels, cw),
               jax.value_and_grad(want, argnums)(h, w, b, labels, cw))  # fmt: skip
    # The means: integer labels divide by the summed label weights, targets by N.
    mean = LSCE(h, w, y, bias=b, class_weights=cw, reduction="mean", **opts)
    _close(mean, jnp.sum(naive_int(h, w, b, y, cw)) / jnp.sum(cw[y]))
    mean = LSCE(h, w, tg, bias=b, class_weights=cw, reduction="mean", **opts)
    _close(mean, jnp.mean(naive_soft(h, w, b, tg, cw)))


def test_probability_targets_with_batched_weights_and_where():
    h, w, b, _, _ = _inputs(7, t=12)
    tg = _soft_targets(8, t=12)
    flat = LSCE(h, w, tg, bias=b, block_size=8)
    _close(LSCE(h.reshape(3, 4, D), w, tg.reshape(3, 4, V), bias=b), flat.reshape(3, 4))
    ws = jnp.stack([w, 2 * w, -w])
    batched = LSCE(h.reshape(3, 4, D), ws, tg.reshape(3, 4, V), block_size=8)
    looped = jnp.stack([LSCE(h[4 * i : 4 * i + 4], ws[i], tg[4 * i : 4 * i + 4]) for i in range(3)])
    _close(batched, looped)
    keep = jnp.arange(12) % 3 != 0
    bad = tg.at[0].set(jnp.nan)
    value, g = jax.value_and_grad(lambda h: LSCE(h, w, bad, where=keep, reduction="sum"))(h)
    assert bool(jnp.isfinite(value)) and bool(jnp.all(g[~keep] == 0))


def test_probability_target_and_class_weight_errors():
    h, w, _, y, _ = _inputs(9)
    with pytest.raises(ValueError, match="linear_softmax_cross_entropy: ignore_index applies to"):
        LSCE(h, w, _soft_targets(1), ignore_index=-100)
    with pytest.raises(
        ValueError, match=r"probability targets .* must have the shape of hidden @ weight"
    ):
        LSCE(h, w, jnp.zeros((T, V + 1)))
    with pytest.raises(ValueError, match="class_weights must have one weight per class"):
        LSCE(h, w, y, class_weights=jnp.ones(V - 1))
    with pytest.raises(TypeError, match="vocab_parallel_softmax_cross_entropy: labels of shape"):
        jaxloss.vocab_parallel_softmax_cross_entropy(h, w, _soft_targets(1))


# --- adversarial inputs: infinite and NaN weights, infinite hidden states


def _value_grad_hvp(f, *args):
    """Value, gradient and Hessian-vector product (forward over reverse, unit tangents)
    of the scalar ``f`` with respect to every argument."""
    argnums = tuple(range(len(args)))
    vg = jax.value_and_grad(f, argnums)
    (value, grads), (_, hvp) = jax.jvp(vg, args, tuple(jnp.ones_like(a) for a in args))
    return value, grads, hvp


def _all_finite(tree):
    return all(bool(jnp.all(jnp.isfinite(x))) for x in jax.tree.leaves(tree))


@pytest.mark.parametrize("opts", [{}, {"label_smoothing": 0.1, "z_loss": 1e-3}], ids=str)
def test_minus_inf_weight_entry_is_a_class_mask_with_finite_derivatives(opts):
    """W[0, 0] = -inf with h[:, 0] > 0 makes class 0's logit -inf for every token: the
    loss is that of the other classes, and the hidden gradient must not be
    p_0 · W[0, 0] = 0 · -inf (it was NaN in its first column)."""
    h, w, _, y, _ = _inputs(11)
    h = h.at[:, 0].set(jnp.abs(h[:, 0]) + 0.1)
    y = jnp.where(y == 0, 1, y)
    w_inf = w.at[0, 0].set(-jnp.inf)

    def ours(h, w):
        return LSCE(h, w, y, block_size=8, reduction="mean", **opts)

    def without_class_0(h, w):
        return LSCE(h, w[:, 1:], y - 1, block_size=8, reduction="mean", **opts)

    value, (gh, gw), hvp = jax.jit(functools.partial(_value_grad_hvp, ours))(h, w_inf)
    want, (gh2, gw2) = jax.jit(jax.value_and_grad(without_class_0, (0, 1)))(h, w)
    _close((value, gh, gw[:, 1:]), (want, gh2, gw2[:, 1:]))
    assert bool(jnp.all(gw[:, 0] == 0))
    assert _all_finite(hvp)


def test_excluded_tokens_with_nan_logits_add_nothing_to_the_shared_weight():
    """Excluded tokens have their hidden state zeroed, but 0 · an infinite weight entry
    is a NaN logit: their share of the weight gradient must still be exactly 0. W[0, 0]
    = -inf is a class mask for the tokens with h[:, 0] > 0 and +inf (a NaN loss) for
    the others, which are excluded; the result equals the loss on the kept tokens."""
    h, w, _, y, _ = _inputs(12)
    h = h.at[:, 0].set(jnp.where(jnp.arange(T) % 3 == 0, -1.0, 1.0) * (jnp.abs(h[:, 0]) + 0.1))
    keep = h[:, 0] > 0
    y = jnp.where(y == 0, 1, y)
    w = w.at[0, 0].set(-jnp.inf)
    kept = np.flatnonzero(np.asarray(keep))

    def on_kept(h, w):
        return LSCE(h[kept], w, y[kept], block_size=8, reduction="mean", label_smoothing=0.1)

    want, (gh2, gw2) = jax.jit(jax.value_and_grad(on_kept, (0, 1)))(h, w)
    for kw in ({"where": keep}, {"ignore_index": -100}):
        labels = y if "where" in kw else jnp.where(keep, y, -100)

        def ours(h, w, labels=labels, kw=kw):
            return LSCE(h, w, labels, block_size=8, reduction="mean", label_smoothing=0.1, **kw)

        value, (gh, gw), hvp = jax.jit(functools.partial(_value_grad_hvp, ours))(h, w)
        _close((value, gh, gw), (want, gh2, gw2))
        assert bool(jnp.all(gh[~keep] == 0)) and _all_finite(hvp)


def test_nan_weight_of_an_excluded_problem_gives_it_zero_gradient():
    """A batch of weights, one problem each: a NaN in problem 0's weight makes all its
    tokens' logits NaN; with those tokens excluded, problem 0's weight gradient is
    exactly 0 and the other problems' are untouched."""
    h, w, _, y, _ = _inputs(13, t=12)
    hs, ys = h.reshape(3, 4, D), y.reshape(3, 4)
    ws = jnp.stack([w, 2 * w, -w])
    keep = jnp.broadcast_to(jnp.arange(3)[:, None] > 0, (3, 4))

    def f(hs, ws):
        return LSCE(hs, ws, ys, where=keep, block_size=8, reduction="mean", logit_softcap=2.0)

    bad = ws.at[0, 1, 2].set(jnp.nan)
    value, (gh, gw), hvp = jax.jit(functools.partial(_value_grad_hvp, f))(hs, bad)
    want, (gh2, gw2) = jax.jit(jax.value_and_grad(f, (0, 1)))(hs, ws)
    _close((value, gh, gw[1:]), (want, gh2, gw2[1:]))
    assert bool(jnp.all(gw[0] == 0)) and bool(jnp.all(gh[0] == 0)) and _all_finite(hvp)


def test_soft_capped_infinite_hidden_state_has_finite_derivatives():
    """With a soft-cap, an infinite hidden entry saturates every logit at ±c: a finite
    loss whose logit derivatives are 0. The weight gradient must not be h · 0 = inf · 0,
    nor the Hessian-vector product tanh' · inf."""
    h, w, _, y, _ = _inputs(14)
    h_inf = h.at[0, 0].set(jnp.inf)

    def f(h, w, y=y):
        return LSCE(h, w, y, block_size=8, reduction="sum", logit_softcap=2.0)

    value, (gh, gw), hvp = jax.jit(functools.partial(_value_grad_hvp, f))(h_inf, w)
    # The saturated token's loss is that of logits ±c; it adds nothing to the gradients.
    want_value = f(h_inf.at[0, 0].set(1e300), w)
    _, (gh2, gw2) = jax.value_and_grad(functools.partial(f, y=y[1:]), (0, 1))(h[1:], w)
    _close((value, gh[1:], gw), (want_value, gh2, gw2))
    assert bool(jnp.all(gh[0] == 0)) and _all_finite(hvp)


def test_zero_tokens_with_a_batch_of_weights():
    """Batched weights [3, D, V] with no tokens per problem (hidden [3, 0, D]): the
    flattened batch size was computed with reshape(-1, 0), a modulo by zero."""
    _, w, _, _, _ = _inputs(15)
    h0, ws, y0 = jnp.zeros((3, 0, D)), jnp.stack([w, w, w]), jnp.zeros((3, 0), jnp.int32)
    for kw in ({}, {"ignore_index": 2, "label_smoothing": 0.1}):
        assert LSCE(h0, ws, y0, **kw).shape == (3, 0)
        for reduction in ("sum", "mean"):
            value, (gh, gw) = jax.value_and_grad(
                lambda h, w, r=reduction, kw=kw: LSCE(h, w, y0, reduction=r, **kw), (0, 1)
            )(h0, ws)
            assert value == 0.0 and gh.shape == h0.shape and gw.shape == ws.shape
            assert bool(jnp.all(gw == 0))
