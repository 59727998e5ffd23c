"""The output directory of ``ba-lora train``.

::

    OUTPUT/
      adapter_config.json, adapter_model.safetensors   PEFT adapter (PeftModel.from_pretrained)
      tokenizer.json, tokenizer_config.json, ...       the base model's tokenizer (chat template)
      prompt.json                                      the prompt trained with (schemas/prompt)
      training_info.json                               schemas/training-info
      loss_curve.png                                   per-step and per-epoch losses
      runs/                                            TensorBoard event files
      checkpoints/                                     while running (kept with --keep-checkpoints)
"""

from __future__ import annotations

import datetime as _dt
import os
import tempfile
from pathlib import Path
from typing import Any

from ba_io import atomic_path, check_side_output, pin_folder, sha256_path, write_json

from .checkpoint import CHECKPOINTS, check_output_unmoved, check_own_folder
from .modeling import compute_dtype as _compute_dtype
from .report import TensorBoard, eval_metric, plot_losses

__all__ = ["ResultWriter", "dataset_info", "fingerprint", "fingerprint_of", "NORMALISATION"]

NORMALISATION = (
    "per optimizer step: summed cross-entropy over the answer tokens of its batch_size x grad_accum "
    "samples / their answer-token count (prompt and padding tokens excluded); epoch losses are "
    "token-weighted means"
)

#: the folder finish() builds the adapter in, inside --output; a kill there leaves it, and the
#: next run removes it (a name no user folder has: campaign 19 lost a `.adapter-backup01/`)
ADAPTER_TMP_PREFIX = ".ba-lora-adapter-"


def dataset_info(path: str, rows: int, split: str = "train") -> dict[str, Any]:
    """Path, rows and the sha256 of what the split is read from (``sources.split_source``)."""
    from .sources import split_source

    return {"path": str(path), "sha256": sha256_path(split_source(path, split)), "rows": rows}


def fingerprint(
    cfg: Any, datasets: dict[str, Any], prompt: Any, free: set[str], base_files: str | None
) -> dict[str, Any]:
    """What must match for a checkpoint to be resumed: settings, data and prompt hashes, and
    the base model's files (``ba_llm.model_files_fingerprint``)."""
    return fingerprint_of(cfg.to_dict(), datasets, prompt.sha256, free, base_files)


#: fingerprint keys that runs of older versions did not record: not compared when absent there
NEWER_KEYS = frozenset({"base_model_files"})


def fingerprint_of(
    parameters: dict[str, Any],
    datasets: dict[str, Any],
    prompt_sha256: str | None,
    free: set[str],
    base_files: str | None,
) -> dict[str, Any]:
    """:func:`fingerprint` from plain values, e.g. a finished run's ``training_info.json``
    (``parameters``, ``datasets``, ``prompt.sha256``, ``base_model_files``). The base model's
    files are in it because a spec names a folder, not weights (campaign 22: a checkpoint was
    resumed on weights replaced in place, and the adapter trained on two models)."""
    # the prompt counts by its text (prompt_sha256), the base by its folder: another path to a
    # byte-identical prompt, or `hf:DIR/` for `hf:DIR`, is the same run (campaign 24)
    fp = {k: v for k, v in parameters.items() if k not in free and k not in ("train", "val", "output", "prompt")}
    if isinstance(fp.get("base_model"), str):
        fp["base_model"] = _canonical_model(fp["base_model"])
    for name, d in datasets.items():
        fp[f"{name}_sha256"] = d.get("sha256")
    fp["prompt_sha256"] = prompt_sha256
    fp["base_model_files"] = base_files
    return fp


def _canonical_model(value: str) -> str:
    """A ``--model`` value as :func:`ba_llm.canonical_spec` spells it; a plain folder path
    resolved the same way."""
    from ba_llm import UsageError, canonical_spec
    from ba_llm.models import parse_spec

    try:
        parse_spec(value)
    except UsageError:  # a plain path (ba-lora takes a folder as well as a spec)
        return os.path.realpath(value)
    return canonical_spec(value)


def fingerprint_mismatch(saved: dict[str, Any], fp: dict[str, Any]) -> str | None:
    """The first key whose value differs between a saved fingerprint and this run's (keys
    newer than the saved run's version are skipped), or None."""
    for key in sorted(set(saved) | set(fp)):
        if key in NEWER_KEYS and key not in saved:
            continue
        if saved.get(key) != fp.get(key):
            return key
    return None


def _move_into(src: Path, dest: Path) -> None:
    """Move every file of ``src`` into ``dest`` with os.replace (atomic per file)."""
    for f in src.iterdir():
        os.replace(f, dest / f.name)


#: the files finish() writes through ba-io, with what the error calls each
_RESULT_FILES = (
    ("prompt.json", "the run's prompt"),
    ("loss_curve.png", "the run's loss curve"),
    ("training_info.json", "the run's training record"),
)


