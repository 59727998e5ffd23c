"""kill -9 a training run after a checkpoint exists, resume it, and get the result of an
uninterrupted run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import run_cli, train_args
from safetensors.torch import load_file

from ba_io import read_json
from ba_lora.checkpoint import latest_checkpoint, load_checkpoint

ARGS = ("--epochs", "2", "--grad-accum", "4", "--save-steps", "1", "--lr", "5e-3", "--lora-dropout", "0.1")

# the real training run, slowed by a callback (one second after each step) so that it can be
# killed part-way; it changes nothing else
SLOW_TRAIN = """
import sys, time
from ba_lora.cli import _parser
from ba_lora.config import config_from_namespace
from ba_lora.trainer import TrainerCallback, train

class Slow(TrainerCallback):
    def on_step(self, state, model):
        time.sleep(1.0)

train(config_from_namespace(_parser().parse_args(sys.argv[1:])), callbacks=[Slow()])
"""


@pytest.mark.slow
def test_kill_9_then_resume_matches_an_uninterrupted_run(tiny_model_dir, tmp_path, data_dir):
    ref_out = tmp_path / "uninterrupted"
    res = run_cli(*train_args(tiny_model_dir, ref_out, data_dir, *ARGS))
    assert res.returncode == 0, res.stderr
    ref = read_json(ref_out / "training_info.json")
    assert ref["steps"] == 6  # 12 rows / 4 per step x 2 epochs

    out = tmp_path / "killed"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_TRAIN, *train_args(tiny_model_dir, out, data_dir, *ARGS)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    target = out / "checkpoints" / "step-00000002"  # mid-epoch 1: the data-order position matters
    deadline = time.time() + 300
    try:
        while not (target / "state.json").is_file():
            assert proc.poll() is None, "the run ended before it could be killed"
            assert time.time() < deadline, "no checkpoint appeared"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "training_info.json").exists()
    ck = latest_checkpoint(out / "checkpoints")
    step = load_checkpoint(ck)["step"]
    assert 2 <= step < 6
    (out / "checkpoints" / "step-00000099.tmp").mkdir()  # a checkpoint half-written when killed

    res = run_cli(*train_args(tiny_model_dir, out, data_dir, *ARGS, "--resume"))
    assert res.returncode == 0, res.stderr
    assert f"resuming from {ck}" in res.stderr
    got = read_json(out / "training_info.json")
    assert got["resumed_at_steps"] == [step]
    assert got["steps"] == ref["steps"] and got["status"] == "completed"
    for a, b in zip(got["epochs"], ref["epochs"]):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-6)
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-6)
    w_ref = load_file(str(ref_out / "adapter_model.safetensors"))
    w_got = load_file(str(out / "adapter_model.safetensors"))
    assert w_ref.keys() == w_got.keys()
    for k in w_ref:
        assert torch.allclose(w_ref[k], w_got[k], rtol=1e-5, atol=1e-7), k


def test_resume_refuses_changed_settings(tiny_model_dir, tmp_path, data_dir):
    out = tmp_path / "run"
    res = run_cli(
        *train_args(tiny_model_dir, out, data_dir, "--max-steps", "1", "--grad-accum", "2", "--keep-checkpoints")
    )
    assert res.returncode == 0, res.stderr
    assert latest_checkpoint(out / "checkpoints") is not None  # kept, but the run is finished
    res = run_cli(
        *train_args(tiny_model_dir, out, data_dir, "--max-steps", "1", "--grad-accum", "2", "--resume", "--lr", "1e-3")
    )
    assert res.returncode == 2
    assert res.stderr.strip().splitlines()[-1] == (  # campaign 15: it resumed from the kept checkpoint before
        f"Error: --resume: {out} holds a finished run made with lr=0.0002, this run has 0.001; "
        "pass --overwrite to train again (it replaces that adapter)"
    )


def test_resume_of_a_finished_run_reports_it_complete_and_touches_nothing(tiny_model_dir, tmp_path, data_dir):
    """#17.3: `--resume` on a finished run retrained from scratch and overwrote the adapter."""
    out = tmp_path / "run"
    args = ("--max-steps", "1", "--grad-accum", "2")
    assert run_cli(*train_args(tiny_model_dir, out, data_dir, *args)).returncode == 0
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in out.iterdir() if p.is_file()}
    res = run_cli(*train_args(tiny_model_dir, out, data_dir, *args, "--resume"))
    assert res.returncode == 0, res.stderr
    assert "already complete" in res.stderr and "nothing to do" in res.stderr
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in out.iterdir() if p.is_file()} == before


