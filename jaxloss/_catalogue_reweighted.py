"""Catalogue entries of the classification family:
reweighted softmax cross-entropy: softmax focal, poly-1, generalized CE.
"""

from __future__ import annotations

from ._entries import Entry

ENTRIES: tuple[Entry, ...] = ()
