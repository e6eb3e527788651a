"""Multiclass margin losses, sparsemax and zero-one: values, documented conventions,
masking, label formats and errors."""

import functools
import threading

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss
from jaxloss import reference


def rng(seed=0):
    return np.random.default_rng(seed)


def scores(seed=0, shape=(9, 6), scale=1.5):
    r = rng(seed)
    return jnp.asarray(scale * r.normal(size=shape)), jnp.asarray(
        r.integers(0, shape[-1], shape[:-1])
    )


def grad(f, x, *args, **kwargs):
    return jax.grad(lambda s: jnp.sum(f(s, *args, **kwargs)))(x)


INTEGER_LABEL_LOSSES = [
    jaxloss.multi_margin,
    jaxloss.multiclass_hinge,
    jaxloss.sparsemax,
    jaxloss.zero_one,
]
IDS = [f.__name__ for f in INTEGER_LABEL_LOSSES]


# --- multi_margin


def test_multi_margin_is_the_weston_watkins_sum():
    x, y = scores(1)
    xn, yn = np.asarray(x), np.asarray(y)
    w = rng(2).uniform(0.5, 2.0, 6)
    for p, margin in ((1, 1.0), (2, 0.5), (1, -0.25)):
        want = []
        for row, label in zip(xn, yn, strict=True):
            h = np.maximum(0, margin - row[label] + row) ** p
            h[label] = 0
            want.append(w[label] * h.sum() / row.size)
        got = jaxloss.multi_margin(x, y, p=p, margin=margin, class_weights=jnp.asarray(w))
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_multi_margin_class_weights_mean_divides_by_the_number_of_examples():
    x, y = scores(3)
    w = jnp.asarray(rng(4).uniform(0.5, 3.0, 6))
    per = jaxloss.multi_margin(x, y, class_weights=w)
    mean = jaxloss.multi_margin(x, y, class_weights=w, reduction="mean")
    np.testing.assert_allclose(mean, jnp.sum(per) / 9, rtol=1e-12)
    # The weighted mean normalised by the class weights, when that is what is wanted:
    unweighted = jaxloss.multi_margin(x, y)
    normalised = jaxloss.multi_margin(x, y, weights=w[y], reduction="mean")
    np.testing.assert_allclose(normalised, jnp.sum(w[y] * unweighted) / jnp.sum(w[y]), rtol=1e-12)


def test_multi_margin_class_weights_are_differentiable():
    x, y = scores(5)
    w = jnp.asarray(rng(6).uniform(0.5, 3.0, 6))
    g = jax.grad(lambda w: jaxloss.multi_margin(x, y, class_weights=w, reduction="sum"))(w)
    per = jaxloss.multi_margin(x, y)
    want = np.zeros(6)
    np.add.at(want, np.asarray(y), np.asarray(per))
    np.testing.assert_allclose(g, want, rtol=1e-12)


def test_multi_margin_hinge_subgradient_is_zero_and_p2_is_smooth():
    x = jnp.array([[0.0, 1.0, 0.0, 0.5]])  # label 1: classes 0 and 2 exactly on the hinge
    y = jnp.array([1])
    np.testing.assert_array_equal(grad(jaxloss.multi_margin, x, y), [[0, -0.25, 0, 0.25]])
    np.testing.assert_array_equal(grad(jaxloss.multi_margin, x, y, p=2), [[0, -0.25, 0, 0.25]])


@pytest.mark.parametrize("p", [1, 2])
def test_multi_margin_extreme_scores_are_exact(p):
    x = jnp.array([[1e4, -1e4, 0.0], [-jnp.inf, 3.0, 2.5]], jnp.float32)
    y = jnp.array([1, 1])
    value = jaxloss.multi_margin(x, y, p=p)
    want = [((2e4 + 1) ** p + (1e4 + 1) ** p) / 3, 0.5**p / 3]
    np.testing.assert_allclose(value, np.asarray(want, np.float32), rtol=1e-7)
    assert bool(jnp.all(jnp.isfinite(grad(jaxloss.multi_margin, x, y, p=p))))


# --- multiclass_hinge


