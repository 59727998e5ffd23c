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
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ba_io import UsageError, distinct_paths, output_lock, progress

from .checkpoint import (
    CHECKPOINTS,
    damaged_checkpoints,
    latest_checkpoint,
    load_checkpoint,
    remove_partial,
    restore_rng,
    save_checkpoint,
)
from .config import TrainConfig
from .data import Sample, collate, encode_rows, epoch_steps, micro_batches, split_for_rank
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
from .outputs import ResultWriter, dataset_info, fingerprint, fingerprint_of, test_hook
from .sources import load_rows

__all__ = ["train", "lr_factor"]

# fields that may differ between a checkpoint and the run resuming it (no effect on the result)
RESUME_FREE = {
    "resume",
    "overwrite",
    "keep_checkpoints",
    "save_steps",
    "save_total_limit",
    "micro_batch_tokens",
    "gradient_checkpointing",
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
    best_epoch: int | None = None
    bad_epochs: int = 0
    real_tokens: int = 0
    answer_tokens: int = 0
    computed_tokens: int = 0
    train_seconds: float = 0.0
    train_cpu_seconds: float = 0.0
    eval_seconds: float = 0.0
    wall_seconds: float = 0.0
    status: str | None = None
    resumed_at: list = field(default_factory=list)


def _criterion(cfg: TrainConfig) -> str:
    return "content score" if cfg.eval_metric else "validation loss"


def _track_best(st: TrainerState, cfg: TrainConfig, val_loss: float | None, content: float | None) -> bool:
    """Update the best epoch after an epoch; True when this epoch is the new best.

    With ``--eval-metric`` the best epoch is the one with the highest content score of the
    in-training generations (what a reader sees), otherwise the lowest validation loss;
    either must improve by ``early_stopping_min_delta`` to count. Without a validation set
    nothing is tracked.
    """
    delta = cfg.early_stopping_min_delta
    if cfg.eval_metric and content is not None:
        better = st.best_content is None or content > st.best_content + delta
        if better:
            st.best_content = content
    elif val_loss is not None:
        better = st.best_val is None or val_loss < st.best_val - delta
        if better:
            st.best_val = val_loss
    else:
        return False
    if better:
        st.best_epoch, st.bad_epochs = st.epoch + 1, 0
    else:
        st.bad_epochs += 1
    return better


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
    if good is not None or not info_path.is_file():
        return
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"--resume: {info_path} is unreadable ({exc}); pass --overwrite to start over") from None
    saved = fingerprint_of(
        info.get("parameters") or {}, info.get("datasets") or {}, (info.get("prompt") or {}).get("sha256"), RESUME_FREE
    )
    for key in sorted(set(saved) | set(fp)):
        if saved.get(key) != fp.get(key):
            raise UsageError(
                f"--resume: {out} holds a finished run made with {key}={saved.get(key)!r}, this run "
                f"has {fp.get(key)!r}; pass --overwrite to train again (it replaces that adapter)"
            )
    raise _Finished(info)


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


def _prepare_output(cfg: TrainConfig, out: Path, dist: _Dist, fp: dict[str, Any]) -> Path | None:
    """Check / clean the output directory; return the checkpoint to resume from."""
    ckroot = out / CHECKPOINTS
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise UsageError(f"--output {out}: exists and is not a folder; choose a new folder")
    earlier = ckroot.is_dir() or (out / "training_info.json").is_file()
    foreign = sorted({p.name for p in out.iterdir()} - RUN_FILES) if out.is_dir() else []
    if foreign:  # a fresh start cleans the folder: it must hold nothing but what a run writes
        shown = ", ".join(foreign[:3]) + (" ..." if len(foreign) > 3 else "")
        raise UsageError(
            f"--output {out}: holds files ba-lora train does not write ({shown}); choose a new or empty folder"
        )
    if earlier and not (cfg.resume or cfg.overwrite):  # every process raises: none waits at a barrier
        raise UsageError(f"{out} holds an earlier run; pass --resume to continue it or --overwrite to start over")
    if cfg.resume and not cfg.overwrite:
        _check_resumable(out, fp)
    dist.barrier()
    if dist.main:
        remove_partial(ckroot)
        out.mkdir(parents=True, exist_ok=True)
    dist.barrier()
    ck = latest_checkpoint(ckroot) if cfg.resume else None
    if ck is None and dist.main:  # a fresh start: no result of an earlier run may look current
        shutil.rmtree(out / "runs", ignore_errors=True)
        shutil.rmtree(ckroot, ignore_errors=True)
        for name in ("training_info.json", "loss_curve.png"):
            (out / name).unlink(missing_ok=True)
    dist.barrier()
    return ck


