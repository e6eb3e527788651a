"""mkdocs hooks: the pages and figures the site generates from jaxloss itself at build time.

- ``catalogue/<family>.md``, one per family of ``jaxloss.catalogue``: for each loss its
  summary, peers' names, the kink convention and edge cases the catalogue verifies, a
  link to the hand-written guide, a plot of the loss and of its derivative (the custom
  rule's, drawn over ``jax.grad`` of the plain reference), and its API documentation
  (mkdocstrings: signature, value and gradient formulas, conventions, example).
- ``catalogue/index.md``: every loss with its family and peers' names.
- In ``migration.md`` the name table, in ``benchmarks.md`` the results of
  ``benchmarks/results/*.json`` with plots of the ratios.
- The nav: entries whose page does not exist (yet) are dropped, and ``catalogue/`` is
  expanded to the generated pages, so that families added later need no config change.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import sys
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for loss_plots
import loss_plots

log = logging.getLogger("mkdocs.hooks.jaxloss")

DOCS = Path(__file__).resolve().parent.parent
ROOT = DOCS.parent
CATALOGUE_MARKER = "catalogue/"
PEERS_MARKER = "<!-- jaxloss: peer names -->"
BENCHMARK_MARKER = "<!-- jaxloss: benchmark results -->"

FAMILY_TITLES = {
    "sequence": "Sequence (CTC)",
}
FAMILY_TEXT = {
    "regression": "Real-valued predictions against real-valued targets.",
    "classification": "Class scores against class labels: cross-entropy and its relatives, "
    "binary and multi-label losses, margin losses.",
    "divergence": "Distances between distributions: KL, Jensen–Shannon, distillation.",
    "sequence": "Alignment-free sequence losses.",
}
PEER_PREFIX = {
    "torch": "torch.nn.functional.",
    "optax": "optax.losses.",
    "keras": "keras.losses.",
}


def _title(family: str) -> str:
    return FAMILY_TITLES.get(family, family.replace("_", " ").capitalize())


def _slug(family: str) -> str:
    """The family's page name: ``catalogue/<slug>.md``."""
    return re.sub(r"[^a-z0-9]+", "_", family.lower()).strip("_")


def _signature(fn) -> str:
    import inspect

    params = []
    star = False
    for p in inspect.signature(fn).parameters.values():
        if p.kind is p.KEYWORD_ONLY and not star:
            params.append("*")
            star = True
        params.append(p.name if p.default is p.empty else f"{p.name}={p.default!r}")
    return f"{fn.__name__}({', '.join(params)})"


# --- nav


def _prune(nav: list, docs_dir: Path, families: list[str]) -> list:
    out = []
    for item in nav:
        if isinstance(item, dict):
            ((title, value),) = item.items()
        else:
            title, value = None, item
        if isinstance(value, list):
            pruned = _prune(value, docs_dir, families)
            if pruned:
                out.append({title: pruned})
        elif value == CATALOGUE_MARKER:
            pages = [{"Overview": "catalogue/index.md"}]
            pages += [{_title(f): f"catalogue/{_slug(f)}.md"} for f in families]
            out.append({title or "Catalogue": pages})
        elif (docs_dir / value).is_file() or "://" in value:
            out.append(item)
        else:
            log.info("nav: %s is not written yet, left out", value)
    return out


def on_config(config: Any) -> Any:
    from jaxloss import catalogue

    config["nav"] = _prune(config["nav"], Path(config["docs_dir"]), catalogue.families())
    return config


# --- the catalogue pages


def _guides(docs_dir: Path) -> dict[str, str]:
    """loss name -> 'page.md#anchor' of the hand-written page that has a heading for it."""
    found: dict[str, str] = {}
    heading = re.compile(r"^#{2,4} `(\w+)`\s*$", re.MULTILINE)
    for page in sorted(docs_dir.glob("*.md")):
        for m in heading.finditer(page.read_text(encoding="utf-8")):
            found.setdefault(m.group(1), f"{page.name}#{m.group(1).lower()}")
    return found


def _fmt_options(options: dict) -> str:
    if not options:
        return "defaults"
    parts = []
    for k, v in options.items():
        v = getattr(v, "tolist", lambda v=v: v)()
        parts.append(f"{k}={v!r}" if not isinstance(v, list) else f"{k}=[…{len(v)}]")
    return ", ".join(parts)


