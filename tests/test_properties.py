"""Property tests (hypothesis, derandomized): identities every loss must satisfy on any input."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import jaxloss
from jaxloss import catalogue

# Deterministic (derandomized) and cheap enough for CI; compile time makes deadlines meaningless.
PROPERTY = settings(max_examples=20, derandomize=True, deadline=None, database=None)
# The catalogue-wide identity runs once per loss (70-odd losses, each example a fresh
# shape to compile): fewer examples each keep the suite inside its CI budget.
CATALOGUE_PROPERTY = settings(PROPERTY, max_examples=2)

shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5)
finite = st.floats(-1e3, 1e3, allow_nan=False, width=32)

# Losses of d = predictions - targets alone, with their hyperparameters.
DIFFERENCE = [
    (jaxloss.squared_error, {}),
    (jaxloss.absolute_error, {}),
    (jaxloss.huber, {"delta": 0.7}),
    (jaxloss.smooth_l1, {"beta": 0.4}),
    (jaxloss.log_cosh, {}),
    (jaxloss.pinball, {"tau": 0.3}),
    (jaxloss.charbonnier, {"eps": 0.1}),
    (jaxloss.general_robust, {"alpha": 0.5, "scale": 2.0}),
    (jaxloss.general_robust, {"alpha": -math.inf}),
]


@st.composite
def pair_and_mask(draw):
    shape = draw(shapes)
    p = draw(hnp.arrays(np.float32, shape, elements=finite))
    t = draw(hnp.arrays(np.float32, shape, elements=finite))
    where = draw(hnp.arrays(np.bool_, shape))
    weights = draw(hnp.arrays(np.float32, shape, elements=st.floats(0, 4, width=32)))
    return p, t, where, weights


@pytest.mark.parametrize(("fn", "opts"), DIFFERENCE, ids=lambda x: getattr(x, "__name__", ""))
@PROPERTY
@given(data=pair_and_mask())
def test_difference_losses_are_translation_invariant_nonnegative_and_zero_at_zero(fn, opts, data):
    p, t, _, _ = data
    d = p.astype(np.float64) - t.astype(np.float64)
    with jax.enable_x64(True):
        a = np.asarray(fn(jnp.asarray(p, jnp.float64), jnp.asarray(t, jnp.float64), **opts))
        b = np.asarray(fn(jnp.asarray(d), **opts))
        zero = np.asarray(fn(jnp.asarray(p, jnp.float64), jnp.asarray(p, jnp.float64), **opts))
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    assert np.all(a >= 0)
    np.testing.assert_array_equal(zero, np.zeros_like(zero))


# Losses that couple the examples of a batch: where=False removes an example from the
# batch (it is no one's positive or negative), so the other examples' losses change and the
# elementwise identity below does not hold. test_contract's reductions check compares them
# with their references under every weights/where combination instead.
BATCH_COUPLED = {
    "ntxent",
    "info_nce",
    "supervised_contrastive",
    "sigmoid_pairwise",
    "batch_hard_triplet",
    "batch_all_triplet",
    "npairs",
    "circle",
    # Class sizes summed over the whole batch (optax's generalized-Dice weights).
    "generalized_dice",
}


ELEMENTWISE_MASKING = [n for n in catalogue.names() if n not in BATCH_COUPLED]


def _ignored(args, opts, loss_shape):
    """Where an entry's options set ``ignore_index``: the tokens whose integer label is it.

    Ignored tokens behave like ``where=False``: their weight leaves the mean's
    denominator too (PyTorch's semantics), so the identity below must exclude them.
    """
    ignored = np.zeros(loss_shape, bool)
    if opts.get("ignore_index") is None:
        return ignored
    for a in args:
        a = np.asarray(a)
        if np.issubdtype(a.dtype, np.integer) and a.shape == loss_shape:
            ignored |= a == opts["ignore_index"]
    return ignored


@pytest.mark.parametrize("name", ELEMENTWISE_MASKING)
@CATALOGUE_PROPERTY
@given(data=pair_and_mask(), seed=st.integers(0, 2**16))
def test_reductions_agree_with_the_unreduced_losses(name, data, seed):
    entry = catalogue.get(name)
    _, _, where, weights = data
    shape = where.shape
    opts = entry.options[0]
    args = entry.inputs(seed, shape, jnp.float64, **opts)
    with jax.enable_x64(True):
        per = np.asarray(entry.fn(*args, **opts))
        loss_shape = per.shape
        # Per-example losses (an axis reduced) take the first entries of the draws.
        w = weights.reshape(-1)[: per.size].reshape(loss_shape).astype(np.float64)
        m = where.reshape(-1)[: per.size].reshape(loss_shape)
        kw = {"weights": jnp.asarray(w, jnp.float64), "where": jnp.asarray(m), **opts}
        none = np.asarray(entry.fn(*args, **kw))
        total = float(entry.fn(*args, reduction="sum", **kw))
        mean = float(entry.fn(*args, reduction="mean", **kw))
    expected = np.where(m, w * per, 0)
    np.testing.assert_allclose(none, expected, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(total, expected.sum(), rtol=1e-10, atol=1e-12)
    denominator = float(np.where(m & ~_ignored(args, opts, loss_shape), w, 0).sum())
    np.testing.assert_allclose(
        mean, expected.sum() / denominator if denominator else 0.0, rtol=1e-10, atol=1e-12
    )


@PROPERTY
@given(shape=shapes, seed=st.integers(0, 2**16), tau=st.floats(0.01, 0.99))
def test_pinball_tau_and_one_minus_tau_mirror(shape, seed, tau):
    p, t = catalogue.get("pinball").inputs(seed, shape)
    np.testing.assert_allclose(
        jaxloss.pinball(p, t, tau=tau), jaxloss.pinball(-p, -t, tau=1 - tau), rtol=1e-5, atol=1e-6
    )


def test_batch_coupled_names_exist():
    assert set(catalogue.names()) >= BATCH_COUPLED
