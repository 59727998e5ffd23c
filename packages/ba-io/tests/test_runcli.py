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
        "JSON_WHITESPACE",
        "JsonlAppender",
        "JsonlLine",
        "SEED",
        "UsageError",
        "ValidationIssue",
        "add_command",
        "add_max_new_tokens",
        "add_model",
        "add_output",
        "add_seed",
        "append_jsonl",
        "atomic_path",
        "atomic_write",
        "check_not_reserved",
        "check_not_under_file",
        "check_not_working_folder",
        "check_pinned_folder",
        "check_replaceable_folder",
        "check_side_folder",
        "check_side_output",
        "check_unnamed_rejects",
        "check_writable",
        "default_rejects",
        "deprecated_alias",
        "distinct_paths",
        "first_line_is",
        "folder_files",
        "fraction",
        "head_contains",
        "int_between",
        "is_lock_file",
        "is_tmp_name",
        "iter_jsonl",
        "iter_jsonl_lines",
        "json_object_with",
        "jsonl_rows_with",
        "load_schema",
        "named_write_error",
        "non_negative_int",
        "one_line",
        "open_own",
        "output_folder_path",
        "output_group",
        "output_lock",
        "output_path",
        "output_target",
        "pin_folder",
        "positive_int",
        "progress",
        "read_json",
        "read_jsonl",
        "reject_record",
        "rename_noreplace",
        "rename_rechecked",
        "run_cli",
        "schema_names",
        "sha256_file",
        "sha256_path",
        "sha256_text",
        "sweep_stale_tmp",
        "tmp_file",
        "tool_parser",
        "validate",
        "write_json",
        "write_jsonl",
        "write_text",
    ]
    for name in ba_io.__all__:
        assert getattr(ba_io, name)
    assert issubclass(ba_io.DataError, ba_io.BaError)
    assert issubclass(ba_io.UsageError, ba_io.BaError)
    assert ba_io.errors.DataError is ba_io.DataError


def test_a_closed_stdout_is_a_quiet_exit_0(capsys):
    """One exit-code policy: the reader stopped reading (`| head`); not our failure."""

    def writes(argv):
        raise BrokenPipeError

    assert run_cli(writes, []) == 0
    assert capsys.readouterr().err == ""


def test_a_closed_stdout_keeps_the_commands_exit_code(monkeypatch):
    """Campaign 4: `ba-dataset-tools validate bad.jsonl | true` exited 0: the closed pipe
    hid the data failure. The rest of the output is dropped and the verdict kept."""
    import os
    import sys

    r, w = os.pipe()
    os.close(r)  # the reader is gone
    pipe = os.fdopen(w, "w", buffering=1)
    monkeypatch.setattr(sys, "stdout", pipe)
    done = []

    def validate(argv):
        for i in range(1000):
            print(f"row {i}: invalid")
        done.append(True)
        return 1

    assert run_cli(validate, []) == 1 and done == [True]
    assert sys.stdout is pipe  # restored


def test_the_cli_contract_helpers(capsys):
    from ba_io import SEED, add_command, add_max_new_tokens, add_model, add_output, add_seed, tool_parser

    p = tool_parser("ba-x", "1.0", "a tool")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    c = add_command(sub, "run", help="run it")
    add_model(c, help="the model", required=True, old=("--base-model",))
    add_output(c, help="the output", required=True, dest="out", old=("--out",))
    add_max_new_tokens(c, default=64, old=("--max-tokens",))
    add_seed(c, help="seed")
    a = p.parse_args(["run", "--model", "m", "-o", "x.jsonl", "--debug"])
    assert (a.model, a.out, a.max_new_tokens, a.seed, a.debug) == ("m", "x.jsonl", 64, SEED, True)
    assert capsys.readouterr().err == ""
    # the old spellings still work, hidden from --help, each with one warning line
    a = p.parse_args(["run", "--base-model", "m", "--out", "y.jsonl", "--max-tokens", "9"])
    assert (a.model, a.out, a.max_new_tokens) == ("m", "y.jsonl", 9)
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "warning: --base-model is deprecated and goes in the next release; use --model",
        "warning: --out is deprecated and goes in the next release; use -o/--output",
        "warning: --max-tokens is deprecated and goes in the next release; use --max-new-tokens",
    ]
    assert "--base-model" not in c.format_help() and "--out " not in c.format_help()
    # required either way: one Error line, exit 2
    with pytest.raises(SystemExit) as e:
        p.parse_args(["run", "--model", "m"])
    assert e.value.code == 2
    assert capsys.readouterr().err == (
        "Error: ba-x run: the following arguments are required: -o/--output (see ba-x run --help)\n"
    )
    with pytest.raises(SystemExit):
        p.parse_args(["--version"])
    assert capsys.readouterr().out == "ba-x 1.0\n"


