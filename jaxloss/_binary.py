"""Binary and multi-label losses on probabilities, logits or margins."""

from __future__ import annotations

__all__: list[str] = []