def test_multiclass_hinge_is_the_worst_violation():
    x, y = scores(7)
    xn, yn = np.asarray(x), np.asarray(y)
    others = np.where(np.arange(6) == yn[:, None], -np.inf, xn)
    want = np.maximum(0, 1 + others.max(-1) - xn[np.arange(9), yn])
    np.testing.assert_allclose(jaxloss.multiclass_hinge(x, y), want, rtol=1e-12)


def keras_categorical_hinge(x, onehot):
    # keras.losses.categorical_hinge, before its mean over the batch.
    pos = np.sum(onehot * x, -1)
    neg = np.max((1 - onehot) * x, -1)
    return np.maximum(neg - pos + 1, 0)


def test_multiclass_hinge_is_keras_categorical_hinge_on_probabilities():
    x, y = scores(8)
    probs = jax.nn.softmax(x)
    onehot = np.eye(6)[np.asarray(y)]
    np.testing.assert_allclose(
        jaxloss.multiclass_hinge(probs, y), keras_categorical_hinge(np.asarray(probs), onehot),
        rtol=1e-12,
    )  # fmt: skip
    # On negative scores Keras counts the label's slot as a wrong class scoring 0.
    neg = jnp.array([[-1.0, -2.0, -3.0]])
    assert float(jaxloss.multiclass_hinge(neg, jnp.array([1]))[0]) == 2.0
    assert keras_categorical_hinge(np.asarray(neg), np.eye(3)[[1]])[0] == 3.0


def test_multiclass_hinge_tie_convention():
    y = jnp.array([0, 0, 0])
    x = jnp.array([[0.0, 0.0, 0.0], [2.0, 1.0, -3.0], [0.0, 1.0, 1.0]])
    want = [[-1.0, 0.5, 0.5], [-0.5, 0.5, 0.0], [-1.0, 0.5, 0.5]]
    np.testing.assert_allclose(grad(jaxloss.multiclass_hinge, x, y), want, rtol=1e-15)


# --- multilabel_margin


def test_multilabel_margin_pairs_and_target_format():
    x = jnp.array([[0.1, 0.2, 0.4, 0.8]])
    loss = lambda t: float(jaxloss.multilabel_margin(x, jnp.array([t]))[0])  # noqa: E731
    base = loss([3, 0, -1, 1])
    assert base == pytest.approx((0.4 + 0.6 + 1.1 + 1.3) / 4, rel=1e-12)
    assert loss([3, 0, -1, -1]) == base  # what follows the first -1 is ignored
    assert loss([0, 3, -1, 2]) == base  # order within the list does not matter
    assert loss([-1, 3, 0, 1]) == 0.0  # no targets
    assert loss([0, 1, 2, 3]) == 0.0  # every class a target
    assert loss([3, 3, -1, 0]) == pytest.approx(2 * (0.4 + 0.2 + 0.7) / 4, rel=1e-12)  # twice


def test_multilabel_margin_invalid_index_before_the_end_gives_nan():
    x = jnp.array([[0.1, 0.2, 0.4, 0.8]] * 4)
    t = jnp.array([[0, 4, -1, 0], [-2, 1, -1, 0], [1, -1, 9, -5], [2, 1, 0, 7]])
    value = np.asarray(jaxloss.multilabel_margin(x, t))
    assert np.isnan(value[[0, 1, 3]]).all() and np.isfinite(value[2])
    g = np.asarray(grad(jaxloss.multilabel_margin, x, t))
    assert np.isnan(g[[0, 1, 3]]).all() and np.isfinite(g[2]).all()


def test_multilabel_margin_axis_and_masks():
    x = jnp.asarray(rng(9).normal(size=(5, 4, 3)))
    t = jnp.asarray(np.array([[2, -1, 0, 0], [0, 1, -1, 3], [-1, 0, 0, 0]]).T[None].repeat(5, 0))
    moved = jaxloss.multilabel_margin(x, t, axis=1)
    np.testing.assert_allclose(
        moved, jaxloss.multilabel_margin(jnp.moveaxis(x, 1, -1), jnp.moveaxis(t, 1, -1)),
        rtol=1e-15,
    )  # fmt: skip
    assert moved.shape == (5, 3)
    where = jnp.asarray(rng(10).uniform(size=(5, 3)) < 0.5)
    masked = jaxloss.multilabel_margin(x, t, axis=1, where=where, reduction="sum")
    np.testing.assert_allclose(masked, jnp.sum(jnp.where(where, moved, 0)), rtol=1e-12)


