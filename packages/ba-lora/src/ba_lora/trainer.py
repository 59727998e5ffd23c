"""The training loop of ``ba-lora train``.

Loss normalisation: an optimizer step covers ``batch_size x grad_accum`` samples (the
last step of an epoch may cover fewer). Its loss is the summed next-token cross-entropy
over every answer token of those samples divided by their answer-token count, the
token-weighted mean transformers' Trainer uses with gradient accumulation. Because the
count is known before the step, each micro-batch contributes ``sum / count``, so how the
samples are grouped into micro-batches or spread over processes does not change the
gradient (DDP averages over processes; each process scales by the process count).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ba_io import (
    DataError,
    UsageError,
    check_not_reserved,
    check_not_under_file,
    check_not_working_folder,
    distinct_paths,
    is_lock_file,
    is_tmp_name,
    output_lock,
    pin_folder,
    progress,
)
from ba_llm import limit_kernel_cache, release_free_memory

from .checkpoint import (
    CHECKPOINT_FILES,
    CHECKPOINTS,
    SAFETENSORS_TMP,
    UNPLACED,
    check_output_unmoved,
    damaged_checkpoints,
    latest_checkpoint,
    load_checkpoint,
    remove_partial,
    restore_rng,
    save_checkpoint,
)
from .config import TrainConfig
from .data import Sample, collate, encode_rows, epoch_steps, micro_batches, padded_length, split_for_rank
from .lean import use_lean_activations
from .modeling import (
    AnswerLoss,
    add_lora,
    check_bnb4,
    compute_dtype,
    load_base_model,
    load_tokenizer,
    resolve_base_dir,
    trainable_parameters,
    use_fast_dropout,
)
from .noise import batch_noise
from .outputs import (
    ADAPTER_TMP_PREFIX,
    ResultWriter,
    dataset_info,
    fingerprint,
    fingerprint_mismatch,
    fingerprint_of,
)
from .recompute import LayerRecompute, default_above
from .report import RUNS_MARKER
from .sources import load_rows

__all__ = ["train", "lr_factor", "TrainerCallback", "TrainerState"]

# fields that may differ between a checkpoint and the run resuming it (no effect on the result)
RESUME_FREE = {
    "resume",
    "overwrite",
    "keep_checkpoints",
    "save_steps",
    "save_total_limit",
    "micro_batch_tokens",
    "pad_to_multiple",
    "gradient_checkpointing",
    "checkpoint_above",
    "eval_max_new_tokens",
    "threads",
}


@dataclass
class TrainerState:
    """JSON-serialisable progress of a run (saved in every checkpoint)."""

    global_step: int = 0
    epoch: int = 0
    step_in_epoch: int = 0
    epoch_loss_sum: float = 0.0
    epoch_tokens: int = 0
    epoch_steps: int = 0
    epoch_seconds: float = 0.0
    step_losses: list = field(default_factory=list)
    epochs: list = field(default_factory=list)
    best_val: float | None = None
    best_content: float | None = None
    best_contents: list | None = None  # the best epoch's per-concept content (--eval-metric)
    best_epoch: int | None = None
    bad_epochs: int = 0
    real_tokens: int = 0
    answer_tokens: int = 0
    computed_tokens: int = 0
    recompute_above: int = 0  # --checkpoint-above as resolved (ba_lora.recompute)
    layers_recomputed: int = 0  # decoder-layer passes run again in the backward pass (this process's)
    layers_run: int = 0  # decoder-layer passes in all (one per layer and micro-batch of this process)
    train_seconds: float = 0.0
    train_cpu_seconds: float = 0.0
    eval_seconds: float = 0.0
    wall_seconds: float = 0.0
    status: str | None = None
    resumed_at: list = field(default_factory=list)


def _criterion(cfg: TrainConfig) -> str:
    return "content score (beyond its noise) or validation loss" if cfg.eval_metric else "validation loss"


def _no_improvement(cfg: TrainConfig) -> str:
    """What early stopping waited for, as :func:`_track_best` decides it."""
    delta = cfg.early_stopping_min_delta
    if cfg.eval_metric:
        return (
            f"no content gain beyond its noise (max({delta}, 2 standard errors of the per-concept "
            f"differences)) and no validation loss lower than the best epoch's by more than {delta} with "
            "content within it"
        )
    return f"no validation loss lower than the best epoch's by more than {delta}"


def content_noise(new: list[float] | None, best: list[float] | None, delta: float) -> float:
    """How far apart two epochs' content must be to count: ``max(delta, 2 x the standard
    error of the per-concept differences)`` on the same held-out concepts; ``delta`` when either
    epoch has no per-concept scores (a checkpoint of an older version), there is one concept, or
    a score is not finite."""
    d = [a - b for a, b in zip(new or [], best or [])]
    if not new or not best or len(new) != len(best) or len(new) < 2 or not all(map(math.isfinite, d)):
        return delta
    return max(delta, 2 * statistics.stdev(d) / math.sqrt(len(d)))


def _track_best(
    st: TrainerState,
    cfg: TrainConfig,
    val_loss: float | None,
    content: float | None,
    contents: list[float] | None = None,
) -> str | None:
    """Update the best epoch after an epoch. Returns what made this epoch the new best
    (``"first"``: the first epoch tracked, ``"content"``: its content gain beyond the noise,
    ``"val_loss"``: a lower validation loss, with content within the noise under
    ``--eval-metric``), or None when it is not.

    With ``--eval-metric`` content decides only beyond its noise (:func:`content_noise`, from
    the per-concept ``contents``): an epoch is the new best when its mean content is higher than
    the best one's by more than that, or when it is not lower by more than that and its
    validation loss is lower by more than ``early_stopping_min_delta``. Four concepts cannot
    tell 0.912 from 0.902: a 2026-12-07 run kept epoch 1 on those figures (validation loss 0.181
    against 0.123), and its epoch 2 scored 11.8 content points more on the 42 curated concepts.
    Without ``--eval-metric`` the lowest validation loss decides (by more than the delta).
    Without a validation set nothing is tracked.

    When a single concept differs, its change is exactly one standard error, so it never
    counts: one document's change is no evidence about the adapter, whatever its size (with
    K = 4, a concept falling from 1.0 to 0.0 is a mean change of 0.25 against a noise of 0.5).
    Each epoch is compared with the best one so far, so over many epochs content may drift
    down by less than the noise per epoch while validation loss falls.
    """
    delta = cfg.early_stopping_min_delta
    by: str | None = None
    if cfg.eval_metric and content is not None:
        lower_loss = val_loss is not None and st.best_val is not None and val_loss < st.best_val - delta
        if st.best_content is None:
            by = "first"
        else:
            noise = content_noise(contents, st.best_contents, delta)
            gain = content - st.best_content
            by = "content" if gain > noise else "val_loss" if gain >= -noise and lower_loss else None
        if by:
            st.best_content, st.best_val = content, val_loss
            st.best_contents = list(contents) if contents else None
    elif val_loss is not None:
        by = "first" if st.best_val is None else "val_loss" if val_loss < st.best_val - delta else None
        if by:
            st.best_val = val_loss
    else:
        return None
    if by:
        st.best_epoch, st.bad_epochs = st.epoch + 1, 0
    else:
        st.bad_epochs += 1
    return by


def lr_factor(step: int, total: int, warmup: int) -> float:
    """transformers' linear schedule with warm-up, for the step about to be taken (0-based)."""
    if step < warmup:
        return step / max(1, warmup)
    return max(0.0, (total - step) / max(1, total - warmup))


