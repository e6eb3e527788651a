"""Plain-jnp references of the sequence family: sequence losses (CTC)."""

from __future__ import annotations

__all__: list[str] = []
