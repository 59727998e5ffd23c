"""The training configuration: one dataclass whose fields carry their CLI help.

``ba-lora train`` builds its argparse flags from :class:`TrainConfig` (field ``name`` ->
flag ``--name``), so the CLI, the library and ``training_info.json`` share one list of
parameters and one set of defaults. :meth:`TrainConfig.check` rejects bad combinations
with a :class:`ba_io.UsageError` naming every field involved.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any

from ba_io import UsageError, deprecated_alias
from ba_io.cli_types import SEED_MAX

__all__ = ["TrainConfig", "QUANTIZATIONS", "ATTENTION_MODULES", "add_config_arguments", "config_from_namespace"]

QUANTIZATIONS = ("bnb4", "bf16", "fp32")
MAX_EPOCHS = 1000
#: a learning rate above this is a typo, not a setting: LoRA uses 1e-5 to 1e-2 (the campaign's
#: --lr 1e12 "completed" with a validation loss of 10.8)
MAX_LR = 1.0
ATTENTION_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj")


def _f(default: Any, help: str, **meta: Any) -> Any:
    return field(default=default, metadata={"help": help, **meta})


@dataclass
class TrainConfig:
    """Every parameter of a LoRA training run (the CLI flags of ``ba-lora train``)."""

    train: str = _f(
        None,
        "training set: v2 examples (JSONL, schemas/example-v2), or a chat-messages dataset as "
        "`ba-dataset-tools export` writes it (a save_to_disk folder: its train split; parquet; "
        "messages JSONL)",
        required=True,
        metavar="PATH",
    )
    output: str = _f(
        None,
        "output directory (adapter, tokenizer, prompt.json, training_info.json, logs)",
        required=True,
        metavar="DIR",
        short="-o",
    )
    val: str | None = _f(
        None,
        "validation set, in the same forms as --train (a save_to_disk folder: its "
        "validation split); enables validation loss, early stopping and --eval-metric",
        metavar="PATH",
    )
    base_model: str = _f(
        "smollm2",
        "base model: a ba-llm spec (smollm2, hf:DIR) or a transformers model directory",
        metavar="SPEC",
        flag="model",  # the CLI contract's name; the field keeps its name in training_info.json
        old=("--base-model",),
    )
    prompt: str | None = _f(None, "prompt file (schemas/prompt); default: ba-llm's packaged prompt", metavar="FILE")
    epochs: int = _f(3, "number of passes over the training set")
    lr: float = _f(2e-4, "peak learning rate (AdamW; linear warm-up then linear decay to 0)")
    batch_size: int = _f(1, "samples per micro-batch (forward pass), dynamically padded")
    grad_accum: int = _f(
        8,
        "micro-batches per optimizer step; a step averages over the answer tokens of "
        "batch_size x grad_accum samples, however many processes share them",
    )
    lora_r: int = _f(8, "LoRA rank")
    lora_alpha: float = _f(32, "LoRA alpha (scaling = alpha / r)")
    lora_dropout: float = _f(0.05, "dropout on the LoRA input")
    neftune_alpha: float = _f(
        0.0,
        "noise on the training samples' input embeddings (NEFTune): uniform in +-alpha / "
        "sqrt(tokens x embedding width), drawn per sample from --seed, the epoch and the row; "
        "validation and generation see none. 0: off",
        metavar="X",
    )
    target_modules: str = _f(
        "attention",
        "modules that get adapters: 'attention' (q,k,v,o projections), "
        "'all-linear', or a comma-separated list of module names",
        metavar="SPEC",
    )
    max_length: int = _f(
        2048,
        "longest tokenised sample; longer ones lose the end of their answer, and a row whose prompt alone fills it is not used (a warning and training_info.json samples.skipped_train/skipped_val say which)",
    )
    seed: int = _f(42, "seed for the adapter initialisation, the data order and dropout")
    quantization: str = _f(
        "bf16", "base weights: bf16 or fp32, or bnb4 (4-bit NF4, needs bitsandbytes)", choices=QUANTIZATIONS
    )
    train_limit: int | None = _f(None, "use only the first N training rows", metavar="N")
    val_limit: int | None = _f(None, "use only the first N validation rows", metavar="N")
    max_steps: int | None = _f(None, "stop after N optimizer steps in total (status max_steps)", metavar="N")
    save_steps: int = _f(10, "also checkpoint every N optimizer steps (0: only at the end of each epoch)", metavar="N")
    save_total_limit: int = _f(2, "keep the newest N checkpoints", metavar="N")
    resume: bool = _f(False, "continue from the newest checkpoint in --output (starts fresh when there is none)")
    overwrite: bool = _f(False, "delete an earlier run's checkpoints and results in --output and start over")
    keep_checkpoints: bool = _f(False, "keep output/checkpoints/ after a successful run")
    warmup_ratio: float = _f(0.03, "fraction of the optimizer steps used for linear learning-rate warm-up")
    weight_decay: float = _f(0.0, "AdamW weight decay")
    max_grad_norm: float = _f(1.0, "clip the gradient norm per optimizer step (0: no clipping)")
    early_stopping_patience: int = _f(
        2,
        "stop after N epochs without an improvement of the validation loss, or of the "
        "content score with --eval-metric (0: never)",
        metavar="N",
    )
    early_stopping_min_delta: float = _f(
        0.01,
        "smallest validation-loss decrease (or content increase, with --eval-metric) that counts as an improvement",
    )
    eval_metric: int = _f(
        0,
        "each epoch, generate (greedy) for the first K validation concepts, report the "
        "mean BA metric (total and content) and choose the best epoch and early stopping "
        "by content beyond its noise (max(--early-stopping-min-delta, 2 standard errors of "
        "the per-concept differences)); within it, a validation loss lower by more than "
        "--early-stopping-min-delta decides; 0: off)",
        metavar="K",
    )
    eval_max_new_tokens: int = _f(512, "token limit of the --eval-metric generations", metavar="N")
    micro_batch_tokens: int = _f(
        0,
        "let a micro-batch take more than --batch-size samples while its padded size "
        "stays within N tokens (same gradient; faster on a GPU). 0: off",
        metavar="N",
    )
    pad_to_multiple: int = _f(
        64,
        "pad each micro-batch to a multiple of N tokens (not past --max-length): a few "
        "dozen shapes instead of one per sample length, so the CPU's kernel cache hits "
        "(measured faster and smaller on 2 cores); the loss is the same. 0: off",
        metavar="N",
    )
    threads: int = _f(
        0,
        "CPU threads for torch (0: torch's default, one per core, or $OMP_NUM_THREADS). On a "
        "machine shared with other jobs use fewer: oversubscribed cores stall every step",
        metavar="N",
    )
    gradient_checkpointing: bool = _f(False, "recompute activations in the backward pass (less memory, ~30%% slower)")
    checkpoint_above: int | None = _f(
        None,
        "a micro-batch of more than N tokens (rows x padded length) recomputes just enough "
        "decoder layers in the backward pass that the others keep N tokens' activations (the "
        "same adapter, less memory, more step time). Default: 128 where the model computes in "
        "float32 on a CPU (SmolLM2's make finetune training on an AVX2 CPU, whole phases: "
        "2,922-3,278 MiB off, 2,294-2,634 MiB at 256, 2,105-2,703 MiB at 128 for 18-39 %% "
        "more time than off), else off. 0: off",
        metavar="N",
    )

    # ------------------------------------------------------------------ checks
    # long: one flat check per TrainConfig field, in field order, each with its one-line message
    def check(self) -> TrainConfig:
        """Raise :class:`UsageError` for a bad value or combination; return self."""
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise UsageError(f"--{_flag(f.name)} must be a finite number (got {value})")
            if f.name in ("output", "train", "val", "base_model", "prompt") and value == "":
                # campaign 33: `-o ""` (an unset $OUT) was the current folder, and a refused
                # run removed everything in it
                raise UsageError(f"--{_flag(f.name)} is empty (an unset variable?); give a path")
        if self.epochs > MAX_EPOCHS:
            raise UsageError(f"--epochs must be at most {MAX_EPOCHS} (got {self.epochs})")
        cpus = os.cpu_count() or 1
        if self.threads > cpus:
            raise UsageError(
                f"--threads {self.threads}: this machine has {cpus} CPUs; use at most {cpus} (0: torch's default)"
            )
        positive = ("epochs", "batch_size", "grad_accum", "lora_r", "eval_max_new_tokens")
        for name in positive:
            if getattr(self, name) < 1:
                raise UsageError(f"--{_flag(name)} must be at least 1 (got {getattr(self, name)})")
        for name in ("train_limit", "val_limit", "max_steps"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise UsageError(f"--{_flag(name)} must be at least 1 (got {value})")
        for name in (
            "save_steps",
            "save_total_limit",
            "early_stopping_patience",
            "eval_metric",
            "micro_batch_tokens",
            "pad_to_multiple",
            "threads",
            "checkpoint_above",
            "weight_decay",
            "neftune_alpha",
            "max_grad_norm",
            "early_stopping_min_delta",
        ):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise UsageError(f"--{_flag(name)} must not be negative (got {value})")
        if not 0 < self.lr <= MAX_LR:
            raise UsageError(f"--lr must be above 0 and at most {MAX_LR:g} (got {self.lr:g})")
        if not 0 <= self.seed <= SEED_MAX:
            raise UsageError(f"--seed must be between 0 and {SEED_MAX} (got {self.seed})")
        if not self.lora_alpha > 0:
            raise UsageError(f"--lora-alpha must be positive (got {self.lora_alpha})")
        if not 0 <= self.lora_dropout < 1:
            raise UsageError(f"--lora-dropout must be in [0, 1) (got {self.lora_dropout})")
        if not 0 <= self.warmup_ratio < 1:
            raise UsageError(f"--warmup-ratio must be in [0, 1) (got {self.warmup_ratio})")
        if self.max_length < 16:
            raise UsageError(f"--max-length must be at least 16 (got {self.max_length})")
        if self.quantization not in QUANTIZATIONS:
            raise UsageError(f"--quantization must be one of {', '.join(QUANTIZATIONS)} (got {self.quantization!r})")
        if self.save_total_limit < 1:
            raise UsageError(f"--save-total-limit must be at least 1 (got {self.save_total_limit})")
        # combinations: name every field involved
        if self.resume and self.overwrite:
            raise UsageError("--resume and --overwrite exclude each other: continue the run or start over, not both")
        if self.val is None:
            if self.val_limit is not None:
                raise UsageError("--val-limit is set but --val is not: give a validation file or drop --val-limit")
            if self.eval_metric:
                raise UsageError("--eval-metric needs --val: the metric is computed on validation concepts")
        if self.val_limit is not None and self.eval_metric > self.val_limit:
            raise UsageError(
                f"--eval-metric ({self.eval_metric}) exceeds --val-limit ({self.val_limit}): "
                "the metric can use at most the validation rows kept"
            )
        if self.micro_batch_tokens and self.micro_batch_tokens < self.max_length:
            raise UsageError(
                f"--micro-batch-tokens ({self.micro_batch_tokens}) is below --max-length "
                f"({self.max_length}): a micro-batch must fit one sample of the longest length"
            )
        if self.gradient_checkpointing and self.checkpoint_above:
            raise UsageError(
                f"--checkpoint-above {self.checkpoint_above} and --gradient-checkpointing exclude each other: "
                "the second recomputes every layer of every micro-batch; give one of them"
            )
        if self.lora_alpha and self.lora_r and self.target_modules.strip() in ("", ","):
            raise UsageError("--target-modules is empty: use attention, all-linear or a list of module names")
        return self

    def target_module_list(self) -> list[str] | str:
        """What peft's ``LoraConfig(target_modules=...)`` gets."""
        spec = self.target_modules.strip()
        if spec == "attention":
            return list(ATTENTION_MODULES)
        if spec == "all-linear":
            return "all-linear"
        names = [s.strip() for s in spec.split(",") if s.strip()]
        if not names:
            raise UsageError("--target-modules is empty: use attention, all-linear or a list of module names")
        return names

    def to_dict(self) -> dict[str, Any]:
        """Every parameter, after defaults (``training_info.json`` ``parameters``)."""
        return asdict(self)


