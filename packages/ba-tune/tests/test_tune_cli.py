"""The real ``ba-tune`` command: help, version, exit codes and exact error lines."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BA_TUNE = str(Path(sys.executable).with_name("ba-tune"))


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([BA_TUNE, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_version_and_help():
    assert run("--version").stdout.strip() == "ba-tune 0.1.0"
    out = run("mipro", "--help")
    assert out.returncode == 0
    assert "example:" in out.stdout and "--train-limit" in out.stdout and "--prompt-model" in out.stdout


def test_no_command_is_a_usage_error():
    out = run()
    assert out.returncode == 2
    assert "the following arguments are required: COMMAND" in out.stderr


@pytest.fixture
def work(tmp_path, data_dir):
    for name in ("train.jsonl", "val.jsonl", "missing_field.jsonl"):
        shutil.copy(data_dir / name, tmp_path / name)
    return tmp_path


def mipro(
    *extra: str,
    model: str = "smollm2",
    train: str = "train.jsonl",
    val: str = "val.jsonl",
    out: str = "out/optimized.json",
):
    return ["mipro", "--model", model, "--train", train, "--val", val, "-o", out, *extra]


@pytest.mark.parametrize(
    "extra, kwargs, rc, line",
    [
        ((), {"train": "nope.jsonl"}, 2, "Error: nope.jsonl: file not found"),
        ((), {"val": "missing_field.jsonl"}, 1, "Error: missing_field.jsonl:2: (root): 'title' is a required property"),
        ((), {"out": "out/optimized.yaml"}, 2, "Error: -o must be a .json file (got out/optimized.yaml)"),
        (("--num-trials", "3"), {}, 2, "Error: --num-trials and --num-candidates go together (they replace --auto)"),
        (("--metric-threshold", "2"), {}, 2, "Error: --metric-threshold must be in [0, 1] (got 2.0)"),
        (("--temperature", "-1"), {}, 2, "Error: --temperature must be a finite number >= 0 (got -1.0)"),
        (("--temperature", "nan"), {}, 2, "Error: --temperature must be a finite number >= 0 (got nan)"),
        (
            (),
            {"out": "train.json", "train": "train.json"},
            2,
            "Error: --train and -o are the same file (train.json); nothing was written: give -o a path of its own",
        ),
        (
            (),
            {"out": "train.jsonl/optimized.json"},
            2,
            "Error: train.jsonl/optimized.json: a folder on this path is a file; nothing was written: choose another path",
        ),
    ],
)
def test_errors_are_one_line(work, extra, kwargs, rc, line):
    out = run(*mipro(*extra, **kwargs), cwd=work)
    assert out.returncode == rc, out.stderr
    last = out.stderr.strip().splitlines()[-1]
    assert last == line or (line.endswith("under ") and last.startswith(line)), last
    assert "Traceback" not in out.stderr
    assert not (work / "out").exists()


@pytest.mark.parametrize(
    "extra, kwargs, needle",
    [
        (("--prompt", "none.json"), {}, "none.json"),
        ((), {"model": "llama:x"}, "'llama:x'"),
        ((), {"model": "hf:/nonexistent"}, "/nonexistent"),
    ],
)
def test_sibling_errors_are_one_usage_line(work, extra, kwargs, needle):
    # the wording belongs to ba-llm; ba-tune guarantees one line, exit 2, nothing written
    out = run(*mipro(*extra, **kwargs), cwd=work)
    assert out.returncode == 2, out.stderr
    assert out.stderr.count("\n") == 1, out.stderr  # the campaign: "ba-tune: loading ..." came first
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: ") and needle in last
    assert "Traceback" not in out.stderr
    assert not (work / "out").exists()


def test_argparse_rejects_bad_numbers(work):
    out = run(*mipro("--train-limit", "0"), cwd=work)
    assert out.returncode == 2
    assert "argument --train-limit: must be >= 1, got 0" in out.stderr
    out = run(*mipro("--num-threads", "100000"), cwd=work)  # campaign 3: accepted
    assert out.returncode == 2 and "argument --num-threads: must be at most 64, got 100000" in out.stderr


def test_debug_shows_the_traceback(work):
    out = run(*mipro("--debug", train="nope.jsonl"), cwd=work)
    assert out.returncode != 0
    assert "Traceback" in out.stderr


def test_a_token_limit_beyond_the_context_is_refused_before_the_model_loads(work):
    """The campaign: --max-tokens between the model's context and 32768 failed after the
    model was loaded, with two progress lines first."""
    model = work / "model"
    model.mkdir()
    (model / "config.json").write_text('{"max_position_embeddings": 1024}')  # no weights: never loaded
    out = run(*mipro("--max-new-tokens", "4096", model=f"hf:{model}"), cwd=work)
    assert out.returncode == 2, out.stderr
    assert out.stderr == (
        "Error: --max-new-tokens 4096 is more than the model's context of 1024 tokens; use at most 1024\n"
    )
    assert not (work / "out").exists()


def test_outputs_that_are_not_files_are_refused_before_mipro_starts(work):
    """Campaign 4: `-o` naming a folder, or a FIFO at OUT.program.json, started MIPROv2."""
    import os

    (work / "out").mkdir()
    (work / "out" / "a.json").mkdir()
    os.mkfifo(work / "out" / "b.program.json")
    for out in ("out/a.json", "out/b.json"):
        res = run(*mipro(out=out), cwd=work)
        assert res.returncode == 2 and res.stderr.count("\n") == 1 and "nothing was written" in res.stderr, res.stderr


def test_an_output_that_is_a_file_of_the_model_is_refused_before_mipro_starts(work):
    """Campaign 14: `-o MODEL/config.json` passed the output checks; a finished run would
    have replaced the model's config with the prompt file."""
    model = work / "m"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "llama"}')
    res = run(*mipro(model=f"hf:{model}", out="m/config.json"), cwd=work)
    assert res.returncode == 2 and "is a file of the model" in res.stderr and res.stderr.count("\n") == 1, res.stderr
    assert (model / "config.json").read_text() == '{"model_type": "llama"}'


def test_a_users_file_at_a_side_output_name_is_refused_before_mipro_starts(work):
    """Campaign 15: a file of the user's at OUT.program.json (or OUT.log.json) was replaced;
    only what an earlier run wrote there (a DSPy state, a ba-tune log) may be."""
    # campaign 16: a JSON object of the user's with a "metadata" key was taken for a DSPy state
    for mine in ('{"my": "program"}', '{"metadata": {"author": "me"}, "notes": []}'):
        (work / "opt.program.json").write_text(mine)
        res = run(*mipro(out="opt.json"), cwd=work)
        assert res.returncode == 2 and res.stderr.count("\n") == 1, res.stderr
        assert "opt.program.json exists and is not a DSPy program state ba-tune wrote" in res.stderr
        assert (work / "opt.program.json").read_text() == mine
    (work / "opt.program.json").unlink()
    (work / "opt.log.json").write_text("my log\n")
    res = run(*mipro(out="opt.json"), cwd=work)
    assert res.returncode == 2 and "opt.log.json exists and is not a ba-tune log" in res.stderr, res.stderr
    assert (work / "opt.log.json").read_text() == "my log\n"
