"""The CLI: help, version, and one-line errors with their exit codes."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import run_cli

from ba_io import UsageError
from ba_lora.config import TrainConfig


def test_version_and_help():
    res = run_cli("--version")
    assert res.returncode == 0 and res.stdout.strip() == "ba-lora 0.1.0"
    res = run_cli("train", "--help")
    assert res.returncode == 0
    assert "example:" in res.stdout and "--quantization {bnb4,bf16,fp32}" in res.stdout
    for cmd in ("merge", "export"):
        res = run_cli(cmd, "--help")
        assert res.returncode == 0 and "example:" in res.stdout


def test_defaults_are_the_original_flags():
    c = TrainConfig(train="t.jsonl", output="out")
    assert (c.epochs, c.lr, c.batch_size, c.grad_accum, c.lora_r, c.lora_alpha, c.max_length, c.seed) == (
        3,
        2e-4,
        1,
        8,
        8,
        32,
        2048,
        42,
    )
    assert c.target_module_list() == ["q_proj", "k_proj", "v_proj", "o_proj"]
    assert TrainConfig(train="t", output="o", target_modules="all-linear").target_module_list() == "all-linear"
    assert TrainConfig(train="t", output="o", target_modules="q_proj, v_proj").target_module_list() == [
        "q_proj",
        "v_proj",
    ]


@pytest.mark.parametrize(
    "kw, message",
    [
        (
            dict(resume=True, overwrite=True),
            "--resume and --overwrite exclude each other: continue the run or start over, not both",
        ),
        (dict(val_limit=3), "--val-limit is set but --val is not: give a validation file or drop --val-limit"),
        (dict(eval_metric=2), "--eval-metric needs --val: the metric is computed on validation concepts"),
        (
            dict(val="v.jsonl", val_limit=2, eval_metric=3),
            "--eval-metric (3) exceeds --val-limit (2): the metric can use at most the validation rows kept",
        ),
        (
            dict(micro_batch_tokens=1000),
            "--micro-batch-tokens (1000) is below --max-length (2048): a micro-batch must fit one sample of the "
            "longest length",
        ),
        (
            dict(gradient_checkpointing=True, checkpoint_above=256),
            "--checkpoint-above 256 and --gradient-checkpointing exclude each other: the second recomputes "
            "every layer of every micro-batch; give one of them",
        ),
        (dict(checkpoint_above=-1), "--checkpoint-above must not be negative (got -1)"),
        (dict(lora_dropout=1.0), "--lora-dropout must be in [0, 1) (got 1.0)"),
        (dict(grad_accum=0), "--grad-accum must be at least 1 (got 0)"),
    ],
)
def test_bad_combinations_name_every_field(kw, message):
    with pytest.raises(UsageError) as err:
        TrainConfig(train="t.jsonl", output="out", **kw).check()
    assert str(err.value) == message


def test_cli_usage_errors_exit_2_with_one_line(tmp_path, data_dir):
    res = run_cli(
        "train", "--train", str(data_dir / "train.jsonl"), "--output", str(tmp_path / "o"), "--eval-metric", "2"
    )
    assert res.returncode == 2
    assert res.stderr == "Error: --eval-metric needs --val: the metric is computed on validation concepts\n"
    missing = tmp_path / "nope.jsonl"
    res = run_cli("train", "--train", str(missing), "--output", str(tmp_path / "o"))
    assert res.returncode == 2
    assert res.stderr == f"Error: input file not found: {missing} (run `make fix` first?)\n"
    res = run_cli(
        "train",
        "--train",
        str(data_dir / "train.jsonl"),
        "--output",
        str(tmp_path / "o"),
        "--model",
        "gguf:model.gguf",
    )
    assert res.returncode == 2
    assert res.stderr == (
        "Error: --model gguf:model.gguf: training needs a transformers model (smollm2, "
        "hf:DIR or a directory), not a gguf model\n"
    )
    assert not (tmp_path / "o").exists()


def test_cli_data_error_exits_1_naming_file_and_line(tmp_path, data_dir, tiny_model_dir):
    bad = data_dir / "missing_title.jsonl"
    res = run_cli("train", "--train", str(bad), "--output", str(tmp_path / "o"), "--model", str(tiny_model_dir))
    assert res.returncode == 1
    assert res.stderr.startswith(f"Error: {bad}:2: ") and len(res.stderr.strip().splitlines()) == 1
    assert "title" in res.stderr


def test_an_output_that_is_the_data_a_file_or_a_users_folder_is_refused(tmp_path, data_dir, tiny_model_dir):
    """Round-2 campaign: a fresh run into a user's folder deleted its runs/ and loss_curve.png; an
    --output that was the --train dataset was not refused; a file as --output was an internal error."""
    user = tmp_path / "mine"
    user.mkdir()
    (user / "notes.txt").write_text("mine", encoding="utf-8")
    (user / "loss_curve.png").write_text("mine", encoding="utf-8")
    common = ["--model", str(tiny_model_dir), "--max-steps", "1", "--train-limit", "1"]
    res = run_cli("train", "--train", str(data_dir / "train.jsonl"), "--output", str(user), *common)
    assert res.returncode == 2 and res.stderr.startswith(
        f"Error: --output {user}: holds files ba-lora train did not write (notes.txt)"
    ), res.stderr
    assert sorted(p.name for p in user.iterdir()) == ["loss_curve.png", "notes.txt"]
    data = tmp_path / "t.jsonl"
    data.write_bytes((data_dir / "train.jsonl").read_bytes())
    res = run_cli("train", "--train", str(data), "--output", str(data), *common)
    assert (
        res.returncode == 2 and res.stderr.count("\n") == 1 and "--train and --output are the same file" in res.stderr
    )
    assert data.read_bytes() == (data_dir / "train.jsonl").read_bytes()


def test_an_output_under_a_file_is_one_usage_error(tmp_path, data_dir, tiny_model_dir):
    """Campaign 5: `--output notes.txt/run` failed with FileExistsError (exit 1)."""
    notes = tmp_path / "notes.txt"
    notes.write_text("mine", encoding="utf-8")
    res = run_cli(
        "train", "--train", str(data_dir / "train.jsonl"), "--output", str(notes / "run"),
        "--model", str(tiny_model_dir), "--max-steps", "1",
    )  # fmt: skip
    assert res.returncode == 2 and res.stderr.splitlines() == [
        f"Error: {notes / 'run'}: a folder on this path is a file; nothing was written: choose another path"
    ], res.stderr
    assert notes.read_text() == "mine"


def test_a_link_at_a_run_files_name_is_refused_and_its_target_kept(tmp_path, data_dir, tiny_model_dir):
    """Campaign 17: in a finished run, OUT/prompt.json -> a file elsewhere was written through
    by --overwrite and --resume (the link's target took the run's prompt)."""
    common = ["--train", str(data_dir / "train.jsonl"), "--model", str(tiny_model_dir), "--max-steps", "1"]
    out, elsewhere = tmp_path / "run", tmp_path / "my-prompt.json"
    res = run_cli("train", "--output", str(out), *common, "--train-limit", "1")
    assert res.returncode == 0, res.stderr
    elsewhere.write_text('{"mine": true}')
    (out / "prompt.json").unlink()
    (out / "prompt.json").symlink_to(elsewhere)
    for extra in (("--overwrite",), ("--resume",)):
        res = run_cli("train", "--output", str(out), *common, "--train-limit", "1", *extra)
        assert res.returncode == 2 and "did not write (prompt.json)" in res.stderr, res.stderr
    assert elsewhere.read_text() == '{"mine": true}' and (out / "prompt.json").is_symlink()


def test_a_users_folder_that_looks_like_a_run_is_refused_and_kept(tmp_path, data_dir, tiny_model_dir):
    """Campaign 3: the check compared only top-level names, so a user's runs/my_experiment/
    was deleted with the run's logs and a user's prompt.json was overwritten."""
    common = ["--train", str(data_dir / "train.jsonl"), "--model", str(tiny_model_dir), "--max-steps", "1"]
    user = tmp_path / "mine"
    (user / "runs" / "my_experiment").mkdir(parents=True)
    (user / "runs" / "my_experiment" / "events.out.tfevents.1").write_text("mine")
    res = run_cli("train", "--output", str(user), *common, "--train-limit", "1")
    assert res.returncode == 2 and "did not write (runs/my_experiment)" in res.stderr, res.stderr
    assert (user / "runs" / "my_experiment" / "events.out.tfevents.1").read_text() == "mine"
    only = tmp_path / "only-prompt"
    only.mkdir()
    (only / "prompt.json").write_text("{}")
    res = run_cli("train", "--output", str(only), *common, "--train-limit", "1")
    assert res.returncode == 2 and "did not write (prompt.json)" in res.stderr, res.stderr
    assert (only / "prompt.json").read_text() == "{}"
    # campaign 4: a file named training_info.json, or an empty checkpoints/, was taken as a run
    (only / "training_info.json").write_text('{"note": "mine"}')
    (only / "checkpoints").mkdir()
    for extra in ((), ("--overwrite",), ("--resume",)):
        res = run_cli("train", "--output", str(only), *common, "--train-limit", "1", *extra)
        assert res.returncode == 2 and "did not write (prompt.json, training_info.json)" in res.stderr, res.stderr
    assert (only / "training_info.json").read_text() == '{"note": "mine"}'
    assert (only / "prompt.json").read_text() == "{}"


def test_a_users_own_tensorboard_log_in_runs_is_never_taken_for_a_killed_run(tmp_path, data_dir, tiny_model_dir):
    """Campaign 24: OUT/runs/events.out.tfevents.* of the user's own experiment, in a folder with
    no checkpoint and no training_info.json, was taken for the logs of a run killed before its
    first checkpoint and deleted. ba-lora marks its runs/ (RUNS_MARKER); only a marked one is."""
    from ba_lora.report import RUNS_MARKER

    common = ["--train", str(data_dir / "train.jsonl"), "--model", str(tiny_model_dir), "--max-steps", "1"]
    mine = tmp_path / "exp" / "runs" / "events.out.tfevents.1700000000.host.1.0"
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b"three weeks of loss curves")
    res = run_cli("train", "--output", str(tmp_path / "exp"), *common, "--train-limit", "1")
    assert res.returncode == 2 and "TensorBoard logs of another program" in res.stderr, res.stderr
    assert mine.read_bytes() == b"three weeks of loss curves"
    # what a run killed before its first checkpoint leaves (marked) is still the run's own
    killed = tmp_path / "killed" / "runs"
    killed.mkdir(parents=True)
    (killed / RUNS_MARKER).touch()
    (killed / "events.out.tfevents.1700000000.host.2.0").write_bytes(b"ours")
    res = run_cli("train", "--output", str(killed.parent), *common, "--train-limit", "1")
    assert res.returncode == 0, res.stderr
    assert (killed / RUNS_MARKER).is_file() and (killed.parent / "training_info.json").is_file()


def test_a_run_that_fails_before_its_first_checkpoint_leaves_no_output_folder(tmp_path, data_dir, tiny_model_dir):
    """Campaign 18: a run refused after it had made --output (here: --max-length leaves no
    answer tokens) left that empty folder behind; a folder that was there stays."""
    common = ["--train", str(data_dir / "train.jsonl"), "--model", str(tiny_model_dir), "--max-steps", "1"]
    out = tmp_path / "new"
    res = run_cli("train", "-o", str(out), *common, "--max-length", "16")
    assert res.returncode == 2 and "leaves no answer tokens" in res.stderr, res.stderr
    assert not out.exists()
    out.mkdir()
    res = run_cli("train", "-o", str(out), *common, "--max-length", "16")
    assert res.returncode == 2 and out.is_dir()


def test_resume_after_a_kill_inside_finish_takes_the_adapter_tmp_folder_as_its_own(tmp_path, data_dir, tiny_model_dir):
    """Campaign 18: a run killed while it built the final adapter in OUT/.ba-lora-adapter-XXXXXXXX
    left that folder; the next --resume refused OUT as holding files it did not write.
    Campaign 19: a user's `.adapter-backup01/` (the old name's shape) is theirs, refused and kept."""
    args = ["--train", str(data_dir / "train.jsonl"), "--model", str(tiny_model_dir), "--max-steps", "2"]
    args += ["--save-steps", "1", "--train-limit", "4", "--keep-checkpoints", "-o", str(tmp_path / "out")]
    out = tmp_path / "out"
    assert run_cli("train", *args).returncode == 0
    (out / "training_info.json").unlink()  # the state a kill inside finish() leaves
    (out / ".adapter-backup01").mkdir()
    (out / ".adapter-backup01" / "adapter_model.safetensors").write_bytes(b"mine")
    res = run_cli("train", *args, "--resume")
    assert res.returncode == 2 and "holds files ba-lora train did not write (.adapter-backup01)" in res.stderr
    assert (out / ".adapter-backup01" / "adapter_model.safetensors").read_bytes() == b"mine"
    shutil.move(out / ".adapter-backup01", tmp_path / "kept")
    (out / ".ba-lora-adapter-notes123").mkdir()  # campaign 21: our name, but a file no run writes
    (out / ".ba-lora-adapter-notes123" / "mine.txt").write_text("mine")
    res = run_cli("train", *args, "--resume")
    assert res.returncode == 2 and "did not write (.ba-lora-adapter-notes123)" in res.stderr
    assert (out / ".ba-lora-adapter-notes123" / "mine.txt").read_text() == "mine"
    shutil.move(out / ".ba-lora-adapter-notes123", tmp_path / "kept2")
    (out / ".ba-lora-adapter-abc12345").mkdir()
    (out / ".ba-lora-adapter-abc12345" / "adapter_model.safetensors").write_bytes(b"x")
    res = run_cli("train", *args, "--resume")
    assert res.returncode == 0, res.stderr
    assert (out / "training_info.json").is_file() and not (out / ".ba-lora-adapter-abc12345").exists()


def test_an_input_inside_the_output_folder_or_a_folder_at_a_run_files_name_is_refused(
    tmp_path, data_dir, tiny_model_dir
):
    """Campaign 19: `--overwrite --prompt OUT/prompt.json` deleted the prompt it had read."""
    out = tmp_path / "out"
    args = ["--train", str(data_dir / "train.jsonl"), "--model", str(tiny_model_dir), "--max-steps", "1"]
    args += ["--train-limit", "2", "-o", str(out)]
    assert run_cli("train", *args).returncode == 0
    before = (out / "prompt.json").read_bytes()
    res = run_cli("train", *args, "--overwrite", "--prompt", str(out / "prompt.json"))
    assert res.returncode == 2
    assert res.stderr.strip().splitlines()[-1] == (
        f"Error: --prompt {out / 'prompt.json'} is inside --output {out}, whose files a run replaces; "
        "nothing was written: copy it out of that folder first"
    )
    assert (out / "prompt.json").read_bytes() == before and (out / "training_info.json").is_file()
    # campaign 19: a folder at a run file's name is the user's: refused, never cleared
    (out / "loss_curve.png").unlink()
    (out / "loss_curve.png").mkdir()
    (out / "loss_curve.png" / "notes.txt").write_text("mine")
    res = run_cli("train", *args, "--overwrite")
    assert res.returncode == 2 and "holds files ba-lora train did not write (loss_curve.png)" in res.stderr
    assert (out / "loss_curve.png" / "notes.txt").read_text() == "mine"


def test_an_overwrite_refused_by_its_checks_keeps_the_earlier_run(tmp_path, data_dir, tiny_model_dir):
    """Campaign 18: `--overwrite` deleted the earlier run's training_info.json, loss curve and
    logs before a check refused it (an unknown --target-modules); the adapter left without
    them made every later run on the folder refused. The results are cleared only once
    every check has passed."""
    args = ["--train", str(data_dir / "train.jsonl"), "--model", str(tiny_model_dir), "--max-steps", "1"]
    args += ["--train-limit", "2", "-o", str(tmp_path / "out")]
    out = tmp_path / "out"
    assert run_cli("train", *args).returncode == 0
    before = sorted(p.name for p in out.iterdir())
    res = run_cli("train", *args, "--overwrite", "--target-modules", "no_such_module")
    assert res.returncode == 2 and res.stderr.count("\n") == 1, res.stderr
    assert sorted(p.name for p in out.iterdir()) == before
    res = run_cli("train", *args, "--resume")
    assert res.returncode == 0 and "already complete" in res.stderr, res.stderr


def test_a_row_whose_prompt_fills_max_length_is_reported_not_dropped_silently(tmp_path, data_dir, tiny_model_dir):
    """Campaign 24: a training row whose prompt alone filled --max-length was dropped with exit 0
    and no word; its id was only in training_info.json, mixed with the validation ones."""
    rows = [json.loads(line) for line in (data_dir / "train.jsonl").read_text().splitlines()[:3]]
    rows[1]["concept"] = " ".join(["a very long concept"] * 200)
    train = tmp_path / "t.jsonl"
    train.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "run"
    res = run_cli(
        "train", "--train", str(train), "--output", str(out), "--model", str(tiny_model_dir),
        "--max-steps", "1", "--max-length", "384", "--eval-metric", "0",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert (
        f"warning: 1 training row(s) not used, their prompt alone fills --max-length 384 ({rows[1]['id']})"
        in res.stderr
    )
    samples = json.loads((out / "training_info.json").read_text())["samples"]
    assert samples["train"] == 2 and samples["skipped_train"] == [rows[1]["id"]] and samples["skipped_val"] == []


def test_an_output_that_is_a_link_is_refused_with_a_true_message(tmp_path, data_dir, tiny_model_dir):
    """Campaign 24: a link to an empty folder was refused as "exists and is not a folder"."""
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    res = run_cli(
        "train", "--train", str(data_dir / "train.jsonl"), "--output", str(tmp_path / "link"),
        "--model", str(tiny_model_dir), "--max-steps", "1",
    )  # fmt: skip
    assert res.returncode == 2 and "is a symbolic link (to " in res.stderr and "not a folder" not in res.stderr
    assert list((tmp_path / "real").iterdir()) == []


def test_resume_after_a_kill_inside_a_file_commit_takes_its_stale_lock_as_its_own(tmp_path, data_dir, tiny_model_dir):
    """A kill -9 while ba-io committed training_info.json leaves `training_info.json.lock`
    (a lock file, unheld); the next --resume took it for a user's file and refused the run.
    A user's file at that name (not a lock) is still theirs: refused and kept."""
    args = ["--train", str(data_dir / "train.jsonl"), "--model", str(tiny_model_dir), "--max-steps", "2"]
    args += ["--save-steps", "1", "--train-limit", "4", "--keep-checkpoints", "-o", str(tmp_path / "out")]
    out = tmp_path / "out"
    assert run_cli("train", *args).returncode == 0
    (out / "training_info.json").unlink()  # the state a kill inside finish() leaves
    stale = out / "training_info.json.lock"
    stale.write_text("mine\n")
    res = run_cli("train", *args, "--resume")
    assert res.returncode == 2 and "did not write (training_info.json.lock)" in res.stderr, res.stderr
    assert stale.read_text() == "mine\n"
    stale.write_bytes(b"ba-io-lock " + b"2147483646".rjust(12) + b"\n")  # a dead run's tag
    res = run_cli("train", *args, "--resume")
    assert res.returncode == 0, res.stderr
    assert (out / "training_info.json").is_file() and not stale.exists()