def test_resume_of_a_finished_run_that_kept_its_checkpoints_touches_nothing(tiny_model_dir, tmp_path, data_dir):
    """Campaign 15: with --keep-checkpoints a finished run still has checkpoints, and
    --resume resumed from the last one, rewrote training_info.json and deleted them."""
    out = tmp_path / "run"
    args = ("--max-steps", "2", "--grad-accum", "2", "--save-steps", "1", "--keep-checkpoints")
    assert run_cli(*train_args(tiny_model_dir, out, data_dir, *args)).returncode == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert any("checkpoints" in p.parts for p in before)
    res = run_cli(*train_args(tiny_model_dir, out, data_dir, *args, "--resume"))
    assert res.returncode == 0, res.stderr
    assert "already complete" in res.stderr
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_a_file_of_the_users_inside_a_checkpoint_or_runs_is_never_deleted(tiny_model_dir, tmp_path, data_dir):
    """Campaign 15: --overwrite (and the end of a --resume) deleted a note the user had put
    in checkpoints/step-N/, and a folder of theirs inside runs/ named like an event file."""
    out = tmp_path / "run"
    args = ("--max-steps", "2", "--grad-accum", "2", "--save-steps", "1", "--keep-checkpoints")
    assert run_cli(*train_args(tiny_model_dir, out, data_dir, *args)).returncode == 0
    step = sorted((out / "checkpoints").glob("step-*"))[-1]
    (step / "NOTES.txt").write_text("mine", encoding="utf-8")
    res = run_cli(*train_args(tiny_model_dir, out, data_dir, *args, "--overwrite"))
    assert res.returncode == 2 and f"checkpoints/{step.name}/NOTES.txt" in res.stderr, res.stderr
    assert (step / "NOTES.txt").read_text(encoding="utf-8") == "mine"
    (step / "NOTES.txt").unlink()
    fake = out / "checkpoints" / "step-00000009"  # campaign 16: a user's state.json in a step-like folder
    fake.mkdir()
    (fake / "state.json").write_text('{"mine": true}', encoding="utf-8")
    res = run_cli(*train_args(tiny_model_dir, out, data_dir, *args, "--overwrite"))
    assert res.returncode == 2 and "checkpoints/step-00000009/state.json" in res.stderr, res.stderr
    assert (fake / "state.json").read_text(encoding="utf-8") == '{"mine": true}'
    shutil.rmtree(fake)
    mine = out / "runs" / "events.out.tfevents.my-experiment"
    mine.mkdir(parents=True)
    (mine / "data.csv").write_text("1,2\n", encoding="utf-8")
    res = run_cli(*train_args(tiny_model_dir, out, data_dir, *args, "--overwrite"))
    assert res.returncode == 2 and "runs/events.out.tfevents.my-experiment" in res.stderr, res.stderr
    assert (mine / "data.csv").read_text(encoding="utf-8") == "1,2\n"
    shutil.rmtree(mine)
    best = out / "checkpoints" / "best"
    best.mkdir(exist_ok=True)
    users = best / "adapter_model.safetensors.2024.backup.tmp"  # named like a tmp file, not ours
    users.write_text("mine", encoding="utf-8")
    res = run_cli(*train_args(tiny_model_dir, out, data_dir, *args, "--overwrite"))
    assert res.returncode == 2 and f"checkpoints/best/{users.name}" in res.stderr, res.stderr
    assert users.read_text(encoding="utf-8") == "mine"
    users.unlink()
    killed = best / "adapter_model.safetensors.ba-io-99999999.k1llk1ll.tmp"  # what a kill leaves (ba-io's name)
    killed.write_bytes(b"torn")
    res = run_cli(*train_args(tiny_model_dir, out, data_dir, *args, "--overwrite"))
    assert res.returncode == 0, res.stderr


def test_resume_of_a_finished_run_with_other_data_is_an_error(tiny_model_dir, tmp_path, data_dir):
    out = tmp_path / "run"
    args = ("--max-steps", "1", "--grad-accum", "2")
    assert run_cli(*train_args(tiny_model_dir, out, data_dir, *args)).returncode == 0
    adapter = (out / "adapter_model.safetensors").read_bytes()
    other = tmp_path / "train.jsonl"
    other.write_text(
        "".join((data_dir / "train.jsonl").read_text(encoding="utf-8").splitlines(True)[:-1]), encoding="utf-8"
    )
    cmd = [
        a if a != str(data_dir / "train.jsonl") else str(other)
        for a in train_args(tiny_model_dir, out, data_dir, *args, "--resume")
    ]
    res = run_cli(*cmd)
    assert res.returncode == 2
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith(f"Error: --resume: {out} holds a finished run made with train_sha256=")
    assert last.endswith("pass --overwrite to train again (it replaces that adapter)")
    assert (out / "adapter_model.safetensors").read_bytes() == adapter


