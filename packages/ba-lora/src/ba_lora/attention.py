"""Block-causal attention for CPU training.

PyTorch's CPU flash-attention kernel is slow for small heads (SmolLM2: 64-wide heads),
about a third of a training step's time. Here the query rows are cut into blocks of
``BLOCK`` rows; block ``i`` attends to keys ``0 .. end of block i`` only (the causal
mask skips the rest), with plain batched matmuls, a float32 softmax and grouped-query
heads handled by a reshape instead of copying keys and values. Autograd keeps the
attention probabilities, so it is used only where they fit ``MAX_SAVED_BYTES`` per layer
(otherwise, and for padded batches or cached generation, transformers' SDPA runs).
Registered with transformers as the attention implementation ``"ba_block"``.
"""
from __future__ import annotations

from typing import Any

import torch

__all__ = ["NAME", "BLOCK", "MAX_SAVED_BYTES", "block_causal_attention", "register"]

NAME = "ba_block"
BLOCK = 128
MAX_SAVED_BYTES = 96 * 2**20


def _fits(heads: int, length: int) -> bool:
    # fp32 softmax output + its bf16/fp32 copy, for the causal half of the score matrix
    return heads * length * (length + BLOCK) // 2 * 6 <= MAX_SAVED_BYTES


def block_causal_attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                           scaling: float | None = None, block: int | None = None) -> torch.Tensor:
    """Causal attention of ``query [B, H, T, D]`` over ``key/value [B, KV, T, D]``;
    returns ``[B, T, H, D]`` (the layout transformers' attention functions return)."""
    block = block or BLOCK
    b, h, t, d = query.shape
    kv = key.shape[1]
    g = h // kv
    scale = scaling if scaling is not None else d ** -0.5
    q = (query * scale).view(b, kv, g, t, d)
    soft_dtype = torch.float32 if query.dtype in (torch.bfloat16, torch.float16) else query.dtype
    outs = []
    for s in range(0, t, block):
        e = min(t, s + block)
        n = e - s
        qb = q[:, :, :, s:e, :].reshape(b, kv, g * n, d)
        scores = torch.matmul(qb, key[:, :, :e, :].transpose(-1, -2)).view(b, kv, g, n, e)
        future = torch.ones(n, n, dtype=torch.bool, device=query.device).triu(1)
        scores[..., s:e].masked_fill_(future, float("-inf"))  # only the diagonal block has future keys
        probs = torch.softmax(scores, dim=-1, dtype=soft_dtype).to(query.dtype).view(b, kv, g * n, e)
        outs.append(torch.matmul(probs, value[:, :, :e, :]).view(b, kv, g, n, d))
    return torch.cat(outs, dim=3).view(b, h, t, d).transpose(1, 2).contiguous()


def _forward(module: Any, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
             attention_mask: torch.Tensor | None, dropout: float = 0.0, scaling: float | None = None,
             **kwargs: Any) -> tuple[torch.Tensor, None]:
    usable = (attention_mask is None and dropout == 0.0 and query.shape[2] == key.shape[2]
              and query.shape[1] % key.shape[1] == 0 and _fits(query.shape[1], query.shape[2])
              and kwargs.get("softcap") is None and kwargs.get("sliding_window") is None)
    if not usable:
        from transformers.integrations.sdpa_attention import sdpa_attention_forward

        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout,
                                      scaling=scaling, **kwargs)
    return block_causal_attention(query, key, value, scaling), None


def register() -> str:
    """Register ``"ba_block"`` (attention + SDPA's mask builder) with transformers; return the name."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(NAME, _forward)
    AttentionMaskInterface.register(NAME, sdpa_mask)
    return NAME
