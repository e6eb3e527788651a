"""Every docstring example runs and prints what it shows (under JAX's default config)."""

import doctest
import importlib

import jax
import pytest

MODULES = [
    "jaxloss._regression",
    "jaxloss._robust",
    "jaxloss._likelihood",
    "jaxloss.reference",
    "jaxloss.catalogue",
    "jaxloss.testing",
]


@pytest.mark.parametrize("module", MODULES)
def test_doctests(module):
    mod = importlib.import_module(module)
    # Examples are written for a user's default config: float32, default promotion.
    with (
        jax.enable_x64(False),
        jax.numpy_rank_promotion("allow"),
        jax.numpy_dtype_promotion("standard"),
    ):
        result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
