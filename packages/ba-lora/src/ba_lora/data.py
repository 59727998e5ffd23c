"""Training samples: v2 rows -> token ids with the prompt masked, data order and micro-batches.

A sample is the chat-template rendering of ba-llm's prompt for the row's concept (exactly
the generation prompt inference uses) followed by the answer, the canonical YAML
document ``ba_metric.render(ba_metric.document_from_fields(row))`` and the template's
end-of-turn. The loss covers only the answer tokens.

No compute is spent on padding: samples are never padded to ``max_length``; a
micro-batch is padded to its own longest sample only, and samples of one optimizer step
are sorted by length before they are grouped, so with the default ``--batch-size 1``
nothing is padded at all.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

__all__ = [
    "IGNORE",
    "Sample",
    "answer_text",
    "encode_row",
    "encode_rows",
    "epoch_steps",
    "split_for_rank",
    "micro_batches",
    "padded_length",
    "collate",
]

IGNORE = -100


@dataclass(frozen=True)
class Sample:
    """One tokenised example: ``input_ids`` = prompt tokens + answer tokens."""

    input_ids: tuple[int, ...]
    n_prompt: int
    row_id: str
    truncated: bool = False

    @property
    def length(self) -> int:
        return len(self.input_ids)

    @property
    def n_answer(self) -> int:
        """Tokens the loss covers (each predicted from the tokens before it)."""
        return len(self.input_ids) - self.n_prompt

    def labels(self) -> list[int]:
        return [IGNORE] * self.n_prompt + list(self.input_ids[self.n_prompt :])


def answer_text(row: dict[str, Any]) -> str:
    """The assistant's answer: for a v2 row the canonical YAML document; for a messages row
    (``ba_lora.sources``) its last, assistant, turn."""
    if "messages" in row:
        return row["messages"][-1]["content"]
    from ba_metric import document_from_fields, render

    return render(document_from_fields(row))


def encode_row(tokenizer: Any, prompt: Any, row: dict[str, Any], max_length: int) -> Sample | None:
    """Tokenise one row; ``None`` when the prompt alone leaves no room for an answer token.

    The prompt and the answer are tokenised separately and concatenated, so the prompt
    tokens are exactly those generation feeds the model.
    """
    from ba_llm.prompt import training_pair

    prompt_text, full_text = training_pair(tokenizer, prompt, row["concept"], answer_text(row))
    p_ids = tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
    a_ids = tokenizer(full_text[len(prompt_text) :], add_special_tokens=False)["input_ids"]
    ids = list(p_ids) + list(a_ids)
    truncated = len(ids) > max_length
    if truncated:
        ids = ids[:max_length]
    if len(ids) - len(p_ids) < 1:
        return None
    return Sample(tuple(ids), len(p_ids), str(row.get("id", "")), truncated)


def encode_rows(
    tokenizer: Any, prompt: Any, rows: Iterable[dict[str, Any]], max_length: int, bar: Any = None
) -> tuple[list[Sample], list[str]]:
    """Encode rows; returns ``(samples, ids of rows skipped because the prompt fills max_length)``."""
    samples: list[Sample] = []
    skipped: list[str] = []
    for row in rows:
        s = encode_row(tokenizer, prompt, row, max_length)
        if s is None:
            skipped.append(str(row.get("id", "")))
        else:
            samples.append(s)
        if bar is not None:
            bar.update(1)
    return samples, skipped


def epoch_steps(n_samples: int, samples_per_step: int, seed: int, epoch: int) -> list[list[int]]:
    """The sample indices of each optimizer step of ``epoch`` (0-based).

    The order is a pure function of ``(seed, epoch)``, so a resumed run replays it; the
    last step of an epoch may hold fewer samples.
    """
    order = list(range(n_samples))
    random.Random(f"ba-lora:{seed}:{epoch}").shuffle(order)
    return [order[i : i + samples_per_step] for i in range(0, n_samples, samples_per_step)]


def split_for_rank(indices: Sequence[int], rank: int, world_size: int) -> list[int]:
    """This process's share of one step's samples (round robin)."""
    return list(indices[rank::world_size])


def micro_batches(
    indices: Sequence[int],
    samples: Sequence[Sample],
    batch_size: int,
    max_tokens: int = 0,
    multiple: int = 0,
    limit: int = 0,
) -> list[list[int]]:
    """Group one step's samples into micro-batches, longest first.

    A micro-batch holds up to ``batch_size`` samples, or more while its padded size
    (samples x longest, rounded as :func:`collate` rounds it) stays within ``max_tokens``
    when that is set.
    """
    ordered = sorted(indices, key=lambda i: (-samples[i].length, i))
    groups: list[list[int]] = []
    current: list[int] = []
    for i in ordered:
        if current:
            longest = padded_length(samples[current[0]].length, multiple, limit)
            fits_count = len(current) < batch_size
            fits_tokens = bool(max_tokens) and (len(current) + 1) * longest <= max_tokens
            if not (fits_count or fits_tokens):
                groups.append(current)
                current = []
        current.append(i)
    if current:
        groups.append(current)
    return groups


def padded_length(longest: int, multiple: int, limit: int) -> int:
    """``longest`` rounded up to a multiple of ``multiple`` (0: not rounded), but not past
    ``limit`` (the longest a sample may be) unless ``longest`` already is."""
    if multiple <= 0:
        return longest
    return max(longest, min(-(-longest // multiple) * multiple, limit))


def collate(
    batch: Sequence[Sample], pad_id: int, device: Any = "cpu", multiple: int = 0, limit: int = 0
) -> dict[str, torch.Tensor | None]:
    """Right-pad a micro-batch to its longest sample, rounded up to a multiple of
    ``multiple`` tokens (at most ``limit``; see :func:`padded_length`).

    The rounding gives the CPU's matrix-product library (oneDNN) a few dozen shapes instead
    of one per sample length: it compiles a kernel per shape and keeps a bounded number
    (``ba_llm.memory``), so with every length new it compiled kernels on every step. The pad
    tokens come after every real token, so under the causal mask no real token sees them,
    and their labels are ignored: the loss is the same sum over the same answer tokens.

    ``attention_mask`` is ``None`` unless the samples differ in length (a single sample,
    padded or not, keeps attention on the plain causal fast path).
    """
    longest = padded_length(max(s.length for s in batch), multiple, limit)
    ids = torch.full((len(batch), longest), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), longest), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(batch), longest), dtype=torch.long)
    for r, s in enumerate(batch):
        ids[r, : s.length] = torch.tensor(s.input_ids)
        labels[r, : s.length] = torch.tensor(s.labels())
        mask[r, : s.length] = 1
    padded = len({s.length for s in batch}) > 1
    return {
        "input_ids": ids.to(device),
        "attention_mask": mask.to(device) if padded else None,
        "labels": labels.to(device),
    }
