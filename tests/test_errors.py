"""Bad input gets a clear error at trace time: function, argument, shapes and the fix."""

import inspect
import math
import re

import jax
import jax.numpy as jnp
import pytest

import jaxloss
from jaxloss import catalogue

P = jnp.ones((3, 4), jnp.float32)


def _args(name, shape=(3, 4)):
    return catalogue.get(name).inputs(0, shape)


def _arg_names(name):
    """The names of the loss's first two parameters (predictions/logits, targets/labels)."""
    first, second = list(inspect.signature(catalogue.get(name).fn).parameters)[:2]
    return first, second


@pytest.mark.parametrize("name", catalogue.names())
def test_integer_and_boolean_predictions_are_type_errors(name):
    args = _args(name)
    first, _ = _arg_names(name)
    for bad in (args[0].astype(jnp.int32), args[0] > 0):
        with pytest.raises(TypeError, match=rf"^{name}: {first} must have a floating dtype"):
            catalogue.get(name).fn(bad, *args[1:])


@pytest.mark.parametrize("name", catalogue.names())
def test_mismatched_shapes_name_both(name):
    args = _args(name)
    first, second = _arg_names(name)
    bad = jnp.ones((3, 4, 1), args[1].dtype)
    if args[0].shape == args[1].shape and jnp.issubdtype(args[1].dtype, jnp.floating):
        # Same-shape float pairs: the one message, with both shapes and the fix.
        if args[0].shape == (3, 4):
            hint = f"{first} lacks the trailing size-1 axis of {second}: pass {first}[..., None]"
        elif len(args[0].shape) >= 3 and args[0].shape[-3:-1] == (3, 4):  # broadcasts
            hint = f"broadcast explicitly first, e.g. jnp.broadcast_to({second}, {first}.shape)"
        else:  # (3, 4, 1) broadcasts to no such shape
            hint = f"pass one {second} entry per {first} entry"
        msg = re.escape(
            f"{name}: {first} and {second} must have the same shape, got {args[0].shape} and "
            f"(3, 4, 1); {hint}"
        )
    else:
        # Labels or lengths of another shape: the message names them and their shape.
        msg = rf"^{name}: (.|\n)*{second}(.|\n)*\(3, 4, 1\)"
    with pytest.raises(ValueError, match=msg):
        catalogue.get(name).fn(args[0], bad, *args[2:])


@pytest.mark.parametrize("name", catalogue.names())
def test_unknown_reduction(name):
    with pytest.raises(ValueError, match=rf"^{name}: reduction must be one of .* got 'avg'"):
        catalogue.get(name).fn(*_args(name), reduction="avg")


@pytest.mark.parametrize("name", catalogue.names())
def test_weights_and_where_shapes(name):
    args = _args(name)
    with pytest.raises(ValueError, match=rf"^{name}: weights must be broadcastable"):
        catalogue.get(name).fn(*args, weights=jnp.ones((5,), jnp.float32))
    with pytest.raises(ValueError, match=rf"^{name}: where must be broadcastable"):
        catalogue.get(name).fn(*args, where=jnp.ones((7, 1), bool))
    with pytest.raises(TypeError, match=rf"^{name}: where must be a boolean array"):
        catalogue.get(name).fn(*args, where=jnp.ones((3, 1), jnp.float32))


