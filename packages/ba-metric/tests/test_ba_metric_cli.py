"""The real ``ba-metric`` command (python -m ba_metric.cli), one test per failure mode."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CLI_DATA = Path(__file__).resolve().parent / "data" / "cli"
pytestmark = pytest.mark.integration


def run(*args: str, cwd: Path = CLI_DATA, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ba_metric.cli", *args],
        cwd=cwd, input=stdin, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def rows(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_score_to_stdout_adds_six_fields():
    out = run("score", "predictions.jsonl")
    assert out.returncode == 0, out.stderr
    result = rows(out.stdout)
    assert [r["id"] for r in result] == ["p1", "p2", "p3", "p4"]
    assert [r["score"] for r in result] == [1.0, 1.0, 0.769231, 0.0]
    assert [r["passed"] for r in result] == [True, True, True, False]
    assert [r["grounding"] for r in result] == [0.75, 0.0, 0.75, 0.0]
    assert result[2]["breakdown"]["fr_ids"] == 0.0 and len(result[2]["breakdown"]) == 12
    # the garden document answering a payroll concept: no capability of the concept covered,
    # and its Android constraint is a limit the payroll concept never states
    assert [r["content"] for r in result] == [0.87, 0.49, 0.87, 0.0]
    assert result[1]["defects"] == [
        "nfr_unmeasurable:NFR002",
        "unsupported_number:C002",
        "invented_constraint:C001",
        "uncovered:payroll freelance accountants",
    ]
    assert result[3]["defects"] == ["unparseable"]
    assert set(result[0]) == {
        "id",
        "concept",
        "text",
        "score",
        "breakdown",
        "grounding",
        "content",
        "defects",
        "passed",
    }


def test_score_to_file_is_atomic(tmp_path):
    src = tmp_path / "in.jsonl"
    shutil.copy(CLI_DATA / "predictions.jsonl", src)
    out = run("score", str(src), "-o", str(tmp_path / "out.jsonl"), "--threshold", "0.8")
    assert out.returncode == 0 and out.stdout == ""
    assert [r["passed"] for r in rows((tmp_path / "out.jsonl").read_text())] == [True, True, False, False]
    assert sorted(os.listdir(tmp_path)) == ["in.jsonl", "out.jsonl"]


def test_failed_run_leaves_no_output(tmp_path):
    out = run("score", "invalid_json.jsonl", "-o", str(tmp_path / "out.jsonl"))
    assert out.returncode == 1 and os.listdir(tmp_path) == []


def test_dataset_rows_are_scored_as_fields():
    result = rows(run("score", "dataset_v2.jsonl").stdout)
    assert result[0]["score"] == 1.0 and result[0]["grounding"] == 0.75


def test_document_field_is_used_when_there_is_no_text():
    assert rows(run("score", "document_rows.jsonl").stdout)[0]["score"] == 1.0


def test_explicit_field_and_concept_field():
    out = run("score", "predictions.jsonl", "--field", "text", "--concept-field", "prompt")
    assert [r["grounding"] for r in rows(out.stdout)] == [None] * 4


def test_stdin_input():
    text = (CLI_DATA / "predictions.jsonl").read_text()
    assert len(rows(run("score", "-", stdin=text).stdout)) == 4


def test_summary_text():
    out = run("summary", "predictions.jsonl")
    assert out.returncode == 0
    lines = out.stdout.splitlines()
    assert lines[0] == "count           4"
    assert lines[1] == "mean            0.6923"
    assert "pass rate       0.7500  (score >= 0.72)" in lines
    assert "  fr_ids             0.5000" in lines


def test_summary_json_of_scored_and_unscored_files_agree(tmp_path):
    scored = tmp_path / "scored.jsonl"
    assert run("score", "predictions.jsonl", "-o", str(scored)).returncode == 0
    a = json.loads(run("summary", str(scored), "--json").stdout)
    b = json.loads(run("summary", "predictions.jsonl", "--json").stdout)
    assert a == b
    assert a["count"] == 4 and a["min"] == 0.0 and a["max"] == 1.0
    assert a["grounding_mean"] == 0.375 and a["grounding_count"] == 4
    assert a["components"]["completeness"] == 0.75 and a["pass_rate"] == 0.75


def test_summary_of_empty_file():
    out = run("summary", "empty.jsonl", "--json")
    assert out.returncode == 0 and json.loads(out.stdout)["count"] == 0
    assert run("summary", "empty.jsonl").stdout.startswith("count           0\nmean            -\n")


@pytest.mark.parametrize("command", ["score", "summary"])
def test_invalid_json_line(command):
    out = run(command, "invalid_json.jsonl")
    assert out.returncode == 1 and out.stdout == ""
    assert (
        out.stderr
        == "Error: invalid_json.jsonl:2: invalid JSON: Expecting property name enclosed in double quotes (column 21)\n"
    )


@pytest.mark.parametrize("command", ["score", "summary"])
def test_row_not_an_object(command):
    out = run(command, "not_object.jsonl")
    assert (out.returncode, out.stderr) == (1, "Error: not_object.jsonl:3: row is not a JSON object (got array)\n")


def test_invalid_utf8():
    out = run("score", "invalid_utf8.jsonl")
    assert (out.returncode, out.stderr) == (1, "Error: invalid_utf8.jsonl:1: invalid UTF-8 at byte 21\n")


def test_missing_field():
    out = run("score", "missing_field.jsonl", "--field", "text")
    assert (out.returncode, out.stderr) == (1, "Error: missing_field.jsonl:1: row has no field 'text'\n")


def test_missing_file():
    out = run("score", "nope.jsonl")
    assert (out.returncode, out.stderr) == (2, "Error: nope.jsonl: file not found\n")


def test_input_is_a_directory(tmp_path):
    out = run("summary", str(tmp_path))
    assert (out.returncode, out.stderr) == (2, f"Error: {tmp_path}: is a directory\n")


def test_unwritable_output(tmp_path):
    out = run("score", "predictions.jsonl", "-o", str(tmp_path / "no" / "out.jsonl"))
    assert out.returncode == 2
    assert out.stderr == f"Error: {tmp_path / 'no' / 'out.jsonl'}: cannot write: No such file or directory\n"


@pytest.mark.parametrize(
    ("args", "stderr"),
    [
        (["score", "predictions.jsonl", "--threshold", "1.5"],
         "Error: argument --threshold: must be between 0 and 1, got 1.5 (see 'ba-metric score --help')\n"),
        (["score", "predictions.jsonl", "--threshold", "high"],
         "Error: argument --threshold: not a number: 'high' (see 'ba-metric score --help')\n"),
        (["score"], "Error: the following arguments are required: IN.jsonl (see 'ba-metric score --help')\n"),
        (["rank", "x.jsonl"],
         "Error: argument COMMAND: invalid choice: 'rank' (choose from 'score', 'summary') (see 'ba-metric --help')\n"),
        ([], "Error: missing command: score or summary (see 'ba-metric --help')\n"),
        (["summary", "predictions.jsonl", "--bogus"],
         "Error: unrecognized arguments: --bogus (see 'ba-metric --help')\n"),
    ],
)  # fmt: skip
def test_usage_errors(args, stderr):
    out = run(*args)
    assert (out.returncode, out.stderr) == (2, stderr)


def test_traceback_only_with_debug():
    plain = run("score", "not_object.jsonl")
    assert "Traceback" not in plain.stderr
    debug = run("score", "not_object.jsonl", "--debug")
    assert debug.returncode == 1 and "Traceback" in debug.stderr
    assert debug.stderr.endswith("Error: not_object.jsonl:3: row is not a JSON object (got array)\n")


def test_help_and_version():
    top = run("--help")
    assert top.returncode == 0 and "examples:" in top.stdout and "ba-metric summary" in top.stdout
    for command in ("score", "summary"):
        out = run(command, "--help")
        assert out.returncode == 0 and "examples:" in out.stdout
    version = run("--version")
    assert (version.returncode, version.stdout) == (0, "ba-metric 0.1.0\n")


def test_console_script_is_installed():
    script = Path(sys.executable).with_name("ba-metric")
    if not script.exists():
        pytest.skip("console script not on this interpreter's bin directory")
    out = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
    assert out.stdout == "ba-metric 0.1.0\n"


def test_a_bom_is_accepted_and_nan_huge_ints_and_lone_surrogates_are_one_error_line(tmp_path):
    """#17.13: a UTF-8 BOM was refused, NaN passed through, a 5,000-digit integer was an
    internal error, and a lone surrogate crashed the writer."""
    row = {"concept": "A garden plot booking app.", "text": "title: Plots"}
    (tmp_path / "bom.jsonl").write_bytes(b"\xef\xbb\xbf" + json.dumps(row).encode() + b"\n")
    out = run("score", "bom.jsonl", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert rows(out.stdout)[0]["concept"] == row["concept"]
    cases = {
        "nan.jsonl": ('{"text": NaN}', "invalid JSON: NaN is not valid JSON"),
        "int.jsonl": ('{"text": ' + "9" * 5000 + "}", "invalid JSON: Exceeds the limit"),
        "sur.jsonl": ('{"text": "\\ud800"}', "invalid JSON: a \\u escape of a lone surrogate"),
        # campaign 6: 1e999 was read as inf and written back as a bare Infinity (not JSON)
        "inf.jsonl": ('{"text": "title: x", "big": 1e999}', "invalid JSON: number 1e999 is out of range"),
    }
    for name, (line, message) in cases.items():
        (tmp_path / name).write_text(line + "\n", encoding="utf-8")
        out = run("score", name, "-o", "scored.jsonl", cwd=tmp_path)
        assert out.returncode == 1
        assert out.stderr.startswith(f"Error: {name}:1: {message}") and out.stderr.count("\n") == 1
        assert "internal error" not in out.stderr and not (tmp_path / "scored.jsonl").exists()


@pytest.mark.parametrize("how", ["same", "symlink", "hardlink"])
def test_an_output_that_is_the_input_is_refused_and_the_input_kept(tmp_path, how):
    """The campaign: `score X -o X` (or a link to X) replaced the input, exit 0."""
    src = tmp_path / "p.jsonl"
    shutil.copyfile(CLI_DATA / "predictions.jsonl", src)
    before = src.read_bytes()
    out = src if how == "same" else tmp_path / "link.jsonl"
    if how == "symlink":
        out.symlink_to(src)
    elif how == "hardlink":
        os.link(src, out)
    res = run("score", str(src), "-o", str(out), cwd=tmp_path)
    assert res.returncode == 2 and res.stderr.count("\n") == 1
    assert res.stderr.startswith(f"Error: -o {out} is the input file; nothing was written")
    assert src.read_bytes() == before


@pytest.mark.parametrize("kind", ["fifo", "folder", "link-to-fifo"])
def test_an_output_that_is_not_a_regular_file_is_refused_and_kept(tmp_path, kind):
    """The campaign: `-o` naming a device node or FIFO (or a link to one) replaced it by a regular file."""
    out = tmp_path / "out"
    if kind == "folder":
        out.mkdir()
    else:
        os.mkfifo(tmp_path / "fifo" if kind == "link-to-fifo" else out)
        if kind == "link-to-fifo":
            out.symlink_to(tmp_path / "fifo")
    res = run("score", str(CLI_DATA / "predictions.jsonl"), "-o", str(out), cwd=tmp_path)
    assert (
        res.returncode == 2
        and res.stderr
        == f"Error: {out}: not a regular file; nothing was written: give a file path (or no -o to write to stdout)\n"
    )
    assert {"fifo": out.is_fifo(), "folder": out.is_dir(), "link-to-fifo": out.is_symlink()}[kind]


def test_an_output_that_links_to_a_file_is_written_through(tmp_path):
    """`-o latest.jsonl` with latest.jsonl -> run3.jsonl rewrites run3.jsonl; the link stays."""
    (tmp_path / "run3.jsonl").write_text("old\n")
    (tmp_path / "latest.jsonl").symlink_to("run3.jsonl")
    res = run("score", str(CLI_DATA / "predictions.jsonl"), "-o", "latest.jsonl", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "latest.jsonl").is_symlink()
    rows = [json.loads(line) for line in (tmp_path / "run3.jsonl").read_text().splitlines()]
    assert rows and all("score" in row for row in rows)


def test_an_output_spelled_through_a_link_and_dot_dot_is_written_where_the_kernel_leads(tmp_path):
    """Campaign 40 (D6): `score IN -o latest/../r3/S.jsonl` (latest -> runs/r1) failed with
    "No such file or directory": the tmp file's folder was `latest/..` collapsed as text
    (`r3`), not `runs/r3`, where the kernel and every ba-io command write."""
    (tmp_path / "runs" / "r1").mkdir(parents=True)
    (tmp_path / "runs" / "r3").mkdir()
    (tmp_path / "latest").symlink_to("runs/r1")
    res = run("score", str(CLI_DATA / "predictions.jsonl"), "-o", "latest/../r3/S.jsonl", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    written = (tmp_path / "runs" / "r3" / "S.jsonl").read_text().splitlines()
    assert written and all("score" in json.loads(line) for line in written)
    assert sorted(p.name for p in (tmp_path / "runs" / "r3").iterdir()) == ["S.jsonl"]


def test_an_abbreviated_flag_is_refused(tmp_path):
    """Campaign 5: `score IN --out A -o B` took --out for --output and wrote B alone."""
    src = tmp_path / "p.jsonl"
    shutil.copyfile(CLI_DATA / "predictions.jsonl", src)
    res = run("score", str(src), "--out", "a.jsonl", "-o", "b.jsonl", cwd=tmp_path)
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "--out" in res.stderr, res.stderr
    assert not (tmp_path / "a.jsonl").exists() and not (tmp_path / "b.jsonl").exists()


def test_a_single_value_option_given_twice_is_refused(tmp_path):
    """The CLI contract (campaign 6 found it in fix): `-o A -o B` wrote B and dropped A silently."""
    src = tmp_path / "p.jsonl"
    shutil.copyfile(CLI_DATA / "predictions.jsonl", src)
    res = run("score", str(src), "-o", "a.jsonl", "--output", "b.jsonl", cwd=tmp_path)
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "give -o/--output once" in res.stderr
    assert not (tmp_path / "a.jsonl").exists() and not (tmp_path / "b.jsonl").exists()


def test_a_score_out_of_range_and_a_newline_in_a_path_are_one_error_line(tmp_path):
    """Campaign 17: ``summary`` of a row with ``"score": 1e308`` was an internal
    OverflowError; a newline in a path was printed raw, so the Error: line became two."""
    scored = {"id": "a", "score": 1e308, "breakdown": {}, "content": 0.5, "defects": []}
    (tmp_path / "big.jsonl").write_text(json.dumps(scored) + "\n" + json.dumps(scored) + "\n")
    out = run("summary", "big.jsonl", cwd=tmp_path)
    assert out.returncode == 1 and out.stderr == "Error: big.jsonl:1: score 1e+308 is not between 0 and 1" + (
        " (a score this tool wrote is)\n"
    )
    out = run("score", "no\nsuch.jsonl", cwd=tmp_path)
    assert out.returncode == 2 and out.stderr == "Error: no\\nsuch.jsonl: file not found\n"


def test_a_line_of_characters_json_does_not_allow_is_not_skipped_as_blank(tmp_path):
    """Campaign 18: a line of \\x1c or U+2028 (which str.strip() removes) was skipped as
    blank, so the row count did not add up; it is invalid JSON, with its line."""
    (tmp_path / "in.jsonl").write_text('{"text": "title: x"}\n\u2028\n', encoding="utf-8")
    out = run("score", "in.jsonl", "-o", "s.jsonl", cwd=tmp_path)
    assert out.returncode == 1 and out.stderr.startswith("Error: in.jsonl:2: invalid JSON"), out.stderr


def test_score_from_stdin_redirected_from_the_output_file_is_refused(tmp_path):
    """Campaign 22 D5: `score - -o F < F` skipped the same-file check and replaced F."""
    src = tmp_path / "p.jsonl"
    shutil.copyfile(CLI_DATA / "predictions.jsonl", src)
    before = src.read_bytes()
    with open(src, "rb") as stdin:
        res = subprocess.run(
            [sys.executable, "-m", "ba_metric.cli", "score", "-", "-o", str(src)],
            stdin=stdin, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert res.returncode == 2 and res.stderr.count("\n") == 1
    assert res.stderr.startswith(f"Error: -o {src} is the input file; nothing was written")
    assert src.read_bytes() == before
    piped = run("score", "-", "-o", str(tmp_path / "s.jsonl"), stdin=before.decode())  # a pipe is no file
    assert piped.returncode == 0, piped.stderr
    assert len(rows((tmp_path / "s.jsonl").read_text())) == len([x for x in before.splitlines() if x.strip()])


@pytest.mark.parametrize("unbuffered", ["1", ""])
@pytest.mark.parametrize("command", ["score", "summary"])
def test_a_full_disk_under_stdout_is_one_error_not_exit_0(command, unbuffered):
    """Campaign 25 (r5): `ba-metric score IN > FILE` on a full disk exited 0 with the rows cut
    short under PYTHONUNBUFFERED=1, and exit 1 ("internal error") without it."""
    env = {**os.environ, "PYTHONUNBUFFERED": unbuffered}
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "ba_metric.cli", command, "predictions.jsonl"],
            cwd=CLI_DATA, stdout=full, stderr=subprocess.PIPE, text=True, timeout=60, env=env,
        )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("Error: cannot write to standard output: No space left on device;")
    assert done.stderr.count("\n") == 1


def test_stdout_that_takes_a_few_bytes_at_a_time_gets_every_row(monkeypatch, capsys):
    import io

    from ba_metric.cli import main

    taken = bytearray()

    class Raw(io.RawIOBase):  # a pipe or a filling disk: short writes
        def writable(self):
            return True

        def write(self, b):
            taken.extend(bytes(b[:50]))
            return min(len(b), 50)

    monkeypatch.chdir(CLI_DATA)
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(Raw(), encoding="utf-8", write_through=True))
    assert main(["score", "predictions.jsonl"]) == 0
    expected = run("score", "predictions.jsonl").stdout
    assert taken.decode() == expected and expected.count("\n") >= 3


def test_a_device_as_input_is_refused_and_a_line_is_bounded(tmp_path, monkeypatch):
    """Campaign 25 (r2): `ba-metric score /dev/zero` read until memory ran out."""
    done = run("score", "/dev/zero")
    assert done.returncode == 2
    assert done.stderr == "Error: /dev/zero: not a regular file (a device or socket); give a file, or - for stdin\n"
    import ba_metric.report

    monkeypatch.setattr(ba_metric.report, "MAX_LINE_BYTES", 64)
    p = tmp_path / "in.jsonl"
    p.write_text('{"text": "title: x"}\n{"text": "' + "x" * 100 + '"}\n')
    with pytest.raises(ba_metric.report.DataError, match=r"in.jsonl:2: line longer than"):
        list(ba_metric.report.read_jsonl(str(p)))


@pytest.mark.parametrize("command", ["score", "summary"])
def test_a_closed_stdout_is_a_quiet_exit_0(command):
    """Campaign 26: `ba-metric score IN >&-` failed with an internal AttributeError: Python
    gives a closed stdout as None. Nothing can be written there: as for a reader gone."""
    done = subprocess.run(
        [sys.executable, "-m", "ba_metric.cli", command, "predictions.jsonl"],
        cwd=CLI_DATA, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=60,
        preexec_fn=lambda: os.close(1),
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (0, "")


@pytest.mark.parametrize("stdin", [False, True])
@pytest.mark.parametrize("dash", [False, True])
def test_stdout_appending_to_the_input_is_refused(tmp_path, stdin, dash):
    """Campaign 26: `ba-metric score F >> F` appended the scored rows to the rows they score;
    campaign 27: so did `score F -o - >> F` (`-o -` is standard output too)."""
    src = tmp_path / "p.jsonl"
    shutil.copy(CLI_DATA / "predictions.jsonl", src)
    before = src.read_bytes()
    with open(src, "ab") as out, open(src, "rb") as into:
        done = subprocess.run(
            [sys.executable, "-m", "ba_metric.cli", "score", "-" if stdin else str(src), *(["-o", "-"] if dash else [])],
            stdin=into, stdout=out, stderr=subprocess.PIPE, text=True, timeout=60,
        )  # fmt: skip
    assert done.returncode == 2 and done.stderr.startswith("Error: standard output is the input file; nothing was")
    assert src.read_bytes() == before


def test_rows_go_out_in_utf8_whatever_the_locale(tmp_path):
    """Campaign 26: under PYTHONIOENCODING=ascii a concept's accents were an internal error."""
    src = tmp_path / "p.jsonl"
    src.write_text(
        json.dumps({"id": "a", "concept": "Gestión de citas", "prediction": "títle: x"}, ensure_ascii=False) + "\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "ba_metric.cli", "score", str(src)], capture_output=True, timeout=60,
        env={**os.environ, "PYTHONIOENCODING": "ascii"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.decode("utf-8"))["concept"] == "Gestión de citas"


def test_a_lock_file_of_another_run_is_refused_as_the_output(tmp_path):
    """Campaign 27: `ba-metric score X -o S.jsonl.lock` replaced the lock a running
    `ba-datagen synth -o S.jsonl` held (the ba-io writers refuse it)."""
    lock = tmp_path / "s.jsonl.lock"
    lock.write_text("ba-io-lock " + f"{os.getpid():>12}" + "\n")
    before = lock.read_bytes()
    done = run("score", "predictions.jsonl", "-o", str(lock))
    assert done.returncode == 2, done.stderr
    # campaign 41: any name ending in .lock is a lock's, refused by its name before its content
    assert done.stderr.startswith(f"Error: {lock}: a name kept for the lock of an output (*.lock); nothing was written")
    assert lock.read_bytes() == before


def test_an_output_name_too_long_is_a_usage_error(tmp_path):
    """Campaign 27: a 300-character file name was `Error: internal error: OSError` (exit 1)."""
    out = tmp_path / ("x" * 300 + ".jsonl")
    done = run("score", "predictions.jsonl", "-o", str(out))
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"Error: {out}: cannot write: File name too long") and done.stderr.count("\n") == 1