class _Dist:
    """The few collective operations the loop needs (no-ops in a single process)."""

    def __init__(self) -> None:
        from accelerate import Accelerator

        # torchrun / `accelerate launch --multi_gpu` on a machine without CUDA: accelerate
        # only sets up multi-CPU (gloo) DDP when told to use the CPU
        multi = int(os.environ.get("WORLD_SIZE", "1")) > 1
        self.acc = Accelerator(cpu=multi and not torch.cuda.is_available())
        self.rank = self.acc.process_index
        self.world = self.acc.num_processes
        self.device = self.acc.device
        self.main = self.acc.is_main_process

    def barrier(self) -> None:
        if self.world > 1:
            self.acc.wait_for_everyone()

    def sum(self, values: list[float]) -> list[float]:
        if self.world == 1:
            return values
        t = torch.tensor(values, dtype=torch.float64, device=self.device)
        torch.distributed.all_reduce(t)
        return t.tolist()

    def wrap(self, module: torch.nn.Module) -> torch.nn.Module:
        if self.world == 1:
            return module
        return self.acc.prepare_model(module, device_placement=False)


class _Finished(Exception):
    """``--resume`` found this run already finished with the same settings and data."""

    def __init__(self, info: dict[str, Any]):
        super().__init__("finished")
        self.info = info


def _check_resumable(out: Path, fp: dict[str, Any]) -> None:
    """Under ``--resume`` (without ``--overwrite``): a damaged newest checkpoint, or a finished
    run made with other settings or data, is an error naming it; a finished run made with the
    same ones raises :class:`_Finished` (nothing is touched)."""
    ckroot = out / CHECKPOINTS
    good, damaged = latest_checkpoint(ckroot), damaged_checkpoints(ckroot)
    if damaged and (good is None or damaged[-1].name > good.name):
        raise UsageError(
            f"--resume: the newest checkpoint {damaged[-1]} has no state.json (damaged); "
            "remove it to resume from an older one, or pass --overwrite to start over"
        )
    info_path = out / "training_info.json"
    if not info_path.is_file():
        return
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        if good is not None:  # an interrupted run: its checkpoint says where to go on
            return
        raise UsageError(f"--resume: {info_path} is unreadable ({exc}); pass --overwrite to start over") from None
    if good is not None and not (isinstance(info, dict) and info.get("status")):
        return  # checkpoints and no finished result: an interrupted run, resumed from its newest checkpoint
    # a finished run (with --keep-checkpoints it still has checkpoints: resuming from the last
    # one rewrote its results and deleted the checkpoints the user had asked to keep)
    saved = fingerprint_of(
        info.get("parameters") or {},
        info.get("datasets") or {},
        (info.get("prompt") or {}).get("sha256"),
        RESUME_FREE,
        info.get("base_model_files"),
    )
    if "base_model_files" not in info:  # a run of an older version: it did not record them
        saved.pop("base_model_files")
    key = fingerprint_mismatch(saved, fp)
    if key is not None:
        raise UsageError(
            f"--resume: {out} holds a finished run made with {_what(key, saved)}, this run "
            f"has {_what(key, fp, named=False)}; pass --overwrite to train again (it replaces that adapter)"
        )
    raise _Finished(info)


def _what(key: str, fp: dict[str, Any], *, named: bool = True) -> str:
    """``key=value`` of a fingerprint (``value`` alone when not ``named``); the base model's
    files in words."""
    if key == "base_model_files":
        value = f"{str(fp.get(key))[:12]}..."
        return (
            f"base model files {value}"
            if named
            else f"{value} (name, size and time of each weight, config and tokenizer file of --model)"
        )
    return f"{key}={fp.get(key)!r}" if named else repr(fp.get(key))


#: every name ba-lora train writes into --output (a folder holding anything else is the user's)
RUN_FILES = frozenset(
    {
        CHECKPOINTS,
        "runs",
        "training_info.json",
        "loss_curve.png",
        "adapter_model.safetensors",
        "adapter_config.json",
        "prompt.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "chat_template.jinja",
        "special_tokens_map.json",
        "vocab.json",
        "merges.txt",
        "tokenizer.model",
        "added_tokens.json",
        "generation_config.json",
    }
)


_EVENTS = re.compile(r"^events\.out\.tfevents\.[\w.-]+\Z")  # what TensorBoard writes into runs/
_CHECKPOINT = re.compile(r"^step-\d{8}(\.tmp)?\Z")


def _in_checkpoint(name: str) -> bool:
    """A file of a checkpoint folder (``checkpoint.CHECKPOINT_FILES``)."""
    return CHECKPOINT_FILES.match(name) is not None


def _in_partial_checkpoint(name: str) -> bool:
    """``step-N.tmp/``, a checkpoint being written (removed by ``checkpoint.remove_partial``),
    may also hold safetensors' tmp file (campaign 30: a kill inside a save left
    ``.tmp46kl3z`` there, and --resume and --overwrite refused the folder)."""
    return _in_checkpoint(name) or SAFETENSORS_TMP.match(name) is not None