def test_a_stale_lock_in_best_is_the_runs_and_a_users_file_there_is_not(tmp_path):
    """The best epoch's adapter is committed by ba-io under `best/adapter_model.safetensors.lock`."""
    from ba_lora.trainer import _foreign_files

    best = tmp_path / "checkpoints" / "best"
    best.mkdir(parents=True)
    (best / "adapter_model.safetensors").write_bytes(b"x")
    lock = best / "adapter_model.safetensors.lock"
    lock.write_bytes(b"ba-io-lock " + b"2147483646".rjust(12) + b"\n")
    assert _foreign_files(tmp_path) == []
    lock.write_text("mine\n")
    assert _foreign_files(tmp_path) == ["checkpoints/best/adapter_model.safetensors.lock"]
    lock.unlink()
    lock.mkdir()
    assert _foreign_files(tmp_path) == ["checkpoints/best/adapter_model.safetensors.lock"]


def test_what_a_kill_inside_a_commit_or_a_checkpoint_save_leaves_is_the_runs(tmp_path):
    """Campaign 30: a kill -9 while ba-io committed prompt.json left `prompt.json.ba-io-PID.R.tmp`
    and the lock's own tmp file; one inside a checkpoint save left safetensors' `.tmpXXXXXX` in
    `checkpoints/step-N.tmp/`; --resume and --overwrite both refused the folder. Names of
    that shape that are not a run's file, or not plain files, are still the user's."""
    from ba_lora.trainer import _foreign_files

    (tmp_path / "prompt.json.ba-io-123.abcd1234.tmp").write_text("{")
    (tmp_path / "prompt.json.lock.ba-io-123.wc6qal_3.tmp").write_text("ba-io-lock")
    partial = tmp_path / "checkpoints" / "step-00000001.tmp"
    partial.mkdir(parents=True)
    (partial / ".tmp46kl3z").write_bytes(b"\0")
    (partial / "adapter_model.safetensors").write_bytes(b"\0")
    assert _foreign_files(tmp_path) == []
    (tmp_path / "notes.txt.ba-io-123.abcd1234.tmp").write_text("mine")  # not a run file's tmp name
    (tmp_path / "prompt.json.ba-io-123.abcdefgh.tmp").mkdir()  # a folder, not a file a write leaves
    (partial / ".tmp-notes").write_text("mine")
    done = tmp_path / "checkpoints" / "step-00000002"
    done.mkdir()
    (done / ".tmp46kl3z").write_bytes(b"\0")  # a finished checkpoint holds no tmp file
    assert _foreign_files(tmp_path) == [
        "checkpoints/step-00000001.tmp/.tmp-notes",
        "checkpoints/step-00000002/.tmp46kl3z",
        "notes.txt.ba-io-123.abcd1234.tmp",
        "prompt.json.ba-io-123.abcdefgh.tmp",
    ]


