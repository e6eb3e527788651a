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
        msg = re.escape(
            f"{name}: {first} and {second} must have the same shape, got {args[0].shape} and "
            "(3, 4, 1); "
            f"broadcast explicitly first, e.g. jnp.broadcast_to({second}, {first}.shape)"
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
