import json
import os

import pytest

import ba_dataset_tools
from ba_io import validate


def test_validate_exit_codes_and_exact_lines(dst_data, dst_cli):
    r = dst_cli("validate", "v2_bad.jsonl", "--schema", "example-v2", cwd=dst_data)
    assert r.returncode == 1
    err = r.stderr.splitlines()
    assert err[0] == "Error: v2_bad.jsonl:2: functional_requirements -> 1 -> id: 'FR1' does not match '^FR\\d{3}$'"
    assert len(err) == 5  # one line per invalid row (campaign 15: one per problem)
    assert r.stdout == "v2_bad.jsonl: 6 rows, 1 valid, 5 invalid (example-v2)\n"


def test_validate_missing_file_and_bad_schema(dst_data, dst_cli):
    r = dst_cli("validate", "nope.jsonl", "--schema", "example-v2", cwd=dst_data)
    assert (r.returncode, r.stderr) == (2, "Error: input file not found: nope.jsonl\n")
    r = dst_cli("validate", "v2_bad.jsonl", "--schema", "concept", cwd=dst_data)
    assert r.returncode == 2 and "invalid choice: 'concept'" in r.stderr


def test_audit_then_fix_then_validate(dst_data, dst_cli):
    r = dst_cli("audit", "legacy_v1.jsonl", "-o", "audit/train.json", cwd=dst_data)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == "audit legacy_v1.jsonl: 7 examples (example-v1), 1 valid"
    assert r.stdout.splitlines()[-1] == "report -> audit/train.json"
    report = json.loads((dst_data / "audit/train.json").read_text())
    assert validate(report, "audit-report") == []
    assert report["id_format_issues"]["count"] == 6 and report["unreadable_lines"]["count"] == 1

    r = dst_cli(
        "fix",
        "legacy_v1.jsonl",
        "--fix-ids",
        "--convert-to-yaml-strings",
        "--validate",
        "-o",
        "train_fixed.jsonl",
        "--rejects",
        "train_fixed.rejects.jsonl",
        cwd=dst_data,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout == (
        "7 rows: 5 written -> train_fixed.jsonl, 2 rejected -> train_fixed.rejects.jsonl\n"
        "  rows fixed 5, IDs changed 12, categories converted 15, ids added 1\n"
    )
    r = dst_cli("validate", "train_fixed.jsonl", "--schema", "example-v2", cwd=dst_data)
    assert (r.returncode, r.stderr) == (0, "")

    r = dst_cli(
        "fix",
        "train_fixed.jsonl",
        "--fix-ids",
        "--convert-to-yaml-strings",
        "--validate",
        "-o",
        "again.jsonl",
        cwd=dst_data,
    )
    assert r.stdout.splitlines()[1] == "  rows fixed 0, IDs changed 0, categories converted 0, ids added 0"
    assert (dst_data / "again.jsonl").read_bytes() == (dst_data / "train_fixed.jsonl").read_bytes()
    assert (dst_data / "again.rejects.jsonl").read_text() == ""


def test_audit_strict(dst_data, dst_cli):
    r = dst_cli("audit", "legacy_v1.jsonl", "-o", "a.json", "--strict", cwd=dst_data)
    assert r.returncode == 1  # the campaign: exit 1 said nothing on stderr
    assert r.stderr == "Error: legacy_v1.jsonl: 6 of 7 rows are not valid (--strict); the problems are in a.json\n"


def test_fix_needs_an_action(dst_data, dst_cli):
    r = dst_cli("fix", "legacy_v1.jsonl", "-o", "o.jsonl", cwd=dst_data)
    assert (r.returncode, r.stderr) == (2, "Error: nothing to do: give --fix-ids and/or --convert-to-yaml-strings\n")


def test_filter_and_split(dst_data, dst_cli):
    r = dst_cli(
        "filter", "scored.jsonl", "--min-score", "0.72", "-o", "f.jsonl", "--rejects", "f.rej.jsonl", cwd=dst_data
    )
    assert (r.returncode, r.stdout) == (
        0,
        "6 rows: 2 kept (score >= 0.72) -> f.jsonl, 4 rejected (1 below a threshold) -> f.rej.jsonl\n",
    )
    r = dst_cli(
        "filter",
        "scored.jsonl",
        "--min-score",
        "0.72",
        "--min-content",
        "0.8",
        "-o",
        "fc.jsonl",
        "--rejects",
        "fc.rej.jsonl",
        cwd=dst_data,
    )
    assert (r.returncode, r.stdout) == (
        0,
        "6 rows: 1 kept (score >= 0.72 and content >= 0.8) -> fc.jsonl, "
        "5 rejected (2 below a threshold) -> fc.rej.jsonl\n",
    )
    r = dst_cli(
        "split",
        "f.jsonl",
        "--val-ratio",
        "0.1",
        "--seed",
        "42",
        "--train-out",
        "t.jsonl",
        "--val-out",
        "v.jsonl",
        cwd=dst_data,
    )
    assert (r.returncode, r.stdout) == (0, "1 train (1 concepts) -> t.jsonl, 1 val (1 concepts) -> v.jsonl\n")
    r = dst_cli("split", "scored.jsonl", "--train-out", "t.jsonl", "--val-out", "v.jsonl", cwd=dst_data)
    assert r.returncode == 1 and r.stderr.startswith("Error: scored.jsonl:5: invalid JSON: ")


def test_stats_text_and_json(dst_data, dst_cli):
    dst_cli("fix", "legacy_v1.jsonl", "--fix-ids", "--convert-to-yaml-strings", "-o", "x.jsonl", cwd=dst_data)
    r = dst_cli("stats", "x.jsonl", "--json", cwd=dst_data)
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s["rows"] == 5 and s["category_forms"] == {"yaml": 15}
    assert s["score"]["mean"] == 0.81
    assert s["requirements_per_category"]["functional_requirements"]["max"] == 3
    assert s["requirements_per_category"]["non_functional_requirements"]["min"] == 1
    assert s["priorities"]["all"] == {"High": 26, "Medium": 2, "Low": 2}
    assert s["document_words"]["min"] > 30
    r = dst_cli("stats", "legacy_v1.jsonl", cwd=dst_data)
    assert r.returncode == 0
    assert r.stdout.splitlines()[0] == "legacy_v1.jsonl: 6 rows, 1 unreadable lines"


def test_version_and_help(dst_data, dst_cli):
    r = dst_cli("--version", cwd=dst_data)
    assert r.stdout == f"ba-dataset-tools {ba_dataset_tools.__version__}\n"
    for cmd in ("validate", "audit", "fix", "filter", "split", "stats"):
        r = dst_cli(cmd, "--help", cwd=dst_data)
        assert r.returncode == 0 and "example:" in r.stdout


def test_public_api():
    assert ba_dataset_tools.__all__ == sorted(ba_dataset_tools.__all__)
    for name in ba_dataset_tools.__all__:
        assert hasattr(ba_dataset_tools, name)


@pytest.mark.parametrize("command", ["filter", "fix"])
def test_an_unnamed_rejects_path_never_replaces_a_file_of_yours(dst_data, dst_cli, command):
    """Campaign 5: without --rejects, filter and fix overwrote a file at OUT.rejects.jsonl.
    Only an earlier rejects file there is replaced; anything else is one usage error."""
    args = {"filter": ["scored.jsonl", "--min-score", "0.72"], "fix": ["v2_train.jsonl", "--fix-ids"]}[command]
    (dst_data / "out.rejects.jsonl").write_text("keep me\n")
    r = dst_cli(command, *args, "-o", "out.jsonl", cwd=dst_data)
    assert r.returncode == 2 and r.stderr.startswith("Error: out.rejects.jsonl exists and is not a rejects file")
    assert len(r.stderr.splitlines()) == 1 and "--rejects" in r.stderr
    assert (dst_data / "out.rejects.jsonl").read_text() == "keep me\n" and not (dst_data / "out.jsonl").exists()
    (dst_data / "out.rejects.jsonl").write_text('{"line": 1, "reason": "an earlier run"}\n')
    r = dst_cli(command, *args, "-o", "out.jsonl", cwd=dst_data)
    assert r.returncode == 0 and (dst_data / "out.jsonl").exists(), r.stderr
    assert "an earlier run" not in (dst_data / "out.rejects.jsonl").read_text()


@pytest.mark.parametrize("command", ["filter", "fix", "audit"])
def test_an_abbreviated_flag_is_refused(dst_data, dst_cli, command):
    """Campaign 5: argparse read `--out A` as an abbreviation of --output, so `--out A -o B`
    silently wrote B alone. Abbreviations are off: --out is unknown to these commands."""
    args = {
        "filter": ["scored.jsonl", "--min-score", "0.72"],
        "fix": ["v2_train.jsonl", "--fix-ids"],
        "audit": ["v2_train.jsonl"],
    }[command]
    r = dst_cli(command, *args, "--out", "a.jsonl", "-o", "b.jsonl", cwd=dst_data)
    assert r.returncode == 2 and "unrecognized arguments: --out a.jsonl" in r.stderr
    assert not (dst_data / "a.jsonl").exists() and not (dst_data / "b.jsonl").exists()


def test_an_export_folder_under_a_file_is_one_usage_error(dst_data, dst_cli):
    """Campaign 5: `export -o notes.txt/x` failed with FileExistsError (exit 1)."""
    (dst_data / "notes.txt").write_text("mine\n")
    r = dst_cli("export", "--train", "v2_train.jsonl", "--format", "messages-jsonl", "-o", "notes.txt/x", cwd=dst_data)
    assert r.returncode == 2 and r.stderr.splitlines() == [
        "Error: -o notes.txt/x: a folder on this path is a file; nothing was written: choose another path"
    ]
    assert (dst_data / "notes.txt").read_text() == "mine\n"


def test_an_export_into_the_current_folder_is_one_usage_error(dst_data, dst_cli):
    """Campaign 30: `export -o .` (and `-o ./`) in an empty folder exited 1 with an internal
    error (EBUSY: the finished folder cannot be renamed onto the current one)."""
    here = dst_data / "empty"
    here.mkdir()
    for out in (".", "./", "..", str(here)):
        r = dst_cli("export", "--train", "../v2_train.jsonl", "--format", "messages-jsonl", "-o", out, cwd=here)
        shown = os.path.normpath(out)
        assert r.returncode == 2 and r.stderr.splitlines() == [
            f"Error: -o {shown}: is the current folder (or holds it), and ba-dataset-tools export replaces its "
            f"output folder whole; nothing was written: give a folder of its own (e.g. -o {shown}/out)"
        ], r.stderr
    assert list(here.iterdir()) == []


def test_a_single_value_option_given_twice_is_refused(dst_data, dst_cli):
    """Campaign 6: `fix IN --fix-ids -o A -o B` wrote B and silently ignored A."""
    r = dst_cli("fix", "v2_train.jsonl", "--fix-ids", "-o", "a.jsonl", "--output", "b.jsonl", cwd=dst_data)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "give -o/--output once" in r.stderr, r.stderr
    assert not (dst_data / "a.jsonl").exists() and not (dst_data / "b.jsonl").exists()


def test_a_number_out_of_range_is_one_reject(dst_data, dst_cli):
    """Campaign 6: a row with 1e999 passed the reader and broke the writer (no output, no
    rejects, the output's line named); it is now one reject and the other rows go on."""
    rows = (dst_data / "v2_train.jsonl").read_text().splitlines()
    big = rows[0][:-1] + ', "big": 1e999}'
    (dst_data / "in.jsonl").write_text("\n".join([rows[1], big, *rows[2:]]) + "\n")
    r = dst_cli("fix", "in.jsonl", "--fix-ids", "-o", "out.jsonl", "--rejects", "rej.jsonl", cwd=dst_data)
    assert r.returncode == 0, r.stderr
    (reject,) = [json.loads(x) for x in (dst_data / "rej.jsonl").read_text().splitlines()]
    assert reject["line"] == 2 and "out of range" in reject["reason"]
    assert len((dst_data / "out.jsonl").read_text().splitlines()) == len(rows) - 1


def test_an_export_never_replaces_its_own_input(dst_data, dst_cli):
    """Campaign 14: `export --train exp/train/mine.jsonl -o exp` replaced the folder holding its
    input, and the 189-row input was gone."""
    r = dst_cli("export", "--train", "v2_train.jsonl", "--format", "messages-jsonl", "-o", "exp", cwd=dst_data)
    assert r.returncode == 0, r.stderr
    (dst_data / "exp" / "train").mkdir(exist_ok=True)
    mine = dst_data / "exp" / "train" / "mine.jsonl"
    mine.write_bytes((dst_data / "v2_train.jsonl").read_bytes())
    r = dst_cli("export", "--train", str(mine), "--format", "messages-jsonl", "-o", "exp", cwd=dst_data)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "inside the export folder" in r.stderr or "did not write" in r.stderr, r.stderr
    assert mine.read_bytes() == (dst_data / "v2_train.jsonl").read_bytes()


@pytest.mark.parametrize(
    "args",
    [
        ("split", "v2_train.jsonl", "--train-out", "-", "--val-out", "v.jsonl"),
        ("split", "v2_train.jsonl", "--train-out", "t.jsonl", "--val-out", "-"),
        ("fix", "v2_train.jsonl", "-o", "f.jsonl", "--rejects", "-"),
        ("filter", "scored.jsonl", "-o", "f.jsonl", "--rejects", "-"),
    ],
)
def test_dash_is_refused_by_every_output_flag(dst_data, dst_cli, args):
    """Campaign 27: `split --train-out -` (and --val-out, --rejects) wrote a file named `-`."""
    r = dst_cli(*args, cwd=dst_data)
    assert r.returncode == 2 and "'-' (standard output) is not an output of this command" in r.stderr
    assert not (dst_data / "-").exists()