def test_a_link_put_at_checkpoints_during_the_cleanup_never_has_its_folder_emptied(tmp_path, monkeypatch):
    """Campaign 42 (B D5): the end-of-run cleanup checked `OUT/checkpoints` was no link, then
    walked it by its name: a link put there in between had every file of the folder it led
    to deleted (a user's folder emptied), exit 0. It works through the folder it opened."""
    from ba_lora import trainer

    out = tmp_path / "A"
    step = out / "checkpoints" / "step-00000001"
    step.mkdir(parents=True)
    (step / "state.json").write_text('{"step": 1}')
    (out / "training_info.json").write_text("{}")
    mine = tmp_path / "mine"
    (mine / "step-00000001").mkdir(parents=True)
    (mine / "step-00000001" / "state.json").write_text("the user's\n")
    (mine / "adapter_model.safetensors").write_text("the user's adapter\n")
    real = trainer._remove_through

    def swap_then_remove(folder_fd, keep):
        os.rename(out / "checkpoints", tmp_path / "moved")
        (out / "checkpoints").symlink_to(mine)
        real(folder_fd, keep)

    monkeypatch.setattr(trainer, "check_output_unmoved", lambda out: None)
    monkeypatch.setattr(trainer, "_remove_through", swap_then_remove)
    assert trainer.remove_run_tree(out, "checkpoints") == []
    assert (mine / "step-00000001" / "state.json").read_text() == "the user's\n"
    assert (mine / "adapter_model.safetensors").read_text() == "the user's adapter\n"
    assert list((tmp_path / "moved").iterdir()) == []  # the run's own folder, emptied where it went
    assert (out / "checkpoints").is_symlink()


