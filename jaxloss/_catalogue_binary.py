"""Catalogue entries of the classification family:
binary and multi-label losses on probabilities, logits or margins.
"""

from __future__ import annotations

from ._entries import Entry

ENTRIES: tuple[Entry, ...] = ()