@pytest.mark.parametrize(
    ("fn", "kwargs", "message"),
    [
        (jaxloss.huber, {"delta": -1.0}, r"huber: delta must be in \(0, inf\), got -1"),
        (jaxloss.huber, {"delta": 0.0}, r"huber: delta must be in \(0, inf\), got 0"),
        (jaxloss.huber, {"delta": math.nan}, "huber: delta must be finite"),
        (jaxloss.smooth_l1, {"beta": -0.5}, r"smooth_l1: beta must be in \[0, inf\)"),
        (jaxloss.pinball, {"tau": 1.0}, r"pinball: tau must be in \(0, 1\), got 1"),
        (jaxloss.pinball, {"tau": 0.0}, r"pinball: tau must be in \(0, 1\), got 0"),
        (jaxloss.pinball, {"tau": -0.2}, r"pinball: tau must be in \(0, 1\)"),
        (jaxloss.charbonnier, {"eps": -1.0}, r"charbonnier: eps must be in \[0, inf\)"),
        (jaxloss.absolute_percentage_error, {"eps": 0.0}, "eps must be in"),
        (jaxloss.tweedie, {"power": 0.5}, r"tweedie: power must be in \[1, inf\), got 0.5"),
        (jaxloss.general_robust, {"alpha": math.inf}, "alpha must be finite or -inf"),
        (jaxloss.general_robust, {"scale": 0.0}, r"general_robust: scale must be in \(0, inf\)"),
        (jaxloss.poisson_nll, {"eps": -1.0}, r"poisson_nll: eps must be in \[0, inf\)"),
        (jaxloss.root_mean_squared_error, {"axis": 2}, "axis 2 is out of range"),
        (jaxloss.root_mean_squared_error, {"axis": (1, -1)}, "repeats an axis"),
    ],
)
def test_invalid_hyperparameters_are_value_errors(fn, kwargs, message):
    with pytest.raises(ValueError, match=message):
        fn(P, P, **kwargs)


def test_non_bool_flags_and_non_numbers_are_type_errors():
    with pytest.raises(TypeError, match="poisson_nll: log_input must be True or False"):
        jaxloss.poisson_nll(P, P, log_input=1)
    with pytest.raises(TypeError, match="gaussian_nll: full must be True or False"):
        jaxloss.gaussian_nll(P, P, P, full="yes")
    with pytest.raises(TypeError, match="huber: delta must be a number"):
        jaxloss.huber(P, P, delta="1")


def test_traced_hyperparameter_is_a_clear_type_error():
    with pytest.raises(TypeError, match="huber: delta must be a static Python number"):
        jax.jit(lambda d: jaxloss.huber(P, P, delta=d))(1.0)


def test_variance_shapes_torch_refuses_are_refused():
    msg = re.escape("gaussian_nll: variance must have the predictions' shape (3, 4)")
    for bad in ((4,), (3, 2), (2, 3, 4), (1, 1)):
        with pytest.raises(ValueError, match=msg):
            jaxloss.gaussian_nll(P, P, jnp.ones(bad, jnp.float32))
    with pytest.raises(TypeError, match="gaussian_nll: variance must have a floating dtype"):
        jaxloss.gaussian_nll(P, P, jnp.ones((3, 4), jnp.int32))


def test_complex_targets_are_refused():
    with pytest.raises(TypeError, match="squared_error: targets must be real"):
        jaxloss.squared_error(P, P.astype(jnp.complex64))


# A zero-size class, list or feature axis: a ValueError naming the loss and the argument,
# not the bare "zero-size array to reduction operation max" or a ZeroDivisionError.
_ZERO_SIZE_AXIS = [
    ("softmax_focal", "logits", "class"),
    ("poly_cross_entropy", "logits", "class"),
    ("generalized_cross_entropy", "logits", "class"),
    ("multilabel_soft_margin", "logits", "class"),
    ("multi_margin", "logits", "class"),
    ("multiclass_hinge", "scores", "class"),
    ("multilabel_margin", "logits", "class"),
    ("sparsemax", "scores", "class"),
    ("kl_divergence", "log_predictions", "class"),
    ("js_divergence", "log_predictions", "class"),
    ("distillation", "student_logits", "class"),
    ("ranking_softmax", "scores", "list"),
    ("pairwise_logistic", "scores", "list"),
    ("pairwise_hinge", "scores", "list"),
    ("listmle", "scores", "list"),
    ("root_mean_squared_error", "predictions", "feature"),
]