def test_resume_from_a_damaged_newest_checkpoint_is_an_error(tiny_model_dir, tmp_path, data_dir):
    out = tmp_path / "run"
    args = ("--max-steps", "2", "--grad-accum", "2", "--save-steps", "1", "--keep-checkpoints")
    assert run_cli(*train_args(tiny_model_dir, out, data_dir, *args)).returncode == 0
    (out / "training_info.json").unlink()  # as if killed before finishing
    newest = latest_checkpoint(out / "checkpoints")
    (newest / "state.json").unlink()
    res = run_cli(*train_args(tiny_model_dir, out, data_dir, *args, "--resume"))
    assert res.returncode == 2
    assert res.stderr.strip().splitlines()[-1] == (
        f"Error: --resume: the newest checkpoint {newest} has no state.json (damaged); "
        "remove it to resume from an older one, or pass --overwrite to start over"
    )
    assert newest.is_dir()


def test_a_second_run_on_the_same_output_is_refused_at_once(tiny_model_dir, tmp_path, data_dir):
    from ba_io import output_lock

    out = tmp_path / "run"
    with output_lock(out):  # a first run, still training
        res = run_cli(*train_args(tiny_model_dir, out, data_dir, "--max-steps", "1"))
    assert res.returncode == 2
    assert res.stderr.strip().splitlines()[-1].startswith(f"Error: {out}: another run is writing it")
    assert not out.exists()


def _checkpointed_run(tiny_model_dir, tmp_path, data_dir):
    out = tmp_path / "run"
    args = ("--max-steps", "1", "--grad-accum", "2", "--keep-checkpoints")
    assert run_cli(*train_args(tiny_model_dir, out, data_dir, *args)).returncode == 0
    (out / "training_info.json").unlink()  # as if killed after the checkpoint
    return out, args, latest_checkpoint(out / "checkpoints")


def test_a_bit_flipped_checkpoint_is_refused_on_resume(tiny_model_dir, tmp_path, data_dir):
    """#17.6: checkpoints carry the sha256 of their tensors; a changed file is not resumed."""
    out, args, ck = _checkpointed_run(tiny_model_dir, tmp_path, data_dir)
    f = ck / "adapter_model.safetensors"
    data = bytearray(f.read_bytes())
    data[-3] ^= 0x10
    f.write_bytes(bytes(data))
    res = run_cli(*train_args(tiny_model_dir, out, data_dir, *args, "--resume"))
    assert res.returncode == 1
    assert res.stderr.strip().splitlines()[-1] == (
        f"Error: {f}: checksum mismatch: the file changed after the checkpoint was written; delete this "
        "checkpoint to resume from an older one, or train again with --overwrite"
    )


def test_a_truncated_checkpoint_names_its_path_and_the_remedy(tiny_model_dir, tmp_path, data_dir):
    """#17.11: SafetensorError '... incomplete metadata' named no path and no remedy."""
    out, args, ck = _checkpointed_run(tiny_model_dir, tmp_path, data_dir)
    state = json.loads((ck / "state.json").read_text())
    state.pop("sha256")  # a checkpoint of an older version, without checksums
    (ck / "state.json").write_text(json.dumps(state))
    f = ck / "optimizer.safetensors"
    f.write_bytes(f.read_bytes()[:40])
    res = run_cli(*train_args(tiny_model_dir, out, data_dir, *args, "--resume"))
    assert res.returncode == 1
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith(f"Error: {ck}: unreadable checkpoint (")
    assert last.endswith("delete it to resume from an older one, or train again with --overwrite")


@pytest.mark.parametrize(
    "flag, value",
    [
        ("--lr", "inf"),
        ("--lora-alpha", "inf"),
        ("--weight-decay", "nan"),
        ("--max-grad-norm", "nan"),
        ("--warmup-ratio", "nan"),
    ],
)
def test_non_finite_settings_are_refused(tiny_model_dir, tmp_path, data_dir, flag, value):
    res = run_cli(*train_args(tiny_model_dir, tmp_path / "run", data_dir, flag, value))
    assert res.returncode == 2
    assert res.stderr.strip().splitlines()[-1] == f"Error: {flag} must be a finite number (got {float(value)})"
    assert not (tmp_path / "run").exists()


def test_more_threads_than_cpus_is_refused(tiny_model_dir, tmp_path, data_dir):
    """#17.10: --threads 100000 segfaulted."""
    res = run_cli(*train_args(tiny_model_dir, tmp_path / "run", data_dir, "--threads", "100000"))
    assert res.returncode == 2
    assert (
        res.stderr.strip()
        .splitlines()[-1]
        .startswith(f"Error: --threads 100000: this machine has {os.cpu_count()} CPUs")
    )


