"""Softmax cross-entropy with integer or soft labels, NLL."""

from __future__ import annotations

__all__: list[str] = []
