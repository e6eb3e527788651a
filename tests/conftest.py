"""Strict numerics for every test: 8 CPU devices, x64, no implicit rank or dtype promotion."""

import gc
import os

from jaxloss.testing import fast_compile_flags

# Before JAX starts its CPU backend: sharded code runs on 8 CPU devices, and every program
# compiles with the verification harness's fast-compile settings (the same arithmetic;
# compilation is most of the suite's time). The harness's jit and fused_reduction checks
# still compile with XLA's defaults.
os.environ["XLA_FLAGS"] = " ".join(
    [os.environ.get("XLA_FLAGS", ""), "--xla_force_host_platform_device_count=8",
     fast_compile_flags()]
).strip()  # fmt: skip

import jax
import pytest

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update("jax_numpy_dtype_promotion", "strict")

# Tracing makes many short-lived containers: collect cycles less often, and never scan
# what the imports made (as `jaxloss verify` does).
gc.freeze()
gc.set_threshold(100_000, 100, 100)


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (``--dist loadgroup``, set in pyproject.toml) every check of one
    catalogue entry runs on the same worker, which then compiles the entry's shared
    bodies once instead of once per worker."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if item.module.__name__.endswith(("_contract", "_edge_inputs")) and callspec is not None:
            name = callspec.params.get("name")
            if name is not None:
                item.add_marker(pytest.mark.xdist_group(f"contract-{name}"))