@pytest.mark.parametrize("classes", [32, 33, 100])
def test_multilabel_margin_both_algorithms_match_the_pairwise_reference(classes):
    """Up to 32 classes every pair is summed; above, sorted scores and binary searches."""
    r = rng(classes)
    x = r.normal(size=(12, classes))
    x[0, :3] = -np.inf  # masked classes (non-targets)
    t = np.full((12, classes), -1)
    for i in range(12):
        k = r.integers(0, 12)
        t[i, :k] = r.choice(np.arange(3, classes), k, replace=False)
    t[1, :3] = [5, 5, 9]  # a class listed twice
    x, t = jnp.asarray(x), jnp.asarray(t)
    ct = jnp.asarray(r.uniform(0.5, 1.5, 12))

    @jax.jit
    def both(s):
        # The reference is not -inf-safe: its masked scores are clamped.
        ours = jax.value_and_grad(lambda s: jnp.sum(ct * jaxloss.multilabel_margin(s, t)))
        ref = jax.value_and_grad(
            lambda s: jnp.sum(ct * reference.multilabel_margin(jnp.maximum(s, -1e30), t))
        )
        return ours(s), ref(s), jax.hessian(lambda s: jaxloss.multilabel_margin(s, t[2]))(s[2])

    (value, g), (ref_value, ref_g), h = both(x)
    np.testing.assert_allclose(value, ref_value, rtol=1e-12)
    np.testing.assert_allclose(g, ref_g, rtol=1e-12)
    np.testing.assert_array_equal(h, 0)  # piecewise linear


def test_multilabel_margin_infinite_scores():
    x = jnp.array([[-jnp.inf, 1.0, 0.5], [1.0, jnp.inf, 0.5], [-jnp.inf, 2.0, 0.5]])
    t = jnp.array([[1, -1, 0], [0, -1, 0], [0, -1, 0]])  # row 2: target scored -inf
    value = np.asarray(jaxloss.multilabel_margin(x, t))
    np.testing.assert_allclose(value[0], (1 - 1 + 0.5) / 3)  # the -inf non-target adds 0
    assert value[1] == np.inf and value[2] == np.inf  # a non-target at +inf, a target at -inf
    g = np.asarray(grad(jaxloss.multilabel_margin, x, t))
    np.testing.assert_allclose(g[0], [0, -1 / 3, 1 / 3])
    np.testing.assert_array_equal(g[1:], 0)


# --- sparsemax


def _sparsemax_probs(x):
    """Sparsemax by sorting (NumPy), for comparison."""
    u = -np.sort(-x, axis=-1)
    k = np.arange(1, x.shape[-1] + 1)
    cs = np.cumsum(u, -1)
    n = np.sum(1 + k * u > cs, -1, keepdims=True)
    tau = (np.take_along_axis(cs, n - 1, -1) - 1) / n
    return np.maximum(x - tau, 0)


def test_sparsemax_gradient_is_sparsemax_minus_onehot():
    x, y = scores(11, shape=(40, 9), scale=1.0)
    p = _sparsemax_probs(np.asarray(x))
    np.testing.assert_allclose(p.sum(-1), 1, rtol=1e-12)
    assert (p == 0).any()  # sparse
    want = p - np.eye(9)[np.asarray(y)]
    np.testing.assert_allclose(grad(jaxloss.sparsemax, x, y), want, atol=1e-13)


def test_sparsemax_zero_exactly_when_the_label_wins_by_the_margin():
    x = jnp.array([[3.0, 2.0, 0.0], [3.0, 2.0 + 1e-6, 0.0], [0.0, 0.0, 0.0]])
    y = jnp.array([0, 0, 0])
    value = jaxloss.sparsemax(x, y)
    assert float(value[0]) == 0.0 and float(value[1]) > 0.0
    np.testing.assert_allclose(value[2], 0.5 - 1 / 6, rtol=1e-12)  # uniform p = 1/3
    assert bool(jnp.all(jaxloss.sparsemax(*scores(12)) >= 0))


def test_sparsemax_is_shift_invariant_and_exact_at_large_scores():
    x, y = scores(13, scale=1.0)
    np.testing.assert_allclose(
        jaxloss.sparsemax(x + 1e4, y), jaxloss.sparsemax(x, y), rtol=1e-10, atol=1e-10
    )


