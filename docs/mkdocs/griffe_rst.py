"""A griffe extension: jaxloss's docstrings use reStructuredText math and literals
(``.. math::`` blocks, ``:math:`x```, double-backquoted code) so that they read well in
``help()``; for the site they are turned into the markdown that mkdocstrings renders
(arithmatex's ``$$ ... $$`` and ``$...$``, single backquotes)."""

from __future__ import annotations

import re
import textwrap
from typing import Any

import griffe

_ROLE = re.compile(r":(?:func|class|mod|obj|meth|attr|data|exc|ref):`~?([^`]+)`")
_INLINE_MATH = re.compile(r":math:`([^`]+)`")
_LITERAL = re.compile(r"``(.+?)``")


def _math_blocks(text: str) -> str:
    """``.. math::`` and its indented block -> one ``$$ ... $$`` block per paragraph."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith(".. math::"):
            indent = line[: len(line) - len(line.lstrip())]
            body: list[str] = []
            first = stripped[len(".. math::") :].strip()
            if first:
                body.append(first)
            i += 1
            while i < len(lines) and (
                not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > len(indent)
            ):
                body.append(lines[i])
                i += 1
            while body and not body[-1].strip():
                body.pop()
            paragraphs = textwrap.dedent("\n".join(body)).strip().split("\n\n")
            for paragraph in paragraphs:
                out += ["", f"{indent}$$"] + [f"{indent}{ln}" for ln in paragraph.split("\n")]
                out += [f"{indent}$$", ""]
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


def rst_to_markdown(text: str) -> str:
    text = _math_blocks(text)
    text = _INLINE_MATH.sub(lambda m: f"${m.group(1).strip()}$", text)
    text = _ROLE.sub(lambda m: f"`{m.group(1)}`", text)
    return _LITERAL.sub(lambda m: f"`{m.group(1)}`", text)


class RstToMarkdown(griffe.Extension):
    """Converts every docstring griffe loads (``extensions: [griffe_rst.py:RstToMarkdown]``)."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rst_to_markdown(obj.docstring.value)
