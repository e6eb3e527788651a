"""The jaxloss command."""

import json
import os
import re
import subprocess
import sys

import pytest

from jaxloss import _cli, catalogue
from jaxloss._cli import main


@pytest.fixture(autouse=True)
def no_cache_in_this_process(monkeypatch):
    """The commands run in this process keep no programs: the cache is tested in a
    process of its own."""
    monkeypatch.setattr(_cli, "_use_cache", lambda directory: directory)


def test_list_prints_every_loss_with_peers(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in catalogue.names():
        assert name in out
    assert "mse_loss" in out and "MeanSquaredError" in out


def test_list_json(capsys):
    assert main(["list", "--json", "--family", "regression"]) == 0
    rows = json.loads(capsys.readouterr().out)["losses"]
    assert [r["name"] for r in rows] == catalogue.names("regression")
    huber = next(r for r in rows if r["name"] == "huber")
    assert huber["peers"] == {"torch": "huber_loss", "optax": "huber_loss", "keras": "Huber"}


def test_verify_json_reports_each_loss(capsys):
    assert main(["verify", "huber", "pinball", "--json", "--checks", "value,gradient,kinks"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["passed"] is True and out["backend"] == "cpu"
    assert [r["name"] for r in out["results"]] == ["huber", "pinball"]
    assert all(r["passed"] for r in out["results"])
    assert set(out["results"][0]["checks"]) == {"value", "gradient", "kinks"}


def test_verify_table(capsys):
    assert main(["verify", "squared_error", "--checks", "value,gradient,kinks,edge_cases"]) == 0
    out = capsys.readouterr().out
    assert "squared_error" in out and "passed" in out and "1 loss ·" in out
    assert re.search(r"^1 passed, 0 failed in \d+ s$", out, re.M), out
    # squared_error documents an edge case but no kink: "none", not "ok".
    row = next(line for line in out.splitlines() if line.startswith("squared_error"))
    assert row.split()[-3:] == ["none", "ok", "passed"], row


def test_verify_table_columns_line_up_with_long_names(capsys):
    names = ["huber", "softmax_cross_entropy_with_integer_labels"]
    assert main(["verify", *names, "--checks", "value", "--jobs", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("loss"))
    rows = lines[header : header + 4]
    ends = {len(line) for line in rows if not line.startswith("-")}
    assert len(ends) == 1, rows


def test_verify_in_parallel_processes_gives_the_same_reports(capsys):
    args = ["verify", "huber", "pinball", "--json", "--checks", "value,kinks"]
    assert main([*args, "--jobs", "2", "--no-cache"]) == 0
    parallel = json.loads(capsys.readouterr().out)
    assert main([*args, "--jobs", "1", "--no-cache"]) == 0
    serial = json.loads(capsys.readouterr().out)
    assert parallel["jobs"] == 2 and serial["jobs"] == 1
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in serial["results"]]
    assert [{k: v for k, v in r.items() if k != "seconds"} for r in parallel["results"]] == strip
    assert all(r["seconds"] > 0 for r in parallel["results"])
    assert re.fullmatch(r"2 passed, 0 failed in \d+ s", parallel["summary"])


def test_verify_lowers_for_other_platforms(capsys):
    assert main(["verify", "huber", "--checks", "value,gradient", "--platforms", "cuda,tpu",
                 "--json"]) == 0  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    export = out["results"][0]["checks"]["export"]
    assert export["passed"] and "cuda, tpu" in export["detail"], export
    assert out["platforms"] == ["cuda", "tpu"]


def verify_huber(cache, **env):
    command = [sys.executable, "-m", "jaxloss", "verify", "huber", "--checks",
               "value,gradient,jit", "--json"]  # fmt: skip
    command += ["--no-cache"] if cache is None else ["--cache", str(cache)]
    unset = ("XLA_FLAGS", "JAX_COMPILATION_CACHE_DIR")
    env = {**{k: v for k, v in os.environ.items() if k not in unset}, **env}
    out = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    run = json.loads(out.stdout)
    assert run["passed"] and run["cache"] == (cache and str(cache)), run
    return [] if cache is None else sorted(cache.rglob("*.program"))


def test_verify_keeps_its_compiled_programs_in_the_cache_folder(tmp_path):
    cache = tmp_path / "verify"
    first = verify_huber(cache)
    # The float32 program and the jit check's, in the folder of this source's fingerprint.
    assert len(first) == 2 and len({p.parent for p in first}) == 1
    # The op-by-op runs' operations are in JAX's persistent cache, the kept programs not.
    jax_entries = [p for p in (cache / "jax").rglob("*") if p.is_file()]
    assert jax_entries and all(p.stat().st_size < 100_000 for p in jax_entries)
    assert verify_huber(cache) == first


def test_verify_keeps_only_what_it_compiled_when_jax_has_a_cache_of_its_own(tmp_path):
    # An executable JAX loaded from its own persistent cache does not serialise whole on
    # XLA:CPU: a program JAX answers from the user's cache is used, not kept.
    users = {"JAX_COMPILATION_CACHE_DIR": str(tmp_path / "jax"),
             "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"}  # fmt: skip
    verify_huber(None, **users)  # fills the user's cache with every program
    assert verify_huber(tmp_path / "verify", **users) == []
    assert not (tmp_path / "verify" / "jax").exists()  # the user's folder is the one used


def test_verify_rejects_unknown_names_and_checks(capsys):
    assert main(["verify", "hubert"]) == 2
    err = capsys.readouterr().err
    assert "no loss named 'hubert'; did you mean huber?" in err and "pinball" not in err
    assert main(["verify", "huber", "--checks", "value,speed"]) == 2
    assert "unknown check(s) speed" in capsys.readouterr().err
    assert main(["verify", "--family", "contrastiv"]) == 2
    assert "did you mean contrastive?" in capsys.readouterr().err


def test_families_are_the_docs_sections_and_the_catalogue_families(capsys):
    assert main(["list", "--json", "--family", "contrastive"]) == 0
    rows = json.loads(capsys.readouterr().out)["losses"]
    assert {r["name"] for r in rows} >= {"ntxent", "supervised_contrastive"}
    assert all(r["section"] == "contrastive" for r in rows)
    for spelling in ("large vocabulary", "large_vocabulary", "Large-Vocabulary"):
        assert main(["list", "--json", "--family", spelling]) == 0
        rows = json.loads(capsys.readouterr().out)["losses"]
        assert "linear_softmax_cross_entropy" in {r["name"] for r in rows}


def test_python_dash_m_runs_the_same_command():
    done = subprocess.run(
        [sys.executable, "-m", "jaxloss", "list", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert len(json.loads(done.stdout)["losses"]) == len(catalogue.ENTRIES)


def test_help_lists_the_three_commands(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for command in ("list", "verify", "demo"):
        assert command in out
    assert "train the optax examples on real data" in out