def test_seeds_are_32_bit():
    import argparse

    from ba_io import SEED, add_seed

    p = argparse.ArgumentParser()
    add_seed(p, help="seed")
    assert p.parse_args([]).seed == SEED and p.parse_args(["--seed", "4294967295"]).seed == 2**32 - 1
    for bad in ("99999999999999999999999", "-1"):
        with pytest.raises(SystemExit):
            p.parse_args(["--seed", bad])


def test_an_old_spelling_with_its_new_one_is_refused_and_warns_once(capsys):
    """Campaign 4: `--out a -o b` silently wrote b only; `--out a --out b` warned twice."""
    from ba_io import add_command, add_output, tool_parser

    p = tool_parser("ba-x", "1.0", "a tool")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_output(add_command(sub, "run", help="run it"), help="out", dest="out", old=("--out",))
    for argv in (["run", "--out", "a", "-o", "b"], ["run", "-ob", "--out", "a"], ["run", "--output=b", "--out", "a"]):
        with pytest.raises(SystemExit) as e:
            p.parse_args(argv)
        assert e.value.code == 2
        assert capsys.readouterr().err.endswith(
            "Error: ba-x run: give -o/--output once: --out is its old spelling (see ba-x run --help)\n"
        )
    assert p.parse_args(["run", "--out", "a", "--out", "b"]).out == "b"
    assert capsys.readouterr().err.count("warning:") == 1


def test_an_oserror_the_user_fixes_is_a_usage_error(capsys):
    """Campaign 6: a read-only output folder gave exit 1 and `Error: OSError: [Errno 30] ...`;
    permissions, a read-only file system and a full disk are the user's to fix: exit 2."""
    import errno

    from ba_io import run_cli

    def read_only(argv):
        raise OSError(errno.EROFS, "Read-only file system", "/mnt/ro/out.jsonl")

    assert run_cli(read_only, []) == 2
    assert capsys.readouterr().err == "Error: /mnt/ro/out.jsonl: Read-only file system (nothing was written there)\n"

    def denied(argv):
        raise OSError(errno.EACCES, "cannot write /x/out.json: Permission denied")

    assert run_cli(denied, []) == 2
    assert capsys.readouterr().err == "Error: cannot write /x/out.json: Permission denied (nothing was written there)\n"

    def other(argv):
        raise OSError(errno.EIO, "Input/output error")

    assert run_cli(other, []) == 1
    assert capsys.readouterr().err.startswith("Error: OSError: [Errno 5] Input/output error")


