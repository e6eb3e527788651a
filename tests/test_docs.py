"""Every docstring example runs and prints what it shows (under JAX's default config)."""

import doctest
import importlib
import pkgutil

import jax
import pytest

import jaxloss

MODULES = sorted(
    f"jaxloss.{m.name}" for m in pkgutil.iter_modules(jaxloss.__path__) if m.name != "__main__"
)


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
    assert result.failed == 0


@pytest.mark.parametrize("module", ["jaxloss.reference", "jaxloss.catalogue", "jaxloss.testing"])
def test_public_modules_have_examples(module):
    assert doctest.DocTestFinder().find(importlib.import_module(module))[0].examples
