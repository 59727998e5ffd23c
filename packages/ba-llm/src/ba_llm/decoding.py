"""The decoding loop of the transformers backend: a batch whose ended rows leave it.

transformers' ``generate`` keeps a row in the batch until the last row of its batch ends,
decoding padding for it: on the fine-tuned model's 42 curated concepts that was 44 % of
the row-steps computed (30,720 for 17,176 tokens, three batches of 16 with one runaway
each). Here a row that ends (an end-of-turn token, a repeated-line loop) is recorded and,
once :data:`DROP_SHARE` of the batch has ended, the ended rows are dropped from the batch,
its mask and every layer of the KV cache, so later steps compute only live rows. The cache
starts at the prompt plus :data:`GROW_BY` positions and grows by as many when the rows reach
its end, instead of being allocated for ``max_new_tokens`` up front (a model with
sliding-window layers gets the whole cache at once, as ``generate`` gives it). The prompt
tokens every row starts with (the system prompt) are computed once, for one row, and copied
into every row's cache (:func:`shared_prefix`, :func:`prefix_first`): the base model's
~420-token prompt is mostly that prefix. After every
growth and drop the freed pages go back to the system
(:func:`ba_llm.memory.release_free_memory`: glibc kept the old buffers' pages, 2,504 MiB at
the peak of a base-model evaluation).

The cache is transformers' static one (the default dynamic cache concatenates every layer's
keys and values at every step: 27 % of a batch-8 decode step on a 2-vCPU EPYC); nothing is
compiled. The model gets what ``generate`` gives it (the left-padded prompt, position ids
from the attention mask, the attention mask, from which the model builds the same causal
mask over the cache, float32 logits of the last position), so greedy rows are
``generate``'s tokens wherever a smaller batch rounds the same way (a matrix product's
rounding may depend on its number of rows): all 126 documents of ``make finetune``'s four
evaluations were byte-identical at 16 and 24 rows (the package README).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .memory import release_free_memory

__all__ = ["DROP_SHARE", "GROW_BY", "MIN_SHARED", "Row", "decode", "prefix_first", "shared_prefix"]

#: the ended rows are dropped from the batch once they are this share of it (at least one)
DROP_SHARE = 0.25
#: positions the KV cache grows by when the rows reach its end
GROW_BY = 128
#: the fewest prompt tokens shared by every row of a batch that are computed once for all
MIN_SHARED = 16


@dataclass(frozen=True)
class Row:
    """One row's generated tokens up to (not including) its end-of-turn token, and why it
    ended: ``"stop"`` (an end-of-turn token or the loop rule) or ``"length"``."""

    tokens: list[int]
    reason: str


def decode(
    model: Any,
    input_ids: Any,
    attention_mask: Any,
    *,
    max_new_tokens: int,
    stop_ids: Sequence[int],
    choose: Callable[[Any], Any],
    looping: Callable[[list[list[int]]], list[bool]],
    check_every: int,
) -> list[Row]:
    """Decode one left-padded batch; one :class:`Row` per input row, in order.

    ``choose`` maps float32 logits ``[rows, vocab]`` to the next token ids ``[rows]``
    (argmax, or a sampler); ``looping`` says, for the live rows' generated tokens, which
    ones loop (called every ``check_every`` tokens, as ``generate``'s stopping criterion was).
    """
    import torch

    batch = _Batch(model, attention_mask, input_ids.shape[1] + max_new_tokens, set(stop_ids))
    shared = shared_prefix(input_ids, attention_mask) if batch.grows else 0
    if shared:
        input_ids, batch.mask = prefix_first(input_ids, attention_mask, shared)
    position_ids = batch.mask.long().cumsum(-1) - 1
    step_ids, step_pos = input_ids, position_ids.masked_fill(batch.mask == 0, 0)
    if shared:  # the prompt every row shares, computed once and copied to every row's cache
        model(
            input_ids=input_ids[:1, :shared],
            attention_mask=batch.mask[:1, :shared],
            position_ids=step_pos[:1, :shared],
            cache=batch.cache,
            use_cache=True,
            logits_to_keep=1,
        )
        batch.copy_to_every_row()
        step_ids, step_pos = input_ids[:, shared:], step_pos[:, shared:]
    for step in range(1, max_new_tokens + 1):
        batch.fit(batch.mask.shape[1])
        out = model(
            input_ids=step_ids,
            attention_mask=batch.mask,
            position_ids=step_pos,
            cache=batch.cache,
            use_cache=True,
            logits_to_keep=1,
        )
        next_ids = choose(out.logits[:, -1].to(dtype=torch.float32))
        del out
        batch.record(next_ids.tolist())
        if step % check_every == 0:
            batch.check_loops(looping)
        if batch.all_ended() or step == max_new_tokens:
            break
        keep = batch.drop_ended()
        if keep is not None:
            next_ids, step_pos = next_ids[keep], step_pos[keep]
        step_ids = next_ids[:, None]
        step_pos = step_pos[:, -1:] + 1  # an ended row still in the batch decodes on, unread
        batch.mask = torch.cat([batch.mask, batch.mask.new_ones((batch.mask.shape[0], 1))], dim=1)
    return batch.rows()


class _Batch:
    """The rows still in the batch, their tokens, and the cache they share."""

    def __init__(self, model: Any, attention_mask: Any, longest: int, stop_ids: set[int]) -> None:
        from transformers import StaticCache
        from transformers.cache_utils import StaticLayer

        self.mask = attention_mask
        self.longest = longest  # prompt + max_new_tokens
        self.stop_ids = stop_ids
        n = attention_mask.shape[0]
        self.live = list(range(n))  # the input row of each batch row
        self.generated: list[list[int]] = [[] for _ in range(n)]
        self.ended: dict[int, str] = {}  # input row -> reason, for ended rows still in the batch
        self.done: dict[int, Row] = {}
        self.cache = StaticCache(config=model.config, max_cache_len=min(longest, attention_mask.shape[1] + GROW_BY))
        # only a cache of full-attention layers grows (a sliding window's length is its own,
        # and Gemma-2/3 mix the two): any other is allocated whole, as generate() does
        self.grows = all(type(layer) is StaticLayer for layer in self.cache.layers)
        if not self.grows:
            self.cache = StaticCache(config=model.config, max_cache_len=longest)

    def fit(self, positions: int) -> None:
        """Make the cache hold ``positions`` positions, growing every layer by :data:`GROW_BY`."""
        layers = self.cache.layers
        if not self.grows or positions <= layers[0].max_cache_len:
            return
        length = min(self.longest, max(positions, layers[0].max_cache_len + GROW_BY))
        for layer in layers:
            if getattr(layer, "is_initialized", False):
                layer.keys = _longer(layer.keys, length)
                layer.values = _longer(layer.values, length)
            layer.max_cache_len = length
        release_free_memory()

    def copy_to_every_row(self) -> None:
        """Give every row of the batch a copy of the one row the cache holds (the shared prefix)."""
        rows = len(self.live)
        for layer in self.cache.layers:
            if not getattr(layer, "is_initialized", False):
                continue
            layer.keys = layer.keys.expand(rows, -1, -1, -1).contiguous()
            layer.values = layer.values.expand(rows, -1, -1, -1).contiguous()
            layer.batch_size = rows

    def record(self, tokens: list[int]) -> None:
        for b, row in enumerate(self.live):
            if row in self.ended:
                continue
            if tokens[b] in self.stop_ids:
                self.ended[row] = "stop"
            else:
                self.generated[row].append(tokens[b])

    def check_loops(self, looping: Callable[[list[list[int]]], list[bool]]) -> None:
        open_rows = [row for row in self.live if row not in self.ended]
        for row, loops in zip(open_rows, looping([self.generated[r] for r in open_rows])):
            if loops:
                self.ended[row] = "stop"

    def all_ended(self) -> bool:
        return len(self.ended) == len(self.live)

    def drop_ended(self) -> Any:
        """Once :data:`DROP_SHARE` of the batch has ended, drop the ended rows (from the
        mask and every cache layer) and return the batch rows kept; else ``None``."""
        import torch

        if len(self.ended) < max(1, int(len(self.live) * DROP_SHARE)):
            return None
        keep = [b for b, row in enumerate(self.live) if row not in self.ended]
        index = torch.tensor(keep, dtype=torch.long, device=self.mask.device)
        for row, reason in self.ended.items():
            self.done[row] = Row(self.generated[row], reason)
        self.live = [self.live[b] for b in keep]
        self.ended = {}
        self.mask = self.mask[index]
        for layer in self.cache.layers:
            if getattr(layer, "is_initialized", False):
                layer.keys = layer.keys.index_select(0, index)
                layer.values = layer.values.index_select(0, index)
                layer.batch_size = len(keep)
        release_free_memory()
        return index

    def rows(self) -> list[Row]:
        for row in self.live:
            self.done[row] = Row(self.generated[row], self.ended.get(row, "length"))
        return [self.done[r] for r in range(len(self.generated))]


def shared_prefix(input_ids: Any, attention_mask: Any) -> int:
    """The number of leading prompt tokens every row of a left-padded batch shares, when worth
    computing once: at least :data:`MIN_SHARED` tokens and two rows; else 0. Every row keeps at
    least one token of its own, whose logits start its answer."""
    rows = input_ids.shape[0]
    if rows < 2:
        return 0
    lengths = attention_mask.sum(-1).tolist()
    width = input_ids.shape[1]
    first = input_ids[0, width - lengths[0] :]
    n = min(lengths) - 1
    for b in range(1, rows):
        row = input_ids[b, width - lengths[b] :]
        differ = (row[:n] != first[:n]).nonzero()
        if differ.numel():
            n = int(differ[0, 0])
    return n if n >= MIN_SHARED else 0


def prefix_first(input_ids: Any, attention_mask: Any, shared: int) -> tuple[Any, Any]:
    """Move the ``shared`` prefix of a left-padded batch in front of the padding:
    ``[pads, prefix, rest]`` becomes ``[prefix, pads, rest]`` in every row, so that the prefix
    fills the same cache positions in every row. Position ids come from the mask, so every
    real token keeps its position."""
    width = input_ids.shape[1]
    pads = width - attention_mask.sum(-1)
    ids, mask = input_ids.clone(), attention_mask.clone()
    for b, pad in enumerate(pads.tolist()):
        ids[b, :shared] = input_ids[b, pad : pad + shared]
        ids[b, shared : shared + pad] = input_ids[b, :pad]
        mask[b, :shared] = 1
        mask[b, shared : shared + pad] = 0
    return ids, mask


def _longer(buffer: Any, length: int) -> Any:
    """``buffer`` ``[rows, heads, positions, dim]`` with zeros appended up to ``length`` positions."""
    out = buffer.new_zeros((*buffer.shape[:2], length, buffer.shape[3]))
    out[:, :, : buffer.shape[2]] = buffer
    return out
