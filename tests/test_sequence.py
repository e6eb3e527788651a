"""CTC: values against brute-force enumeration of alignments, the two padding
formulations, masking, impossible alignments, -inf logits, errors, batching, precision."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss
from jaxloss import reference

T, K = 5, 4  # brute force enumerates K**T = 1024 alignments per sequence


def rng(seed=1234):
    """A fresh seeded generator per use: no test's draws depend on which tests ran before."""
    return np.random.default_rng(seed)


def _collapse(path, blank):
    merged = [k for i, k in enumerate(path) if i == 0 or k != path[i - 1]]
    return tuple(k for k in merged if k != blank)


def brute_force(logits, labels, blank=0):
    """-log P by enumerating every alignment (jnp, so jax.grad differentiates it)."""
    t, k = logits.shape
    paths = [p for p in itertools.product(range(k), repeat=t)
             if _collapse(p, blank) == tuple(labels)]  # fmt: skip
    logp = jax.nn.log_softmax(logits, axis=-1)
    if not paths:
        return jnp.inf
    idx = jnp.asarray(paths)  # [P, T]
    scores = jnp.sum(logp[jnp.arange(t)[None, :], idx], axis=-1)
    return -jax.scipy.special.logsumexp(scores)


def grad(f, x):
    return jax.grad(lambda x: jnp.sum(f(x)))(x)


def _batch(seed=0, b=3, n=2, blank=0):
    r = rng(seed)
    x = jnp.asarray(r.normal(size=(b, T, K)))
    labels = r.integers(0, K - 1, size=(b, n))
    labels = labels + (labels >= blank)
    labels[0, 1] = labels[0, 0]  # a repeat: needs a blank in between
    return x, jnp.asarray(labels, jnp.int32)


# --- values and gradients against enumeration


@pytest.mark.parametrize("blank", [0, K - 1])
def test_value_and_gradient_equal_brute_force(blank):
    x, labels = _batch(blank=blank)
    lengths = np.array([2, 1, 0])
    got = jaxloss.ctc(x, labels, label_lengths=jnp.asarray(lengths), blank=blank)
    gx = grad(lambda x: jaxloss.ctc(x, labels, label_lengths=jnp.asarray(lengths), blank=blank), x)
    for b in range(3):
        lab = [int(v) for v in labels[b, : lengths[b]]]
        want = brute_force(x[b], lab, blank)
        np.testing.assert_allclose(got[b], want, rtol=1e-12)
        np.testing.assert_allclose(gx[b], jax.grad(brute_force)(x[b], lab, blank), atol=1e-12)


def test_documented_uniform_values():
    u = jnp.zeros((1, 3, 3))
    # 5 alignments of "ab" in 3 frames, each of probability 1/27.
    np.testing.assert_allclose(jaxloss.ctc(u, jnp.array([[1, 2]])), [np.log(27 / 5)], rtol=1e-12)
    # An empty label sequence: all blanks.
    np.testing.assert_allclose(
        jaxloss.ctc(u, jnp.zeros((1, 0), jnp.int32)), [3 * np.log(3)], rtol=1e-12
    )
    # No frames and no labels: probability 1, loss +0.0.
    none = jaxloss.ctc(jnp.zeros((1, 0, 3)), jnp.zeros((1, 0), jnp.int32))
    assert float(none[0]) == 0.0 and not np.signbit(none[0])


def test_log_probabilities_as_logits_give_the_same_loss():
    x, labels = _batch()
    logp = jax.nn.log_softmax(x, axis=-1)
    np.testing.assert_allclose(jaxloss.ctc(logp, labels), jaxloss.ctc(x, labels), rtol=1e-12)


def test_blank_index_is_a_permutation_of_classes():
    x, labels = _batch()
    perm = jnp.array([3, 1, 2, 0])  # swap classes 0 and 3
    a = jaxloss.ctc(x, labels, blank=0)
    b = jaxloss.ctc(x[..., perm], perm[labels], blank=3)
    np.testing.assert_allclose(a, b, rtol=1e-12)
    np.testing.assert_array_equal(jaxloss.ctc(x[..., perm], perm[labels], blank=-1), b)


# --- the two formulations