def test_sparsemax_hessian_is_the_sparsemax_jacobian():
    x = jnp.array([0.3, 1.0, -2.0, 0.8, 0.1])
    h = jax.hessian(lambda s: jaxloss.sparsemax(s, jnp.array(1)))(x)
    s = (_sparsemax_probs(np.asarray(x)) > 0).astype(float)
    np.testing.assert_allclose(h, np.diag(s) - np.outer(s, s) / s.sum(), atol=1e-14)


def test_sparsemax_minus_inf_scores_are_excluded_classes():
    x = jnp.array([[-jnp.inf, 0.5, 0.0, -jnp.inf]])
    y = jnp.array([2])
    np.testing.assert_allclose(
        jaxloss.sparsemax(x, y), jaxloss.sparsemax(x[:, 1:3], y - 1), rtol=1e-15
    )
    np.testing.assert_array_equal(grad(jaxloss.sparsemax, x, y), [[0, 0.75, -0.75, 0]])


def _returns_within(call, seconds=60.0):
    """Runs ``call`` in a daemon thread: a loop that never ends fails the test instead of
    hanging the run (a ``lax.while_loop`` cannot be interrupted from Python)."""
    out = {}
    thread = threading.Thread(target=lambda: out.setdefault("value", call()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"did not return within {seconds} s"
    return out["value"]


@pytest.mark.parametrize("bad", [jnp.nan, jnp.inf, "all -inf"])
def test_sparsemax_nan_or_inf_row_gives_nan_and_returns(bad):
    x, y = scores(15, shape=(4, 5))
    row = jnp.full(5, -jnp.inf) if bad == "all -inf" else x[1].at[2].set(bad)
    dirty = x.at[1].set(row)

    def run():
        loss = jax.jit(jaxloss.sparsemax)(dirty, y)
        g = jax.grad(lambda s: jnp.sum(jaxloss.sparsemax(s, y)))(dirty)
        return jax.block_until_ready((loss, g))

    loss, g = _returns_within(run)
    clean = np.r_[0, 2:4]
    assert np.isnan(loss[1])
    np.testing.assert_allclose(loss[clean], jaxloss.sparsemax(x, y)[clean], rtol=1e-14)
    np.testing.assert_allclose(g[clean], grad(jaxloss.sparsemax, x, y)[clean], rtol=1e-14)


# --- zero_one


def test_zero_one_mean_is_the_error_rate_and_gradient_is_zero():
    x, y = scores(14, shape=(200, 4))
    err = float(np.mean(np.argmax(np.asarray(x), -1) != np.asarray(y)))
    assert float(jaxloss.zero_one(x, y, reduction="mean")) == pytest.approx(err, rel=1e-15)
    np.testing.assert_array_equal(grad(jaxloss.zero_one, x, y), jnp.zeros_like(x))
    np.testing.assert_array_equal(jax.hessian(lambda s: jaxloss.zero_one(s[0], y[0]))(x), 0)


def test_zero_one_ties_go_to_the_first_maximum():
    x = jnp.array([[1.0, 1.0, 0.0]] * 3)
    np.testing.assert_array_equal(jaxloss.zero_one(x, jnp.array([0, 1, 2])), [0, 1, 1])


# --- shared conventions


@pytest.mark.parametrize("fn", INTEGER_LABEL_LOSSES, ids=IDS)
def test_ignore_index_is_where_false(fn):
    x, y = scores(15)
    ignored = jnp.array([True, False, False, True, False, False, False, False, True])
    labels = jnp.where(ignored, -100, y)
    x_nan = jnp.where(ignored[:, None], jnp.nan, x)
    for reduction in ("none", "mean", "sum"):
        a = fn(x_nan, labels, ignore_index=-100, reduction=reduction)
        b = fn(x, y, where=~ignored, reduction=reduction)
        np.testing.assert_allclose(a, b, rtol=1e-15)
        ga = grad(fn, x_nan, labels, ignore_index=-100, reduction=reduction)
        gb = grad(fn, x, y, where=~ignored, reduction=reduction)
        np.testing.assert_allclose(ga, gb, rtol=1e-15)
        np.testing.assert_array_equal(ga[ignored], 0)


@pytest.mark.parametrize("fn", INTEGER_LABEL_LOSSES, ids=IDS)
def test_out_of_range_labels_give_nan_for_their_example_only(fn):
    x, y = scores(16)
    bad = y.at[2].set(6).at[5].set(-1)  # -1 is not wrapped around to the last class
    value = np.asarray(fn(x, bad))
    assert np.isnan(value[[2, 5]]).all() and np.isfinite(np.delete(value, [2, 5])).all()
    g = np.asarray(grad(lambda s: fn(s, bad, where=jnp.arange(9) != 5), x))
    np.testing.assert_array_equal(g[5], 0)  # excluded: out-of-range labels are fine there
    if fn is not jaxloss.zero_one:  # piecewise constant: its gradient stays 0
        assert np.isnan(g[2]).all()
    assert np.isfinite(np.delete(g, [2, 5], axis=0)).all()


@pytest.mark.parametrize("fn", INTEGER_LABEL_LOSSES, ids=IDS)
def test_class_axis_and_leading_axes(fn):
    x = jnp.asarray(rng(17).normal(size=(4, 6, 3)))
    y = jnp.asarray(rng(18).integers(0, 6, (4, 3)))
    moved = fn(x, y, axis=1)
    assert moved.shape == (4, 3)
    np.testing.assert_allclose(moved, fn(jnp.moveaxis(x, 1, -1), y), rtol=1e-15)
    g = grad(fn, x, y, axis=1)
    np.testing.assert_allclose(
        g, jnp.moveaxis(grad(fn, jnp.moveaxis(x, 1, -1), y), -1, 1), rtol=1e-15
    )


@pytest.mark.parametrize("fn", INTEGER_LABEL_LOSSES, ids=IDS)
def test_jit_weights_and_reference_agree(fn):
    x, y = scores(19)
    w = jnp.asarray(rng(20).uniform(0.5, 2.0, 9))
    f = jax.jit(lambda s, l: fn(s, l, weights=w, reduction="mean"))
    np.testing.assert_allclose(f(x, y), fn(x, y, weights=w, reduction="mean"), rtol=1e-14)
    r = getattr(reference, fn.__name__)(x, y, weights=w, reduction="mean")
    np.testing.assert_allclose(f(x, y), r, rtol=1e-12)


@pytest.mark.parametrize("fn", INTEGER_LABEL_LOSSES, ids=IDS)
@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16, jnp.float32])
def test_low_precision_scores_and_small_integer_labels(fn, dtype):
    x, y = scores(21)
    xl, yl = x.astype(dtype), y.astype(jnp.int8)
    out = fn(xl, yl)
    assert out.dtype == dtype and grad(fn, xl, yl).dtype == dtype
    np.testing.assert_allclose(
        out.astype(jnp.float32), fn(xl.astype(jnp.float32), y), rtol=1e-2, atol=1e-2
    )


