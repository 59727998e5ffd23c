"""Keep fewer activations for the backward pass: the RMSNorms and SwiGLU products of a
Llama-shaped decoder recompute their few elementwise operations instead of storing them.

Measured on SmolLM2-135M with LoRA on every linear module, one 1,500-token sample
(2026-12-04, ``saved_tensors_hooks`` over the forward pass): the forward keeps 1,170 MB for
the backward pass. Each RMSNorm keeps its input converted to float32 (twice the bf16
input), 198 MB in all, and each MLP keeps ``silu(gate)`` beside ``gate`` and ``up``,
which backward can recompute from ``gate``. :func:`use_lean_activations` runs those two
pieces under :func:`torch.utils.checkpoint.checkpoint` (non-reentrant), which keeps only
their inputs and replays the same operations in the backward pass: the forward is the
same code, and the gradients come from the same autograd graph, recomputed, so the
losses are bit-identical. The matrix products are never recomputed.

It applies to modules whose ``forward`` is Llama's own code (Llama, SmolLM, Qwen2 and
Mistral copy it), with a frozen norm weight and a SiLU MLP; any other module is left as
it is. Figures: the ba-lora README.
"""

from __future__ import annotations

import functools
import types
from typing import Any

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

__all__ = ["use_lean_activations"]


def _code(fn: Any) -> tuple[Any, ...]:
    c = fn.__code__
    return (c.co_code, c.co_names, c.co_consts, c.co_varnames)


@functools.cache
def _llama_code() -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    from transformers.models.llama import modeling_llama as llama

    return _code(llama.LlamaRMSNorm.forward), _code(llama.LlamaMLP.forward)


def _is_silu(act: Any) -> bool:
    return isinstance(act, nn.SiLU) or type(act).__name__ == "SiLUActivation"


def _lean_norm(self: nn.Module, hidden_states: torch.Tensor) -> torch.Tensor:
    """The norm's own forward, keeping only its (bf16) input for the backward pass."""
    plain = type(self).forward.__get__(self)
    if not torch.is_grad_enabled():
        return plain(hidden_states)
    return checkpoint(plain, hidden_states, use_reentrant=False, preserve_rng_state=False)


def _silu_mul(gate: torch.Tensor, up: torch.Tensor) -> torch.Tensor:
    return nn.functional.silu(gate) * up


def _lean_mlp(self: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``down(silu(gate(x)) * up(x))`` keeping ``gate`` and ``up``, not ``silu(gate)``."""
    gate, up = self.gate_proj(x), self.up_proj(x)
    if torch.is_grad_enabled():
        product = checkpoint(_silu_mul, gate, up, use_reentrant=False, preserve_rng_state=False)
    else:
        product = _silu_mul(gate, up)
    return self.down_proj(product)


def use_lean_activations(model: nn.Module) -> int:
    """Make ``model``'s Llama-code RMSNorms (frozen weight) and SiLU MLPs keep fewer
    activations for the backward pass (module docstring); returns how many modules changed.
    Call it on the base model, before or after adding LoRA."""
    norm_code, mlp_code = _llama_code()
    n = 0
    for module in model.modules():
        forward = getattr(type(module), "forward", None)
        if not isinstance(forward, types.FunctionType):
            continue
        code = _code(forward)
        weight = getattr(module, "weight", None)
        if code == norm_code and isinstance(weight, torch.Tensor) and not weight.requires_grad:
            module.forward = types.MethodType(_lean_norm, module)
            n += 1
        elif code == mlp_code and _is_silu(getattr(module, "act_fn", None)):
            module.forward = types.MethodType(_lean_mlp, module)
            n += 1
    return n