def test_paddings_and_lengths_agree_and_ignore_padded_values():
    x, labels = _batch(n=3)
    il, ll = np.array([5, 4, 3]), np.array([3, 1, 2])
    lp = (np.arange(T)[None] >= il[:, None]).astype(np.float32)
    lap = (np.arange(3)[None] >= ll[:, None]).astype(np.float32)
    # Garbage in every padded slot: NaN and inf logits, out-of-range and blank labels.
    dirty_x = jnp.where(jnp.asarray(lp, bool)[..., None], jnp.nan, x)
    dirty_x = dirty_x.at[2, 4, 1].set(jnp.inf)
    dirty_labels = jnp.where(jnp.asarray(lap, bool), jnp.array([[-1, 99, 0]], jnp.int32), labels)

    def by_pad(x):
        return jaxloss.ctc(x, dirty_labels, lp, lap)

    def by_len(x):
        return jaxloss.ctc(x, dirty_labels, input_lengths=jnp.asarray(il),
                           label_lengths=jnp.asarray(ll))  # fmt: skip

    clean = [jaxloss.ctc(x[b : b + 1, : il[b]], labels[b : b + 1, : ll[b]])[0] for b in range(3)]
    for f in (by_pad, by_len):
        np.testing.assert_allclose(f(dirty_x), clean, rtol=1e-12)
        g = grad(f, dirty_x)
        assert bool(jnp.all(jnp.isfinite(g)))
        np.testing.assert_array_equal(jnp.where(jnp.asarray(lp, bool)[..., None], g, 0), 0 * g)
    np.testing.assert_allclose(grad(by_pad, dirty_x), grad(by_len, dirty_x), atol=1e-14)


def test_padded_frame_in_the_middle_is_skipped_as_in_optax():
    x, labels = _batch()
    lp = np.zeros((3, T), np.float32)
    lp[:, 2] = 1.0
    kept = jnp.asarray([0, 1, 3, 4])
    np.testing.assert_allclose(
        jaxloss.ctc(x, labels, lp), jaxloss.ctc(x[:, kept], labels), rtol=1e-12
    )


def test_formulations_mix_per_input_and_bool_paddings_work():
    x, labels = _batch()
    lp = np.arange(T)[None] >= np.array([5, 4, 5])[:, None]
    a = jaxloss.ctc(x, labels, lp, label_lengths=jnp.array([2, 1, 2]))
    b = jaxloss.ctc(x, labels, input_lengths=jnp.array([5, 4, 5]),
                    label_paddings=np.array([[0, 0], [0, 1], [0, 0]]))  # fmt: skip
    np.testing.assert_allclose(a, b, rtol=1e-12)


# --- boundaries


def test_too_few_frames_for_repeats_is_impossible():
    x = jnp.zeros((1, 4, 3))
    labels = jnp.array([[1, 1, 2]])  # needs 1 _ 1 2: four frames
    assert np.isfinite(jaxloss.ctc(x, labels)[0])
    assert jaxloss.ctc(x, labels, input_lengths=jnp.array([3]))[0] == np.inf
    assert np.isfinite(jaxloss.ctc(x, jnp.array([[1, 2, 1]]), input_lengths=jnp.array([3]))[0])


def test_impossible_alignment_inf_and_nan_gradient_or_zero():
    x, labels = _batch()
    il = jnp.array([2, 5, 5])  # sequence 0 needs 3 frames for its repeated label
    value = jaxloss.ctc(x, labels, input_lengths=il)
    assert value[0] == np.inf and np.all(np.isfinite(value[1:]))
    g = grad(lambda x: jaxloss.ctc(x, labels, input_lengths=il), x)
    assert bool(jnp.all(jnp.isnan(g[0, :2]))) and bool(jnp.all(g[0, 2:] == 0))  # as PyTorch
    assert bool(jnp.all(jnp.isfinite(g[1:])))
    zi = jaxloss.ctc(x, labels, input_lengths=il, zero_infinity=True)
    np.testing.assert_array_equal(zi, value.at[0].set(0.0))
    gz = grad(lambda x: jaxloss.ctc(x, labels, input_lengths=il, zero_infinity=True), x)
    np.testing.assert_array_equal(gz[0], 0 * gz[0])
    np.testing.assert_array_equal(gz[1:], g[1:])


