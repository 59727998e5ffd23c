import subprocess
import sys

import ba_io


def ba_io_cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "ba_io.cli", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={"BA_NO_PROGRESS": "1", "PATH": ""},
    )


def test_validate_ok(data_dir):
    r = ba_io_cli("validate", "valid.jsonl", "--schema", "requirement-document", cwd=data_dir)
    assert (r.returncode, r.stdout, r.stderr) == (0, "OK: 3 rows valid\n", "")


def test_validate_bad_row(data_dir):
    r = ba_io_cli("validate", "bad.jsonl", "--schema", "requirement-document", cwd=data_dir)
    assert r.returncode == 1
    assert r.stderr == (
        "Error: bad.jsonl:3: functional_requirements -> 1 -> id: 'FR1' does not match '^(FR|NFR|C)\\\\d{3}$'\n"
    )


def test_validate_missing_file_and_unknown_schema(data_dir):
    r = ba_io_cli("validate", "nope.jsonl", "--schema", "concept", cwd=data_dir)
    assert (r.returncode, r.stderr) == (2, "Error: input file not found: nope.jsonl\n")
    r = ba_io_cli("validate", "valid.jsonl", "--schema", "nope", cwd=data_dir)
    assert r.returncode == 2 and r.stderr.startswith("Error: unknown schema 'nope'; known schemas: ")


def test_validate_rejects(data_dir, tmp_path):
    out, rej = tmp_path / "o.jsonl", tmp_path / "r.jsonl"
    r = ba_io_cli(
        "validate", "mixed.jsonl", "--schema", "requirement-document", "--rejects", rej, "-o", out, cwd=data_dir
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"valid: 3 rows -> {out}; rejected: 6 rows -> {rej}\n"
    assert len(out.read_text().splitlines()) == 3
    assert len(rej.read_text().splitlines()) == 6


def test_validate_json(data_dir):
    r = ba_io_cli("validate", "valid.json", "--json", "--schema", "requirement-document", cwd=data_dir)
    assert (r.returncode, r.stdout) == (0, "OK: document valid\n")
    r = ba_io_cli("validate", "invalid_json.json", "--json", "--schema", "requirement-document", cwd=data_dir)
    assert (r.returncode, r.stderr) == (1, "Error: invalid_json.json:4: invalid JSON: Expecting value (column 1)\n")


def test_debug_shows_traceback(data_dir):
    r = ba_io_cli("validate", "bad.jsonl", "--schema", "requirement-document", "--debug", cwd=data_dir)
    assert r.returncode == 1
    assert "Traceback" in r.stderr and "ba_io.errors.DataError: bad.jsonl:3:" in r.stderr


def test_schemas_help_version(tmp_path):
    r = ba_io_cli("schemas", cwd=tmp_path)
    assert r.returncode == 0
    names = [line.split()[0] for line in r.stdout.splitlines()]
    assert names == ba_io.schema_names()
    assert "Requirements document" in r.stdout
    r = ba_io_cli("--help", cwd=tmp_path)
    assert r.returncode == 0 and "examples:" in r.stdout
    r = ba_io_cli("--version", cwd=tmp_path)
    assert (r.returncode, r.stdout) == (0, "ba-io 0.1.0\n")
    r = ba_io_cli("validate", "x.jsonl", cwd=tmp_path)  # --schema missing: argparse usage error
    assert r.returncode == 2 and "--schema" in r.stderr


def test_argument_errors_are_one_error_line(data_dir):
    """#17.13: argparse errors printed the whole usage block."""
    r = ba_io_cli("validate", cwd=data_dir)
    assert r.returncode == 2
    assert r.stderr == (
        "Error: ba-io validate: the following arguments are required: FILE, --schema (see ba-io validate --help)\n"
    )


def test_an_abbreviated_flag_is_refused(data_dir, tmp_path):
    """Campaign 5: `validate X --out A -o B`: argparse took --out for --output and wrote B alone."""
    r = ba_io_cli("validate", "valid.jsonl", "--schema", "requirement-document", "--out", tmp_path / "a.jsonl",
                  "-o", tmp_path / "b.jsonl", cwd=data_dir)  # fmt: skip
    assert (
        r.returncode == 2
        and r.stderr.startswith("Error: ba-io: unrecognized arguments: --out ")
        and r.stderr.count("\n") == 1
    )
    assert list(tmp_path.iterdir()) == []