def _in_best(name: str) -> bool:
    """best/ holds the best epoch's adapter, written through ba_io.atomic_path (whose tmp
    file a kill can leave)."""
    return name == "adapter_model.safetensors" or is_tmp_name("adapter_model.safetensors", name)


def _stale_lock(p: Path, names: frozenset[str] | set[str]) -> bool:
    """``p`` is what ba-io leaves when a kill lands inside the commit of one of ``names``: its
    lock file (``training_info.json.lock``, a plain file holding a lock's tag; a user's file
    at that name holds anything else and stays foreign, as ba-io refuses to take it too), the
    lock's own tmp file, or the tmp file of the write (campaign 30: ``prompt.json.ba-io-PID.
    RANDOM.tmp`` and ``prompt.json.lock.ba-io-PID.RANDOM.tmp`` made --resume and --overwrite
    refuse the folder). ba-io sweeps those tmp files once their writer is gone."""
    if not _plain_file(p):
        return False
    if p.name.endswith(".lock") and p.name[: -len(".lock")] in names:
        return is_lock_file(p)
    return any(is_tmp_name(n, p.name) or is_tmp_name(n + ".lock", p.name) for n in names)


def _foreign_files(out: Path) -> list[str]:
    """What in ``out`` a run does not write: other names at the top; inside ``runs/``
    anything but TensorBoard event files; inside ``checkpoints/`` anything but step folders
    and ``best/``, and inside those anything but their files (a user's
    ``runs/my_experiment/`` and a note inside ``checkpoints/step-N/`` were deleted with the
    run's own files)."""
    # campaign 17: a link at a run file's name (prompt.json -> a file elsewhere) was written through
    found = [
        p.name
        for p in out.iterdir()
        if (p.name not in RUN_FILES or p.is_symlink()) and not _adapter_tmp(p) and not _stale_lock(p, RUN_FILES)
    ]
    # campaign 19: a folder at a run *file's* name (`loss_curve.png/notes.txt`) is the user's
    found += [p.name for p in out.iterdir() if p.name in RUN_FILES - _RUN_FOLDERS and p.is_dir() and not p.is_symlink()]
    runs, ckroot = out / "runs", out / CHECKPOINTS
    for d in (runs, ckroot):
        if not d.is_symlink() and d.exists() and not d.is_dir():
            found.append(d.name)
    if runs.is_dir() and not runs.is_symlink():
        found += [
            f"runs/{p.name}"
            for p in runs.iterdir()
            if not (_EVENTS.match(p.name) or p.name == RUNS_MARKER) or not _plain_file(p)
        ]
    if ckroot.is_dir() and not ckroot.is_symlink():
        for p in ckroot.iterdir():
            rule = (
                (_in_partial_checkpoint if p.name.endswith(".tmp") else _in_checkpoint)
                if _CHECKPOINT.match(p.name)
                else _in_best
                if p.name == "best"
                else None
            )
            if rule is None and UNPLACED.match(p.name) and not p.is_symlink() and p.is_dir() and not any(p.iterdir()):
                continue  # a killed save's empty folder at its private name: the next save removes it
            if rule is None or p.is_symlink() or not p.is_dir():
                found.append(f"{CHECKPOINTS}/{p.name}")
                continue
            found += [
                f"{CHECKPOINTS}/{p.name}/{f.name}"
                for f in p.iterdir()
                if not (rule(f.name) or _stale_lock(f, _BEST_FILES)) or not _plain_file(f)
            ]
            if rule is _in_checkpoint and (p / "state.json").is_file() and not _state_of_step(p):
                found.append(f"{CHECKPOINTS}/{p.name}/state.json")  # campaign 16: a user's file by that name
    return sorted(found)


_RUN_FOLDERS = frozenset({CHECKPOINTS, "runs"})
#: what best/ holds, committed by ba-io one file at a time (each under its own lock file)
_BEST_FILES = frozenset({"adapter_model.safetensors"})

#: the folder ``ResultWriter.finish`` builds the adapter in (``tempfile``'s 8 random
#: characters); a run killed inside ``finish`` leaves it (campaign 18: the next --resume
#: refused the folder as the user's)
_ADAPTER_TMP = re.compile("^" + re.escape(ADAPTER_TMP_PREFIX) + r"[a-z0-9_]{8}\Z")


def _adapter_tmp(p: Path) -> bool:
    """``p`` is what a kill inside ``finish`` leaves: the temp name, holding only plain files
    a run writes (campaign 21: a user's `.ba-lora-adapter-notes123/mine.txt` was deleted)."""
    if _ADAPTER_TMP.match(p.name) is None or not p.is_dir() or p.is_symlink():
        return False
    return all(f.name in RUN_FILES | {"README.md"} and _plain_file(f) for f in p.iterdir())


def _state_of_step(folder: Path) -> bool:
    """``folder/state.json`` is a checkpoint's: a JSON object whose ``step`` is the folder's."""
    try:
        state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    step = folder.name.removesuffix(".tmp").removeprefix("step-")
    return isinstance(state, dict) and state.get("step") == int(step)


def _same_path(a: str, b: str) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def _plain_file(p: Path) -> bool:
    return p.is_file() and not p.is_symlink()


def _earlier_run(out: Path) -> bool:
    """Evidence that ``out`` holds a run of ours: a checkpoint (``checkpoints/step-N/`` with
    its ``state.json``) or a ``training_info.json`` that is valid against its schema. A
    file that only has the name (``{"note": "mine"}``) or an empty ``checkpoints/`` is not."""
    from ba_io import read_json

    ckroot = out / CHECKPOINTS
    if ckroot.is_dir() and any((d / "state.json").is_file() for d in ckroot.iterdir() if _CHECKPOINT.match(d.name)):
        return True
    info = out / "training_info.json"
    if not info.is_file():
        return False
    try:
        read_json(info, "training-info")
    except (DataError, UsageError, OSError):
        return False
    return True