def test_impossible_is_inf_not_a_large_number_unlike_optax():
    import optax

    x = jnp.zeros((1, 2, 3), jnp.float32)
    labels, pads = jnp.array([[1, 1]]), jnp.zeros((1, 2), jnp.float32)
    assert jaxloss.ctc(x, labels)[0] == np.inf
    with jax.numpy_dtype_promotion("standard"):  # optax mixes float32 constants in
        assert 1e4 < float(optax.ctc_loss(x, pads, labels, pads)[0]) < 1e6


def test_masked_classes_give_finite_values_and_zero_gradient():
    x, labels = _batch()
    labels = jnp.minimum(labels, 2)  # labels avoid class 3
    masked = x.at[..., 3].set(-jnp.inf)
    value = jaxloss.ctc(masked, labels)
    # Same as the loss over the three remaining classes.
    np.testing.assert_allclose(value, jaxloss.ctc(x[..., :3], labels), rtol=1e-12)
    g = grad(lambda x: jaxloss.ctc(x, labels), masked)
    assert bool(jnp.all(jnp.isfinite(g))) and bool(jnp.all(g[..., 3] == 0))
    np.testing.assert_allclose(g[..., :3], grad(lambda x: jaxloss.ctc(x, labels), x[..., :3]),
                               atol=1e-12)  # fmt: skip
    # A label's class masked on one frame only: still finite, avoided there.
    one = x.at[0, 0, labels[0, 0]].set(-jnp.inf)
    assert bool(jnp.all(jnp.isfinite(grad(lambda x: jaxloss.ctc(x, labels), one))))
    # Every alignment through a masked class: impossible.
    assert jaxloss.ctc(masked, jnp.array([[3, 1], [1, 3], [3, 3]]))[0] == np.inf


def test_extreme_logits_stay_finite():
    x, labels = _batch()
    for scale in (1e4, 1e8):
        big = jnp.asarray(x * scale, jnp.float32)
        v = jaxloss.ctc(big, labels)
        g = grad(lambda x: jaxloss.ctc(x, labels), big)
        assert bool(jnp.all(jnp.isfinite(v))) and bool(jnp.all(jnp.isfinite(g)))


def test_invalid_labels_and_lengths_give_nan():
    x, labels = _batch()
    for bad in ([4, 1], [-1, 1], [0, 1]):  # out of range, negative, the blank
        v = jaxloss.ctc(x, labels.at[1].set(jnp.array(bad, jnp.int32)))
        assert np.isnan(v[1]) and np.isfinite(v[0]) and np.isfinite(v[2])
    # Outside the label length the same values are padding and harmless.
    v = jaxloss.ctc(x, labels.at[1, 1].set(-1), label_lengths=jnp.array([2, 1, 2]))
    assert np.all(np.isfinite(v))
    v = jaxloss.ctc(x, labels, input_lengths=jnp.array([5, 6, -1]),
                    label_lengths=jnp.array([3, 1, 2]))  # fmt: skip
    assert np.all(np.isnan(v))


# --- where, weights, reductions


def test_where_excludes_sequences_with_nan_and_bad_labels():
    x, labels = _batch()
    dirty_x = x.at[1].set(jnp.nan)
    dirty_labels = labels.at[1].set(jnp.array([-5, 0], jnp.int32))
    keep = jnp.array([True, False, True])
    for reduction in ("none", "mean", "sum"):

        def f(x, labels=labels, reduction=reduction):
            return jaxloss.ctc(x, labels, where=keep, reduction=reduction)

        v, g = jax.value_and_grad(lambda x, f=f: jnp.sum(f(x, dirty_labels)))(dirty_x)
        vc, gc = jax.value_and_grad(lambda x, f=f: jnp.sum(f(x)))(x)
        np.testing.assert_allclose(v, vc, rtol=1e-12)
        np.testing.assert_array_equal(g[1], 0 * g[1])
        np.testing.assert_allclose(g, gc.at[1].set(0.0), atol=1e-14)
    masked_mean = jaxloss.ctc(dirty_x, dirty_labels, where=jnp.zeros(3, bool), reduction="mean")
    assert float(masked_mean) == 0.0