def _peers(entry) -> str:
    parts = []
    for lib, label in (("torch", "PyTorch"), ("optax", "optax"), ("keras", "Keras")):
        name = getattr(entry.peers, lib)
        if name:
            prefix = "" if "." in name.split()[0] else PEER_PREFIX[lib]
            parts.append(f"{label} `{prefix}{name}`")
    if entry.peers.other:
        parts.append(entry.peers.other)
    return " · ".join(parts) or "—"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _family_page(family: str, entries, guides: dict[str, str], drawn: dict[str, str]) -> str:
    lines = [
        f"# {_title(family)}: catalogue",
        "",
        f"{FAMILY_TEXT.get(family, '')} Generated from `jaxloss.catalogue` when the site was "
        "built: the summary, peers' names, kinks and edge cases are the ones `jaxloss verify` "
        "checks, and each plot is drawn by the installed jaxloss.",
        "",
        "Each plot varies one input coordinate of the catalogue's first sample example "
        "(the others fixed, first hyperparameter setting) and shows that example's loss and "
        "its derivative along the coordinate: **the custom rule's derivative (thin line) is "
        "drawn over `jax.grad` of the plain reference (thick line)**, so a wrong rule would "
        "show as two curves. At a kink the two may differ by design: the rule takes the "
        "documented convention, autodiff whatever its primitives give.",
        "",
        "| loss | summary | PyTorch | optax | Keras |",
        "| --- | --- | --- | --- | --- |",
    ]
    for e in entries:
        p = e.peers
        lines.append(
            f"| [`{e.name}`](#{e.name}) | {_cell(e.summary)} | {p.torch or '—'} "
            f"| {p.optax or '—'} | {p.keras or '—'} |"
        )
    for e in entries:
        kinks = "<br>".join(_cell(k.description) for k in e.kinks) or (
            "none listed: the rule is the derivative everywhere on the domain"
        )
        edges = "<br>".join(_cell(k.description) for k in e.edge_cases) or "—"
        settings = "<br>".join(f"`{_cell(_fmt_options(dict(o)))}`" for o in e.options)
        guide = guides.get(e.name)
        lines += [
            "",
            f"## `{e.name}` {{#{e.name}}}",
            "",
            f"**{_cell(e.summary)}**",
            "",
            f"`{_signature(e.fn)}`",
            "",
            "| | |",
            "| --- | --- |",
            f"| peers | {_peers(e)} |",
            f"| kink convention (gradient asserted exactly) | {kinks} |",
            f"| edge cases (finite value and gradient) | {edges} |",
            f"| settings verified | {settings} |",
        ]
        if guide:
            lines.append(f"| guide | [{guide.split('#')[0][:-3]} page](../{guide}) |")
        lines.append("")
        if e.name in drawn:
            lines += [f"![{e.name}: loss and derivative]({drawn[e.name]})", ""]
        else:
            lines += ["*(no plot could be drawn for this loss)*", ""]
        lines += [
            f"::: jaxloss.{e.name}",
            "    options:",
            "      show_root_heading: false",
            "      show_root_toc_entry: false",
            "      heading_level: 3",
            "",
        ]
    return "\n".join(lines) + "\n"


def _overview(families: list[str], entries) -> str:
    lines = [
        "# Catalogue",
        "",
        f"All {len(entries)} losses of `jaxloss.catalogue` (`jaxloss list` prints the same), "
        "by family. Each family page has the formulas, the gradient the rule implements, "
        "the kink conventions, and a plot of every loss and its derivative.",
        "",
    ]
    for f in families:
        members = [e for e in entries if e.family == f]
        lines += [f"## [{_title(f)}]({_slug(f)}.md)", "", "| loss | summary | peers |"]
        lines.append("| --- | --- | --- |")
        lines += [
            f"| [`{e.name}`]({_slug(f)}.md#{e.name}) | {_cell(e.summary)} | {_cell(_peers(e))} |"
            for e in members
        ]
        lines.append("")
    return "\n".join(lines)


MATHJAX = """window.MathJax = {
  tex: {inlineMath: [["\\\\(", "\\\\)"]], displayMath: [["\\\\[", "\\\\]"]],
        processEscapes: true, processEnvironments: true},
  options: {ignoreHtmlClass: ".*|", processHtmlClass: "arithmatex"}
};
document$.subscribe(() => { MathJax.typesetPromise && MathJax.typesetPromise() });
"""