def _prepare_output(cfg: TrainConfig, out: Path, dist: _Dist, fp: dict[str, Any]) -> Path | None:
    """Check / clean the output directory; return the checkpoint to resume from."""
    ckroot = out / CHECKPOINTS
    pin_folder(out, again=True)  # campaign 39: where it leads now is where the run writes
    check_not_reserved(out, "--output")  # campaign 41: a run at a tmp folder's name was removed whole
    check_not_under_file(out, "--output")
    # campaign 34: `-o x/..` (x missing) passed every check made on the path as written and
    # trained into the current folder, replacing the user's prompt.json
    check_not_working_folder(out, "--output", "ba-lora train")
    if out.is_symlink():  # campaign 24: the message said "is not a folder" of a link to an empty folder
        raise UsageError(
            f"--output {out}: is a symbolic link (to {os.readlink(out)}); give the folder itself or a new folder"
        )
    if out.exists() and not out.is_dir():
        raise UsageError(f"--output {out}: exists and is not a folder; choose a new folder")
    earlier = _earlier_run(out)
    foreign = _foreign_files(out) if out.is_dir() else []
    if not foreign and out.is_dir() and not earlier:
        # run-file names but no run made them (no checkpoint, no valid training_info.json):
        # only what a run killed before its first checkpoint leaves (its TensorBoard logs, a
        # half-written step folder) is taken as ours
        foreign = sorted(p.name for p in out.iterdir() if p.name not in ("runs", CHECKPOINTS))
        runs = out / "runs"
        if runs.is_dir() and any(runs.iterdir()) and not (runs / RUNS_MARKER).is_file():
            foreign.append("runs/ (TensorBoard logs of another program)")
    if foreign:  # a fresh start cleans the folder: it must hold nothing but what a run writes
        shown = ", ".join(foreign[:3]) + (" ..." if len(foreign) > 3 else "")
        raise UsageError(
            f"--output {out}: holds files ba-lora train did not write ({shown}); choose a new or empty folder"
        )
    if earlier and not (cfg.resume or cfg.overwrite):  # every process raises: none waits at a barrier
        raise UsageError(f"{out} holds an earlier run; pass --resume to continue it or --overwrite to start over")
    if cfg.resume and not cfg.overwrite:
        _check_resumable(out, fp)
    dist.barrier()
    if dist.main:
        remove_partial(ckroot)
        out.mkdir(parents=True, exist_ok=True)
        for p in out.iterdir():  # a killed finish()'s adapter folder
            if _adapter_tmp(p):
                shutil.rmtree(p, ignore_errors=True)
    dist.barrier()
    ck = latest_checkpoint(ckroot) if cfg.resume else None
    dist.barrier()
    return ck


def _check_rank(base_dir: Path, rank: int) -> None:
    """A LoRA rank above the model's hidden size adds nothing a full-rank update would not,
    and allocates for it (campaign 25: `--lora-r 100000` on a 576-wide model ran out of
    memory after a minute, an internal error): refused before any weights are loaded."""
    import json

    try:
        hidden = json.loads((base_dir / "config.json").read_text(encoding="utf-8")).get("hidden_size")
    except (OSError, ValueError, AttributeError):
        return  # check_model_folder has judged the file already
    if isinstance(hidden, int) and rank > hidden:
        raise UsageError(f"--lora-r {rank} is more than the model's hidden size of {hidden}; use at most {hidden}")


def _check_no_input_inside(out: Path, *inputs: tuple[str, str | None]) -> None:
    """No input may lie inside ``--output``: a fresh start deletes the earlier run's files
    there, and a run rewrites them (campaign 19: `--overwrite --prompt OUT/prompt.json` deleted
    the prompt it had read; a kill then left a run that no rerun could repeat)."""
    if not out.exists():
        return
    root = out.resolve()
    for flag, path in inputs:
        if path is not None and root in Path(path).resolve().parents:
            raise UsageError(
                f"{flag} {path} is inside --output {out}, whose files a run replaces; nothing was written: "
                "copy it out of that folder first"
            )


def _clear_earlier_results(out: Path) -> None:
    """A fresh start: no result of an earlier run may look current. Called once every check
    has passed and the model is loaded (campaign 18: a run refused for its
    ``--target-modules`` had already deleted the earlier run's results), it removes every
    file a run writes, ``training_info.json`` (the evidence that OUT holds a run) last, so
    a kill at any point leaves a folder the next run still takes as its own."""
    check_output_unmoved(out)
    for name in sorted(RUN_FILES - {"training_info.json"}):
        p = out / name
        if p.is_dir() and not p.is_symlink():
            remove_run_tree(out, name)
        elif p.exists() or p.is_symlink():
            p.unlink(missing_ok=True)
    (out / "training_info.json").unlink(missing_ok=True)


def remove_run_tree(out: str | Path, sub: str) -> list[str]:
    """Remove ``out/sub`` (``runs``, ``checkpoints``) but for what the user put there:
    whatever :func:`_foreign_files` names in it is kept, with the folders holding it, and
    said on stderr (campaign 31: a user's ``runs/my_experiment/`` added while the model
    loaded for an ``--overwrite``, or a note put in ``checkpoints/step-N/`` during the run,
    was deleted with the whole folder, exit 0). Returns what was kept."""
    check_output_unmoved(Path(out))
    out = Path(out)
    kept = [f for f in _foreign_files(out) if f == sub or f.startswith(sub + "/")]
    root = out / sub
    try:  # campaign 42: a link put at `checkpoints` after a check by name had the folder it led to emptied
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:  # gone, a link or not a folder: nothing of ours to remove
        return kept
    try:
        _remove_through(fd, {Path(f).relative_to(sub) for f in kept})
        with contextlib.suppress(OSError):
            if os.path.samestat(os.lstat(root), os.fstat(fd)):
                root.rmdir()
    finally:
        os.close(fd)
    if kept:
        print(
            f"warning: kept {', '.join(kept[:3])}{' ...' if len(kept) > 3 else ''} in {out}: not ba-lora's",
            file=sys.stderr,
        )
    return kept


