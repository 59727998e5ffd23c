"""CLI surface: help with examples, version, public API, summary-table errors."""

from __future__ import annotations

import json

import pytest
from conftest import DATA, cli_main, run_cli

import ba_eval


def test_version_and_help():
    r = run_cli("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"ba-eval {ba_eval.__version__}"
    r = run_cli("--help")
    assert r.returncode == 0 and "examples:" in r.stdout
    for cmd in ("generate", "benchmark", "compare", "curated", "summary-table"):
        assert cmd in r.stdout


@pytest.mark.parametrize("cmd", ["generate", "benchmark", "compare", "curated", "summary-table"])
def test_each_command_has_help_with_an_example(cmd, capsys):
    assert cli_main(cmd, "--help") == 0
    assert "example:" in capsys.readouterr().out


def test_public_api():
    assert sorted(ba_eval.__all__) == ba_eval.__all__
    for name in ba_eval.__all__:
        assert hasattr(ba_eval, name), name


def test_summary_table_rejects_other_json(tmp_path, capsys):
    p = tmp_path / "x.json"
    p.write_text(json.dumps({"a": 1}))
    assert cli_main("summary-table", str(p)) == 2
    assert capsys.readouterr().err.strip() == f"Error: {p}: not a comparison or benchmark report"
    assert cli_main("summary-table", str(DATA / "preds_ok.jsonl")) == 1
    assert capsys.readouterr().err.strip().startswith(f"Error: {DATA / 'preds_ok.jsonl'}:2: invalid JSON")


def test_missing_subcommand_is_usage_error(capsys):
    assert cli_main() == 2
    assert "required: COMMAND" in capsys.readouterr().err


def test_dash_is_not_a_timings_file(tmp_path, capsys, monkeypatch):
    """Campaign 27: `generate --timings -` wrote the timings to a file named `-`."""
    monkeypatch.chdir(tmp_path)
    code = cli_main("generate", "--model", "fake:x", "--in", "c.jsonl", "-o", "p.jsonl", "--timings", "-")
    assert code == 2 and "'-' (standard output) is not an output of this command" in capsys.readouterr().err
    assert not (tmp_path / "-").exists()
