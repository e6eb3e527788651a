"""Catalogue entries of the sequence family: sequence losses (CTC)."""

from __future__ import annotations

from ._entries import Entry

ENTRIES: tuple[Entry, ...] = ()