def test_a_link_put_at_a_checkpoint_inside_during_the_cleanup_is_never_walked_into(tmp_path, monkeypatch):
    """Campaign 43 (B r2): the cleanup opened `checkpoints/` but walked its sub-folders by name
    (os.walk): `step-N/` swapped for a link to a folder of the user's after it was listed had
    that folder emptied, exit 0. Every sub-folder is opened without following a link."""
    from ba_lora import trainer

    out = tmp_path / "A"
    for step in ("step-00000001", "step-00000002"):
        (out / "checkpoints" / step).mkdir(parents=True)
        (out / "checkpoints" / step / "state.json").write_text("{}")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "state.json").write_text("the user's\n")
    real_fwalk = os.fwalk

    def fwalk_then_swap(*args, **kw):  # the swap once the walk has listed checkpoints/ and done one step
        walk = real_fwalk(*args, **kw)
        first = next(walk)
        yield first
        other = "step-00000002" if Path(first[0]).name == "step-00000001" else "step-00000001"
        os.rename(out / "checkpoints" / other, tmp_path / "moved")
        (out / "checkpoints" / other).symlink_to(mine)
        yield from walk

    monkeypatch.setattr(trainer, "check_output_unmoved", lambda out: None)
    monkeypatch.setattr(trainer.os, "fwalk", fwalk_then_swap)
    trainer.remove_run_tree(out, "checkpoints")
    monkeypatch.undo()
    assert (mine / "state.json").read_text() == "the user's\n"


