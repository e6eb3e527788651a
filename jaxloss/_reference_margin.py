"""Plain-jnp references of the classification family:
multiclass margin losses, sparsemax, zero-one.
"""

from __future__ import annotations

__all__: list[str] = []
