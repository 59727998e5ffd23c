"""Block-causal attention for CPU training, with the attention probabilities recomputed.

PyTorch's CPU flash-attention kernel is slow for small heads (SmolLM2: 64-wide heads),
about a third of a training step's time. Here the query rows are cut into blocks of
``BLOCK`` rows; block ``i`` attends to keys ``0 .. end of block i`` only (the causal
mask skips the rest), with plain batched matmuls, a float32 softmax and grouped-query
heads handled by a reshape instead of copying keys and values.

Autograd would keep every block's probabilities for the backward pass (for an 875-token
SmolLM2 sample about 450 MB over 30 layers, a quarter of the step's saved activations).
:class:`_BlockCausal` keeps only queries, keys, values, the output and each row's
log-sum-exp, and recomputes a block's probabilities in the backward pass (the
flash-attention recurrence: one extra score product per block, about 2 % of a step).
Used for unpadded causal self-attention (otherwise, and for cached generation,
transformers' SDPA runs over the filled part of the cache, :mod:`ba_llm.attention`).
Registered with transformers as ``"ba_block"``.
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["NAME", "BLOCK", "block_causal_attention", "register"]

NAME = "ba_block"
BLOCK = 128


def _scores(q: torch.Tensor, key: torch.Tensor, s: int, e: int, soft_dtype: torch.dtype) -> torch.Tensor:
    """Masked scores of query rows ``s:e`` (``q`` is ``[B, KV, G, T, D]``, pre-scaled) over
    keys ``0:e``: ``[B, KV, G, n, e]`` in ``soft_dtype``."""
    b, kv, g, _, d = q.shape
    n = e - s
    qb = q[:, :, :, s:e, :].reshape(b, kv, g * n, d)
    scores = torch.matmul(qb, key[:, :, :e, :].transpose(-1, -2)).view(b, kv, g, n, e).to(soft_dtype)
    future = torch.ones(n, n, dtype=torch.bool, device=q.device).triu(1)
    scores[..., s:e].masked_fill_(future, float("-inf"))  # only the diagonal block has future keys
    return scores


class _BlockCausal(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, q: torch.Tensor, key: torch.Tensor, value: torch.Tensor, block: int) -> torch.Tensor:
        b, kv, g, t, d = q.shape
        soft_dtype = torch.float32 if q.dtype in (torch.bfloat16, torch.float16) else q.dtype
        out = torch.empty_like(q)
        lse = torch.empty(b, kv, g, t, dtype=soft_dtype, device=q.device)
        for s in range(0, t, block):
            e = min(t, s + block)
            scores = _scores(q, key, s, e, soft_dtype)
            m = torch.logsumexp(scores, dim=-1)
            lse[:, :, :, s:e] = m
            probs = scores.sub_(m[..., None]).exp_().to(q.dtype).view(b, kv, g * (e - s), e)
            out[:, :, :, s:e, :] = torch.matmul(probs, value[:, :, :e, :]).view(b, kv, g, e - s, d)
        ctx.save_for_backward(q, key, value, out, lse)
        ctx.block = block
        return out

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, None]:
        q, key, value, out, lse = ctx.saved_tensors
        b, kv, g, t, d = q.shape
        soft_dtype = lse.dtype
        dq = torch.empty_like(q)
        dk = torch.zeros(key.shape, dtype=soft_dtype, device=key.device)
        dv = torch.zeros(value.shape, dtype=soft_dtype, device=value.device)
        grad_out = grad_out.contiguous()
        # D_i = sum_j dO_ij O_ij: the softmax backward's row term
        delta = (grad_out.to(soft_dtype) * out.to(soft_dtype)).sum(-1)
        for s in range(0, t, ctx.block):
            e = min(t, s + ctx.block)
            n = e - s
            probs = _scores(q, key, s, e, soft_dtype).sub_(lse[:, :, :, s:e, None]).exp_()
            do = grad_out[:, :, :, s:e, :].reshape(b, kv, g * n, d)
            p2 = probs.view(b, kv, g * n, e)
            dv[:, :, :e, :] += torch.matmul(p2.transpose(-1, -2).to(do.dtype), do).to(soft_dtype)
            dp = torch.matmul(do, value[:, :, :e, :].transpose(-1, -2)).view(b, kv, g, n, e).to(soft_dtype)
            ds = probs.mul_(dp.sub_(delta[:, :, :, s:e, None])).to(q.dtype).view(b, kv, g * n, e)
            dq[:, :, :, s:e, :] = torch.matmul(ds, key[:, :, :e, :]).view(b, kv, g, n, d)
            qb = q[:, :, :, s:e, :].reshape(b, kv, g * n, d)
            dk[:, :, :e, :] += torch.matmul(ds.transpose(-1, -2), qb).to(soft_dtype)
        return dq, dk.to(key.dtype), dv.to(value.dtype), None


def block_causal_attention(
    query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, scaling: float | None = None, block: int | None = None
) -> torch.Tensor:
    """Causal attention of ``query [B, H, T, D]`` over ``key/value [B, KV, T, D]``;
    returns ``[B, T, H, D]`` (the layout transformers' attention functions return)."""
    b, h, t, d = query.shape
    kv = key.shape[1]
    scale = scaling if scaling is not None else d**-0.5
    q = (query * scale).view(b, kv, h // kv, t, d)
    out = _BlockCausal.apply(q, key.contiguous(), value.contiguous(), block or BLOCK)
    return out.view(b, h, t, d).transpose(1, 2).contiguous()


def _usable(
    query: torch.Tensor, key: torch.Tensor, attention_mask: torch.Tensor | None, dropout: float, **kwargs: Any
) -> bool:
    return (
        attention_mask is None
        and dropout == 0.0
        and query.shape[2] == key.shape[2]
        and query.shape[1] % key.shape[1] == 0
        and kwargs.get("softcap") is None
        and kwargs.get("sliding_window") is None
    )


def _forward(
    module: Any,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    if not _usable(query, key, attention_mask, dropout, **kwargs):
        from ba_llm.attention import attention_forward  # SDPA over the filled part of a static cache

        return attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, **kwargs)
    return block_causal_attention(query, key, value, scaling), None


def register() -> str:
    """Register ``"ba_block"`` (attention + SDPA's mask builder) with transformers; return the name."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(NAME, _forward)
    AttentionMaskInterface.register(NAME, sdpa_mask)
    return NAME