def test_an_output_another_run_holds_locked_is_refused(tmp_path):
    """Campaign 28: `ba-metric score X -o P.jsonl` replaced the output a running
    `ba-eval generate -o P.jsonl` held locked (flock on P.jsonl.lock) and appended to."""
    import fcntl

    out, lock = tmp_path / "p.jsonl", tmp_path / "p.jsonl.lock"
    out.write_text("theirs\n")
    lock.write_text("ba-io-lock " + f"{12345:>12}" + "\n")
    with open(lock, "rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        done = run("score", "predictions.jsonl", "-o", str(out))
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        f"Error: {out}: another run is writing it (pid 12345), locked in {out}.lock; nothing was written: "
        "wait for it to finish or choose another output\n"
    )
    assert out.read_text() == "theirs\n"
    assert run("score", "predictions.jsonl", "-o", str(out)).returncode == 0  # a lock nobody holds: no run


def test_a_link_to_an_output_another_run_holds_locked_is_refused(tmp_path):
    """Campaign 29: `-o L.jsonl`, a link to the P.jsonl a running generate held locked,
    replaced P.jsonl through the link (its lock is beside P.jsonl, not beside the link)."""
    import fcntl

    out, lock, link = tmp_path / "p.jsonl", tmp_path / "p.jsonl.lock", tmp_path / "l.jsonl"
    out.write_text("theirs\n")
    link.symlink_to(out)
    lock.write_text("ba-io-lock " + f"{12345:>12}" + "\n")
    with open(lock, "rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        done = run("score", "predictions.jsonl", "-o", str(link))
    assert done.returncode == 2 and f"another run is writing it (pid 12345), locked in {lock};" in done.stderr
    assert out.read_text() == "theirs\n" and link.is_symlink()


def test_an_output_ending_in_a_slash_is_refused(tmp_path):
    """`score F -o sub/` (no folder sub) wrote a file named `sub`; campaign 30: `-o notes.txt/.`
    replaced notes.txt (Path reads it so)."""
    (tmp_path / "notes.txt").write_text("mine\n")
    for out in ("sub/", "notes.txt/.", "new/.", "a/.."):
        res = run("score", str(CLI_DATA / "predictions.jsonl"), "-o", out, cwd=tmp_path)
        assert res.returncode == 2 and res.stderr == (
            f"Error: -o {out} names a folder (it ends in '/', '.' or '..'); nothing was written: give a file path\n"
        )
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"] and (tmp_path / "notes.txt").read_text() == "mine\n"


def test_the_tmp_file_a_killed_score_left_is_swept_by_the_next_write(tmp_path):
    """Campaign 31: a kill -9 of `score -o P.jsonl` before its rename left `P.jsonl.XXXXXXXX.tmp`,
    which nothing removed (no writer pid in its name). A live writer's and a young one stay."""
    import time as _time

    dead = tmp_path / "P.jsonl.ba-metric-2147483646.abcd1234.tmp"
    young = tmp_path / "P.jsonl.ba-metric-2147483646.efgh5678.tmp"
    live = tmp_path / f"P.jsonl.ba-metric-{os.getpid()}.ijkl9012.tmp"
    mine = tmp_path / "P.jsonl.ba-metric-2147483646.notes.tmp"  # not a name of ours
    for p in (dead, young, live, mine):
        p.write_text("{")
    for p in (dead, live, mine):
        os.utime(p, (_time.time() - 3600, _time.time() - 3600))
    res = run("score", str(CLI_DATA / "predictions.jsonl"), "-o", "P.jsonl", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["P.jsonl", young.name, live.name, mine.name])


def test_a_link_to_the_input_put_at_the_output_mid_run_is_refused(tmp_path, monkeypatch, capsys):
    """Campaign 38 (r1): a link `O.jsonl -> in.jsonl` put while `score in.jsonl -o O.jsonl`
    ran was written through: the input was replaced by the scored rows, exit 0."""
    from ba_metric import cli

    src, out = tmp_path / "in.jsonl", tmp_path / "O.jsonl"
    shutil.copyfile(CLI_DATA / "predictions.jsonl", src)
    before = src.read_bytes()
    real = cli.score_row

    def the_user_links_the_output_meanwhile(*a, **k):
        if not out.is_symlink():
            out.symlink_to(src)
        return real(*a, **k)

    monkeypatch.setattr(cli, "score_row", the_user_links_the_output_meanwhile)
    assert cli.main(["score", str(src), "-o", str(out)]) == 2
    assert capsys.readouterr().err.startswith(f"Error: -o {out} is the input file; nothing was written")
    assert src.read_bytes() == before and out.is_symlink()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_link_at_the_output_re_pointed_at_the_input_and_back_mid_run_is_refused(tmp_path, monkeypatch, capsys):
    """Campaign 39 (r1): `-o O.jsonl` a link to run3.jsonl, re-pointed at the input while
    the write began and back before the rename: the check looked at -o again, not at the
    file the write had resolved, and the input was replaced."""
    from ba_metric import cli, report

    src, out, run3 = tmp_path / "in.jsonl", tmp_path / "O.jsonl", tmp_path / "run3.jsonl"
    shutil.copyfile(CLI_DATA / "predictions.jsonl", src)
    run3.write_text("")
    out.symlink_to(run3)
    before = src.read_bytes()
    real = report._checked_target

    def re_pointed_while_the_write_begins(path):
        out.unlink()
        out.symlink_to(src)
        try:
            return real(path)
        finally:
            out.unlink()
            out.symlink_to(run3)

    monkeypatch.setattr(report, "_checked_target", re_pointed_while_the_write_begins)
    assert cli.main(["score", str(src), "-o", str(out)]) == 2
    assert "is the input file; nothing was written" in capsys.readouterr().err
    assert src.read_bytes() == before


@pytest.mark.parametrize(
    "name", ["T.jsonl.ba-io-commit", "O.jsonl.ba-io-30001.abcd1234.tmp", "O.jsonl.ba-metric-30001.abcd1234.tmp"]
)
def test_an_output_at_a_name_kept_for_a_journal_or_a_tmp_file_is_refused(tmp_path, name):
    """Campaign 40 (D2, D3): `score -o T.jsonl.ba-io-commit` was written, exit 0, and every
    later group write of T.jsonl refused; an output at a tmp file's name was deleted by the
    next write of its output. Both are refused, as every ba-io command refuses them."""
    res = run("score", str(CLI_DATA / "predictions.jsonl"), "-o", name, cwd=tmp_path)
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "a name kept for" in res.stderr, res.stderr
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_is_one_line_and_exit_130(monkeypatch, capsys):
    """Campaign 40 (D4): Ctrl-C during `score` printed a 28-line traceback; every ba-io tool
    prints `Interrupted.` and exits 130, and ba-metric follows the same exit policy."""
    from ba_metric import cli

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_run", interrupted)
    assert cli.main(["score", str(CLI_DATA / "predictions.jsonl")]) == 130
    assert capsys.readouterr().err == "Interrupted.\n"


@pytest.mark.parametrize(
    "name, argv, quiet", [("ba-metric", [], True), ("ba-metric", ["--debug"], False), ("mine", [], False)]
)
def test_a_ctrl_c_while_ba_metric_imports_is_one_line(tmp_path, name, argv, quiet):
    """Campaign 41: a Ctrl-C while the console script still imported the package (before
    `main` runs) printed a traceback. A program that imports ba_metric keeps Python's."""
    import os
    import signal
    import subprocess
    import sys

    script = tmp_path / name
    script.write_text("import ba_metric\nraise KeyboardInterrupt\n")
    env = {k: v for k, v in os.environ.items() if k != "BA_DEBUG"}
    done = subprocess.run(
        [sys.executable, str(script), *argv], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        timeout=60, env=env,
    )  # fmt: skip
    assert done.returncode == (130 if quiet else -signal.SIGINT)  # Python's own end: by the signal
    if quiet:
        assert done.stderr == "Interrupted.\n"
    else:
        assert "Traceback" in done.stderr and "KeyboardInterrupt" in done.stderr, done.stderr
