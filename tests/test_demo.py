"""``jaxloss demo``: runs the example scripts, gathers their summaries and figures in a report.

The orchestration is tested on stand-in scripts (instant). tests/test_examples.py
checks what each real example computes, and runs one through ``python -m jaxloss
demo`` end to end.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from jaxloss import _demo
from jaxloss._cli import main

ROOT = Path(__file__).resolve().parent.parent

STAND_IN = """
import argparse, pathlib, sys
p = argparse.ArgumentParser()
p.add_argument("--quick", action="store_true")
p.add_argument("--seed", type=int)
p.add_argument("--out", type=pathlib.Path)
a = p.parse_args()
a.out.mkdir(parents=True, exist_ok=True)
(a.out / "fig.png").write_bytes(b"png")
(a.out / "summary.md").write_text("| a | b |\\n\\n![figure](fig.png)\\n")
print("progress", file=sys.stderr)
print("working...")
print(f"{NAME}: quick={a.quick} seed={a.seed}")
sys.exit(CODE)
"""


def stand_ins(folder: Path, codes: dict[str, int]) -> Path:
    folder.mkdir()
    for name, code in codes.items():
        (folder / f"{name}.py").write_text(
            STAND_IN.replace("NAME", repr(name)).replace("CODE", str(code))
        )
    return folder


def test_report_gathers_every_example(tmp_path, capsys):
    names = [e.name for e in _demo.EXAMPLES]
    scripts = stand_ins(tmp_path / "ex", dict.fromkeys(names, 0))
    out = tmp_path / "report"
    assert _demo.run_demo(out, quick=True, seed=3, examples=scripts) == 0
    printed = capsys.readouterr().out
    report = (out / "report.md").read_text()
    assert report.startswith("# jaxloss demo (quick)\n")
    assert f"{len(names)} of {len(names)} examples ran" in report
    for example in _demo.EXAMPLES:
        # The summary line, printed and in the report; the example's table and figure links,
        # pointed into its subfolder; the command that reproduces it.
        line = f"{example.name}: quick=True seed=3"
        assert line in printed and f"```text\n{line}\n```" in report
        assert f"## {example.title}" in report
        assert f"![figure]({example.name}/fig.png)" in report
        assert f"python docs/examples/{example.name}.py --quick --seed 3" in report
        assert (out / example.name / "fig.png").is_file()
        assert "working..." in (out / example.name / "stdout.txt").read_text()
    assert f"jaxloss demo: {len(names)}/{len(names)} examples" in printed


def test_failures_and_missing_scripts_are_reported(tmp_path, capsys):
    first, second, *rest = [e.name for e in _demo.EXAMPLES]
    scripts = stand_ins(tmp_path / "ex", {first: 0, second: 3})
    out = tmp_path / "report"
    assert _demo.run_demo(out, examples=scripts) == 1
    printed = capsys.readouterr().out
    assert f"{first}: quick=False seed=0" in printed
    assert f"{second}: FAILED (exit status 3)" in printed
    for name in rest:
        assert f"{name}: not run (no {name}.py in {scripts})" in printed
    report = (out / "report.md").read_text()
    assert f"1 of {len(_demo.EXAMPLES)} examples ran" in report
    assert "Failed with exit status 3" in report and "is missing" in report


def test_only_and_bad_arguments(tmp_path, capsys):
    names = [e.name for e in _demo.EXAMPLES]
    scripts = stand_ins(tmp_path / "ex", dict.fromkeys(names, 0))
    out = tmp_path / "one"
    assert main(["demo", "--only", names[1], "--examples", str(scripts), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted([names[1], "report.md"])
    capsys.readouterr()
    assert main(["demo", "--only", "resnet", "--examples", str(scripts)]) == 2
    assert "unknown example(s) resnet" in capsys.readouterr().err
    assert main(["demo", "--examples", str(tmp_path / "nowhere")]) == 2
    assert "no example scripts found" in capsys.readouterr().err


def test_finds_the_source_tree_examples():
    assert _demo.find_examples() == ROOT / "docs" / "examples"


def test_help_names_the_options(capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    out = capsys.readouterr().out
    assert "--quick" in out and "--out" in out and "robust_regression" in out


@pytest.mark.parametrize("module", ["matplotlib", "sklearn", "optax", "tqdm"])
def test_examples_dependencies_installed(module):
    # The test extra carries the examples' dependencies, so the examples always run here.
    importlib.import_module(module)