class ResultWriter:
    """Writes the run's outputs; only the main process writes."""

    def __init__(self, out: Path, cfg: Any, main: bool, purge_step: int | None = None):
        self.out = out
        self.cfg = cfg
        self.main = main
        self.best_path = out / CHECKPOINTS / "best" / "adapter_model.safetensors"
        pin_folder(out)
        self.tb = TensorBoard(out / "runs", purge_step=purge_step, enabled=main)

    def metric(self, model: Any, tokenizer: Any, prompt: Any, rows: list[dict[str, Any]]) -> dict[str, Any]:
        return eval_metric(model, tokenizer, prompt, rows, self.cfg.eval_max_new_tokens)

    def save_best(self, adapter: dict[str, Any]) -> None:
        if not self.main:
            return
        from safetensors.torch import save_file

        # campaign 34: a link put at checkpoints/best mid-run was written through
        check_own_folder(self.best_path.parent.parent)
        check_own_folder(self.best_path.parent)
        with atomic_path(self.best_path) as tmp:
            save_file({k: v.detach().to("cpu").contiguous() for k, v in adapter.items()}, str(tmp))

    def load_best(self) -> dict[str, Any]:
        from safetensors.torch import load_file

        return load_file(str(self.best_path))

    def finish(
        self,
        model: Any,
        tokenizer: Any,
        prompt: Any,
        base_dir: Path,
        st: Any,
        datasets: dict[str, Any],
        durations: dict[str, float],
        trainable: int,
        *,
        samples: dict[str, Any],
        world_size: int,
        device: str,
        total_steps: int,
        base_files: str | None = None,
    ) -> dict[str, Any]:
        """Write the adapter, tokenizer, prompt, loss curve and ``training_info.json`` (the
        run's marker of completion, last); return the info."""
        check_output_unmoved(self.out)
        info = self._info(
            prompt, base_dir, st, datasets, durations, trainable,
            samples=samples, world_size=world_size, device=device, total_steps=total_steps, base_files=base_files,
        )  # fmt: skip
        if not self.main:
            return info
        out = self.out
        # campaign 34: links put at OUT/training_info.json and loss_curve.png mid-run were
        # written through: each is checked again at its commit and never followed
        for name, what in _RESULT_FILES:
            check_side_output(out / name, what, lambda p: True)  # a plain file: an earlier try's
        with tempfile.TemporaryDirectory(dir=out, prefix=ADAPTER_TMP_PREFIX) as tmp:
            model.save_pretrained(tmp, safe_serialization=True)
            tokenizer.save_pretrained(tmp)
            (Path(tmp) / "README.md").unlink(missing_ok=True)  # peft's empty model card
            for f in Path(tmp).iterdir():
                os.chmod(f, 0o644)
            _move_into(Path(tmp), out)
        write_json(out / "prompt.json", prompt.to_dict(), "prompt")
        self.tb.close()
        plot_losses(
            out / "loss_curve.png",
            st.step_losses,
            st.epochs,
            title=f"LoRA on {Path(base_dir).name} ({self.cfg.quantization})",
        )
        write_json(out / "training_info.json", info, "training-info")
        return info  # the checkpoints are the trainer's to remove (trainer.remove_run_tree)

    def _info(
        self,
        prompt: Any,
        base_dir: Path,
        st: Any,
        datasets: dict[str, Any],
        durations: dict[str, float],
        trainable: int,
        *,
        samples: dict[str, Any], world_size: int, device: str, total_steps: int, base_files: str | None,
    ) -> dict[str, Any]:  # fmt: skip
        """``training_info.json``: the resolved recipe, data, epochs, tokens, timings, versions."""
        import peft
        import torch
        import transformers

        cfg = self.cfg
        tps = st.real_tokens / st.train_seconds if st.train_seconds else 0.0
        return {
            "base_model": cfg.base_model,
            "base_model_path": str(Path(base_dir).resolve()),
            "quantization": cfg.quantization,
            # what the frozen base computed in: bf16 falls back to float32 where bf16 is not the fast dtype
            "compute_dtype": "nf4/bfloat16"
            if cfg.quantization == "bnb4"
            else str(_compute_dtype(cfg.quantization, torch.device(device))).replace("torch.", ""),
            "parameters": cfg.to_dict(),
            "datasets": datasets,
            "prompt": {"name": prompt.name, "sha256": prompt.sha256},
            "base_model_files": base_files,
            "epochs": [dict(e) for e in st.epochs],
            "durations": {k: round(max(0.0, v), 3) for k, v in durations.items()},
            "tokens_per_second": round(tps, 2),
            "trainable_parameters": trainable,
            "status": st.status or "completed",
            "limits": {"train_limit": cfg.train_limit, "val_limit": cfg.val_limit, "max_steps": cfg.max_steps},
            "best_epoch": st.best_epoch,
            "best_by": ("content" if cfg.eval_metric else "val_loss") if st.best_epoch is not None else None,
            "steps": st.global_step,
            "planned_steps": total_steps,
            "tokens": {
                "real": st.real_tokens,
                "answer": st.answer_tokens,
                "computed": st.computed_tokens,
                "padding_fraction": round(1 - st.real_tokens / st.computed_tokens, 4) if st.computed_tokens else 0.0,
            },
            "recompute": dict(
                above_tokens=st.recompute_above, layers_recomputed=st.layers_recomputed, layers_run=st.layers_run
            ),
            "samples": samples,
            "loss_normalisation": NORMALISATION,
            "world_size": world_size,
            "device": device,
            "resumed_at_steps": st.resumed_at,
            "versions": {
                "torch": torch.__version__,
                "transformers": transformers.__version__,
                "peft": peft.__version__,
            },
            "finished": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        }