@pytest.mark.parametrize("name, arg, what", _ZERO_SIZE_AXIS, ids=[n for n, _, _ in _ZERO_SIZE_AXIS])
def test_zero_size_class_list_or_feature_axis_is_a_value_error(name, arg, what):
    entry = catalogue.get(name)
    args = tuple(a[:, :0] if getattr(a, "ndim", 0) == 2 else a for a in _args(name, (6, 5)))
    pattern = rf"^{name}: {arg} has a zero-size {what} axis 1 \(shape \(6, 0\)\)"
    with pytest.raises(ValueError, match=pattern):
        entry.fn(*args, **entry.options[0])


_EMPTY_BATCH = ["lovasz_hinge", "multilabel_soft_margin", "distillation", "ranking_softmax",
                "generalized_cross_entropy", "multiclass_hinge", "root_mean_squared_error",
                "sigmoid_focal", "dice", "listmle"]  # fmt: skip


@pytest.mark.parametrize("name", _EMPTY_BATCH)
def test_empty_batch_gives_empty_none_zero_sum_and_zero_mean(name):
    entry = catalogue.get(name)
    opts = dict(entry.options[0])
    args = tuple(a[:0] if getattr(a, "ndim", 0) >= 1 else a for a in _args(name, (6, 5)))
    assert entry.fn(*args, **opts).shape[:1] == (0,)
    assert float(entry.fn(*args, **opts, reduction="sum")) == 0.0
    assert float(entry.fn(*args, **opts, reduction="mean")) == 0.0
    diff = tuple(args[i] for i in entry.argnums)

    def mean(*d):
        full = list(args)
        for i, x in zip(entry.argnums, d, strict=True):
            full[i] = x
        return entry.fn(*full, **opts, reduction="mean")

    grads = jax.grad(mean, argnums=tuple(range(len(diff))))(*diff)
    assert all(g.shape == x.shape for g, x in zip(grads, diff, strict=True))


# Each hint must be one that works for the shapes at hand.
_SHAPE_HINTS = [
    # dice predictions missing the size-1 class axis: broadcast_to cannot fix that.
    (lambda: jaxloss.dice(jnp.ones((2, 4, 4)), jnp.ones((2, 4, 4, 1))), ValueError,
     r"^dice: .*got \(2, 4, 4\) and \(2, 4, 4, 1\); predictions lacks the trailing size-1 "
     r"axis of targets: pass predictions\[\.\.\., None\]$"),
    (lambda: jaxloss.huber(jnp.ones((3, 4)), jnp.ones((4,))), ValueError,
     r"e\.g\. jnp\.broadcast_to\(targets, predictions\.shape\)$"),
    (lambda: jaxloss.huber(jnp.ones((4,)), jnp.ones((3, 4))), ValueError,
     r"e\.g\. jnp\.broadcast_to\(predictions, targets\.shape\)$"),
    (lambda: jaxloss.huber(jnp.ones((3, 4)), jnp.ones((4, 3))), ValueError,
     r"reshape one, e\.g\. targets\.reshape\(predictions\.shape\)$"),
    # A (1,) class index for one example is not a one-hot vector.
    (lambda: jaxloss.multi_margin(jnp.ones((3,)), jnp.array([1])), ValueError,
     r"^multi_margin: .*got \(1,\); they hold one index per example: pass "
     r"labels\.reshape\(\(\)\)$"),
    (lambda: jaxloss.root_mean_squared_error(jnp.ones((2, 4)), axis=1.5), TypeError,
     r"^root_mean_squared_error: axis must be an int, a sequence of ints or None, got 1\.5$"),
    (lambda: jaxloss.multi_margin(jnp.ones((2, 3, 4)), jnp.zeros((2,), jnp.int32), axis=(1, 2)),
     TypeError, r"^multi_margin: axis must be an int, got \(1, 2\); this loss takes one class "
     r"\(or feature\) axis: to use several, merge them into one first.*reshape"),
]  # fmt: skip


@pytest.mark.parametrize("call, error, message", _SHAPE_HINTS)
def test_hints_fit_the_shapes_at_hand(call, error, message):
    with pytest.raises(error, match=message):
        call()