def test_a_lora_rank_above_the_hidden_size_is_refused_before_loading(tiny_model_dir, tmp_path, data_dir):
    """Campaign 25 (r3): --lora-r 100000 on a 576-wide model allocated until memory ran out
    and ended in an internal error; the tiny model here is 64 wide."""
    res = run_cli(*train_args(tiny_model_dir, tmp_path / "run", data_dir, "--lora-r", "100000"))
    assert res.returncode == 2
    assert res.stderr.strip().splitlines()[-1] == (
        "Error: --lora-r 100000 is more than the model's hidden size of 64; use at most 64"
    )
    assert not (tmp_path / "run").exists()


# a run whose forward pass turns non-finite after step 2: a frozen base weight is set to NaN
# (the adapter stays finite, so what the guard keeps can be checked)
POISONED_TRAIN = """
import sys
from ba_lora.cli import _parser
from ba_lora.config import config_from_namespace
from ba_lora.trainer import TrainerCallback, train

class Poison(TrainerCallback):
    def on_step(self, state, model):
        if state.global_step == 2:
            frozen = next(p for p in model.parameters() if not p.requires_grad and p.dim() == 1)
            frozen.data.fill_(float("nan"))

train(config_from_namespace(_parser().parse_args(sys.argv[1:])), callbacks=[Poison()])
"""


