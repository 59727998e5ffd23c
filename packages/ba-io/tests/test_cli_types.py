import argparse

import pytest

from ba_io import non_negative_int, positive_int
from ba_io.cli_types import positive_int as from_module


def test_exported():
    assert positive_int is from_module


@pytest.mark.parametrize("text, value", [("1", 1), ("42", 42), (" 7 ", 7), ("+3", 3)])
def test_valid(text, value):
    assert positive_int(text) == value


@pytest.mark.parametrize(
    "text, message",
    [
        ("0", "must be >= 1, got 0"),
        ("-5", "must be >= 1, got -5"),
        ("abc", "expected an integer, got 'abc'"),
        ("1.5", "expected an integer, got '1.5'"),
        ("", "expected an integer, got ''"),
    ],
)
def test_rejected(text, message):
    with pytest.raises(argparse.ArgumentTypeError) as ei:
        positive_int(text)
    assert str(ei.value) == message
    assert ei.value.__cause__ is None  # no chained ValueError traceback
    assert ei.value.__context__ is None or ei.value.__suppress_context__


def test_argparse_message(capsys):
    p = argparse.ArgumentParser(prog="x")
    p.add_argument("--n", type=positive_int)
    assert p.parse_args(["--n", "3"]).n == 3
    with pytest.raises(SystemExit) as ei:
        p.parse_args(["--n", "0"])
    assert ei.value.code == 2
    assert "argument --n: must be >= 1, got 0" in capsys.readouterr().err


@pytest.mark.parametrize("text, value", [("0", 0), ("7", 7)])
def test_non_negative_int_accepts(text, value):
    assert non_negative_int(text) == value


@pytest.mark.parametrize("text, message", [("-1", "must be >= 0, got -1"), ("x", "expected an integer, got 'x'")])
def test_non_negative_int_rejects(text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        non_negative_int(text)


def test_fraction_takes_0_to_1_only():
    import argparse

    from ba_io import fraction

    assert fraction("0") == 0.0 and fraction("0.02") == 0.02 and fraction("1") == 1.0
    for bad, message in (
        ("x", "expected a number, got 'x'"),
        ("1.5", "must be between 0 and 1, got 1.5"),
        ("nan", "must be between 0 and 1, got nan"),
        ("-0.1", "must be between 0 and 1"),
    ):
        with pytest.raises(argparse.ArgumentTypeError, match=message):
            fraction(bad)


def test_int_between_bounds_both_ends():
    import argparse

    from ba_io import int_between

    runs = int_between(1, 1000)
    assert runs("1") == 1 and runs("1000") == 1000
    for bad, message in (
        ("0", "must be >= 1, got 0"),
        ("1001", "must be at most 1,000, got 1001"),
        ("99999999999", "must be at most 1,000"),
        ("2.5", "expected an integer"),
    ):
        with pytest.raises(argparse.ArgumentTypeError, match=message):
            runs(bad)


def test_dash_is_not_an_output_path(capsys):
    """Campaign 26: `ba-dataset-tools fix IN -o -` wrote its output to a file named `-`."""
    from ba_io import add_output, tool_parser

    p = tool_parser("x", "1", "x")
    add_output(p, help="out")
    assert p.parse_args(["-o", "out.jsonl"]).output == "out.jsonl"
    with pytest.raises(SystemExit) as ei:
        p.parse_args(["-o", "-"])
    assert ei.value.code == 2
    assert "'-' (standard output) is not an output of this command; give a file path" in capsys.readouterr().err


def test_a_file_output_ending_in_a_slash_is_refused_and_a_folder_output_takes_it(capsys):
    """Campaign 29: `ba-datagen synth -o sub/` (no folder sub) wrote a file named `sub`."""
    from ba_io import add_output, output_path, tool_parser

    p = tool_parser("x", "1", "x")
    add_output(p, help="out")
    with pytest.raises(SystemExit) as ei:
        p.parse_args(["-o", "sub/"])
    assert ei.value.code == 2
    assert "'sub/' names a folder (it ends in '/', '.' or '..'); this option writes a file" in capsys.readouterr().err
    # campaign 30: `-o notes.txt/.` replaced notes.txt (Path reads it so), `-o new/.` wrote a file `new`
    for text in ("runs/rejects/", "notes.txt/.", "new/.", ".", "..", "a/..", "a/./", "/", "//"):
        with pytest.raises(argparse.ArgumentTypeError, match="give a file path"):
            output_path(text)
    for text in ("a.jsonl", ".hidden.jsonl", "../up.jsonl", "./x/y.jsonl", "a..b"):
        assert output_path(text) == text
    folder = tool_parser("x", "1", "x")
    add_output(folder, help="out", folder=True)
    assert folder.parse_args(["-o", "sub/"]).output == "sub/"
    with pytest.raises(SystemExit):
        folder.parse_args(["-o", "-"])


def test_an_empty_output_path_is_refused():
    """Campaign 33: `ba-lora train -o ""` (an unset $OUT) named the current folder, and a
    refused run removed everything in it. No output flag takes an empty path."""
    import argparse

    from ba_io.cli_types import output_folder_path, output_path

    for kind in (output_path, output_folder_path):
        for text in ("", "  "):  # campaign 34: only spaces wrote files named ' ', ' .md'
            with pytest.raises(argparse.ArgumentTypeError, match="the path is empty"):
                kind(text)
    assert output_folder_path("out/") == "out/" and output_path("out.jsonl") == "out.jsonl"


def test_an_empty_input_path_says_so():
    """Campaign 34: `ba-eval failures --predictions ''` said "input is a directory, not a file: ."."""
    from ba_io import UsageError, read_jsonl

    for text in ("", " "):
        with pytest.raises(UsageError, match=r"an input path is empty \(an unset variable\?\)"):
            read_jsonl(text)
