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
    want = F.scaled_dot_product_attention(q, k.repeat_interleave(3, 1), v.repeat_interleave(3, 1),
                                          is_causal=True).transpose(1, 2)
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
        model = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir), dtype=torch.float32,
                                                     attn_implementation=impl)
        out = model(input_ids=ids, labels=ids)
        out.loss.backward()
        losses.append(out.loss.detach())
        grads.append(model.model.layers[0].self_attn.q_proj.weight.grad.clone())
    assert torch.allclose(losses[0], losses[1], rtol=1e-5)
    assert torch.allclose(grads[0], grads[1], rtol=1e-4, atol=1e-7)


def test_falls_back_where_it_does_not_apply(monkeypatch):
    monkeypatch.setattr(attention, "MAX_SAVED_BYTES", 1000)
    assert not attention._fits(9, 880)
    monkeypatch.setattr(attention, "MAX_SAVED_BYTES", 96 * 2**20)
    assert attention._fits(9, 880) and not attention._fits(9, 2048)
