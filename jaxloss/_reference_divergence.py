"""Plain-jnp references of the divergence family: divergences between distributions."""

from __future__ import annotations

__all__: list[str] = []