def _load_rows(path: str, limit: int | None, prompt: Any, split: str) -> list[dict[str, Any]]:
    rows = load_rows(path, prompt, split=split)
    return rows[:limit] if limit is not None else rows


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
        for g in micro_batches(mine, samples, cfg.batch_size, cfg.micro_batch_tokens):
            s, n = loss_mod(**collate([samples[i] for i in g], pad_id, dist.device))
            total += float(s)
            count += int(n)
    loss_mod.train(was)
    summed, tokens = dist.sum([total, float(count)])
    return summed / tokens if tokens else None


def train(cfg: TrainConfig, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run LoRA training as configured; return the ``training_info`` dict (also written to
    ``OUTPUT/training_info.json`` with the adapter, tokenizer, prompt.json and the plots).

    The first process holds ``OUTPUT.lock`` for the run: a second run on the same
    ``--output`` fails at once instead of interleaving checkpoints with this one."""
    cfg.check()
    if int(os.environ.get("RANK", "0")) != 0:
        return _train(cfg, log)
    with output_lock(cfg.output):
        return _train(cfg, log)


def _train(cfg: TrainConfig, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    t_start = time.perf_counter()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    dist = _Dist()
    if cfg.quantization == "bnb4":
        check_bnb4(dist.device)  # fail at once, before any data or model is loaded
    if log is None:

        def log(msg: str) -> None:
            if dist.main:
                print(msg, file=sys.stderr)

    out = Path(cfg.output)
    from ba_llm.prompt import load_prompt

    prompt = load_prompt(cfg.prompt)
    # Inputs first: a missing or invalid dataset is reported before the (slower) model checks.
    train_rows = _load_rows(cfg.train, cfg.train_limit, prompt, "train")
    val_rows = _load_rows(cfg.val, cfg.val_limit, prompt, "validation") if cfg.val else []
    base_dir = resolve_base_dir(cfg.base_model)
    if not train_rows:
        raise UsageError(f"{cfg.train}: no training rows")
    if cfg.batch_size * cfg.grad_accum < dist.world:
        raise UsageError(
            f"--batch-size x --grad-accum ({cfg.batch_size * cfg.grad_accum}) is below the number of "
            f"processes ({dist.world}): every process needs a sample per step"
        )
    distinct_paths(("--train", cfg.train), ("--val", cfg.val), ("--output", cfg.output))
    datasets = {"train": dataset_info(cfg.train, len(train_rows))}
    if cfg.val:
        datasets["val"] = dataset_info(cfg.val, len(val_rows))
    fp = fingerprint(cfg, datasets, prompt, RESUME_FREE)
    try:
        ckpt = _prepare_output(cfg, out, dist, fp)
    except _Finished as done:
        log(
            f"{out}: this run is already complete (status {done.info.get('status')}, {done.info.get('steps')} steps); "
            "nothing to do (--overwrite trains again)"
        )
        return done.info

    tokenizer = load_tokenizer(base_dir)
    pad_id = tokenizer.pad_token_id
    bar = progress(total=len(train_rows) + len(val_rows), desc="tokenise", unit="row") if dist.main else None
    train_s, skipped = encode_rows(tokenizer, prompt, train_rows, cfg.max_length, bar)
    val_s, val_skipped = encode_rows(tokenizer, prompt, val_rows, cfg.max_length, bar)
    if bar is not None:
        bar.close()
    if not train_s:
        raise UsageError(f"--max-length {cfg.max_length} leaves no answer tokens in any training sample")

    torch.manual_seed(cfg.seed)
    model = load_base_model(base_dir, cfg.quantization, dist.device, cfg.gradient_checkpointing)
    model = add_lora(model, cfg.lora_r, cfg.lora_alpha, cfg.lora_dropout, cfg.target_module_list())
    if dist.device.type == "cpu":
        use_fast_dropout(model)  # torch's CPU dropout spends ~9 % of a step drawing its mask
    from peft import get_peft_model_state_dict, set_peft_model_state_dict

    params = trainable_parameters(model)
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    st = TrainerState()
    if ckpt is not None:
        data = load_checkpoint(ckpt, dist.rank)
        saved_fp = data["trainer"].get("fingerprint", {})
        for key in sorted(set(saved_fp) | set(fp)):
            if saved_fp.get(key) != fp.get(key):
                raise UsageError(
                    f"--resume: {ckpt} was made with {key}={saved_fp.get(key)!r}, this run has "
                    f"{fp.get(key)!r}; resume with the same settings or pass --overwrite"
                )
        set_peft_model_state_dict(model, data["adapter"])
        optimizer.load_state_dict(data["optimizer"])
        known = {k: v for k, v in data["trainer"].items() if k in TrainerState.__dataclass_fields__}
        st = TrainerState(**known)
        st.resumed_at.append(st.global_step)
        if data["rng"] is not None:
            restore_rng(*data["rng"])
        log(f"resuming from {ckpt} (step {st.global_step}, epoch {st.epoch + 1})")
    else:
        torch.manual_seed(cfg.seed + dist.rank)
    model.train()
    bf16 = cfg.quantization == "bf16" and compute_dtype("bf16", dist.device) == torch.bfloat16
    if cfg.quantization == "bf16" and not bf16:
        log(
            f"{dist.device.type}: no native bf16 (AVX512-BF16/AMX), where emulated bf16 is ~100x slower; "
            "training computes in float32 (set BA_BF16=1 to force bf16)"
        )
    loss_mod = AnswerLoss(model, torch.bfloat16 if bf16 else None)
    ddp = dist.wrap(loss_mod)

    spe = math.ceil(len(train_s) / (cfg.batch_size * cfg.grad_accum))
    total_steps = spe * cfg.epochs if cfg.max_steps is None else min(cfg.max_steps, spe * cfg.epochs)
    warmup = math.ceil(cfg.warmup_ratio * total_steps)
    writer = ResultWriter(out, cfg, dist.main, purge_step=st.global_step + 1 if ckpt is not None else None)
    load_seconds = time.perf_counter() - t_start
    session_start = t_start
    wall_before = st.wall_seconds

    def state_dict() -> dict[str, Any]:
        st.wall_seconds = wall_before + time.perf_counter() - session_start
        d = dict(st.__dict__)
        d["fingerprint"] = fp
        return d

    def checkpoint() -> None:
        adapter = get_peft_model_state_dict(model) if dist.main else None
        save_checkpoint(
            out / CHECKPOINTS,
            st.global_step,
            adapter=adapter,
            optimizer=optimizer,
            state=state_dict() if dist.main else None,
            rank=dist.rank,
            keep=cfg.save_total_limit,
            barrier=dist.barrier,
        )

    bar = progress(total=total_steps, desc="train", unit="step") if dist.main else None
    if bar is not None:
        bar.update(min(st.global_step, total_steps))
    val_idx = list(range(len(val_s)))
    while st.status is None and st.epoch < cfg.epochs:
        steps = epoch_steps(len(train_s), cfg.batch_size * cfg.grad_accum, cfg.seed, st.epoch)
        stop_max = False
        while st.step_in_epoch < len(steps):
            t0, c0 = time.perf_counter(), time.process_time()
            idxs = steps[st.step_in_epoch]
            step_tokens = sum(train_s[i].n_answer for i in idxs)
            mine = split_for_rank(idxs, dist.rank, dist.world)
            weight = 1.0 if mine else 0.0
            groups = micro_batches(mine or idxs[:1], train_s, cfg.batch_size, cfg.micro_batch_tokens)
            local = 0.0
            for gi, g in enumerate(groups):
                batch = collate([train_s[i] for i in g], pad_id, dist.device)
                last = gi == len(groups) - 1
                ctx = ddp.no_sync() if (dist.world > 1 and not last) else contextlib.nullcontext()
                with ctx:
                    loss_sum, _ = ddp(**batch)
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
                torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
            lr = cfg.lr * lr_factor(st.global_step, total_steps, warmup)
            for group in optimizer.param_groups:
                group["lr"] = lr
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            real = sum(train_s[i].length for i in idxs)
            computed = sum(
                len(g) * train_s[g[0]].length
                for r in range(dist.world)
                for g in micro_batches(
                    split_for_rank(idxs, r, dist.world), train_s, cfg.batch_size, cfg.micro_batch_tokens
                )
            )
            dt = time.perf_counter() - t0
            st.global_step += 1
            st.step_in_epoch += 1
            st.epoch_loss_sum += step_sum
            st.epoch_tokens += step_tokens
            st.epoch_steps += 1
            st.epoch_seconds += dt
            st.train_seconds += dt
            st.train_cpu_seconds += time.process_time() - c0
            st.real_tokens += real
            st.answer_tokens += step_tokens
            st.computed_tokens += computed
            st.step_losses.append([st.global_step, loss, lr])
            tps = st.real_tokens / st.train_seconds if st.train_seconds else 0.0
            writer.tb.scalars(st.global_step, train__loss=loss, train__lr=lr, train__tokens_per_second=tps)
            if bar is not None:
                bar.set_postfix(epoch=st.epoch + 1, loss=f"{loss:.4f}", tok_s=f"{tps:.0f}", refresh=False)
                bar.update(1)
            test_hook()
            stop_max = cfg.max_steps is not None and st.global_step >= cfg.max_steps
            if stop_max:
                break
            if cfg.save_steps and st.global_step % cfg.save_steps == 0 and st.step_in_epoch < len(steps):
                checkpoint()
        # ---- end of epoch (or of the run at --max-steps)
        t0 = time.perf_counter()
        val_loss = _loss_over(loss_mod, val_s, val_idx, cfg, pad_id, dist)
        metric = content = None
        if cfg.eval_metric:
            if dist.main:
                found = writer.metric(model, tokenizer, prompt, val_rows[: cfg.eval_metric])
                metric, content = found["total"], found["content"]
            # every rank takes the best-epoch / early-stopping decision on the same number
            content = dist.sum([content if dist.main and content is not None else 0.0])[0]
        dist.barrier()
        st.eval_seconds += time.perf_counter() - t0
        record = {
            "epoch": st.epoch + 1,
            "train_loss": st.epoch_loss_sum / max(1, st.epoch_tokens),
            "val_loss": val_loss,
            "metric": metric,
            "content": content,
            "seconds": round(st.epoch_seconds, 3),
            "steps": st.epoch_steps,
            "end_step": st.global_step,
            "complete": st.step_in_epoch >= len(steps),
        }
        st.epochs.append(record)
        writer.tb.scalars(
            st.global_step,
            epoch__train_loss=record["train_loss"],
            epoch__val_loss=val_loss,
            epoch__metric=metric,
            epoch__content=content,
        )
        log(
            f"epoch {record['epoch']}: train loss {record['train_loss']:.4f}"
            + (f", val loss {val_loss:.4f}" if val_loss is not None else "")
            + (f", metric {metric:.3f}, content {content:.3f}" if metric is not None else "")
        )
        if _track_best(st, cfg, val_loss, content):
            writer.save_best(get_peft_model_state_dict(model))
        elif st.bad_epochs and cfg.early_stopping_patience and st.bad_epochs >= cfg.early_stopping_patience:
            st.status = "early_stopped"
            log(
                f"early stopping: no {_criterion(cfg)} improvement of {cfg.early_stopping_min_delta} "
                f"for {st.bad_epochs} epochs (best: epoch {st.best_epoch})"
            )
        if stop_max and st.global_step < spe * cfg.epochs:
            st.status = "max_steps"
        st.epoch += 1
        st.step_in_epoch = 0
        st.epoch_loss_sum, st.epoch_tokens, st.epoch_steps, st.epoch_seconds = 0.0, 0, 0, 0.0
        if st.status is None and st.epoch >= cfg.epochs:
            st.status = "completed"
        checkpoint()
    if bar is not None:
        bar.close()

    if dist.main and st.best_epoch is not None and st.epochs and st.best_epoch != st.epochs[-1]["epoch"]:
        set_peft_model_state_dict(model, writer.load_best())
        log(f"keeping the adapter of epoch {st.best_epoch} (best {_criterion(cfg)})")
    durations = {
        "load": load_seconds,
        "train": st.train_seconds,
        "train_cpu": st.train_cpu_seconds,
        "eval": st.eval_seconds,
        "total": wall_before + time.perf_counter() - session_start,
    }
    info = writer.finish(
        model,
        tokenizer,
        prompt,
        base_dir,
        st,
        datasets,
        durations,
        sum(p.numel() for p in params),
        samples={
            "train": len(train_s),
            "val": len(val_s),
            "truncated": sum(s.truncated for s in train_s + val_s),
            "skipped": skipped + val_skipped,
        },
        world_size=dist.world,
        device=str(dist.device),
        total_steps=total_steps,
    )
    dist.barrier()
    return info
