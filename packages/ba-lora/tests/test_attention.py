"""Block-causal attention equals transformers' SDPA path (loss and gradients)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ba_lora import attention
from ba_lora.attention import block_causal_attention


@pytest.mark.parametrize("t, block", [(1, 4), (37, 8), (64, 16), (50, 128)])
def test_matches_causal_sdpa_with_grouped_heads(t, block):
    torch.manual_seed(t)
    q = torch.randn(2, 6, t, 16, dtype=torch.float64, requires_grad=True)
    k = torch.randn(2, 2, t, 16, dtype=torch.float64, requires_grad=True)
    v = torch.randn(2, 2, t, 16, dtype=torch.float64, requires_grad=True)
    got = block_causal_attention(q, k, v, block=block)
    want = F.scaled_dot_product_attention(
        q, k.repeat_interleave(3, 1), v.repeat_interleave(3, 1), is_causal=True
    ).transpose(1, 2)
    assert torch.allclose(got, want, atol=1e-10)
    gq, gk, gv = torch.autograd.grad(got.square().sum(), (q, k, v))
    wq, wk, wv = torch.autograd.grad(want.square().sum(), (q, k, v))
    for a, b in ((gq, wq), (gk, wk), (gv, wv)):
        assert torch.allclose(a, b, atol=1e-9)


def test_model_loss_and_gradients_match_sdpa(tiny_model_dir, monkeypatch):
    from transformers import AutoModelForCausalLM

    monkeypatch.setattr(attention, "BLOCK", 16)
    name = attention.register()
    ids = torch.randint(0, 1000, (1, 70), generator=torch.Generator().manual_seed(0))
    losses, grads = [], []
    for impl in ("sdpa", name):
        model = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir), dtype=torch.float32, attn_implementation=impl)
        out = model(input_ids=ids, labels=ids)
        out.loss.backward()
        losses.append(out.loss.detach())
        grads.append(model.model.layers[0].self_attn.q_proj.weight.grad.clone())
    assert torch.allclose(losses[0], losses[1], rtol=1e-5)
    assert torch.allclose(grads[0], grads[1], rtol=1e-4, atol=1e-7)


def test_falls_back_where_it_does_not_apply():
    q, k = torch.zeros(1, 6, 10, 8), torch.zeros(1, 2, 10, 8)
    assert attention._usable(q, k, None, 0.0)
    assert not attention._usable(q, k, torch.ones(1, 1, 10, 10, dtype=torch.bool), 0.0)  # padded batch
    assert not attention._usable(q, k, None, 0.1)
    assert not attention._usable(q[:, :, :1], k, None, 0.0)  # cached generation: one query, many keys
    assert not attention._usable(q, k, None, 0.0, sliding_window=4)


def test_keeps_no_probabilities_for_the_backward_pass():
    """Saved for backward: q, k, v, the output and one log-sum-exp per row, nothing T x T."""
    t = 256
    q = torch.randn(1, 6, t, 16, requires_grad=True)
    k = torch.randn(1, 2, t, 16, requires_grad=True)
    v = torch.randn(1, 2, t, 16, requires_grad=True)
    sizes = []
    with torch.autograd.graph.saved_tensors_hooks(lambda x: sizes.append(x.numel()) or x, lambda x: x):
        block_causal_attention(q, k, v, block=32)
    assert sizes and max(sizes) <= 6 * t * 16