@pytest.mark.parametrize(
    "exc, code",
    [
        (UsageError("--output a\nError: forged: file not found"), 2),
        (DataError("a\nb.jsonl", 3, "bad\rrow"), 1),
        (OSError(13, "Permission denied", "out\n.jsonl"), 2),
        (ValueError("two\nlines\x1b[31m"), 1),
    ],
)
def test_an_error_line_is_always_one_line(capsys, exc, code):
    """Campaign 17: a newline in a path the user gave was printed raw, so the Error: line
    became two (the second could pass for another message). Every character that is not
    printable is written as its escape; argparse's errors too."""

    def fail(argv):
        raise exc

    assert run_cli(fail, []) == code
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and err.count("\n") == 1 and ("\\n" in err or "\\r" in err), err
    parser = ba_io.ArgumentParser(prog="tool")
    parser.add_argument("--n", type=int)
    assert run_cli(lambda argv: parser.parse_args(argv), ["--n", "1", "stray\nError: forged"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unrecognized arguments: stray\\nError: forged" in err, err


class _ShortWritingFile:
    """A raw file that takes at most ``chunk`` bytes per write (a pipe, a disk filling up)
    and raises ENOSPC once ``room`` bytes are taken, as a full disk does."""

    def __init__(self, chunk, room=None):
        import io

        class Raw(io.RawIOBase):
            def writable(self):
                return True

            def write(raw, b):
                import errno

                if room is not None and len(self.data) >= room:
                    raise OSError(errno.ENOSPC, "No space left on device")
                n = min(len(b), chunk, (room - len(self.data)) if room is not None else chunk)
                self.data += bytes(b[:n])
                return n

        self.data = b""
        # what Python makes of stdout under PYTHONUNBUFFERED=1: a text layer straight over the raw file
        self.stream = io.TextIOWrapper(Raw(), encoding="utf-8", write_through=True)


@pytest.mark.parametrize("room", [None, 1000])
def test_stdout_takes_every_byte_or_the_command_fails(monkeypatch, capsys, room):
    """Campaign 25 (r5): with PYTHONUNBUFFERED=1, `ba-metric score IN > FILE` on a disk
    filling up kept 418 of 1,050 rows, a torn last line, and exited 0."""
    out = _ShortWritingFile(chunk=100, room=room)
    monkeypatch.setattr("sys.stdout", out.stream)
    lines = [f'{{"id": "r{i:04d}", "text": "{"x" * 40}"}}\n' for i in range(100)]

    def main(argv):
        for line in lines:
            print(line, end="")

    rc = run_cli(main, [])
    err = capsys.readouterr().err
    if room is None:
        assert rc == 0 and out.data.decode() == "".join(lines)
    else:
        assert rc == 2 and len(out.data) == 1000
        assert err.startswith("Error: cannot write to standard output: No space left on device;")
        assert err.count("\n") == 1


@pytest.mark.parametrize("unbuffered", ["1", ""])
def test_a_full_disk_under_stdout_is_exit_2_in_a_real_process(unbuffered):
    """Buffered, the data left in stdout's buffer made the interpreter's own flush at exit
    fail a second time ("Exception ignored", exit 120)."""
    import os
    import subprocess
    import sys

    code = "import sys; from ba_io.cli import main; sys.exit(main(['schemas']))"
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-c", code], stdout=full, stderr=subprocess.PIPE, text=True, timeout=60,
            env={**os.environ, "PYTHONUNBUFFERED": unbuffered},
        )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        "Error: cannot write to standard output: No space left on device; what was written there is incomplete\n"
    )


def test_a_stdout_closed_from_the_start_is_a_quiet_exit_of_the_commands_code():
    """Campaign 26: `ba-io schemas >&-` (Python's sys.stdout is None) ended in a traceback,
    exit 120. Nothing can be written there: as for a reader gone, the verdict is kept."""
    import os
    import subprocess
    import sys

    for argv, rc in ((["schemas"], 0), (["validate", "/nonexistent.jsonl", "--schema", "concept"], 2)):
        code = f"import sys; from ba_io.cli import main; sys.exit(main({argv!r}))"
        done = subprocess.run(
            [sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=60,
            preexec_fn=lambda: os.close(1),
        )  # fmt: skip
        assert done.returncode == rc, done.stderr
        assert done.stderr.count("\n") == (rc != 0) and "Traceback" not in done.stderr, done.stderr


def test_a_name_too_long_is_the_users_to_fix(capsys, monkeypatch):
    """Campaign 27: ENAMETOOLONG was `Error: OSError: [Errno 36] ...`, exit 1."""
    import errno

    monkeypatch.delenv("BA_DEBUG", raising=False)
    exc = OSError(errno.ENAMETOOLONG, "File name too long", "x" * 300 + ".jsonl")
    assert run_cli(_raiser(exc), []) == 2
    assert capsys.readouterr().err == f"Error: {'x' * 300}.jsonl: File name too long (nothing was written there)\n"


def test_an_unwritable_stderr_keeps_the_exit_code(tmp_path):
    """Campaign 27: a usage error exited 1 under `2>/dev/full` (printing its line failed)."""
    import subprocess
    import sys

    code = (
        "import sys; from ba_io.cli import main; sys.exit(main(['validate', 'nope.jsonl', '--schema', 'example-v1']))"
    )
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=tmp_path, stdout=subprocess.PIPE, stderr=full, timeout=60
        )
    assert done.returncode == 2


