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
- Links into the catalogue: the hand-written pages are also read as they are (on GitHub,
  in an editor), where ``catalogue/`` does not exist, so they link to what does: the
  README's list of losses (``](../README.md#catalogue)``) for the overview, and for a
  family ``[<family> catalogue page](../README.md#documentation)``, the README's section
  on building the site. On the site those links lead to the generated pages.
- The site works offline: the math renderer (MathJax 3, from the ``django-static-mathjax``
  package of the ``docs`` extra, which holds MathJax's own build files and nothing else
  it needs) and the stylesheet are copied into it, the theme loads no web fonts, and the
  build fails if a page still loads a script, stylesheet or font from another host.
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import json
import logging
import os
import re
import sys
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError
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
            lines += [f"![{e.name}: loss and derivative]({drawn[e.name]}){{ .jaxloss-plot }}", ""]
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


# --- assets: the math renderer and the stylesheet, shipped with the site

MATHJAX_SCRIPT = "assets/mathjax/tex-mml-chtml.js"  # extra_javascript in mkdocs.yml
STYLESHEET = "assets/jaxloss.css"  # extra_css in mkdocs.yml
# MathJax's other combined builds (one is enough) and the SVG output (CHTML is used).
_MATHJAX_UNUSED = re.compile(r"^(tex-|mml-|node-main).*\.js$|^output/svg")


def mathjax_dir() -> Path:
    """MathJax 3's es5 build folder, from the ``django-static-mathjax`` package (which,
    despite its name, is MathJax's build files and needs no Django)."""
    spec = importlib.util.find_spec("mathjax")
    if spec is not None and spec.origin:
        es5 = Path(spec.origin).parent / "static" / "mathjax" / "es5"
        if (es5 / "tex-mml-chtml.js").is_file():
            return es5
    raise PluginError(
        "jaxloss docs: the math renderer is missing (MathJax 3 from the django-static-mathjax "
        'package); install the docs extra: python -m pip install -e ".[docs]"'
    )


def mathjax_assets() -> list[tuple[str, Path]]:
    """(site path, file) of every MathJax file the site needs: the tex-mml-chtml build,
    its CHTML fonts, and the components it loads on demand (TeX extensions, menu, a11y)."""
    es5 = mathjax_dir()
    out = []
    for path in sorted(es5.rglob("*")):
        rel = path.relative_to(es5).as_posix()
        if path.is_file() and (rel == "tex-mml-chtml.js" or not _MATHJAX_UNUSED.match(rel)):
            out.append((f"assets/mathjax/{rel}", path))
    return out


# A script, stylesheet, font or preconnect hint from another host: absolute or
# protocol-relative URL in src/href of <script>/<link>, or url(...) in inline CSS.
_EXTERNAL = re.compile(
    r"<(?:script|link)\b[^>]*\b(?:src|href)=[\"']((?:https?:)?//[^\"']+)[\"']"
    r"|@import\s+url\(\s*[\"']?((?:https?:)?//[^)\"']+)",
    re.IGNORECASE,
)


def offline_problems(site_dir: Path) -> list[str]:
    """What would break the built site without a network: pages that load a resource from
    another host, pages with formulas that do not load the shipped MathJax, and MathJax
    files missing from the site. Empty when the site works offline."""
    problems = []
    script = site_dir / MATHJAX_SCRIPT
    fonts = site_dir / "assets/mathjax/output/chtml/fonts/woff-v2"
    if not script.is_file():
        problems.append(f"{MATHJAX_SCRIPT} is missing from the site")
    if not fonts.is_dir() or not any(fonts.glob("*.woff")):
        problems.append("MathJax's CHTML fonts are missing from the site")
    for page in sorted(site_dir.rglob("*.html")):
        html = page.read_text(encoding="utf-8", errors="replace")
        rel = page.relative_to(site_dir).as_posix()
        for m in _EXTERNAL.finditer(html):
            problems.append(f"{rel} loads {m.group(1) or m.group(2)}")
        if 'class="arithmatex"' in html and "assets/mathjax/tex-mml-chtml.js" not in html:
            problems.append(f"{rel} has formulas but does not load {MATHJAX_SCRIPT}")
    return problems


def on_post_build(config: Any) -> None:
    problems = offline_problems(Path(config["site_dir"]))
    if problems:
        shown = "\n  ".join(problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise PluginError(f"jaxloss docs: the site would not work offline:\n  {shown}{more}")


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
    for uri, path in mathjax_assets():
        files.append(File.generated(config, uri, abs_src_path=str(path)))
    css = Path(__file__).resolve().parent / "extra.css"
    files.append(File.generated(config, STYLESHEET, abs_src_path=str(css)))
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


# A hand-written page's links into the catalogue, as readable without the site (see the
# module docstring): the README's list of losses, and for a family's page the README's
# section on building the site, with the family in the link text.
_OVERVIEW_LINK = "](../README.md#catalogue)"
_FAMILY_LINK = re.compile(r"\[([\w ]+?) catalogue page\]\(\.\./README\.md#documentation\)")


def catalogue_links(markdown: str, families: list[str]) -> str:
    """Points a top-level page's links into the catalogue at the generated pages."""

    def family(m: re.Match) -> str:
        name = m.group(1)
        if name not in families:
            raise PluginError(
                f"jaxloss docs: a link to the {name!r} catalogue page, but the catalogue's "
                f"families are {', '.join(families)}"
            )
        return f"[{name} catalogue page](catalogue/{_slug(name)}.md)"

    markdown = markdown.replace(_OVERVIEW_LINK, "](catalogue/index.md)")
    return _FAMILY_LINK.sub(family, markdown)


# --- tables: a long code name may wrap between its words, never inside one

_CELL = re.compile(r"<td\b[^>]*>.*?</td>", re.DOTALL)
_CODE = re.compile(r"(<code\b[^>]*>)(.*?)(</code>)", re.DOTALL)
_NAME_BREAK = re.compile(r"(?<=[\w\]])([_.])(?=\w)")


def name_breaks(html: str) -> str:
    """Adds a break opportunity (``<wbr>``) after each ``_`` or ``.`` of the code in table
    cells: ``binary_cross_entropy_with_logits`` may wrap as ``binary_cross_entropy_`` /
    ``with_logits`` when the table needs the room, where the theme broke names anywhere
    (``squared_e`` / ``rror``) and extra.css now breaks them nowhere else."""

    def code(m: re.Match) -> str:
        text = m.group(2)
        if "<" in text:  # highlighted or nested markup: leave it alone
            return m.group(0)
        return m.group(1) + _NAME_BREAK.sub(r"\1<wbr>", text) + m.group(3)

    return _CELL.sub(lambda cell: _CODE.sub(code, cell.group(0)), html)


def on_page_content(html: str, page: Any, config: Any, files: Files) -> str:
    return name_breaks(html)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    if "/" not in page.file.src_uri:  # the hand-written pages, at the top of docs/
        from jaxloss import catalogue

        markdown = catalogue_links(markdown, catalogue.families())
    if PEERS_MARKER in markdown:
        markdown = markdown.replace(PEERS_MARKER, _peer_table())
    if BENCHMARK_MARKER in markdown:
        markdown = markdown.replace(BENCHMARK_MARKER, _benchmark_sections())
    return markdown


os.environ.setdefault("MPLBACKEND", "Agg")