def test_weights_and_reductions():
    x, labels = _batch()
    losses = jaxloss.ctc(x, labels)
    w = jnp.array([0.5, 2.0, 1.0])
    np.testing.assert_allclose(jaxloss.ctc(x, labels, weights=w), w * losses, rtol=1e-12)
    np.testing.assert_allclose(jaxloss.ctc(x, labels, reduction="sum"), jnp.sum(losses))
    np.testing.assert_allclose(jaxloss.ctc(x, labels, weights=w, reduction="mean"),
                               jnp.sum(w * losses) / jnp.sum(w), rtol=1e-12)  # fmt: skip


# --- shapes and transformations


def test_unbatched_and_leading_batch_axes():
    x, labels = _batch(b=6)
    flat = jaxloss.ctc(x, labels)
    np.testing.assert_allclose(jaxloss.ctc(x[0], labels[0]), flat[0], rtol=1e-12)
    assert jaxloss.ctc(x[0], labels[0]).shape == ()
    grid = jaxloss.ctc(x.reshape(2, 3, T, K), labels.reshape(2, 3, 2),
                       input_lengths=jnp.full((2, 3), T))  # fmt: skip
    np.testing.assert_allclose(grid, flat.reshape(2, 3), rtol=1e-12)
    w = jnp.array([[1.0], [2.0]])  # broadcasts over the batch shape (2, 3)
    weighted = jaxloss.ctc(x.reshape(2, 3, T, K), labels.reshape(2, 3, 2), weights=w)
    np.testing.assert_allclose(weighted, flat.reshape(2, 3) * w, rtol=1e-12)
    # (jax.vmap over sequences: the contract tests and the lengths harness test below.)


def test_gradient_matches_the_reference_under_jit():
    # (jax.hessian against the reference runs in the contract tests.)
    x, labels = _batch(blank=3)
    lp = jnp.asarray(np.arange(T)[None] >= np.array([5, 4, 3])[:, None], jnp.float32)

    def loss(f):
        return jax.jit(jax.grad(lambda x: f(x, labels, lp, blank=3, reduction="mean")))

    np.testing.assert_allclose(loss(jaxloss.ctc)(x), loss(reference.ctc)(x), atol=1e-13)


def test_float32_gradient_precision_on_long_sequences():
    """Renormalised recursions: the float32 gradient error does not grow with the loss."""
    r = rng(7)
    b, t, k, n = 4, 200, 16, 40
    x = r.normal(size=(b, t, k)) * 3
    labels = jnp.asarray(r.integers(1, k, size=(b, n)), jnp.int32)

    def g(x):
        return jax.jit(jax.grad(lambda x: jnp.sum(jaxloss.ctc(x, labels))))(x)

    exact = g(jnp.asarray(x))
    assert float(jnp.min(jaxloss.ctc(jnp.asarray(x), labels))) > 300  # a long, costly sequence
    err = float(jnp.max(jnp.abs(g(jnp.asarray(x, jnp.float32)).astype(exact.dtype) - exact)))
    assert err < 1e-4, err


def test_low_precision_dtypes_round_trip():
    x, labels = _batch()
    for dtype in (jnp.bfloat16, jnp.float16):
        xs = x.astype(dtype)
        v, g = jax.value_and_grad(lambda x: jnp.sum(jaxloss.ctc(x, labels)))(xs)
        assert v.dtype == dtype and g.dtype == dtype


# --- errors


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"logit_paddings": np.zeros((3, T)), "input_lengths": np.full(3, T)}, ValueError,
         "pass either logit_paddings .* or input_lengths"),
        ({"label_paddings": np.zeros((3, 2)), "label_lengths": np.full(3, 2)}, ValueError,
         "pass either label_paddings .* or label_lengths"),
        ({"logit_paddings": np.zeros((3, T + 1))}, ValueError,
         r"logit_paddings must have shape \(3, 5\)"),
        ({"label_paddings": np.zeros((3, 3))}, ValueError,
         r"label_paddings must have the shape of labels \(3, 2\)"),
        ({"input_lengths": np.full((3, 1), T)}, ValueError,
         r"input_lengths must have the batch shape \(3,\)"),
        ({"label_lengths": np.full(3, 2.0)}, TypeError, "label_lengths must have an integer dtype"),
        ({"blank": K}, ValueError, r"blank must be a class index in \[0, 4\)"),
        ({"blank": 1.0}, TypeError, "blank must be an int"),
        ({"zero_infinity": 1}, TypeError, "zero_infinity must be True or False"),
        ({"reduction": "batchmean"}, ValueError, "reduction must be one of"),
        ({"weights": np.ones(4)}, ValueError, "weights must be broadcastable"),
        ({"where": np.ones(3)}, TypeError, "where must be a boolean array"),
    ],
)  # fmt: skip
def test_errors(kwargs, error, match):
    x, labels = _batch()
    with pytest.raises(error, match=f"ctc: {match}"):
        jaxloss.ctc(x, labels, **kwargs)