def test_dash_is_not_a_rejects_file(tmp_path, capsys, monkeypatch):
    """Campaign 27: `ba-io validate IN --rejects -` wrote the bad lines to a file named `-`."""
    from ba_io.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.jsonl").write_text("{}\n")
    assert run_cli(main, ["validate", "in.jsonl", "--schema", "example-v1", "--rejects", "-"]) == 2
    assert "'-' (standard output) is not an output of this command" in capsys.readouterr().err
    assert not (tmp_path / "-").exists()


def test_a_failing_library_thread_says_one_line_not_a_traceback(capsys):
    """Campaign 34: removing OUT/runs/ while `ba-lora train` ran made TensorBoard's writer
    thread print a Python traceback without --debug. A thread's error is one warning line;
    --debug keeps Python's traceback; the hook is the caller's again afterwards."""
    import threading

    from ba_io import run_cli

    hooks = []

    def main(argv):
        hooks.append(threading.excepthook)
        if "--debug" not in argv:
            t = threading.Thread(target=lambda: open("/nonexistent/dir/events"), name="EventFileWriter")
            t.start()
            t.join()
        return 0

    before = threading.excepthook
    assert run_cli(main, []) == 0
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "warning: EventFileWriter: FileNotFoundError: [Errno 2] No such file or directory: '/nonexistent/dir/events' "
        "(run with --debug for the traceback)"
    ]
    assert threading.excepthook is before
    assert run_cli(main, ["--debug"]) == 0  # --debug: Python's own hook, with its traceback
    assert hooks[0] is not before and hooks[1] is before


def test_what_one_command_registers_about_its_paths_never_refuses_the_next_in_the_process(tmp_path):
    """The checks a command registers (a model folder it reads, a folder it pins) are its
    own: a second command in the same process (a notebook, a test) writing into the first
    one's model folder or its re-pointed output is not refused by them."""
    from ba_io import pin_folder, write_json
    from ba_io.paths import name_input_folder

    model, run1, other = tmp_path / "model", tmp_path / "run1", tmp_path / "other"
    for folder in (model, run1, other):
        folder.mkdir()
    out = tmp_path / "out"
    out.symlink_to(run1)

    def first(argv):
        name_input_folder(model, "the model's folder")
        pin_folder(out)
        with pytest.raises(UsageError):  # inside the command, its checks hold
            write_json(model / "x.json", {"n": 1})

    def second(argv):
        write_json(model / "notes.json", {"n": 2})
        write_json(out / "notes.json", {"n": 2})

    assert run_cli(first, []) == 0
    out.unlink()
    out.symlink_to(other)
    assert run_cli(second, []) == 0
    assert (model / "notes.json").exists() and (other / "notes.json").exists()


@pytest.mark.parametrize(
    "name, argv, env, quiet",
    [
        ("ba-io", [], {}, True),
        ("ba-io", ["--debug"], {}, False),
        ("ba-io", [], {"BA_DEBUG": "1"}, False),
        ("my-notebook-script", [], {}, False),
    ],
)  # fmt: skip
def test_a_ctrl_c_while_a_console_script_imports_is_one_line(tmp_path, name, argv, env, quiet):
    """Campaign 41: a Ctrl-C in the first fraction of a second of a command, while its package
    was still being imported (before run_cli), printed Python's 20-40 line traceback. ba_io's
    first statement installs a hook for the console scripts; a library user keeps the traceback."""
    import os
    import signal
    import subprocess
    import sys

    script = tmp_path / name
    script.write_text("import ba_io\nraise KeyboardInterrupt\n")
    done = subprocess.run(
        [sys.executable, str(script), *argv], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        timeout=60, env={**{k: v for k, v in os.environ.items() if k != "BA_DEBUG"}, **env},
    )  # fmt: skip
    assert done.returncode == (130 if quiet else -signal.SIGINT)  # Python's own end: by the signal
    if quiet:
        assert done.stderr == "Interrupted.\n"
    else:
        assert "Traceback" in done.stderr and "KeyboardInterrupt" in done.stderr, done.stderr
