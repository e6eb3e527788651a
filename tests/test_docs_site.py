"""The documentation site's build pieces (docs/mkdocs/) and the figures the pages quote.

The full strict build (``mkdocs build --strict -f docs/mkdocs/mkdocs.yml``, about a
minute) runs in CI and fails by itself when a page would not work offline (the hook's
``on_post_build``); these tests check its parts in seconds: the offline check itself,
the shipped MathJax, the links into the generated catalogue, the stylesheet, the plots,
and the figures of docs/examples.md that the code computes.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
MKDOCS = DOCS / "mkdocs"

sys.path.insert(0, str(MKDOCS))  # hooks.py imports loss_plots by name, as mkdocs runs it
import hooks  # noqa: E402
import loss_plots  # noqa: E402

from jaxloss import _demo, catalogue  # noqa: E402


def _config() -> dict:
    class Loader(yaml.SafeLoader):  # mkdocs.yml may hold !!python tags; this one does not
        pass

    return yaml.load((MKDOCS / "mkdocs.yml").read_text(), Loader=Loader)


# --- offline: no CDN, the math renderer ships with the site


def test_config_loads_nothing_from_another_host():
    config = _config()
    for key in ("extra_javascript", "extra_css"):
        for item in config.get(key, []):
            src = item if isinstance(item, str) else item["path"]
            assert "//" not in src, f"{key} loads {src} from another host"
    assert hooks.MATHJAX_SCRIPT in config["extra_javascript"]
    assert hooks.STYLESHEET in config["extra_css"]
    # The theme's default fetches Roboto from Google Fonts.
    assert config["theme"].get("font") is False


def test_docs_extra_installs_the_renderer_and_ruff():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    names = {re.split(r"[<>=~\[ ]", r, maxsplit=1)[0] for r in extras["docs"]}
    assert {"django-static-mathjax", "ruff", "mkdocstrings", "mkdocs-material"} <= names


def test_mathjax_ships_its_build_fonts_and_extensions():
    assets = dict(hooks.mathjax_assets())
    assert hooks.MATHJAX_SCRIPT in assets
    assert any(u.startswith("assets/mathjax/output/chtml/fonts/woff-v2/") for u in assets)
    assert "assets/mathjax/input/tex/extensions/boldsymbol.js" in assets  # autoloaded
    # One combined build is enough: the others and the SVG output stay out.
    assert "assets/mathjax/tex-svg.js" not in assets
    assert not any(u.startswith("assets/mathjax/output/svg") for u in assets)
    for path in assets.values():
        assert path.is_file()


def _site(tmp_path: Path, page: str, with_mathjax: bool = True) -> Path:
    site = tmp_path / "site"
    (site / "regression").mkdir(parents=True)
    (site / "regression" / "index.html").write_text(page)
    if with_mathjax:
        fonts = site / "assets/mathjax/output/chtml/fonts/woff-v2"
        fonts.mkdir(parents=True)
        (fonts / "MathJax_Main-Regular.woff").write_bytes(b"wOFF")
        (site / hooks.MATHJAX_SCRIPT).write_text("// MathJax")
    return site


LOCAL = (
    '<link rel="stylesheet" href="../assets/jaxloss.css">'
    '<span class="arithmatex">\\(d^2\\)</span>'
    '<script src="../assets/mathjax/tex-mml-chtml.js"></script>'
    '<a href="https://github.com/google-deepmind/optax">optax</a>'  # a link is fine
)


def test_offline_check_passes_a_self_contained_site(tmp_path):
    assert hooks.offline_problems(_site(tmp_path, LOCAL)) == []


@pytest.mark.parametrize(
    "tag",
    [
        '<script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"></script>',
        '<link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Roboto">',
        "<link rel='preconnect' href='//fonts.gstatic.com'>",
        "<style>@import url('https://fonts.googleapis.com/css?family=Roboto');</style>",
    ],
)
def test_offline_check_flags_a_resource_from_another_host(tmp_path, tag):
    problems = hooks.offline_problems(_site(tmp_path, LOCAL + tag))
    assert len(problems) == 1 and problems[0].startswith("regression/index.html loads ")


def test_offline_check_flags_formulas_without_the_renderer(tmp_path):
    page = '<span class="arithmatex">\\(d^2\\)</span>'
    problems = hooks.offline_problems(_site(tmp_path, page, with_mathjax=False))
    assert any("missing from the site" in p for p in problems)
    assert any("has formulas but does not load" in p for p in problems)


def test_the_build_fails_on_a_site_that_needs_the_network(tmp_path):
    from mkdocs.exceptions import PluginError

    site = _site(tmp_path, LOCAL + '<script src="https://cdn.example.org/x.js"></script>')
    with pytest.raises(PluginError, match="would not work offline"):
        hooks.on_post_build({"site_dir": str(site)})


# --- links: the pages read as they are (GitHub) and in the site


LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
NOT_PROSE = re.compile(r"```.*?```|\$\$.*?\$\$|\$[^$\n]+\$|`[^`\n]+`", re.DOTALL)


def _relative_links(page: Path):
    text = NOT_PROSE.sub("", page.read_text(encoding="utf-8"))  # code and formulas
    for target in LINK.findall(text):
        if "://" in target or target.startswith(("#", "mailto:")):
            continue
        yield target


@pytest.mark.parametrize("page", [*sorted(DOCS.glob("*.md")), ROOT / "README.md"], ids=str)
def test_every_relative_link_exists_without_the_site(page):
    """On GitHub (or in an editor) a link into the generated catalogue/ would be a 404."""
    for target in _relative_links(page):
        path = (page.parent / target.split("#")[0]).resolve()
        assert path.exists(), f"{page.name} links to {target}, which does not exist"


def test_catalogue_links_lead_to_the_generated_pages_on_the_site():
    families = catalogue.families()
    markdown = (
        "the [Catalogue](../README.md#catalogue); the "
        "[classification catalogue page](../README.md#documentation) plots ...; "
        "[large vocabulary catalogue page](../README.md#documentation); "
        "[build the site](../README.md#documentation)"
    )
    assert hooks.catalogue_links(markdown, families) == (
        "the [Catalogue](catalogue/index.md); the "
        "[classification catalogue page](catalogue/classification.md) plots ...; "
        "[large vocabulary catalogue page](catalogue/large_vocabulary.md); "
        "[build the site](../README.md#documentation)"
    )


def test_a_link_to_an_unknown_family_fails_the_build():
    from mkdocs.exceptions import PluginError

    with pytest.raises(PluginError, match="'regresion' catalogue page"):
        hooks.catalogue_links("[regresion catalogue page](../README.md#documentation)", ["a"])


def test_every_catalogue_link_of_the_pages_names_a_family():
    families = catalogue.families()
    found = 0
    for page in DOCS.glob("*.md"):
        text = page.read_text(encoding="utf-8")
        for m in hooks._FAMILY_LINK.finditer(text):
            assert m.group(1) in families, (page.name, m.group(0))
            found += 1
    assert found >= 7  # regression, classification (4 pages), divergence, sequence


# --- tables: loss names in code never break mid-word


def test_code_names_in_tables_break_between_their_words_only():
    css = (MKDOCS / "extra.css").read_text()
    rule = re.search(r"table:not\(\[class\]\) code\s*\{([^}]*)\}", css)
    # The theme's overflow-wrap: anywhere broke "squared_e / rror".
    assert rule and "word-break: normal" in rule.group(1)
    assert "overflow-wrap: normal" in rule.group(1)
    html = (
        "<p><code>keep_this</code></p><table><tr><td><code>squared_error</code> "
        "<code>keras.losses.MeanSquaredError</code> <code>[..., C]</code></td></tr></table>"
    )
    assert hooks.name_breaks(html) == (
        "<p><code>keep_this</code></p><table><tr><td><code>squared_<wbr>error</code> "
        "<code>keras.<wbr>losses.<wbr>MeanSquaredError</code> <code>[..., C]</code></td>"
        "</tr></table>"
    )
    # The catalogue's plots carry the class that sizes them.
    entry = catalogue.get("huber")
    page = hooks._family_page("regression", [entry], {}, {"huber": "img/huber.png"})
    assert "![huber: loss and derivative](img/huber.png){ .jaxloss-plot }" in page
    assert ".jaxloss-plot" in css


# --- plots: readable, and a hyperparameter's effect shown


def test_pinball_plot_sweeps_tau():
    key, settings = loss_plots.sweep(catalogue.get("pinball"))
    assert key == "tau" and [s["tau"] for s in settings] == [0.1, 0.5, 0.9]
    # A loss verified under one setting draws that one.
    key, settings = loss_plots.sweep(catalogue.get("squared_error"))
    assert key is None and len(settings) == 1


def test_pinball_plot_draws_every_tau_large(tmp_path):
    loss_plots._setup()
    curves = loss_plots._curves(catalogue.get("pinball"))
    assert [c["label"] for c in curves["curves"]] == ["tau = 0.1", "tau = 0.5", "tau = 0.9"]
    for c, tau in zip(curves["curves"], (0.1, 0.5, 0.9), strict=True):
        # The derivative of max(tau r, (tau - 1) r), r = t - p, in p: tau - 1 for d > 0.
        right = curves["x"] > 0.5
        np.testing.assert_allclose(c["grad"][right], 1 - tau, rtol=1e-6)
        np.testing.assert_allclose(c["grad_reference"][right], 1 - tau, rtol=1e-6)
    _, png, why = loss_plots.render("pinball")
    assert png is not None, why
    width = int.from_bytes(png[16:20], "big")
    assert width >= 900, width  # the old 576 px plot was unreadable at 1280 px


# --- docs/examples.md: the figures the code computes


def _language_model():
    spec = importlib.util.spec_from_file_location("lm_example", DOCS / "examples/language_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_examples_page_quotes_the_memory_the_language_model_compiles_to():
    """Compile-time figures: the same on every run of this JAX on CPU, so the page's
    numbers are recomputed here (the step at the example's default V = 8192, 1024
    tokens; the loss alone at 8192 × 32768), not trusted."""
    import jax
    import optax

    lm = _language_model()
    text = (DOCS / "examples.md").read_text()
    m = re.search(
        r"([\d.]+) MiB for the fused\s+training step against ([\d.]+) MiB for the naive one",
        text,
    )
    assert m, "examples.md no longer quotes the training step's memory"
    # As the example runs: JAX's default config, not the suite's x64.
    with (
        jax.enable_x64(False),
        jax.numpy_rank_promotion("allow"),
        jax.numpy_dtype_promotion("standard"),
    ):
        params = lm.init(jax.random.key(0), 8192, 32, 64)
        optimizer = optax.adam(2e-3)
        state = optimizer.init(params)
        context = np.zeros((1024, lm.CONTEXT), np.int32)
        labels = np.zeros((1024,), np.int32)
        measured = {
            name: lm.temp_bytes(lm.make_step(fn, optimizer), params, state, context, labels) / 2**20
            for name, fn in (("fused", lm.fused_loss), ("naive", lm.naive_loss))
        }
        large = {k: v / 2**20 for k, v in lm.big_loss_memory().items()}
    assert f"{measured['fused']:.1f}" == m.group(1)
    assert f"{measured['naive']:.0f}" == m.group(2)
    m = re.search(r"(\d+) MiB against the naive (\d+) GiB", text)
    assert m, "examples.md no longer quotes the memory of the loss at 8192 x 32768"
    assert f"{large['fused']:.0f}" == m.group(1)
    assert f"{large['naive'] / 1024:.0f}" == m.group(2)


def test_examples_page_describes_the_figures_the_scripts_draw():
    text = (DOCS / "examples.md").read_text()
    metric = (DOCS / "examples/metric_learning.py").read_text()
    # The embedding is 2-D by construction: no projection is drawn.
    assert "principal component" not in text and "PCA" not in metric
    assert "2-D embedding" in text
    # The quoted results are dated, with the setup that produced them.
    assert re.search(r"run on\s+\d{4}-\d{2}-\d{2} with jaxloss [\d.]+ and jax [\d.]+", text)


STAND_IN = """
import argparse, pathlib
p = argparse.ArgumentParser()
p.add_argument("--quick", action="store_true")
p.add_argument("--seed", type=int)
p.add_argument("--out", type=pathlib.Path)
a = p.parse_args()
a.out.mkdir(parents=True, exist_ok=True)
print("NAME: done (7 s)")
"""


def test_demo_report_says_what_each_of_its_two_times_measures(tmp_path):
    folder = tmp_path / "examples"
    folder.mkdir()
    for e in _demo.EXAMPLES:
        (folder / f"{e.name}.py").write_text(STAND_IN.replace("NAME", e.name))
    assert _demo.run_demo(tmp_path / "out", quick=True, examples=folder, stream=None) == 0
    report = (tmp_path / "out" / "report.md").read_text()
    for e in _demo.EXAMPLES:
        section = report.split(f"## {e.title}")[1]
        assert "s in all, starting Python and importing JAX included" in section
        assert "the time in the summary line counts from the script's start" in section
        assert f"{e.name}: done (7 s)" in section