def _remove_through(folder_fd: int, keep: set[Path]) -> None:
    """Remove what the folder open as ``folder_fd`` holds, through it and through every
    sub-folder opened without following a link (``os.fwalk``; campaign 43: ``os.walk`` went
    into a sub-folder swapped for a link after it was listed, and emptied the folder it led
    to), but for the paths in ``keep`` (relative to it) and the folders holding them."""
    if Path(".") in keep:
        return
    for folder, dirs, files, at in os.fwalk(".", topdown=False, follow_symlinks=False, dir_fd=folder_fd):
        here = Path(folder)
        if here in keep or any(k in here.parents for k in keep):
            continue
        for name in files:
            if here / name not in keep:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(name, dir_fd=at)
        for name in dirs:
            with contextlib.suppress(OSError):  # not empty: it holds a kept file
                os.rmdir(name, dir_fd=at)


def _load_rows(path: str, limit: int | None, prompt: Any, split: str) -> list[dict[str, Any]]:
    rows = load_rows(path, prompt, split=split)
    return rows[:limit] if limit is not None else rows


def _groups(indices: list[int], samples: list[Sample], cfg: TrainConfig) -> list[list[int]]:
    """One step's (or the validation set's) micro-batches, sized as ``collate`` pads them."""
    return micro_batches(indices, samples, cfg.batch_size, cfg.micro_batch_tokens, cfg.pad_to_multiple, cfg.max_length)


def _collate(samples: list[Sample], group: list[int], pad_id: int, device: Any, cfg: TrainConfig) -> dict[str, Any]:
    """The micro-batch ``group`` of ``samples``, padded as ``cfg`` says (``data.collate``)."""
    return collate([samples[i] for i in group], pad_id, device, cfg.pad_to_multiple, cfg.max_length)


def _loss_over(
    loss_mod: AnswerLoss, samples: list[Sample], idx: list[int], cfg: TrainConfig, pad_id: int, dist: _Dist
) -> float | None:
    """Mean answer-token loss over ``samples`` (validation), shared across processes."""
    if not samples:
        return None
    mine = split_for_rank(idx, dist.rank, dist.world)
    total, count = 0.0, 0
    was = loss_mod.training
    loss_mod.eval()
    with torch.no_grad():
        for g in _groups(mine, samples, cfg):
            s, n = loss_mod(**_collate(samples, g, pad_id, dist.device, cfg))
            total += float(s)
            count += int(n)
    loss_mod.train(was)
    summed, tokens = dist.sum([total, float(count)])
    return summed / tokens if tokens else None


class TrainerCallback:
    """Hooks into a training run: subclass and override what you need (``train(cfg,
    callbacks=[...])``). Called on the first process only."""

    def on_step(self, state: TrainerState, model: Any) -> None:
        """After each optimizer step (``state.global_step`` is the step just taken; ``model``
        the peft model being trained)."""

    def on_epoch_end(self, state: TrainerState, record: dict[str, Any]) -> None:
        """After each epoch's evaluation (``record``: the ``epochs`` entry of training_info)."""


def train(
    cfg: TrainConfig, log: Callable[[str], None] | None = None, callbacks: Sequence[TrainerCallback] = ()
) -> dict[str, Any]:
    """Run LoRA training as configured; return the ``training_info`` dict (also written to
    ``OUTPUT/training_info.json`` with the adapter, tokenizer, prompt.json and the plots).

    The first process holds ``OUTPUT.lock`` for the run: a second run on the same
    ``--output`` fails at once instead of interleaving checkpoints with this one."""
    cfg.check()
    if int(os.environ.get("RANK", "0")) != 0:
        return _Run(cfg, log, callbacks).run()
    with output_lock(cfg.output):
        created = bool(cfg.output) and not os.path.lexists(os.path.abspath(cfg.output))
        try:
            return _Run(cfg, log, callbacks).run()
        except BaseException:
            if created:
                _discard_failed_output(Path(cfg.output))
            raise


def _discard_failed_output(out: Path) -> None:
    """A run that made ``out`` and failed before its first checkpoint leaves nothing there
    that --resume could use: remove the folder it made (campaign 18: a run refused after the
    folder was made left it empty behind); one with a checkpoint keeps it, to resume."""
    try:  # campaign 33: `-o ""` named the current folder, and everything in it was removed
        check_not_working_folder(out, "--output", "ba-lora train")
        check_output_unmoved(out)  # campaign 39: re-pointed mid-run, it led to an earlier run's folder
    except UsageError:
        return
    if out.is_dir() and not out.is_symlink() and latest_checkpoint(out / CHECKPOINTS) is None:
        kept = _foreign_files(out)
        if kept:  # campaign 34: a link the user put there mid-run went with the folder
            print(f"warning: kept {out}: it holds {', '.join(kept[:3])}, not ba-lora's", file=sys.stderr)
            return
        shutil.rmtree(out, ignore_errors=True)