def _flag(name: str) -> str:
    """The flag of a field, without the dashes: its name, or its ``flag`` metadata."""
    meta: Mapping[str, Any] = next((f.metadata for f in fields(TrainConfig) if f.name == name), {})
    return str(meta.get("flag") or name.replace("_", "-"))


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """Add one flag per :class:`TrainConfig` field to ``parser``."""
    for f in fields(TrainConfig):
        meta = dict(f.metadata)
        flag = f"--{_flag(f.name)}"
        kwargs: dict[str, Any] = {"dest": f.name, "help": meta.get("help", "")}
        default = None if f.default is MISSING else f.default
        if f.type in ("bool", bool):
            kwargs["action"] = "store_true"
        else:
            typ = str(f.type)
            kwargs["type"] = int if typ.startswith("int") else float if typ.startswith("float") else str
            if "choices" in meta:
                kwargs["choices"] = meta["choices"]
            kwargs["metavar"] = meta.get("metavar") or {int: "N", float: "X"}.get(kwargs["type"], "VALUE")
            if "choices" in meta:
                kwargs.pop("metavar")
            if meta.get("required"):
                kwargs["required"] = True
            elif default is not None:
                kwargs["help"] += " (default: %(default)s)"
        kwargs["default"] = default
        action = parser.add_argument(*([meta["short"]] if "short" in meta else []), flag, **kwargs)
        deprecated_alias(parser, action, *meta.get("old", ()))


def config_from_namespace(ns: argparse.Namespace) -> TrainConfig:
    """Build and check a :class:`TrainConfig` from parsed arguments."""
    values = {f.name: getattr(ns, f.name) for f in fields(TrainConfig) if hasattr(ns, f.name)}
    return TrainConfig(**values).check()
