"""Catalogue entries of the divergence family: divergences between distributions."""

from __future__ import annotations

from ._entries import Entry

ENTRIES: tuple[Entry, ...] = ()
