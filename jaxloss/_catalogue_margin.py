"""Catalogue entries of the classification family: multiclass margin losses, sparsemax, zero-one."""

from __future__ import annotations

from ._entries import Entry

ENTRIES: tuple[Entry, ...] = ()
