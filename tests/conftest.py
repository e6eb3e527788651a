"""Strict numerics for every test: 8 CPU devices, x64, no implicit rank or dtype promotion."""

import os

# Before JAX is imported anywhere: sharded code runs on 8 CPU devices.
os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8"
).strip()

import jax

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update("jax_numpy_dtype_promotion", "strict")
