"""Catalogue entries of the classification family:
softmax cross-entropy with integer or soft labels, NLL.
"""

from __future__ import annotations

from ._entries import Entry

ENTRIES: tuple[Entry, ...] = ()