def test_removing_runs_or_checkpoints_keeps_what_the_user_put_there(tmp_path, capsys):
    """Campaign 31: `--overwrite` and the end-of-run cleanup removed `runs/` and `checkpoints/`
    whole; a user's `runs/my_experiment/` or note in `checkpoints/step-N/`, added after the
    start-up check, was deleted, exit 0. Only the run's own files go now."""
    from ba_lora.checkpoint import _remove_checkpoint
    from ba_lora.trainer import remove_run_tree

    step = tmp_path / "checkpoints" / "step-00000001"
    step.mkdir(parents=True)
    for name in ("adapter_model.safetensors", "optimizer.safetensors", "rng-rank0.json"):
        (step / name).write_bytes(b"x")
    (step / "notes.txt").write_text("my note\n")
    (tmp_path / "checkpoints" / "step-00000002").mkdir()
    (tmp_path / "checkpoints" / "step-00000002" / "state.json").write_text('{"step": 2}')
    assert remove_run_tree(tmp_path, "checkpoints") == ["checkpoints/step-00000001/notes.txt"]
    assert [str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")] == [
        "checkpoints",
        "checkpoints/step-00000001",
        "checkpoints/step-00000001/notes.txt",
    ]
    assert "kept checkpoints/step-00000001/notes.txt" in capsys.readouterr().err
    runs = tmp_path / "runs"
    (runs / "my_experiment").mkdir(parents=True)
    (runs / "my_experiment" / "notes.txt").write_text("mine\n")
    (runs / ".ba-lora-runs").write_text("")
    (runs / "events.out.tfevents.1.host.1.0").write_bytes(b"x")
    assert remove_run_tree(tmp_path, "runs") == ["runs/my_experiment"]
    assert sorted(p.name for p in runs.iterdir()) == ["my_experiment"]
    assert remove_run_tree(tmp_path, "missing") == []
    old = tmp_path / "old"  # an older checkpoint rotated out during the run
    old.mkdir()
    (old / "state.json").write_text("{}")
    (old / "notes.txt").write_text("mine\n")
    _remove_checkpoint(old)
    assert [p.name for p in old.iterdir()] == ["notes.txt"]
    (old / "notes.txt").unlink()
    (old / "state.json").write_text("{}")
    _remove_checkpoint(old)
    assert not old.exists()


