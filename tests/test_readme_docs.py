"""Every runnable Python example in README.md and docs/*.md runs, so the docs cannot rot.

A fenced ```python block whose first line is an ``import`` or ``from`` statement is
a complete program: it runs in a fresh namespace, under JAX's default config
(float32, standard promotion) as a user would run it, and any ``test_*`` function
it defines is called too. Blocks that start otherwise (signatures, fragments) are
illustrations and are not run.

A few names are placeholders in the prose for the reader's own objects
(``my_loss``, ``my_plain_reference``, ``predictions``, ``targets``); a block that
uses one without defining it gets a real one (``jaxloss.huber`` and its reference,
with sample inputs), so that template snippets run as well.
"""

from __future__ import annotations

import ast
import builtins
import re
import textwrap
from pathlib import Path

import jax
import pytest

import jaxloss
from jaxloss import catalogue, reference

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```python[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
    re.MULTILINE | re.DOTALL,
)


def _blocks():
    out = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for m in FENCE.finditer(text):
            body = textwrap.dedent(m.group("body"))
            if body.lstrip().startswith(("import ", "from ")):
                line = text.count("\n", 0, m.start()) + 1
                out.append(pytest.param(page, line, body, id=f"{page.name}:{line}"))
    return out


BLOCKS = _blocks()


PLACEHOLDERS = ("my_loss", "my_plain_reference", "predictions", "targets")


def _placeholders() -> dict[str, object]:
    predictions, targets = catalogue.get("huber").inputs(seed=0)
    return {
        "my_loss": jaxloss.huber,
        "my_plain_reference": reference.huber,
        "predictions": predictions,
        "targets": targets,
    }


def _free_names(tree: ast.Module) -> set[str]:
    """Names the block reads but never binds anywhere (an over-approximation of bound)."""
    loaded, bound = set(), set(dir(builtins))
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return loaded - bound


def test_every_page_with_examples_is_collected():
    pages = {p.name for p, _, _ in (b.values for b in BLOCKS)}
    assert {"README.md", "conventions.md", "regression.md", "verification.md"} <= pages


@pytest.mark.parametrize(("page", "line", "source"), BLOCKS)
def test_example_runs(page, line, source):
    tree = ast.parse(source, filename=f"{page}:{line}")
    name = f"docs_example_{page.stem}_{line}"
    namespace = {"__name__": name}
    free = _free_names(tree) & set(PLACEHOLDERS)
    if free:
        namespace.update({k: v for k, v in _placeholders().items() if k in free})
    # Examples are written for a user's default config; conftest.py turns on x64 and
    # strict promotion for the rest of the suite.
    with (
        jax.enable_x64(False),
        jax.numpy_rank_promotion("allow"),
        jax.numpy_dtype_promotion("standard"),
    ):
        # Line numbers in tracebacks point into the page.
        code = compile(ast.increment_lineno(tree, line), str(page), "exec")
        exec(code, namespace)
        for key, value in list(namespace.items()):
            if key.startswith("test_") and getattr(value, "__module__", None) == name:
                value()


def test_ci_runs_the_readme_commands():
    """CI proves the README: its test command appears verbatim in .ci/run, and its first
    command's install and entry point run there too."""
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    block = readme.split("```bash\n", 1)[1].split("```", 1)[0]
    commands = [ln for ln in block.splitlines() if ln and not ln.startswith("#")]
    assert len(commands) == 2, commands
    install, *runs = commands[0].split(" && ")
    assert install in ci
    for run in runs:  # `jaxloss verify`, `jaxloss demo`: CI runs them with arguments
        assert f"\n{run} " in ci, run
    assert f"\n{commands[1]}\n" in ci