# --- errors


@pytest.mark.parametrize("fn", INTEGER_LABEL_LOSSES, ids=IDS)
def test_shape_and_type_errors(fn):
    x, y = scores(22)
    name = fn.__name__
    with pytest.raises(
        ValueError,
        match=rf"{name}: labels must have the shape .* \(9,\) for .* \(9, 6\), got \(9, 1\)",
    ):
        fn(x, y[:, None])
    with pytest.raises(TypeError, match=f"{name}: labels must have an integer dtype, got float"):
        fn(x, y.astype(jnp.float32))
    with pytest.raises(TypeError, match=f"{name}: .* must have a floating dtype, got int"):
        fn(y[:, None].repeat(6, 1), y)
    with pytest.raises(ValueError, match=f"{name}: .* must have a class axis, got a scalar"):
        fn(jnp.float32(1.0), jnp.int32(0))
    with pytest.raises(ValueError, match=f"{name}: axis 2 is out of range"):
        fn(x, y, axis=2)
    with pytest.raises(TypeError, match=f"{name}: ignore_index must be an int"):
        fn(x, y, ignore_index=1.5)
    with pytest.raises(ValueError, match=f"{name}: reduction must be one of"):
        fn(x, y, reduction="batchmean")
    with pytest.raises(ValueError, match=f"{name}: where must be broadcastable"):
        fn(x, y, where=jnp.ones((9, 6), bool))