class _Run:
    """One training run, in named steps: :meth:`set_up` (inputs, output folder, samples,
    model, optimizer), :meth:`resume`, :meth:`step` (one optimizer step), :meth:`end_epoch`
    (validation loss, in-training metric, best epoch, early stopping, checkpoint) and
    :meth:`finish` (the kept adapter and every result file)."""

    def __init__(self, cfg: TrainConfig, log: Callable[[str], None] | None,
                 callbacks: Sequence[TrainerCallback]) -> None:  # fmt: skip
        self.t_start = time.perf_counter()
        limit_kernel_cache()  # before the first product: oneDNN's kernels per shape (ba_llm.memory)
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.cfg, self.callbacks = cfg, tuple(callbacks)
        self.dist = _Dist()
        if cfg.quantization == "bnb4":
            check_bnb4(self.dist.device)  # fail at once, before any data or model is loaded
        self.log = log or self._print
        self.out = Path(cfg.output)
        self.st = TrainerState()

    def _print(self, msg: str) -> None:
        if self.dist.main:
            print(msg, file=sys.stderr)

    def run(self) -> dict[str, Any]:
        try:
            ckpt = self.set_up_inputs()
        except _Finished as done:
            self.log(
                f"{self.out}: this run is already complete (status {done.info.get('status')}, "
                f"{done.info.get('steps')} steps); nothing to do (--overwrite trains again)"
            )
            return done.info
        self.set_up_model()
        if ckpt is not None:
            self.resume(ckpt)
        else:
            torch.manual_seed(self.cfg.seed + self.dist.rank)
        self.set_up_loop(resumed=ckpt is not None)
        self.train_epochs()
        return self.finish()

    # ---- set-up
    def set_up_inputs(self) -> Path | None:
        """Prompt, rows, base model dir, fingerprint and the output folder; the checkpoint
        to resume from (None: a fresh start). Inputs first: a missing or invalid dataset is
        reported before the (slower) model checks."""
        from ba_llm.prompt import load_prompt

        cfg, dist = self.cfg, self.dist
        self.prompt = load_prompt(cfg.prompt)
        self.train_rows = _load_rows(cfg.train, cfg.train_limit, self.prompt, "train")
        self.val_rows = _load_rows(cfg.val, cfg.val_limit, self.prompt, "validation") if cfg.val else []
        self.base_dir = resolve_base_dir(cfg.base_model)
        from ba_llm import check_max_new_tokens, check_model_folder

        check_model_folder(self.base_dir)  # campaign 17: a corrupt base failed after --output was made

        check_max_new_tokens(f"hf:{self.base_dir}", cfg.max_length, "--max-length")  # beyond the context
        _check_rank(self.base_dir, cfg.lora_r)
        if not self.train_rows:
            raise UsageError(f"{cfg.train}: no training rows")
        if cfg.batch_size * cfg.grad_accum < dist.world:
            raise UsageError(
                f"--batch-size x --grad-accum ({cfg.batch_size * cfg.grad_accum}) is below the number of "
                f"processes ({dist.world}): every process needs a sample per step"
            )
        # one dataset folder for both (its train and validation splits) is what --help documents
        same_folder = cfg.val is not None and Path(cfg.train).is_dir() and _same_path(cfg.train, cfg.val)
        distinct_paths(("--train", cfg.train), ("--val", None if same_folder else cfg.val), ("--output", cfg.output))
        distinct_paths(("--val", cfg.val), ("--output", cfg.output))
        _check_no_input_inside(self.out, ("--train", cfg.train), ("--val", cfg.val), ("--prompt", cfg.prompt))
        self.datasets = {"train": dataset_info(cfg.train, len(self.train_rows))}
        if cfg.val:
            self.datasets["val"] = dataset_info(cfg.val, len(self.val_rows), "validation")
        from ba_llm import model_files_fingerprint

        self.fp = fingerprint(
            cfg, self.datasets, self.prompt, RESUME_FREE, model_files_fingerprint(f"hf:{self.base_dir}")
        )
        return _prepare_output(cfg, self.out, dist, self.fp)

    def set_up_model(self) -> None:
        """Tokenise the rows, load the base model, add LoRA, make the optimizer."""
        cfg, dist = self.cfg, self.dist
        self.tokenizer = load_tokenizer(self.base_dir)
        self.pad_id = self.tokenizer.pad_token_id
        total = len(self.train_rows) + len(self.val_rows)
        bar = progress(total=total, desc="tokenise", unit="row") if dist.main else None
        self.train_s, self.skipped = encode_rows(self.tokenizer, self.prompt, self.train_rows, cfg.max_length, bar)
        self.val_s, self.val_skipped = encode_rows(self.tokenizer, self.prompt, self.val_rows, cfg.max_length, bar)
        if bar is not None:
            bar.close()
        if not self.train_s:
            raise UsageError(f"--max-length {cfg.max_length} leaves no answer tokens in any training sample")
        for split, ids in (("training", self.skipped), ("validation", self.val_skipped)):
            if ids and dist.main:  # campaign 24: a row dropped without a word (its id only in training_info)
                shown = ", ".join(ids[:5]) + (" ..." if len(ids) > 5 else "")
                print(
                    f"warning: {len(ids)} {split} row(s) not used, their prompt alone fills --max-length "
                    f"{cfg.max_length} ({shown}); raise --max-length to keep them (training_info.json samples)",
                    file=sys.stderr,
                )
        torch.manual_seed(cfg.seed)
        model = load_base_model(self.base_dir, cfg.quantization, dist.device, cfg.gradient_checkpointing)
        if not cfg.gradient_checkpointing:  # which recomputes whole layers anyway
            use_lean_activations(model)  # norms and SwiGLU keep their inputs only (ba_lora.lean)
        from ba_llm import check_tokenizer_fits

        check_tokenizer_fits(model, self.tokenizer, self.base_dir)
        model = add_lora(model, cfg.lora_r, cfg.lora_alpha, cfg.lora_dropout, cfg.target_module_list())
        above = cfg.checkpoint_above
        if above is None:
            above = default_above(dist.device.type, compute_dtype(cfg.quantization, dist.device) == torch.float32)
        # the longest micro-batches recompute some layers (ba_lora.recompute); all of them do with
        # --gradient-checkpointing
        self.recompute = LayerRecompute(model, 0 if cfg.gradient_checkpointing else above)
        if self.recompute.recomputes_nothing and dist.main:
            print(f"warning: {self.base_dir.name} has no decoder layers transformers can checkpoint; "
                  "--checkpoint-above recomputes nothing", file=sys.stderr)  # fmt: skip
        if dist.device.type == "cpu":
            use_fast_dropout(model)  # torch's CPU dropout spends ~9 % of a step drawing its mask
        self.model = model
        self.params = trainable_parameters(model)
        self.optimizer = torch.optim.AdamW(self.params, lr=cfg.lr, weight_decay=cfg.weight_decay)

    def resume(self, ckpt: Path) -> None:
        """Adapter, optimizer, progress and RNG state from ``ckpt``, made with the same settings."""
        from peft import set_peft_model_state_dict

        data = load_checkpoint(ckpt, self.dist.rank)
        saved_fp = data["trainer"].get("fingerprint", {})
        key = fingerprint_mismatch(saved_fp, self.fp)
        if key is not None:
            raise UsageError(
                f"--resume: {ckpt} was made with {_what(key, saved_fp)}, this run has "
                f"{_what(key, self.fp, named=False)}; resume with the same settings (the same model files) or pass --overwrite"
            )
        set_peft_model_state_dict(self.model, data["adapter"])
        self.optimizer.load_state_dict(data["optimizer"])
        known = {k: v for k, v in data["trainer"].items() if k in TrainerState.__dataclass_fields__}
        self.st = TrainerState(**known)
        self.st.resumed_at.append(self.st.global_step)
        if data["rng"] is not None:
            restore_rng(*data["rng"])
        self.log(f"resuming from {ckpt} (step {self.st.global_step}, epoch {self.st.epoch + 1})")

    def set_up_loop(self, *, resumed: bool) -> None:
        """The compute dtype, the loss module (DDP-wrapped), the schedule and the writers."""
        cfg, dist = self.cfg, self.dist
        self.model.train()
        bf16 = cfg.quantization == "bf16" and compute_dtype("bf16", dist.device) == torch.bfloat16
        if cfg.quantization == "bf16" and not bf16:
            forced = os.environ.get("BA_BF16", "").strip() == "0"
            why = "BA_BF16=0" if forced else "bf16 is not faster than float32 here (ba_llm.precision)"
            self.log(f"{dist.device.type}: {why}; training computes in float32 (set BA_BF16=1 to force bf16)")
        self.loss_mod = AnswerLoss(self.model, torch.bfloat16 if bf16 else None)
        self.ddp = dist.wrap(self.loss_mod)
        self.steps_per_epoch = math.ceil(len(self.train_s) / (cfg.batch_size * cfg.grad_accum))
        full = self.steps_per_epoch * cfg.epochs
        self.total_steps = full if cfg.max_steps is None else min(cfg.max_steps, full)
        self.warmup = math.ceil(cfg.warmup_ratio * self.total_steps)
        purge = self.st.global_step + 1 if resumed else None
        if not resumed and dist.main:
            _clear_earlier_results(self.out)
        dist.barrier()
        self.writer = ResultWriter(self.out, cfg, dist.main, purge_step=purge)
        self.st.recompute_above = self.recompute.above
        self.load_seconds = time.perf_counter() - self.t_start
        self.wall_before = self.st.wall_seconds

    def _state_dict(self) -> dict[str, Any]:
        self.st.wall_seconds = self.wall_before + time.perf_counter() - self.t_start
        d = dict(self.st.__dict__)
        d["fingerprint"] = self.fp
        return d

    def checkpoint(self) -> None:
        from peft import get_peft_model_state_dict

        dist = self.dist
        save_checkpoint(
            self.out / CHECKPOINTS,
            self.st.global_step,
            adapter=get_peft_model_state_dict(self.model) if dist.main else None,
            optimizer=self.optimizer,
            state=self._state_dict() if dist.main else None,
            rank=dist.rank,
            keep=self.cfg.save_total_limit,
            barrier=dist.barrier,
        )

    # ---- the loop
    def train_epochs(self) -> None:
        cfg, st = self.cfg, self.st
        self.bar = progress(total=self.total_steps, desc="train", unit="step") if self.dist.main else None
        if self.bar is not None:
            self.bar.update(min(st.global_step, self.total_steps))
        while st.status is None and st.epoch < cfg.epochs:
            steps = epoch_steps(len(self.train_s), cfg.batch_size * cfg.grad_accum, cfg.seed, st.epoch)
            stop_max = False
            while st.step_in_epoch < len(steps):
                self.step(steps[st.step_in_epoch])
                stop_max = cfg.max_steps is not None and st.global_step >= cfg.max_steps
                if stop_max:
                    break
                if cfg.save_steps and st.global_step % cfg.save_steps == 0 and st.step_in_epoch < len(steps):
                    self.checkpoint()
            self.end_epoch(complete=st.step_in_epoch >= len(steps), stop_max=stop_max)
        if self.bar is not None:
            self.bar.close()

    def step(self, idxs: list[int]) -> float:
        """One optimizer step over the samples ``idxs`` (split across processes, in
        micro-batches); the loss is the mean over the step's answer tokens. Returns it."""
        cfg, st, dist, train_s = self.cfg, self.st, self.dist, self.train_s
        t0, c0 = time.perf_counter(), time.process_time()
        step_tokens = sum(train_s[i].n_answer for i in idxs)
        mine = split_for_rank(idxs, dist.rank, dist.world)
        weight = 1.0 if mine else 0.0
        groups = _groups(mine or idxs[:1], train_s, cfg)
        local = 0.0
        for gi, g in enumerate(groups):
            batch = _collate(train_s, g, self.pad_id, dist.device, cfg)
            if cfg.neftune_alpha > 0:
                batch["embed_noise"] = self._noise(g, batch["input_ids"].shape[1])
            last = gi == len(groups) - 1
            ctx = self.ddp.no_sync() if (dist.world > 1 and not last) else contextlib.nullcontext()
            self.st.layers_recomputed += self.recompute.set_for(batch["input_ids"].numel())
            self.st.layers_run += len(self.recompute.layers)
            with ctx:
                loss_sum, _ = self.ddp(**batch)
                (loss_sum * (weight * dist.world / step_tokens)).backward()
            local += float(loss_sum.detach()) * weight
        (step_sum,) = dist.sum([local])
        loss = step_sum / step_tokens
        if not math.isfinite(loss):  # before the optimizer step: the adapter stays as it was
            raise UsageError(
                f"training diverged: the loss is {loss} at step {st.global_step + 1} (epoch "
                f"{st.epoch + 1}); nothing after the last checkpoint was kept. Train again with "
                f"--overwrite and a lower --lr (this run: {cfg.lr:g})"
            )
        if cfg.max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(self.params, cfg.max_grad_norm)
        lr = cfg.lr * lr_factor(st.global_step, self.total_steps, self.warmup)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        release_free_memory()  # the step's freed activations back to the OS (ba_llm.memory)
        self._count(idxs, step_sum, step_tokens, loss, lr, time.perf_counter() - t0, time.process_time() - c0)
        return loss

    def _noise(self, group: list[int], longest: int) -> torch.Tensor:
        """The NEFTune noise of the micro-batch ``group`` padded to ``longest`` tokens."""
        embed = self.model.get_input_embeddings()
        return batch_noise(
            group,
            [self.train_s[i].length for i in group],
            longest,
            embed.embedding_dim,
            self.cfg.neftune_alpha,
            self.cfg.seed,
            self.st.epoch,
            embed.weight.dtype,
            self.dist.device,
        )

    def _count(self, idxs: list[int], step_sum: float, step_tokens: int, loss: float, lr: float, dt: float,
               cpu: float) -> None:  # fmt: skip
        """The step's figures into the state, TensorBoard, the progress bar and the callbacks."""
        cfg, st, dist, train_s = self.cfg, self.st, self.dist, self.train_s
        computed = sum(
            len(g) * padded_length(train_s[g[0]].length, cfg.pad_to_multiple, cfg.max_length)
            for r in range(dist.world)
            for g in _groups(split_for_rank(idxs, r, dist.world), train_s, cfg)
        )
        st.global_step += 1
        st.step_in_epoch += 1
        st.epoch_loss_sum += step_sum
        st.epoch_tokens += step_tokens
        st.epoch_steps += 1
        st.epoch_seconds += dt
        st.train_seconds += dt
        st.train_cpu_seconds += cpu
        st.real_tokens += sum(train_s[i].length for i in idxs)
        st.answer_tokens += step_tokens
        st.computed_tokens += computed
        st.step_losses.append([st.global_step, loss, lr])
        tps = st.real_tokens / st.train_seconds if st.train_seconds else 0.0
        self.writer.tb.scalars(st.global_step, train__loss=loss, train__lr=lr, train__tokens_per_second=tps)
        if self.bar is not None:
            self.bar.set_postfix(epoch=st.epoch + 1, loss=f"{loss:.4f}", tok_s=f"{tps:.0f}", refresh=False)
            self.bar.update(1)
        if dist.main:
            for cb in self.callbacks:
                cb.on_step(st, self.model)

    def _epoch_metric(self) -> tuple[float | None, float, list[float]]:
        """``--eval-metric``'s total, content and per-concept content on the first K validation
        concepts; every rank gets the content figures (the best-epoch decision is taken on them)."""
        rows = self.val_rows[: self.cfg.eval_metric]
        metric, content, contents = None, 0.0, [0.0] * len(rows)
        if self.dist.main:
            found = self.writer.metric(self.model, self.tokenizer, self.prompt, rows)
            metric, content, contents = found["total"], found["content"], found["contents"]
        both = self.dist.sum([content, *contents] if self.dist.main else [0.0] * (1 + len(rows)))
        return metric, both[0], both[1:]

    def end_epoch(self, *, complete: bool, stop_max: bool) -> None:
        """End of an epoch (or of the run at --max-steps): validation loss, the in-training
        metric, the best epoch and early stopping, then a checkpoint."""
        from peft import get_peft_model_state_dict

        cfg, st, dist = self.cfg, self.st, self.dist
        t0 = time.perf_counter()
        val_loss = _loss_over(self.loss_mod, self.val_s, list(range(len(self.val_s))), cfg, self.pad_id, dist)
        metric, content, contents = self._epoch_metric() if cfg.eval_metric else (None, None, None)
        dist.barrier()
        st.eval_seconds += time.perf_counter() - t0
        record: dict[str, Any] = {
            "epoch": st.epoch + 1,
            "train_loss": st.epoch_loss_sum / max(1, st.epoch_tokens),
            "val_loss": val_loss,
            "metric": metric,
            "content": content,
            "contents": contents,
            "seconds": round(st.epoch_seconds, 3),
            "steps": st.epoch_steps,
            "end_step": st.global_step,
            "complete": complete,
        }
        st.epochs.append(record)
        self.writer.tb.scalars(
            st.global_step,
            epoch__train_loss=record["train_loss"],
            epoch__val_loss=val_loss,
            epoch__metric=metric,
            epoch__content=content,
        )
        self.log(
            f"epoch {record['epoch']}: train loss {record['train_loss']:.4f}"
            + (f", val loss {val_loss:.4f}" if val_loss is not None else "")
            + (f", metric {metric:.3f}, content {content:.3f}" if metric is not None else "")
        )
        record["kept_by"] = _track_best(st, cfg, val_loss, content, contents)
        if record["kept_by"]:
            self.writer.save_best(get_peft_model_state_dict(self.model))
        elif st.bad_epochs and cfg.early_stopping_patience and st.bad_epochs >= cfg.early_stopping_patience:
            st.status = "early_stopped"
            self.log(f"early stopping: for {st.bad_epochs} epochs {_no_improvement(cfg)} (best: epoch {st.best_epoch})")
        if stop_max and st.global_step < self.steps_per_epoch * cfg.epochs:
            st.status = "max_steps"
        if dist.main:
            for cb in self.callbacks:
                cb.on_epoch_end(st, record)
        st.epoch += 1
        st.step_in_epoch = 0
        st.epoch_loss_sum, st.epoch_tokens, st.epoch_steps, st.epoch_seconds = 0.0, 0, 0, 0.0
        if st.status is None and st.epoch >= cfg.epochs:
            st.status = "completed"
        self.checkpoint()

    # ---- finish
    def finish(self) -> dict[str, Any]:
        """Put the best epoch's adapter back when it was not the last, and write the results."""
        from peft import set_peft_model_state_dict

        cfg, st, dist = self.cfg, self.st, self.dist
        if dist.main and st.best_epoch is not None and st.epochs and st.best_epoch != st.epochs[-1]["epoch"]:
            set_peft_model_state_dict(self.model, self.writer.load_best())
            self.log(f"keeping the adapter of epoch {st.best_epoch} (best {_criterion(cfg)})")
        durations = {
            "load": self.load_seconds,
            "train": st.train_seconds,
            "train_cpu": st.train_cpu_seconds,
            "eval": st.eval_seconds,
            "total": self.wall_before + time.perf_counter() - self.t_start,
        }
        info = self.writer.finish(
            self.model,
            self.tokenizer,
            self.prompt,
            self.base_dir,
            st,
            self.datasets,
            durations,
            sum(p.numel() for p in self.params),
            samples={
                "train": len(self.train_s),
                "val": len(self.val_s),
                "truncated": sum(s.truncated for s in self.train_s + self.val_s),
                "skipped": self.skipped + self.val_skipped,
                "skipped_train": self.skipped,
                "skipped_val": self.val_skipped,
                "skipped_reason": f"the prompt alone fills --max-length {cfg.max_length}",
            },
            world_size=dist.world,
            device=str(dist.device),
            total_steps=self.total_steps,
            base_files=self.fp["base_model_files"],
        )
        if dist.main and not cfg.keep_checkpoints:
            remove_run_tree(cfg.output, CHECKPOINTS)
        dist.barrier()
        return info
