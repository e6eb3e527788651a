"""Plain-jnp references of the classification family:
reweighted softmax cross-entropy: softmax focal, poly-1, generalized CE.
"""

from __future__ import annotations

__all__: list[str] = []
