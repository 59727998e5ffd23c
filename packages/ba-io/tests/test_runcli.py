import pytest

import ba_io
from ba_io import DataError, UsageError, run_cli


def _raiser(exc):
    def main(argv):
        raise exc

    return main


@pytest.mark.parametrize(
    "exc, code, line",
    [
        (DataError("f.jsonl", 3, "bad row"), 1, "Error: f.jsonl:3: bad row"),
        (
            UsageError("input file not found: x.jsonl (run `make data` first?)"),
            2,
            "Error: input file not found: x.jsonl (run `make data` first?)",
        ),
        (KeyboardInterrupt(), 130, "Interrupted."),
        (ValueError("nope"), 1, "Error: ValueError: nope (run with --debug for the traceback)"),
        (RuntimeError(), 1, "Error: RuntimeError (run with --debug for the traceback)"),
    ],
)
def test_mapping(capsys, monkeypatch, exc, code, line):
    monkeypatch.delenv("BA_DEBUG", raising=False)
    assert run_cli(_raiser(exc), []) == code
    captured = capsys.readouterr()
    assert captured.err == line + "\n"
    assert captured.out == ""


@pytest.mark.parametrize("exc", [DataError("f", 1, "x"), UsageError("u"), ValueError("v"), KeyboardInterrupt()])
def test_debug_reraises(monkeypatch, exc):
    monkeypatch.delenv("BA_DEBUG", raising=False)
    with pytest.raises(type(exc)):
        run_cli(_raiser(exc), ["x", "--debug"])
    monkeypatch.setenv("BA_DEBUG", "1")
    with pytest.raises(type(exc)):
        run_cli(_raiser(exc), ["x"])


def test_return_codes_and_argv():
    seen = []
    assert run_cli(lambda argv: seen.append(argv), ["a", "b"]) == 0
    assert seen == [["a", "b"]]
    assert run_cli(lambda argv: 3, []) == 3

    def exits(argv):
        raise SystemExit(2)

    assert run_cli(exits, []) == 2


def test_all_pinned():
    assert sorted(ba_io.__all__) == [
        "ArgumentParser",
        "BaError",
        "DataError",
        "JsonlLine",
        "UsageError",
        "ValidationIssue",
        "append_jsonl",
        "atomic_path",
        "atomic_write",
        "check_replaceable_folder",
        "distinct_paths",
        "fraction",
        "int_between",
        "iter_jsonl",
        "iter_jsonl_lines",
        "load_schema",
        "non_negative_int",
        "output_group",
        "output_lock",
        "positive_int",
        "progress",
        "read_json",
        "read_jsonl",
        "run_cli",
        "schema_names",
        "sha256_file",
        "sha256_path",
        "sha256_text",
        "sweep_stale_tmp",
        "validate",
        "write_json",
        "write_jsonl",
    ]
    for name in ba_io.__all__:
        assert getattr(ba_io, name)
    assert issubclass(ba_io.DataError, ba_io.BaError)
    assert issubclass(ba_io.UsageError, ba_io.BaError)
    assert ba_io.errors.DataError is ba_io.DataError