def on_files(files: Files, config: Any) -> Files:
    from jaxloss import catalogue

    docs_dir = Path(config["docs_dir"])
    files.append(File.generated(config, "assets/mathjax.js", content=MATHJAX))
    guides = _guides(docs_dir)
    entries = list(catalogue.ENTRIES)
    families = catalogue.families()
    drawn = {}
    # JAXLOSS_DOCS_PLOTS=0 skips the plots (a faster build while editing prose).
    draw = os.environ.get("JAXLOSS_DOCS_PLOTS", "1") != "0"
    for name, png, why in loss_plots.render_all([e.name for e in entries] if draw else []):
        if png is None:
            log.info("no plot for %s: %s", name, why)
            continue
        files.append(File.generated(config, f"catalogue/img/{name}.png", content=png))
        drawn[name] = f"img/{name}.png"
    for family in families:
        members = [e for e in entries if e.family == family]
        page = _family_page(family, members, guides, drawn)
        files.append(File.generated(config, f"catalogue/{_slug(family)}.md", content=page))
    files.append(File.generated(config, "catalogue/index.md", content=_overview(families, entries)))
    _BENCHMARK_PLOTS.clear()
    for name, png in _benchmark_plots().items():
        files.append(File.generated(config, f"img/benchmarks/{name}.png", content=png))
        _BENCHMARK_PLOTS.add(name)
    return files


# --- migration and benchmarks


def _peer_table() -> str:
    from jaxloss import catalogue

    rows = [
        "| jaxloss | family | PyTorch (`torch.nn.functional`) | optax (`optax.losses`) "
        "| Keras (`keras.losses`) | other |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for e in catalogue.ENTRIES:
        p = e.peers
        cells = [f"`{x}`" if x else "—" for x in (p.torch, p.optax, p.keras)]
        rows.append(
            f"| [`{e.name}`](catalogue/{_slug(e.family)}.md#{e.name}) | {e.family} | "
            + " | ".join(cells)
            + f" | {_cell(p.other or '—')} |"
        )
    return "\n".join(rows)


_BENCHMARK_PLOTS: set[str] = set()  # the result files on_files could plot


def _benchmark_files() -> list[Path]:
    results = ROOT / "benchmarks" / "results"
    return sorted(p for p in results.glob("*.json") if p.with_suffix(".md").is_file())


def _benchmark_plots() -> dict[str, bytes]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    plots = {}
    for path in _benchmark_files():
        data = json.loads(path.read_text())
        rows = [r for r in data.get("rows", []) + data.get("headline", []) if r.get("ratio_vs")]
        if not rows:
            continue
        labels = []
        for r in rows:
            extra = r.get("label") if r.get("label") not in (None, "—") else None
            if extra is None and not r.get("default_options", True):
                extra = _fmt_options(r.get("options") or {})
            labels.append(r["loss"] + (f" ({extra})" if extra else ""))
        peers = [k for k in ("reference", "optax", "torch")
                 if any(k in r["ratio_vs"] for r in rows)]  # fmt: skip
        height = 0.8 / len(peers)
        fig, ax = plt.subplots(figsize=(8, 0.22 * len(rows) + 1.2))
        y = np.arange(len(rows))
        colors = {"reference": "#2166ac", "optax": "#1b7837", "torch": "#b2182b"}
        for k, peer in enumerate(peers):
            ratios = [r["ratio_vs"].get(peer, np.nan) for r in rows]
            ax.barh(y + (k - (len(peers) - 1) / 2) * height, ratios, height, label=f"vs {peer}",
                    color=colors[peer])  # fmt: skip
        ax.axvline(1.0, color="k", lw=1)
        ax.set_xscale("log")
        ax.set_yticks(y, labels, fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel("time ratio jaxloss / other (log scale; < 1: jaxloss faster)", fontsize=8)
        ax.legend(fontsize=7, loc="lower right")
        ax.set_title(path.stem, fontsize=9)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=80)
        plt.close(fig)
        plots[path.stem] = buf.getvalue()
    return plots


def _benchmark_sections() -> str:
    out = []
    for path in _benchmark_files():
        text = path.with_suffix(".md").read_text(encoding="utf-8")
        # The result file's headings move one level down under this page's section.
        text = re.sub(r"^(#+) ", lambda m: "#" + m.group(1) + " ", text, flags=re.MULTILINE)
        out += [f"## `{path.stem}`", ""]
        if path.stem in _BENCHMARK_PLOTS:  # result files of another layout get no plot
            out += [f"![{path.stem} ratios](img/benchmarks/{path.stem}.png)", ""]
        out += [f"Raw timings: `benchmarks/results/{path.name}`.", "", text, ""]
    return "\n".join(out)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    if PEERS_MARKER in markdown:
        markdown = markdown.replace(PEERS_MARKER, _peer_table())
    if BENCHMARK_MARKER in markdown:
        markdown = markdown.replace(BENCHMARK_MARKER, _benchmark_sections())
    return markdown


os.environ.setdefault("MPLBACKEND", "Agg")