def test_multi_margin_hyperparameter_errors():
    x, y = scores(23)
    with pytest.raises(ValueError, match="multi_margin: p must be 1 or 2"):
        jaxloss.multi_margin(x, y, p=3)
    with pytest.raises(TypeError, match="multi_margin: p must be an int"):
        jaxloss.multi_margin(x, y, p=1.0)
    with pytest.raises(ValueError, match="multi_margin: margin must be finite"):
        jaxloss.multi_margin(x, y, margin=float("nan"))
    with pytest.raises(
        ValueError, match=r"class_weights must have shape \(num_classes,\) = \(6,\)"
    ):
        jaxloss.multi_margin(x, y, class_weights=jnp.ones(5))
    with pytest.raises(TypeError, match="multi_margin: class_weights must have a floating dtype"):
        jaxloss.multi_margin(x, y, class_weights=jnp.ones(6, jnp.int32))


def test_multilabel_margin_errors():
    x = jnp.zeros((3, 4))
    with pytest.raises(
        ValueError, match=r"multilabel_margin: targets must have the shape of logits"
    ):
        jaxloss.multilabel_margin(x, jnp.zeros((3,), jnp.int32))
    with pytest.raises(TypeError, match="multilabel_margin: targets must have an integer dtype"):
        jaxloss.multilabel_margin(x, jnp.zeros((3, 4)))


@pytest.mark.parametrize(
    "fn",
    [jaxloss.multi_margin, functools.partial(jaxloss.multi_margin, p=2),
     jaxloss.multiclass_hinge],
    ids=["multi_margin", "multi_margin-p2", "multiclass_hinge"],
)  # fmt: skip
def test_infinite_label_score_gives_zero_or_inf_with_zero_gradient(fn):
    x = jnp.array([[jnp.inf, 1.0, -2.0], [-jnp.inf, 1.0, -2.0], [0.5, 1.0, -jnp.inf]])
    y = jnp.array([0, 0, 1])
    value = np.asarray(fn(x, y))
    assert value[0] == 0.0 and value[1] == np.inf and np.isfinite(value[2])
    g = np.asarray(grad(fn, x, y))
    np.testing.assert_array_equal(g[:2], 0)
    assert np.isfinite(g).all()


@pytest.mark.parametrize("p", [1, 2])
def test_multi_margin_label_at_inf_is_zero_even_tied_with_another_class(p):
    # The documented convention (a label scored +inf has loss 0) holds when another class
    # is +inf too, and its gradient is zero: p = 2 once gave 0 * inf = NaN there.
    x = jnp.array([[jnp.inf, jnp.inf, -2.0], [jnp.inf, jnp.inf, jnp.inf]])
    y = jnp.array([0, 2])
    np.testing.assert_array_equal(jaxloss.multi_margin(x, y, p=p), 0.0)
    np.testing.assert_array_equal(grad(functools.partial(jaxloss.multi_margin, p=p), x, y), 0.0)


def test_multilabel_margin_exports_with_a_symbolic_batch_and_refuses_a_symbolic_class_count():
    from jax import export

    (b,) = export.symbolic_shape("b")
    (c,) = export.symbolic_shape("c")
    x = jnp.asarray(rng(32).normal(size=(5, 40)), jnp.float32)
    t = jnp.full((5, 40), -1, jnp.int32).at[:, :3].set(jnp.array([0, 2, 7], jnp.int32))

    def f(x, t):
        return jaxloss.multilabel_margin(x, t, reduction="mean")

    for g in (f, jax.grad(f)):
        specs = (
            jax.ShapeDtypeStruct((b, 40), jnp.float32),
            jax.ShapeDtypeStruct((b, 40), jnp.int32),
        )
        exported = export.export(jax.jit(g))(*specs)
        np.testing.assert_allclose(exported.call(x, t), g(x, t), rtol=1e-6)
    symbolic = (jax.ShapeDtypeStruct((4, c), jnp.float32), jax.ShapeDtypeStruct((4, c), jnp.int32))
    with pytest.raises(
        ValueError, match=r"^multilabel_margin: the class axis 1 must have a static"
    ):
        export.export(jax.jit(f))(*symbolic)
