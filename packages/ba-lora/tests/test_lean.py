"""ba_lora.lean: norms and SwiGLU keep fewer activations, with bit-identical losses and gradients."""

from __future__ import annotations

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

from ba_lora.lean import use_lean_activations
from ba_lora.modeling import AnswerLoss, add_lora


def _model(kind: str, act: str = "silu") -> torch.nn.Module:
    torch.manual_seed(0)
    shape = dict(vocab_size=300, hidden_size=64, intermediate_size=160, num_hidden_layers=2)
    shape |= dict(num_attention_heads=4, num_key_value_heads=2, hidden_act=act)
    model = LlamaForCausalLM(LlamaConfig(**shape)) if kind == "llama" else Qwen2ForCausalLM(Qwen2Config(**shape))
    model = model.to(torch.bfloat16)
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def _loss_grads_saved(model: torch.nn.Module) -> tuple[torch.Tensor, list[torch.Tensor], int]:
    torch.manual_seed(1)
    lora = add_lora(model, 4, 8, 0.0, "all-linear")
    ids = torch.randint(0, 300, (2, 40))
    labels = ids.clone()
    labels[:, :15] = -100
    saved: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        saved[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss, _ = AnswerLoss(lora, torch.bfloat16)(ids, labels)
    loss.backward()
    grads = [p.grad.clone() for p in lora.parameters() if p.requires_grad]
    return loss.detach(), grads, sum(saved.values())


@pytest.mark.parametrize("kind", ["llama", "qwen2"])
def test_lean_activations_keep_less_and_change_no_bit(kind):
    loss, grads, saved = _loss_grads_saved(_model(kind))
    lean = _model(kind)
    assert use_lean_activations(lean) == 2 * 2 + 1 + 2  # two norms per layer, the final norm, one MLP per layer
    lean_loss, lean_grads, lean_saved = _loss_grads_saved(lean)
    assert torch.equal(loss, lean_loss)
    assert len(grads) == len(lean_grads) > 0 and all(torch.equal(a, b) for a, b in zip(grads, lean_grads))
    assert lean_saved < 0.9 * saved, (lean_saved, saved)


def test_modules_that_are_not_llamas_code_are_left_alone():
    model = _model("llama", act="gelu")  # an MLP without SiLU
    for norm in (m for m in model.modules() if type(m).__name__ == "LlamaRMSNorm"):
        norm.weight.requires_grad_(True)  # a trained norm needs its own backward
    assert use_lean_activations(model) == 0
    assert use_lean_activations(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.SiLU())) == 0
    with torch.no_grad():  # without gradients the lean forward is the plain one
        lean = _model("llama")
        use_lean_activations(lean)
        ids = torch.randint(0, 300, (1, 12))
        assert torch.equal(lean(ids).logits, _model("llama")(ids).logits)
