"""The jaxloss command."""

import json
import subprocess
import sys

import pytest

from jaxloss import catalogue
from jaxloss._cli import main


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
    assert main(["verify", "absolute_error", "--checks", "value,gradient"]) == 0
    out = capsys.readouterr().out
    assert "absolute_error" in out and "passed" in out and "1 passed, 0 failed" in out


def test_verify_rejects_unknown_names_and_checks(capsys):
    assert main(["verify", "hubert"]) == 2
    assert "no loss named 'hubert'" in capsys.readouterr().err
    assert main(["verify", "huber", "--checks", "value,speed"]) == 2
    assert "unknown check(s) speed" in capsys.readouterr().err


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