def test_an_empty_output_is_refused_and_the_current_folder_kept(tmp_path, data_dir, tiny_model_dir, monkeypatch):
    """Campaign 33: `ba-lora train -o ""` (what `-o "$OUT"` gives with OUT unset) named the
    current folder; the run was refused ("--train tr.jsonl is inside --output .") and then
    removed everything in that folder, inputs included, as an output folder it had made."""
    import subprocess
    import sys

    from ba_lora.trainer import _discard_failed_output

    work = tmp_path / "work"
    (work / "data").mkdir(parents=True)
    shutil.copy(data_dir / "train.jsonl", work / "tr.jsonl")
    (work / "thesis.txt").write_text("my thesis\n")
    (work / "data" / "d.csv").write_text("1,2\n")
    exe = Path(sys.executable).with_name("ba-lora")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "ba_lora.cli"]
    for flag in ("-o", "--train", "--model"):
        args = {"--train": "tr.jsonl", "-o": "out", "--model": str(tiny_model_dir), flag: ""}
        res = subprocess.run(
            [*cmd, "train", *[x for kv in args.items() for x in kv], "--max-steps", "1"],
            capture_output=True, text=True, cwd=work, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=600,
        )  # fmt: skip
        assert res.returncode == 2 and res.stderr.count("\n") == 1 and "empty" in res.stderr, (flag, res.stderr)
        assert sorted(p.name for p in work.iterdir()) == ["data", "thesis.txt", "tr.jsonl"]
    monkeypatch.chdir(work)  # and the clean-up of a failed run never removes the folder it runs in
    _discard_failed_output(Path(""))
    _discard_failed_output(Path(".."))
    assert (work / "thesis.txt").read_text() == "my thesis\n" and (work / "data" / "d.csv").exists()


