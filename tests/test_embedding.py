"""Embedding losses: documented values and conventions, masking, shapes and errors."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss
from jaxloss import reference


def rng(seed=0):
    return np.random.default_rng(seed)


def grads(f, *xs, argnums=0):
    return jax.grad(lambda *a: jnp.sum(f(*a)), argnums=argnums)(*xs)


# --- cosine


def test_cosine_zero_vectors_value_and_gradient():
    a = jnp.array([[0.0, 0.0], [3.0, 4.0], [0.0, 0.0]])
    b = jnp.array([[1.0, 1.0], [0.0, 0.0], [0.0, 0.0]])
    np.testing.assert_array_equal(jaxloss.cosine_similarity(a, b), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(jaxloss.cosine_distance(a, b), [1.0, 1.0, 1.0])
    for f in (jaxloss.cosine_similarity, jaxloss.cosine_distance):
        ga, gb = grads(f, a, b, argnums=(0, 1))
        np.testing.assert_array_equal(ga, np.zeros((3, 2)))
        np.testing.assert_array_equal(gb, np.zeros((3, 2)))


def test_cosine_epsilon_floor_gradient_has_no_projection_term():
    a, b = jnp.array([0.1, 0.2]), jnp.array([3.0, 4.0])
    # ‖a‖² = 0.05 < ε = 1: c = ⟨a, b⟩ / (1 · 5), ∂c/∂a = b / 5.
    np.testing.assert_allclose(jaxloss.cosine_similarity(a, b, epsilon=1.0), 1.1 / 5)
    np.testing.assert_allclose(
        grads(lambda x: jaxloss.cosine_similarity(x, b, epsilon=1.0), a),
        np.asarray(b) / 5,
        rtol=1e-12,
    )


def test_cosine_where_excludes_nan_examples_and_axis_tuple():
    a, b = (jnp.asarray(rng(1).normal(size=(4, 3, 2))) for _ in range(2))
    a = a.at[0].set(jnp.nan)
    where = jnp.array([False, True, True, True])
    f = lambda x: jaxloss.cosine_distance(x, b, axis=(1, 2), where=where, reduction="mean")  # noqa: E731
    value, g = jax.value_and_grad(f)(a)
    want = jnp.mean(jaxloss.cosine_distance(a[1:].reshape(3, 6), b[1:].reshape(3, 6)))
    np.testing.assert_allclose(value, want, rtol=1e-12)
    assert np.all(np.asarray(g[0]) == 0) and np.isfinite(np.asarray(g)).all()


@pytest.mark.parametrize(
    "name, scale",
    [(n, s) for n in ("cosine_similarity", "cosine_distance") for s in (1e25, 1e-25, 1e35)]
    # cosine_embedding: below ~1e-6 PyTorch's ε = 1e-12 on the squared norms dominates
    + [("cosine_embedding", 1e25), ("cosine_embedding", 1e35)],
)
def test_cosine_float32_range_is_scaled_like_linalg_norm(name, scale):
    """Entries beyond ~1.8e19 or below ~1e-19 overflowed or flushed the squared norms; the
    value is scale-free and the gradient scales as 1/scale."""
    r = rng(7)
    a, b = (r.normal(size=(5, 6)).astype(np.float32) for _ in range(2))
    extra = (np.asarray([1, -1, 1, -1, 1]),) if name == "cosine_embedding" else ()
    fn = getattr(jaxloss, name)

    def f(x, y):
        return fn(x, y, *extra, reduction="sum")

    s = np.float32(scale)
    v1, g1 = jax.jit(jax.value_and_grad(f, (0, 1)))(a, b)
    vs, gs = jax.jit(jax.value_and_grad(f, (0, 1)))(a * s, b * s)
    np.testing.assert_allclose(vs, v1, rtol=1e-5, atol=1e-5)
    for x, y in zip(gs, g1, strict=True):
        np.testing.assert_allclose(np.asarray(x, np.float64) * scale, y, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["cosine_similarity", "cosine_distance"])
def test_cosine_hvp_of_tiny_vectors_is_not_nan(name):
    """Forward over reverse at entries ~1e-30 (the rescaled path): the derivative of the
    scale 1/m overflowed and the Hessian-vector product was NaN. The second derivative
    with respect to b is ~1e30 (finite); with respect to the tiny a it is ~1e60, beyond
    float32, so there ±inf is right, matching float64 wherever float64 is in range."""
    r = rng(11)
    a, b, ta, tb = (r.normal(size=(4, 5)).astype(np.float32) for _ in range(4))
    a = a * np.float32(1e-30)
    fn = getattr(jaxloss, name)

    def hvp(a, b, ta, tb):
        vg = jax.value_and_grad(lambda x, y: fn(x, y, reduction="mean"), (0, 1))
        return jax.jvp(vg, (a, b), (ta, tb))[1][1]

    got = jax.jit(hvp)(a, b, ta, tb)
    with jax.enable_x64(True):
        want = jax.jit(hvp)(*(np.asarray(x, np.float64) for x in (a, b, ta, tb)))
    want = [np.asarray(w) for w in want]
    np.testing.assert_allclose(got[1], want[1], rtol=1e-3)
    assert np.all(np.isfinite(got[1]))
    big = np.abs(want[0]) > np.finfo(np.float32).max
    assert not np.any(np.isnan(got[0]))
    np.testing.assert_array_equal(np.isinf(got[0]), big)
    np.testing.assert_allclose(got[0][~big], want[0][~big], rtol=1e-3)


def test_cosine_errors():
    with pytest.raises(ValueError, match="cosine_similarity: predictions and targets must have"):
        jaxloss.cosine_similarity(jnp.ones((2, 3)), jnp.ones((2, 4)))
    with pytest.raises(ValueError, match="epsilon must be in"):
        jaxloss.cosine_distance(jnp.ones(3), jnp.ones(3), epsilon=-1.0)
    with pytest.raises(TypeError, match="floating dtype"):
        jaxloss.cosine_similarity(jnp.ones(3, jnp.int32), jnp.ones(3))
    with pytest.raises(ValueError, match="feature axis"):
        jaxloss.cosine_similarity(jnp.ones(()), jnp.ones(()))


def test_cosine_bf16_is_computed_in_float32():
    a = jnp.asarray(rng(2).normal(size=(8, 16)), jnp.bfloat16)
    out = jaxloss.cosine_similarity(a, a)
    assert out.dtype == jnp.bfloat16
    np.testing.assert_allclose(np.asarray(out, np.float32), 1.0, atol=1e-2)


# --- cosine_embedding


def test_cosine_embedding_targets_other_than_pm1_give_zero():
    x1, x2 = jnp.ones((3, 2)), jnp.array([[1.0, -1.0], [2.0, 0.0], [0.0, 1.0]])
    out = jaxloss.cosine_embedding(x1, x2, jnp.array([0, 2, 1]))
    np.testing.assert_allclose(out, [0.0, 0.0, 1 - 1 / math.sqrt(2)], rtol=1e-6)


def test_cosine_embedding_target_shape_error():
    with pytest.raises(
        ValueError, match=r"cosine_embedding: target must have the loss shape \(3,\)"
    ):
        jaxloss.cosine_embedding(jnp.ones((3, 2)), jnp.ones((3, 2)), jnp.ones((3, 2)))
    with pytest.raises(ValueError, match="margin must be in"):
        jaxloss.cosine_embedding(jnp.ones((3, 2)), jnp.ones((3, 2)), jnp.ones(3), margin=2.0)


# --- triplet_margin


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, math.inf])
def test_triplet_margin_p_norms_use_absolute_values(p):
    a = jnp.array([[0.0, 0.0, 0.0]])
    pos = jnp.array([[1.0, -2.0, 2.0]])
    neg = jnp.array([[-4.0, 0.0, 0.0]])
    dp = {1.0: 5.0, 2.0: 3.0, 3.0: 17 ** (1 / 3), math.inf: 2.0}[p]
    out = jaxloss.triplet_margin(a, pos, neg, norm_degree=p, eps=0.0, margin=4.0)
    np.testing.assert_allclose(out, [max(0.0, 4.0 + dp - 4.0)], rtol=1e-12)


def test_triplet_margin_anchor_equal_positive_gradients_are_finite():
    a = jnp.asarray(rng(3).normal(size=(5, 4)))
    neg = a + 0.1
    for p in (1.0, 1.5, 2.0, 3.0, math.inf):
        for eps in (0.0, 1e-6):
            g = grads(
                lambda x, y, z, p=p, eps=eps: jaxloss.triplet_margin(
                    x, y, z, norm_degree=p, eps=eps
                ),
                a,
                a,
                neg,
                argnums=(0, 1, 2),
            )
            assert all(np.isfinite(np.asarray(x)).all() for x in g), (p, eps)


def test_triplet_margin_inf_norm_ties_share_the_gradient():
    a, pos, neg = jnp.array([[2.0, -2.0, 1.0]]), jnp.zeros((1, 3)), jnp.array([[-1.0, -5.0, -2.0]])
    ga = grads(
        lambda x: jaxloss.triplet_margin(x, pos, neg, norm_degree=math.inf, eps=0.0, margin=20.0), a
    )
    # ∂‖a‖∞/∂a = (½, -½, 0) on the tied entries; ∂‖a − n‖∞/∂a = ⅓ each (a − n = (3, 3, 3)).
    np.testing.assert_allclose(ga, [[0.5 - 1 / 3, -0.5 - 1 / 3, -1 / 3]], rtol=1e-12)


def test_triplet_margin_huge_inputs_p3_do_not_overflow_in_float32():
    a = jnp.array([[1e20, 0.0]], jnp.float32)
    out = jaxloss.triplet_margin(a, jnp.zeros((1, 2), jnp.float32), -a, norm_degree=3.0)
    assert np.isfinite(np.asarray(out)).all()


@pytest.mark.parametrize("name", ["triplet_margin", "triplet_margin_with_distance"])
@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("norm_degree", [1.0, 2.0, 3.0, math.inf])
def test_triplet_infinitely_far_negative_has_zero_gradient_and_hvp(name, swap, norm_degree):
    # The loss is 0 (the hinge is inactive): every derivative is 0, not 0·∞ = NaN.
    fn = getattr(jaxloss, name)
    opts = {"swap": swap}
    if name == "triplet_margin":
        opts["norm_degree"] = norm_degree
    elif norm_degree != 2.0:
        opts["distance"] = lambda x, y, p=norm_degree: jnp.linalg.norm(x - y, ord=p, axis=-1)
    a = jnp.zeros((2, 3), jnp.float32)
    p = jnp.ones((2, 3), jnp.float32)
    n = jnp.asarray([[jnp.inf, 0.0, 0.0], [-jnp.inf, jnp.inf, 2.0]], jnp.float32)

    def total(a, p, n):
        return fn(a, p, n, reduction="sum", **opts)

    assert total(a, p, n) == 0
    g = jax.grad(total, argnums=(0, 1, 2))
    t = tuple(jnp.asarray(rng(s).normal(size=(2, 3)), jnp.float32) for s in (1, 2, 3))
    grad, hvp = jax.jvp(g, (a, p, n), t)
    for x in (*grad, *hvp):
        np.testing.assert_array_equal(x, np.zeros((2, 3)))


def test_triplet_margin_errors():
    x = jnp.ones((2, 3))
    with pytest.raises(ValueError, match="norm_degree must be in"):
        jaxloss.triplet_margin(x, x, x, norm_degree=0.5)
    with pytest.raises(TypeError, match="swap must be True or False"):
        jaxloss.triplet_margin(x, x, x, swap=1)
    with pytest.raises(ValueError, match="anchors and negatives must have the same shape"):
        jaxloss.triplet_margin(x, x, jnp.ones((2, 4)))


def test_triplet_margin_with_distance_checks_the_distance_shape():
    x = jnp.ones((2, 3))
    with pytest.raises(ValueError, match=r"one distance per example, shape \(2,\)"):
        jaxloss.triplet_margin_with_distance(x, x, x, distance=lambda u, v: u - v)
    with pytest.raises(TypeError, match="distance must be a callable"):
        jaxloss.triplet_margin_with_distance(x, x, x, distance=2.0)


def test_triplet_margin_with_distance_default_is_triplet_margin():
    a, p, n = (jnp.asarray(rng(s).normal(size=(6, 4))) for s in (4, 5, 6))
    for swap in (False, True):
        np.testing.assert_allclose(
            jaxloss.triplet_margin_with_distance(a, p, n, swap=swap),
            jaxloss.triplet_margin(a, p, n, swap=swap),
            rtol=1e-12,
        )


# --- elementwise


def test_contrastive_is_hadsell_with_flipped_labels_and_no_half():
    d = jnp.asarray(rng(7).uniform(0, 2, 10))
    y = jnp.asarray(rng(8).integers(0, 2, 10).astype(np.float64))
    hadsell = 0.5 * (1 - y) * d**2 + 0.5 * y * jnp.maximum(0, 1.0 - d) ** 2  # Y = 0 similar
    np.testing.assert_allclose(jaxloss.contrastive(d, 1 - y) / 2, hadsell, rtol=1e-12)


def test_margin_ranking_and_hinge_embedding_hinge_subgradient_is_zero():
    g = grads(
        lambda a, b: jaxloss.margin_ranking(a, b, jnp.array([1.0]), margin=0.5),
        jnp.array([1.0]),
        jnp.array([0.5]),
        argnums=(0, 1),
    )
    assert float(g[0][0]) == 0.0 and float(g[1][0]) == 0.0
    g = grads(lambda x: jaxloss.hinge_embedding(x, jnp.array([-1])), jnp.array([1.0]))
    assert float(g[0]) == 0.0


def test_margin_ranking_infinite_difference_off_the_hinge_has_finite_gradients():
    # Loss 0 where y (x1 - x2) = +inf: the target's gradient is 0, not 0 · inf = NaN.
    x1 = jnp.array([jnp.inf, 2.0, -jnp.inf])
    x2 = jnp.array([0.0, 1.0, 0.0])
    t = jnp.array([1.0, 1.0, -1.0])

    def f(a, b, y):
        return jaxloss.margin_ranking(a, b, y, margin=0.5, reduction="sum")

    v, g = jax.jit(jax.value_and_grad(f, argnums=(0, 1, 2)))(x1, x2, t)
    assert float(v) == 0.0
    for gi in g:
        np.testing.assert_array_equal(gi, np.zeros(3))
    h = jax.hessian(f, argnums=2)(x1, x2, t)
    assert np.all(np.isfinite(np.asarray(h)))


def test_hinge_embedding_targets_other_than_pm1():
    x = jnp.array([0.3, 0.3, 2.0])
    for bad in (np.asarray([1, 0, -1]), [1.0, 2.0, -1.0], jnp.asarray([1, -1, 3])):
        for f in (jaxloss.hinge_embedding, reference.hinge_embedding):
            with pytest.raises(ValueError, match=r"hinge_embedding: target must hold only the "
                               r"values \(1, -1\), got "):  # fmt: skip
                f(x, bad)
    # Excluded entries are not checked; traced targets cannot be: NaN there, gradient 0.
    keep = np.asarray([True, False, True])
    np.testing.assert_allclose(jaxloss.hinge_embedding(x, np.asarray([1, 0, -1]), where=keep),
                               [0.3, 0.0, 0.0], rtol=1e-12)  # fmt: skip
    t = jnp.asarray([1, 0, -1])
    value = jax.jit(jaxloss.hinge_embedding)(x, t)
    np.testing.assert_array_equal(np.isnan(value), [False, True, False])
    g = jax.jit(jax.grad(lambda x, t: jnp.sum(jaxloss.hinge_embedding(x, t))))(x, t)
    np.testing.assert_array_equal(g, [1.0, 0.0, 0.0])


def test_integer_targets_and_where():
    x = jnp.array([0.2, jnp.nan, 3.0])
    t = jnp.array([1, -1, -1])
    where = jnp.array([True, False, True])
    v, g = jax.value_and_grad(
        lambda s: jaxloss.hinge_embedding(s, t, where=where, reduction="mean")
    )(x)
    np.testing.assert_allclose(v, 0.1, rtol=1e-12)
    np.testing.assert_array_equal(g, [0.5, 0.0, 0.0])


# --- in-batch losses


def _batch(seed=0, b=12, d=5, classes=3):
    r = rng(seed)
    return jnp.asarray(r.normal(size=(b, d))), jnp.asarray(r.integers(0, classes, b))


def _brute_force_hard(e, y, margin):
    e, y = np.asarray(e), np.asarray(y)
    d = np.linalg.norm(e[:, None] - e[None], axis=-1)
    out = []
    for a in range(len(y)):
        pos = [j for j in range(len(y)) if y[j] == y[a] and j != a]
        neg = [j for j in range(len(y)) if y[j] != y[a]]
        out.append(max(0.0, margin + max(d[a, pos]) - min(d[a, neg])) if pos and neg else 0.0)
    return np.asarray(out)


def test_batch_hard_triplet_matches_a_loop():
    e, y = _batch(1)
    y = y.at[0].set(7)  # an anchor with no positive: 0
    np.testing.assert_allclose(
        jaxloss.batch_hard_triplet(e, y, margin=0.7), _brute_force_hard(e, y, 0.7), rtol=1e-12
    )
    assert float(jaxloss.batch_hard_triplet(e, y)[0]) == 0.0


def test_batch_all_triplet_mean_is_over_active_triplets():
    e, y = _batch(2)
    en, yn = np.asarray(e), np.asarray(y)
    d = np.linalg.norm(en[:, None] - en[None], axis=-1)
    terms = [
        max(0.0, 1.0 + d[a, p] - d[a, n])
        for a in range(12)
        for p in range(12)
        for n in range(12)
        if yn[p] == yn[a] and p != a and yn[n] != yn[a]
    ]
    terms = np.asarray(terms)
    np.testing.assert_allclose(
        jaxloss.batch_all_triplet(e, y, reduction="sum"), terms.sum(), rtol=1e-12
    )
    np.testing.assert_allclose(
        jaxloss.batch_all_triplet(e, y, reduction="mean"),
        terms.sum() / np.sum(terms > 0),
        rtol=1e-12,
    )


def test_batch_all_no_active_triplet_mean_is_zero_with_zero_gradient():
    e = jnp.array([[0.0, 0.0], [0.0, 0.1], [10.0, 0.0], [10.0, 0.1]])
    y = jnp.array([0, 0, 1, 1])
    v, g = jax.value_and_grad(lambda x: jaxloss.batch_all_triplet(x, y, reduction="mean"))(e)
    assert float(v) == 0.0 and not np.any(np.asarray(g))


@pytest.mark.parametrize("soft", [False, True])
@pytest.mark.parametrize("metric", ["euclidean", "squared_euclidean"])
@pytest.mark.parametrize("huge", [1e30, math.inf])
def test_batch_all_one_huge_embedding_leaves_the_other_anchors_finite(huge, metric, soft):
    # ‖x‖² overflows float32: the Gram form gave ∞ - ∞ = NaN, and a negative at infinite
    # distance 0 · ∞ = NaN, for every anchor of the batch.
    e = jnp.asarray([[huge, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, -1.0]], jnp.float32)
    y = jnp.array([0, 0, 1, 1])
    got = jaxloss.batch_all_triplet(e, y, metric=metric, soft=soft)
    want = reference.batch_all_triplet(e, y, metric=metric, soft=soft)
    np.testing.assert_allclose(got[2:], want[2:], rtol=1e-6)
    assert np.all(np.isfinite(got[2:]))
    assert float(got[1]) == math.inf  # its positive is infinitely far
    # Without the huge embedding the rest has finite value, gradient and hvp.
    where = jnp.array([False, True, True, True])

    def mean(x):
        return jaxloss.batch_all_triplet(x, y, metric=metric, soft=soft, where=where,
                                         reduction="mean")  # fmt: skip

    t = jnp.asarray(rng(1).normal(size=e.shape), jnp.float32)
    (v, g), (_, h) = jax.jvp(jax.value_and_grad(mean), (e,), (t,))
    assert np.isfinite(v) and np.all(np.isfinite(g)) and np.all(np.isfinite(h))
    np.testing.assert_array_equal(g[0], [0.0, 0.0])


def test_batch_hard_nan_embedding_in_a_vmapped_stack_of_batches():
    # On a vmapped stack of 20 x 6 batches, XLA:CPU's max and min reductions dropped the
    # NaN distances: the reference gave finite losses for the batch holding a NaN
    # embedding, so a mask derived from it kept that batch in, with a NaN gradient.
    e = rng(0).normal(size=(20, 6, 8, 5)).astype(np.float32)
    e[1, 0, 0, 0] = np.nan
    y = jnp.asarray(rng(1).integers(0, 3, size=(6, 8)))
    t = jnp.asarray(rng(2).normal(size=e.shape[1:]), jnp.float32)

    def one(x):
        where = jnp.isfinite(reference.batch_hard_triplet(x, y))

        def mean(x):
            return jaxloss.batch_hard_triplet(x, y, where=where, reduction="mean")

        (v, g), (_, h) = jax.jvp(jax.value_and_grad(mean), (x,), (t,))
        return where, v, g, h

    where, v, g, h = jax.vmap(one)(e)
    assert not np.any(where[1, 0]) and np.all(where[1, 1:]) and np.all(where[0])
    assert np.all(np.isfinite(v)) and np.all(np.isfinite(g)) and np.all(np.isfinite(h))
    np.testing.assert_array_equal(g[1, 0], np.zeros((8, 5)))


@pytest.mark.parametrize("name", ["batch_hard_triplet", "batch_all_triplet", "circle"])
def test_where_removes_examples_from_the_batch(name):
    e, y = _batch(3)
    f = getattr(jaxloss, name)
    keep = np.ones(12, bool)
    keep[[2, 5]] = False
    dirty = e.at[2].set(jnp.nan).at[5].set(jnp.inf)
    v, g = jax.value_and_grad(lambda x: f(x, y, where=jnp.asarray(keep), reduction="sum"))(dirty)
    v2, g2 = jax.value_and_grad(lambda x: f(x, y[keep], reduction="sum"))(e[keep])
    np.testing.assert_allclose(v, v2, rtol=1e-12)
    np.testing.assert_allclose(g[keep], g2, rtol=1e-10, atol=1e-14)
    assert not np.any(np.asarray(g[~keep]))


@pytest.mark.parametrize("name", ["batch_hard_triplet", "batch_all_triplet", "circle", "npairs"])
def test_leading_axes_are_independent_batches(name):
    r = rng(4)
    e = jnp.asarray(r.normal(size=(2, 3, 7, 4)))
    e = e / jnp.linalg.norm(e, axis=-1, keepdims=True)
    y = jnp.asarray(r.integers(0, 3, (2, 3, 7)))
    f = getattr(jaxloss, name)
    args = (
        (lambda x, lab: (x, x[..., ::-1, :], lab))
        if name == "npairs"
        else (lambda x, lab: (x, lab))
    )
    out = f(*args(e, y))
    assert out.shape == (2, 3, 7)
    np.testing.assert_allclose(out[1, 2], f(*args(e[1, 2], y[1, 2])), rtol=1e-12)


_EMPTY_CALLS = {
    "batch_hard_triplet": lambda m, e, y, r: m.batch_hard_triplet(e, y, reduction=r),
    "batch_all_triplet": lambda m, e, y, r: m.batch_all_triplet(e, y, reduction=r),
    "batch_all_triplet soft": lambda m, e, y, r: m.batch_all_triplet(e, y, soft=True, reduction=r),
    "circle": lambda m, e, y, r: m.circle(e, y, reduction=r),
    "npairs": lambda m, e, y, r: m.npairs(e, e[..., ::-1], y, reduction=r),
}


@pytest.mark.parametrize("module", ["jaxloss", "reference"])
@pytest.mark.parametrize("name", sorted(_EMPTY_CALLS))
@pytest.mark.parametrize("shape", [(0, 4), (2, 0, 4), (0, 3, 4)])
def test_empty_batch_is_an_empty_none_and_a_zero_sum_and_mean(name, shape, module):
    m = jaxloss if module == "jaxloss" else reference
    call = _EMPTY_CALLS[name]
    e = jnp.asarray(rng(5).normal(size=shape))
    y = jnp.zeros(shape[:-1], jnp.int32)
    assert call(m, e, y, "none").shape == shape[:-1]
    for reduction in ("sum", "mean"):
        value, g = jax.jit(jax.value_and_grad(lambda e, r=reduction: call(m, e, y, r)))(e)
        assert float(value) == 0.0 and g.shape == shape
        np.testing.assert_array_equal(g, 0.0)


_EXPORT_CALLS = {
    "batch_hard_triplet": lambda e, y: jaxloss.batch_hard_triplet(e, y, reduction="mean"),
    "batch_all_triplet": lambda e, y: jaxloss.batch_all_triplet(e, y, reduction="mean"),
    "batch_all_triplet soft": lambda e, y: jaxloss.batch_all_triplet(
        e, y, soft=True, reduction="mean"
    ),
    "circle": lambda e, y: jaxloss.circle(e, y, gamma=8.0, reduction="mean"),
    "npairs": lambda e, y: jaxloss.npairs(e, e[..., ::-1], y, reduction="mean"),
}


@pytest.mark.parametrize("name", sorted(_EXPORT_CALLS))
@pytest.mark.parametrize("symbolic", ["problems", "batch"])
def test_shape_polymorphic_export(name, symbolic):
    """jax.export with a symbolic batch-of-problems axis or batch axis, value and grad."""
    from jax import export

    (b,) = export.symbolic_shape("b")
    shape = (3, 8, 16) if symbolic == "problems" else (12, 16)
    spec = (b, 8, 16) if symbolic == "problems" else (b, 16)
    r = rng(22)
    e = jnp.asarray(r.normal(size=shape), jnp.float32)
    y = jnp.asarray(r.integers(0, 3, shape[:-1]), jnp.int32)
    f = _EXPORT_CALLS[name]
    for g in (f, jax.grad(f)):
        exported = export.export(jax.jit(g))(
            jax.ShapeDtypeStruct(spec, jnp.float32), jax.ShapeDtypeStruct(spec[:-1], jnp.int32)
        )
        np.testing.assert_allclose(exported.call(e, y), g(e, y), rtol=1e-5, atol=1e-6)


def test_mining_gradients_at_coincident_embeddings_are_finite():
    e = jnp.array([[1.0, 1.0], [1.0, 1.0], [1.0, 1.0], [2.0, 0.0]])
    y = jnp.array([0, 0, 1, 1])
    for name in ("batch_hard_triplet", "batch_all_triplet"):
        for metric in ("euclidean", "squared_euclidean", "cosine"):
            for soft in (False, True):
                g = grads(
                    lambda x, n=name, m=metric, s=soft: getattr(jaxloss, n)(x, y, metric=m, soft=s),
                    e,
                )
                assert np.isfinite(np.asarray(g)).all(), (name, metric, soft)
    g = grads(lambda x: jaxloss.circle(x, y), e / jnp.sqrt(2.0))
    assert np.isfinite(np.asarray(g)).all()


def test_circle_by_row_blocks_matches_the_reference(monkeypatch):
    # Blocks of 8 rows over 20 anchors: 3 blocks, the last padded with 4 invalid rows.
    from jaxloss import _embedding

    monkeypatch.setattr(_embedding, "_BLOCK_ELEMENTS", 64)
    r = rng(8)
    e = jnp.asarray(r.normal(size=(2, 20, 4)))
    e = e / jnp.linalg.norm(e, axis=-1, keepdims=True)
    y = jnp.asarray(r.integers(0, 4, (2, 20)))
    keep = jnp.asarray(r.random((2, 20)) > 0.2)
    w = jnp.asarray(r.random((2, 20)))
    kw = dict(gamma=4.0, margin=0.25, weights=w, where=keep)
    for reduction in ("none", "mean"):

        def f(x, red=reduction):
            return jaxloss.circle(x, y, **kw, reduction=red)

        def fr(x, red=reduction):
            return reference.circle(x, y, **kw, reduction=red)

        np.testing.assert_allclose(f(e), fr(e), rtol=1e-12)
        np.testing.assert_allclose(grads(f, e), grads(fr, e), rtol=1e-10, atol=1e-14)
    # Fewer examples than features: the backward scales the [B, B] side instead.
    wide = e[0, :6] @ jnp.asarray(r.normal(size=(4, 16)))
    for f in (jaxloss.circle, reference.circle):
        assert f(wide, y[0, :6]).shape == (6,)
    np.testing.assert_allclose(
        grads(lambda x: jaxloss.circle(x, y[0, :6], weights=w[0, :6]), wide),
        grads(lambda x: reference.circle(x, y[0, :6], weights=w[0, :6]), wide),
        rtol=1e-10,
        atol=1e-14,
    )
    h = jax.hessian(lambda x: jaxloss.circle(x, y[0], gamma=4.0, reduction="sum"))(e[0])
    hr = jax.hessian(lambda x: reference.circle(x, y[0], gamma=4.0, reduction="sum"))(e[0])
    np.testing.assert_allclose(h, hr, rtol=1e-8, atol=1e-12)


def test_batch_all_soft_and_hinge_match_the_reference_on_a_larger_batch():
    e, y = _batch(5, b=64, d=8, classes=5)
    for soft in (False, True):
        for reduction in ("none", "mean"):

            def f(x, s=soft, r=reduction):
                return jaxloss.batch_all_triplet(x, y, soft=s, reduction=r)

            def fr(x, s=soft, r=reduction):
                return reference.batch_all_triplet(x, y, soft=s, reduction=r)

            np.testing.assert_allclose(f(e), fr(e), rtol=1e-10)
            np.testing.assert_allclose(grads(f, e), grads(fr, e), rtol=1e-9, atol=1e-12)


def test_npairs_default_labels_are_the_pair_index():
    a, p = (jnp.asarray(rng(s).normal(size=(6, 3))) for s in (6, 7))
    logits = np.asarray(a @ p.T)
    want = -np.diag(logits - np.log(np.exp(logits).sum(1, keepdims=True)))
    np.testing.assert_allclose(jaxloss.npairs(a, p), want, rtol=1e-12)
    np.testing.assert_allclose(jaxloss.npairs(a, p, jnp.arange(6)), want, rtol=1e-12)


def test_mining_errors():
    e = jnp.ones((4, 3))
    with pytest.raises(ValueError, match="metric must be one of"):
        jaxloss.batch_hard_triplet(e, jnp.zeros(4, jnp.int32), metric="manhattan")
    with pytest.raises(TypeError, match="labels must have an integer dtype"):
        jaxloss.batch_all_triplet(e, jnp.zeros(4))
    with pytest.raises(ValueError, match=r"labels must have shape \(4,\)"):
        jaxloss.circle(e, jnp.zeros(3, jnp.int32))
    with pytest.raises(ValueError, match="at least a 2-D array"):
        jaxloss.batch_hard_triplet(jnp.ones(3), jnp.zeros((), jnp.int32))
    with pytest.raises(ValueError, match="gamma must be in"):
        jaxloss.circle(e, jnp.zeros(4, jnp.int32), gamma=0.0)


def test_soft_margin_default_is_zero():
    e, y = _batch(8)
    np.testing.assert_allclose(
        jaxloss.batch_hard_triplet(e, y, soft=True),
        jaxloss.batch_hard_triplet(e, y, soft=True, margin=0.0),
    )
