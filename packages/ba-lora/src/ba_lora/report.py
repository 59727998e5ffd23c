"""What a training run reports: the loss-curve PNG, TensorBoard scalars and the BA metric
on validation concepts (greedy generation with the in-memory adapter)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ba_io import atomic_write

__all__ = ["plot_losses", "TensorBoard", "generate_answers", "eval_metric"]


def plot_losses(
    path: Path, step_losses: Sequence[Sequence[float]], epochs: Sequence[dict[str, Any]], title: str = "LoRA training"
) -> None:
    """Write the loss curve (per-step train loss, per-epoch train/val loss) as a PNG, atomically."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    if step_losses:
        ax.plot(
            [s[0] for s in step_losses],
            [s[1] for s in step_losses],
            color="#9ecae1",
            lw=1,
            label="train loss (per step)",
        )
    ends = [e for e in epochs if e.get("end_step") is not None]
    if ends:
        ax.plot(
            [e["end_step"] for e in ends],
            [e["train_loss"] for e in ends],
            "o-",
            color="#3182bd",
            label="train loss (epoch)",
        )
        val = [e for e in ends if e.get("val_loss") is not None]
        if val:
            ax.plot(
                [e["end_step"] for e in val],
                [e["val_loss"] for e in val],
                "s-",
                color="#e6550d",
                label="validation loss (epoch)",
            )
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("cross-entropy per answer token")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    try:
        with atomic_write(path, "wb") as f:
            fig.savefig(f, format="png")
    finally:
        plt.close(fig)


#: the empty file ba-lora puts into ``OUTPUT/runs`` before its first TensorBoard event: a
#: ``runs/`` folder without it, in an output with no other evidence of a run, is the user's
#: (campaign 24: a user's own TensorBoard log in ``exp/runs`` was deleted)
RUNS_MARKER = ".ba-lora-runs"


class TensorBoard:
    """A SummaryWriter under ``OUTPUT/runs`` (rank 0 only); ``purge_step`` drops events a
    killed run logged after its last checkpoint."""

    def __init__(self, log_dir: Path, purge_step: int | None = None, enabled: bool = True):
        self.writer = None
        if enabled:
            from torch.utils.tensorboard import SummaryWriter

            log_dir.mkdir(parents=True, exist_ok=True)
            (log_dir / RUNS_MARKER).touch()
            self.writer = SummaryWriter(log_dir=str(log_dir), purge_step=purge_step)

    def scalars(self, step: int, **values: float | None) -> None:
        if self.writer is None:
            return
        try:
            for name, value in values.items():
                if value is not None:
                    self.writer.add_scalar(name.replace("__", "/"), float(value), step)
        except OSError as e:
            self._give_up(e)

    def close(self) -> None:
        if self.writer is not None:
            try:
                self.writer.flush()
                self.writer.close()
            except OSError as e:
                self._give_up(e)

    def _give_up(self, e: OSError) -> None:
        """The log cannot be written (campaigns 34-35: ``OUTPUT/runs`` removed mid-run ended
        the run with an internal ``FileNotFoundError``): the training goes on without it,
        said in one ``warning:`` line."""
        import sys

        writer, self.writer = self.writer, None
        with contextlib.suppress(Exception):
            if writer is not None:
                writer.close()
        print(
            f"warning: the TensorBoard log cannot be written ({e.strerror or e}: {e.filename or ''}); "
            "training goes on without it",
            file=sys.stderr,
        )


def generate_answers(
    model: Any, tokenizer: Any, prompt: Any, concepts: Sequence[str], max_new_tokens: int, batch_size: int | None = None
) -> list[str]:
    """Greedy answers of ``model`` (e.g. the in-memory peft model) for ``concepts``, through
    ba-llm's own transformers backend (:meth:`ba_llm.backends.TransformersBackend.from_model`):
    prompted as training and evaluation prompt them, with ba-llm's batching, stop tokens,
    loop rule and cache options, so the per-epoch metric reads what ``ba-eval`` would."""
    from ba_llm.backends import BATCH_SIZE, Decoding, TransformersBackend
    from ba_llm.prompt import render_messages

    was_training, side = model.training, tokenizer.padding_side
    model.eval()
    try:
        backend = TransformersBackend.from_model(model, tokenizer, name="ba-lora in-training model")
        done = backend.complete(
            [render_messages(prompt, c) for c in concepts],
            Decoding(max_new_tokens=max_new_tokens, greedy=True),
            batch_size=batch_size or BATCH_SIZE,
        )
    finally:
        tokenizer.padding_side = side
        model.train(was_training)
    return [c.text for c in done]


def eval_metric(
    model: Any, tokenizer: Any, prompt: Any, rows: Sequence[dict[str, Any]], max_new_tokens: int
) -> dict[str, Any]:
    """The BA metric of greedy answers for ``rows``' concepts: ``{"total", "content"}``
    means of ``ba_metric.score(answer, concept)`` and the per-row ``totals`` / ``contents``."""
    from ba_metric import score

    concepts = [r["concept"] for r in rows]
    answers = generate_answers(model, tokenizer, prompt, concepts, max_new_tokens)
    scores = [score(a, concept=c) for a, c in zip(answers, concepts)]
    totals = [float(s.total) for s in scores]
    contents = [float(s.content) for s in scores]

    def mean(values: list[float]) -> float:
        return sum(values) / len(values) if values else 0.0

    return {"total": mean(totals), "content": mean(contents), "totals": totals, "contents": contents}