@pytest.mark.parametrize("name", ["training_info.json", "loss_curve.png", "checkpoints", "checkpoints/best"])
def test_a_link_put_at_a_run_files_name_mid_run_is_never_written_through(tmp_path, data_dir, tiny_model_dir, name):
    """Campaign 34: links put mid-run at OUT/training_info.json or loss_curve.png were written
    through (the user's files replaced), at OUT/checkpoints the run saved into the folder it
    pointed at (its rotation removing another run's checkpoints there), and at
    checkpoints/best the user's adapter was replaced; the same links at the start were refused."""
    from ba_lora.trainer import TrainerCallback, remove_run_tree, train

    out, mine = tmp_path / "run", tmp_path / "mine"
    mine.mkdir()
    (mine / "adapter_model.safetensors").write_text("the user's adapter\n")
    (mine / "notes.txt").write_text("the user's notes\n")
    target = mine if name.startswith("checkpoints") else mine / "notes.txt"

    class TheUserLinks(TrainerCallback):
        def on_step(self, state, model):
            if state.global_step == 1 and not (out / name).is_symlink():
                if (out / name).is_dir():
                    remove_run_tree(out, name)
                (out / name).parent.mkdir(parents=True, exist_ok=True)
                (out / name).symlink_to(target)

    val = tmp_path / "val.jsonl"
    val.write_bytes((data_dir / "train.jsonl").read_bytes())
    cfg = TrainConfig(
        train=str(data_dir / "train.jsonl"), val=str(val), output=str(out),
        base_model=str(tiny_model_dir), max_steps=2, train_limit=4, val_limit=2, grad_accum=1, save_steps=1,
        eval_metric=1, eval_max_new_tokens=8, threads=1,
    ).check()  # fmt: skip
    with pytest.raises(UsageError, match=rf"{name.split('/')[-1]}"):
        train(cfg, log=lambda m: None, callbacks=[TheUserLinks()])
    assert (out / name).is_symlink()
    assert sorted((p.name, p.read_text()) for p in mine.iterdir()) == [
        ("adapter_model.safetensors", "the user's adapter\n"), ("notes.txt", "the user's notes\n")
    ]  # fmt: skip


def test_an_output_that_leads_to_the_current_folder_is_refused(tmp_path, data_dir, tiny_model_dir, monkeypatch):
    """Campaign 34: `ba-lora train -o x/..` (x missing) passed every check of the path as
    written and trained into the current folder, replacing the user's prompt.json, exit 0."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "prompt.json").write_text('{"mine": true}\n')
    monkeypatch.chdir(work)
    for output in ("x/..", "x/../..", "./"):
        res = run_cli(
            "train", "--train", str(data_dir / "train.jsonl"), "--model", str(tiny_model_dir),
            "-o", str(work / output) if output == "./" else output, "--max-steps", "1",
        )  # fmt: skip
        assert res.returncode == 2 and "is the current folder (or holds it)" in res.stderr, (output, res.stderr)
    assert sorted(p.name for p in work.iterdir()) == ["prompt.json"]