def test_a_diverging_run_stops_with_an_error_and_writes_no_nan_adapter(tiny_model_dir, tmp_path, data_dir):
    """#17.6: a run whose loss became nan wrote an all-NaN adapter_model.safetensors."""
    out = tmp_path / "run"
    args = train_args(tiny_model_dir, out, data_dir, "--grad-accum", "1", "--max-steps", "6", "--save-steps", "1")
    res = subprocess.run(
        [sys.executable, "-c", POISONED_TRAIN, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        timeout=600,
    )
    assert res.returncode != 0, res.stderr
    last = res.stderr.strip().splitlines()[-1]
    assert "training diverged: the loss is nan at step 3 (epoch 1)" in last, last
    assert not (out / "adapter_model.safetensors").exists() and not (out / "training_info.json").exists()
    cks = sorted((out / "checkpoints").glob("step-*"))
    assert [ck.name for ck in cks] == ["step-00000001", "step-00000002"]
    for ck in cks:
        for t in load_file(str(ck / "adapter_model.safetensors")).values():
            assert torch.isfinite(t).all()


def test_an_absurd_learning_rate_or_seed_is_refused(tiny_model_dir, tmp_path, data_dir):
    """Campaign 3: --lr 1e12 "completed" with a validation loss of 10.8; a seed beyond 64 bits
    overflowed after the data was tokenised; --max-length beyond the model's context was taken."""
    for flag, value, message in (
        ("--lr", "1e12", "Error: --lr must be above 0 and at most 1 (got 1e+12)"),
        ("--seed", "9" * 23, "Error: --seed must be between 0 and 4294967295"),
        ("--max-length", "20000", "Error: --max-length 20000 is more than the model's context of 4096 tokens"),
    ):
        res = run_cli(*train_args(tiny_model_dir, tmp_path / "run", data_dir, flag, value))
        assert res.returncode == 2 and res.stderr.strip().splitlines()[-1].startswith(message), res.stderr
        assert not (tmp_path / "run").exists()


def _replace_weights_in_place(model_dir):
    """The base model's weights replaced by other ones under the same folder (scaled by 0.5)."""
    from safetensors.torch import save_file

    f = model_dir / "model.safetensors"
    tensors = {k: (v * 0.5).contiguous() for k, v in load_file(str(f)).items()}
    save_file(tensors, str(f), metadata={"format": "pt"})


def test_resume_on_base_weights_replaced_in_place_is_an_error(tiny_model_dir, tmp_path, data_dir):
    """Campaign 22 D3: a checkpoint was resumed on other weights under the same --model, and
    the adapter was trained on two models; a finished run was reported complete for them."""
    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    out, args, ck = _checkpointed_run(model, tmp_path, data_dir)
    _replace_weights_in_place(model)
    res = run_cli(*train_args(model, out, data_dir, *args, "--resume"))
    assert res.returncode == 2
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith(f"Error: --resume: {ck} was made with base model files ")
    assert last.endswith("resume with the same settings (the same model files) or pass --overwrite")
    assert ck.is_dir() and not (out / "training_info.json").exists()


def test_resume_of_a_finished_run_on_replaced_base_weights_is_an_error(tiny_model_dir, tmp_path, data_dir):
    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    out = tmp_path / "run"
    args = ("--max-steps", "1", "--grad-accum", "2")
    assert run_cli(*train_args(model, out, data_dir, *args)).returncode == 0
    info = json.loads((out / "training_info.json").read_text())
    assert len(info["base_model_files"]) == 64
    adapter = (out / "adapter_model.safetensors").read_bytes()
    _replace_weights_in_place(model)
    res = run_cli(*train_args(model, out, data_dir, *args, "--resume"))
    assert res.returncode == 2
    assert "holds a finished run made with base model files" in res.stderr.strip().splitlines()[-1]
    assert (out / "adapter_model.safetensors").read_bytes() == adapter


def test_resume_of_a_finished_run_under_another_spelling_of_its_inputs_reports_it_complete(
    tiny_model_dir, tmp_path, data_dir
):
    """Campaign 24: a byte-identical copy of the prompt file at another path, `hf:DIR/` for
    `hf:DIR` and a NOTES.txt added to the base folder each made --resume refuse a finished run
    as one of other settings; the prompt counts by its text and the base by its folder's model
    files."""
    out, prompt = tmp_path / "run", tmp_path / "p1.json"
    import ba_llm

    prompt.write_bytes((Path(ba_llm.__file__).parent / "default_prompt.json").read_bytes())
    copy = tmp_path / "p2.json"
    copy.write_bytes(prompt.read_bytes())
    args = ("--max-steps", "1", "--grad-accum", "2")
    assert run_cli(*train_args(tiny_model_dir, out, data_dir, *args, "--prompt", str(prompt))).returncode == 0
    (tiny_model_dir / "NOTES.txt").write_text("mine")
    try:
        for extra in (("--prompt", str(copy)), ("--prompt", str(prompt), "--model", f"hf:{tiny_model_dir}/")):
            res = run_cli(*train_args(tiny_model_dir, out, data_dir, *args, *extra, "--resume"))
            assert res.returncode == 0 and "already complete" in res.stderr, res.stderr
    finally:
        (tiny_model_dir / "NOTES.txt").unlink()


def test_a_full_disk_while_checkpointing_names_the_checkpoint(tmp_path, monkeypatch):
    """Campaign 24: a full disk during a checkpoint was `Error: SafetensorError: ... (os error
    28)`, exit 1, naming nothing; it is now an OSError (exit 2) naming the checkpoint."""
    import errno

    from ba_lora import checkpoint

    class SafetensorError(Exception):
        pass

    def full(*a, **k):
        raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")

    monkeypatch.setattr(checkpoint, "save_file", full)
    with pytest.raises(OSError) as exc:
        # rank 0 (it makes step-N.tmp/, which every rank then writes through): the first write fails
        checkpoint.save_checkpoint(tmp_path / "ck", 3, adapter=None, optimizer=None, state=None, rank=0)
    assert exc.value.errno == errno.ENOSPC and exc.value.filename == str(tmp_path / "ck" / "step-00000003")


def test_a_checkpoint_saved_over_a_folder_holding_a_users_file_keeps_it(tmp_path, capsys):
    """Campaign 32: `--overwrite` kept a note the user put into `checkpoints/step-N/` (and
    said so), then the new run's save of step N removed that folder whole, note included,
    exit 0. A save, and the removal of a killed save's `step-N.tmp/`, remove only a
    checkpoint's own files; the note stays beside the new checkpoint, which loads."""
    import torch

    from ba_lora import checkpoint

    root = tmp_path / "checkpoints"
    for name in ("step-00000001", "step-00000002.tmp", "step-00000003.tmp"):
        (root / name).mkdir(parents=True)
        (root / name / "state.json").write_text("{}")  # an earlier run's file: replaced
        (root / name / "notes.txt").write_text(f"my note in {name}\n")
    (root / "step-00000003.tmp" / ".tmpAb12Cd").write_bytes(b"x")  # safetensors' tmp file: the run's
    checkpoint.remove_partial(root)
    assert sorted(p.name for p in (root / "step-00000003.tmp").iterdir()) == ["notes.txt"]
    assert "kept" in capsys.readouterr().err
    weight = torch.nn.Parameter(torch.ones(2, 2))
    optimizer = torch.optim.AdamW([weight], lr=0.1)
    weight.grad = torch.ones(2, 2)
    optimizer.step()
    for step in (1, 2):
        final = checkpoint.save_checkpoint(
            root, step, adapter={"w": weight.detach()}, optimizer=optimizer, state={"step": step}, keep=5
        )
        assert (final / "notes.txt").read_text().startswith("my note in step-0000000")
        assert checkpoint.load_checkpoint(final)["step"] == step
        assert not (root / f"step-{step:08d}.tmp").exists()
    assert (root / "step-00000001" / "notes.txt").read_text() == "my note in step-00000001\n"
    assert (root / "step-00000002" / "notes.txt").read_text() == "my note in step-00000002.tmp\n"


def test_a_link_put_at_a_checkpoints_name_mid_run_is_never_followed(tmp_path):
    """Campaign 33: `ln -s mine B/checkpoints/step-N` while the run went on: the save of step
    N followed the link, replaced the user's adapter_model.safetensors and state.json in
    `mine/`, and the rotation then removed them, exit 0. The save now stops the run with one
    error naming the link, and the rotation never looks through a link."""
    import torch

    from ba_io import UsageError
    from ba_lora import checkpoint

    mine = tmp_path / "mine"
    mine.mkdir()
    for name in ("adapter_model.safetensors", "state.json", "notes.txt"):
        (mine / name).write_text(f"the user's {name}\n")
    root = tmp_path / "checkpoints"
    weight = torch.nn.Parameter(torch.ones(2, 2))
    optimizer = torch.optim.AdamW([weight], lr=0.1)
    save = lambda step: checkpoint.save_checkpoint(  # noqa: E731
        root, step, adapter={"w": weight.detach()}, optimizer=optimizer, state={"step": step}, keep=1
    )
    save(1)
    for name in ("step-00000002", "step-00000002.tmp"):
        (root / name).symlink_to(mine)
        with pytest.raises(UsageError, match=rf"{name}: is a symbolic link put there during the run"):
            save(2)
        assert (root / name).is_symlink()
        assert sorted(p.read_text() for p in mine.iterdir()) == [
            "the user's adapter_model.safetensors\n", "the user's notes.txt\n", "the user's state.json\n"
        ]  # fmt: skip
        (root / name).unlink()
    (root / "step-00000000").symlink_to(mine)  # an older "checkpoint" the rotation would remove
    save(3)
    assert [p.name for p in checkpoint.list_checkpoints(root)] == ["step-00000003"]
    assert len(list(mine.iterdir())) == 3 and (root / "step-00000000").is_symlink()


@pytest.mark.parametrize("when", ["made", "written"])
def test_a_link_swapped_in_for_a_checkpoints_tmp_folder_mid_save_is_never_written_through(tmp_path, monkeypatch, when):
    """Campaign 40 (D2): `step-N.tmp/` swapped for a link to a folder of the user's just
    after the save made it (or after its first file) had the checkpoint written into that
    folder, the user's adapter replaced, exit 0. The save writes through the folder it
    made, never through its name, and renames it only while the name still holds it."""
    import torch

    from ba_io import UsageError
    from ba_lora import checkpoint

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "adapter_model.safetensors").write_text("the user's adapter\n")
    root = tmp_path / "checkpoints"
    tmp = root / "step-00000001.tmp"
    real_capture = checkpoint.capture_rng
    real_save_file = checkpoint.save_file

    def swap():
        os.rename(tmp, tmp_path / "moved")
        tmp.symlink_to(mine)

    def capture():  # the first thing the save does once the folder is made
        if when == "made":
            swap()
        return real_capture()

    def save_file(tensors, name, *rest, **kw):
        real_save_file(tensors, name, *rest, **kw)
        if when == "written" and name.endswith("rng-rank0.safetensors"):
            swap()

    monkeypatch.setattr(checkpoint, "capture_rng", capture)
    monkeypatch.setattr(checkpoint, "save_file", save_file)
    weight = torch.nn.Parameter(torch.ones(2, 2))
    optimizer = torch.optim.AdamW([weight], lr=0.1)
    with pytest.raises(UsageError, match="step-00000001.tmp"):
        checkpoint.save_checkpoint(
            root, 1, adapter={"w": weight.detach()}, optimizer=optimizer, state={"step": 1}, keep=1
        )
    assert sorted(p.name for p in mine.iterdir()) == ["adapter_model.safetensors"]
    assert (mine / "adapter_model.safetensors").read_text() == "the user's adapter\n"
    assert tmp.is_symlink() and not (root / "step-00000001").exists()


