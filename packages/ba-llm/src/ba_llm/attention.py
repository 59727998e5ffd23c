"""Attention over the filled part of a static KV cache: what generation computes per token.

ba-llm generates with transformers' static cache (:mod:`ba_llm.decoding`): every layer's
keys and values live in fixed buffers (the prompt plus 128 positions, grown 128 at a time,
or the prompt plus ``max_new_tokens``), and SDPA attends over all of them at every decoding
step, the empty tail masked out. On a 2-vCPU EPYC (float32, 16 rows, 640 new tokens) that
attention was 15 % of a decoding step, mostly spent on positions no row had reached.

:func:`attention_forward` (registered with transformers as ``"ba_filled"``) cuts the keys,
values and mask to the key positions that some query may attend to (measured on the mask
at every call: masks may be inference tensors changed in place, which have no version
counter to cache by), then runs transformers' own SDPA attention: the cut positions are
masked for every row and query, so each output is the same weighted sum over the same keys. Used by the transformers backend for every
generation, and by ba-lora's block attention whenever it falls back to SDPA (the
in-training metric's cached generation).
"""

from __future__ import annotations

from typing import Any

__all__ = ["NAME", "attention_forward", "filled_length", "register"]

NAME = "ba_filled"


def filled_length(mask: Any) -> int:
    """One past the last key position that any query of ``mask`` (``[batch, heads, query,
    key]``, boolean or additive float) may attend to; 0 when none may."""
    import torch

    allowed = mask if mask.dtype == torch.bool else mask > torch.finfo(mask.dtype).min
    columns = allowed.reshape(-1, allowed.shape[-1]).any(dim=0)
    hit = torch.nonzero(columns)
    return int(hit[-1]) + 1 if hit.numel() else 0


def attention_forward(
    module: Any, query: Any, key: Any, value: Any, attention_mask: Any, **kwargs: Any
) -> tuple[Any, None]:
    """transformers' SDPA attention over the keys up to the mask's filled length."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    if attention_mask is not None and attention_mask.dim() == 4 and key.shape[2] == attention_mask.shape[-1]:
        n = filled_length(attention_mask)  # per layer: ~17 us on a [16, 1, 1, 800] mask
        if 0 < n < key.shape[2]:
            key, value = key[:, :, :n], value[:, :, :n]
            attention_mask = attention_mask[..., :n]
    return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)


def register() -> str:
    """Register ``"ba_filled"`` (this attention + SDPA's mask builder) with transformers;
    return the name to pass as ``attn_implementation``."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(NAME, attention_forward)
    AttentionMaskInterface.register(NAME, sdpa_mask)
    return NAME
