"""Every runnable Python example in README.md and docs/*.md runs, so the docs cannot rot.

A fenced ```python block whose first line is an ``import`` or ``from`` statement is
a complete program: it runs in a fresh namespace, under JAX's default config
(float32, standard promotion) as a user would run it, and any ``test_*`` function
it defines is called too. Blocks that start otherwise (signatures, fragments) are
illustrations and are not run. Each runs as written: nothing is added to its namespace,
so a name the reader would have to guess (``my_loss``, ``predictions``) fails the test.
"""

from __future__ import annotations

import ast
import builtins
import re
import textwrap
from pathlib import Path

import jax
import pytest

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
    assert not _free_names(tree), f"{page.name}:{line} uses undefined {_free_names(tree)}"
    namespace = {"__name__": name}
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


def _section(text: str, heading: str) -> str:
    return text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def test_readme_verify_example_is_complete_and_states_the_convention():
    """The "Verify your own loss" block defines what it verifies (it runs as written, above)
    and the prose says what check_loss calls a loss with."""
    section = _section((ROOT / "README.md").read_text(), "Verify your own loss")
    block = FENCE.search(section)
    assert block, "the section has no runnable example"
    tree = ast.parse(textwrap.dedent(block.group("body")))
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assigned = {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets
                if isinstance(t, ast.Name)}  # fmt: skip
    assert {"my_loss", "my_plain_reference"} <= defined
    assert {"predictions", "targets", "report"} <= assigned
    assert "check_loss" in block.group("body") and "raise_for_failure" in block.group("body")
    for word in ("`weights=`", "`where=`", "`reduction=`", "apply_conventions"):
        assert word in section


def test_readme_says_how_to_get_the_cpu_torch():
    readme = (ROOT / "README.md").read_text()
    start = (ROOT / "docs" / "getting-started.md").read_text()
    command = "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu"
    assert command in readme and command in start
    # ... and it pins the version the test extras pin.
    assert '"torch==2.13.0"' in (ROOT / "pyproject.toml").read_text()