@pytest.mark.parametrize("when", ["before it is placed", "after it is placed"])
@pytest.mark.parametrize("empty", [False, True])
def test_a_users_folder_moved_onto_a_checkpoints_tmp_folder_as_it_is_made_is_kept(tmp_path, monkeypatch, when, empty):
    """Campaign 42 (B D1): a folder of the user's moved onto `step-N.tmp` just after the save's
    `mkdir` by that name (`mv -T mine step-N.tmp` replaces an empty folder) was taken for the
    save's own: its adapter replaced, the folder renamed to `step-N`, exit 0. Campaign 43 (B
    r4): an EMPTY one could not be told apart and was later removed. The folder is made under
    a private name, opened there and renamed into place only where nothing is; the save opens
    it again and it must be the same folder."""
    import torch

    from ba_io import UsageError
    from ba_lora import checkpoint

    mine = tmp_path / "mine"
    mine.mkdir()
    if not empty:
        (mine / "adapter_model.safetensors").write_text("the user's adapter\n")
    before = os.stat(mine).st_ino
    root = tmp_path / "checkpoints"
    tmp = root / "step-00000001.tmp"
    real_rename, real_own_folder = checkpoint.rename_noreplace, checkpoint._own_folder

    def rename(src, dst):
        if when == "before it is placed":
            os.rename(mine, dst)  # the user's folder takes the name first
        return real_rename(src, dst)

    def own_folder(path, shown=None):
        if when == "after it is placed" and path.name == tmp.name and os.path.lexists(mine):
            os.rename(path, tmp_path / "moved")
            os.rename(mine, path)
        return real_own_folder(path, shown)

    monkeypatch.setattr(checkpoint, "rename_noreplace", rename)
    monkeypatch.setattr(checkpoint, "_own_folder", own_folder)
    weight = torch.nn.Parameter(torch.ones(2, 2))
    optimizer = torch.optim.AdamW([weight], lr=0.1)
    with pytest.raises(UsageError, match="step-00000001.tmp: is (a folder or file|not the folder this save made)"):
        checkpoint.save_checkpoint(
            root, 1, adapter={"w": weight.detach()}, optimizer=optimizer, state={"step": 1}, keep=1
        )
    assert os.stat(tmp).st_ino == before  # the user's folder, where they put it, as it was
    assert sorted(p.name for p in tmp.iterdir()) == ([] if empty else ["adapter_model.safetensors"])
    assert not (root / "step-00000001").exists()
    assert not [p.name for p in root.iterdir() if checkpoint.UNPLACED.match(p.name)]  # no private folder left