def test_input_errors():
    x, labels = _batch()
    with pytest.raises(TypeError, match="ctc: logits must have a floating dtype"):
        jaxloss.ctc(labels, labels)
    with pytest.raises(ValueError, match=r"ctc: logits must have shape \[\.\.\., T, K\]"):
        jaxloss.ctc(x[0, 0], labels[0])
    with pytest.raises(ValueError, match=r"ctc: labels must have shape \(3, N\)"):
        jaxloss.ctc(x, labels[0])
    # optax's positional order puts float paddings where the labels go: a clear hint.
    with pytest.raises(TypeError, match="not optax's"):
        jaxloss.ctc(x, jnp.zeros((3, T)), labels, jnp.zeros((3, 2)))
    with pytest.raises(TypeError, match="blank must be a static Python int"):
        jax.jit(lambda b: jaxloss.ctc(x, labels, blank=b))(0)


def test_many_classes_take_the_scatter_path():
    """Above 128 classes the occupancies are scatter-added instead of a one-hot product."""
    r = rng(11)
    x = jnp.asarray(r.normal(size=(2, 6, 300)))
    labels = jnp.asarray([[7, 7, 299], [150, 3, 3]], jnp.int32)

    def g(f):
        return jax.value_and_grad(lambda x: jnp.sum(f(x, labels)))(x)

    (v, gx), (vr, gr) = g(jaxloss.ctc), g(reference.ctc)
    np.testing.assert_allclose(v, vr, rtol=1e-12)
    np.testing.assert_allclose(gx, gr, atol=1e-13)


def test_lengths_formulation_through_the_harness():
    """The catalogue samples optax's paddings; PyTorch's lengths go through the harness here."""
    from jaxloss import testing

    x, labels = _batch(b=4)

    def with_lengths(f):
        def loss(x, labels, il, ll, **kw):
            return f(x, labels, input_lengths=il, label_lengths=ll, **kw)

        return loss

    sample = (x, labels, jnp.array([5, 3, 4, 5], jnp.int32), jnp.array([2, 1, 0, 2], jnp.int32))
    report = testing.check_loss(with_lengths(jaxloss.ctc), with_lengths(reference.ctc), sample,
                                checks=("gradient", "vmap"), name="ctc (lengths)")  # fmt: skip
    report.raise_for_failure()


# --- shape polymorphism and empty batches


def test_export_with_a_symbolic_batch_matches_the_plain_call():
    from jax import export

    (b,) = export.symbolic_shape("b")
    x, labels = _batch(seed=7, b=3)
    x = x.astype(jnp.float32)

    def f(x, labels):
        return jaxloss.ctc(x, labels, reduction="mean")

    specs = (jax.ShapeDtypeStruct((b, T, K), jnp.float32), jax.ShapeDtypeStruct((b, 2), jnp.int32))
    for g in (f, jax.grad(f)):
        exported = export.export(jax.jit(g))(*specs)
        np.testing.assert_allclose(exported.call(x, labels), g(x, labels), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("batch", [(0,), (2, 0)])
def test_empty_batch_gives_empty_none_and_zero_sum_and_mean(batch):
    x = jnp.zeros((*batch, T, K))
    labels = jnp.zeros((*batch, 2), jnp.int32)
    assert jaxloss.ctc(x, labels).shape == batch
    for reduction in ("sum", "mean"):
        for kw in ({}, {"weights": jnp.ones(batch)}, {"where": jnp.ones(batch, bool)}):
            f = jax.jit(lambda x, r=reduction, kw=kw: jaxloss.ctc(x, labels, reduction=r, **kw))
            value, g = jax.value_and_grad(f)(x)
            assert value == 0.0 and g.shape == x.shape