def test_a_save_killed_before_it_placed_its_folder_leaves_nothing_the_next_save_keeps(tmp_path):
    """What a kill between making the tmp folder at its private name and placing it leaves
    (an empty `step-N.tmp.RANDOM.new/`) is removed by the next save, and the trainer's check
    of its output does not take it for the user's; one holding anything stays."""
    import torch

    from ba_lora import checkpoint
    from ba_lora.trainer import _foreign_files

    root = tmp_path / "out" / "checkpoints"
    (root / "step-00000001.tmp.abcd1234.new").mkdir(parents=True)
    assert _foreign_files(tmp_path / "out") == []
    (root / "step-00000002.tmp.efgh5678.new").mkdir()
    (root / "step-00000002.tmp.efgh5678.new" / "notes.txt").write_text("mine\n")
    assert _foreign_files(tmp_path / "out") == ["checkpoints/step-00000002.tmp.efgh5678.new"]
    weight = torch.nn.Parameter(torch.ones(2, 2))
    optimizer = torch.optim.AdamW([weight], lr=0.1)
    checkpoint.save_checkpoint(root, 3, adapter={"w": weight.detach()}, optimizer=optimizer, state={"step": 3}, keep=1)
    assert sorted(p.name for p in root.iterdir()) == ["step-00000002.tmp.efgh5678.new", "step-00000003"]


def test_removing_a_checkpoints_own_files_never_works_through_a_link_put_there(tmp_path, monkeypatch):
    """Campaign 42 (B, D5's pattern): the removal of a checkpoint's own files (rotation, a
    killed save's `step-N.tmp/`) checked the folder was no link, then listed it by name: a
    link put there in between had the user's files of checkpoint names (`state.json`, an
    adapter) deleted. It lists and removes through the folder it opened."""
    from ba_lora import checkpoint

    step = tmp_path / "checkpoints" / "step-00000001"
    step.mkdir(parents=True)
    (step / "state.json").write_text('{"step": 1}')
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "adapter_model.safetensors").write_text("the user's adapter\n")
    real_open = os.open

    def open_then_swap(path, flags, *rest, **kw):
        fd = real_open(path, flags, *rest, **kw)
        if os.fspath(path) == os.fspath(step):
            os.rename(step, tmp_path / "moved")
            step.symlink_to(mine)
        return fd

    monkeypatch.setattr(checkpoint.os, "open", open_then_swap)
    checkpoint._remove_own_files(step)
    monkeypatch.undo()
    assert (mine / "adapter_model.safetensors").read_text() == "the user's adapter\n"
    assert list((tmp_path / "moved").iterdir()) == []  # the run's own folder, emptied where it went
    assert checkpoint._remove_own_files(step) == [step.name]  # a link: not ours, nothing touched
    assert step.is_symlink() and (mine / "adapter_model.safetensors").exists()


def test_a_link_put_at_the_checkpoints_folder_or_a_checkpoint_after_its_check_is_never_followed(tmp_path, monkeypatch):
    """Campaign 41 (r3, r5): a link put at `OUT/checkpoints` just after the save checked it
    had the checkpoint made in the folder it led to, an earlier run's `step-1` replaced; a
    link put at `step-N` (which held a note of the user's) just after its check had the files
    moved into the user's folder, its adapter replaced. The save works through the folders
    it opened, never through their names."""
    import torch

    from ba_io import UsageError
    from ba_lora import checkpoint

    keep = tmp_path / "keep"
    for name in ("checkpoints/step-00000001", "A"):
        (keep / name).mkdir(parents=True)
        (keep / name / "adapter_model.safetensors").write_text("the user's adapter\n")
    root = tmp_path / "checkpoints"
    weight = torch.nn.Parameter(torch.ones(2, 2))
    optimizer = torch.optim.AdamW([weight], lr=0.1)
    save = lambda step: checkpoint.save_checkpoint(  # noqa: E731
        root, step, adapter={"w": weight.detach()}, optimizer=optimizer, state={"step": step}, keep=1
    )
    real_capture = checkpoint.capture_rng

    def swap_the_folder():
        os.rename(root, tmp_path / "moved")
        root.symlink_to(keep / "checkpoints")
        return real_capture()

    monkeypatch.setattr(checkpoint, "capture_rng", swap_the_folder)
    save(1)  # made in the folder it opened, wherever that went
    monkeypatch.setattr(checkpoint, "capture_rng", real_capture)
    assert (keep / "checkpoints" / "step-00000001" / "adapter_model.safetensors").read_text() == "the user's adapter\n"
    assert (tmp_path / "moved" / "step-00000001" / "state.json").is_file()

    root.unlink()
    root.mkdir()
    (root / "step-00000002").mkdir()
    (root / "step-00000002" / "notes.txt").write_text("mine\n")
    real_check = checkpoint.check_own_folder
    checks = []

    def swap_the_checkpoint(path):
        real_check(path)
        checks.append(path)
        if path.name == "step-00000002" and len(checks) == 4:  # its last check, before the move
            os.rename(path, tmp_path / "moved-2")
            path.symlink_to(keep / "A")

    monkeypatch.setattr(checkpoint, "check_own_folder", swap_the_checkpoint)
    with pytest.raises(UsageError, match="step-00000002: is a symbolic link or a file, put there during the run"):
        save(2)
    assert sorted(p.name for p in (keep / "A").iterdir()) == ["adapter_model.safetensors"]
    assert (keep / "A" / "adapter_model.safetensors").read_text() == "the user's adapter\n"


def test_an_output_folder_re_pointed_mid_run_stops_the_next_save(tmp_path):
    """Campaign 39 (r2): `-o out/A` with `out -> run1` re-pointed mid-run to `keep`, which
    held an earlier run's `A`: the run saved its adapter into keep/A and removed that run's
    TensorBoard log, exit 0. A save into the output now checks it still leads where it did."""
    import torch

    from ba_io import UsageError, pin_folder
    from ba_lora import checkpoint

    run1, keep = tmp_path / "run1", tmp_path / "keep"
    (run1 / "A").mkdir(parents=True)
    (keep / "A" / "checkpoints").mkdir(parents=True)
    (keep / "A" / "adapter_model.safetensors").write_text("the earlier run's adapter\n")
    out = tmp_path / "out"
    out.symlink_to(run1)
    pin_folder(out / "A", again=True)
    weight = torch.nn.Parameter(torch.ones(2, 2))
    optimizer = torch.optim.AdamW([weight], lr=0.1)
    save = lambda step: checkpoint.save_checkpoint(  # noqa: E731
        out / "A" / "checkpoints",
        step,
        adapter={"w": weight.detach()},
        optimizer=optimizer,
        state={"step": step},
        keep=1,
    )
    save(1)
    out.unlink()
    out.symlink_to(keep)  # mid-run
    with pytest.raises(UsageError, match=r"out/A: now leads to .*keep/A, not to .*run1/A where this run began"):
        save(2)
    assert sorted(p.name for p in (keep / "A").rglob("*")) == ["adapter_model.safetensors", "checkpoints"]


def test_a_failed_run_never_removes_the_folder_its_re_pointed_output_now_leads_to(tmp_path):
    """Campaign 39 (r2): the run stopped at the re-pointed output (the test above), then its
    clean-up removed `out/A`, by then the earlier run's keep/A, adapter and all."""
    from ba_io import pin_folder
    from ba_lora.trainer import _discard_failed_output

    run1, keep = tmp_path / "run1", tmp_path / "keep"
    (run1 / "A").mkdir(parents=True)
    (keep / "A").mkdir(parents=True)
    (keep / "A" / "adapter_model.safetensors").write_text("the earlier run's adapter\n")
    out = tmp_path / "out"
    out.symlink_to(run1)
    pin_folder(out / "A", again=True)
    out.unlink()
    out.symlink_to(keep)  # mid-run
    _discard_failed_output(out / "A")
    assert (keep / "A" / "adapter_model.safetensors").read_text() == "the earlier run's adapter\n"
