"""Base model loading (bf16 / fp32 / bnb4), LoRA, and the answer-only loss.

:class:`AnswerLoss` runs the decoder, keeps the hidden states of the positions whose
next token is an answer token and applies the LM head to those rows only: the
full-vocabulary logits of prompt (and padding) positions are never computed, and those
of answer positions exist a chunk at a time (:func:`linear_cross_entropy`).
"""

from __future__ import annotations

import contextlib
import logging
import math
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ba_io import DataError, UsageError

from .attention import register as register_attention
from .data import IGNORE

__all__ = [
    "resolve_base_dir",
    "load_tokenizer",
    "load_base_model",
    "enable_checkpointing",
    "drop_input_grad_hook",
    "check_bnb4",
    "add_lora",
    "AnswerLoss",
    "FastDropout",
    "use_fast_dropout",
    "trainable_parameters",
    "linear_cross_entropy",
]

# bitsandbytes' CPU backend warns on import that an optional hub kernel is missing
logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)

BNB_MIN_CPU = (0, 46)
_BNB_FIX = "pip install 'ba-lora[bnb4]' (bitsandbytes>=0.46), or train with --quantization bf16"


def resolve_base_dir(spec: str) -> Path:
    """The transformers model directory a ``--model`` value names.

    Accepts a plain directory, ``hf:DIR`` or ``smollm2`` (ba-llm's prepared base).
    """
    p = Path(spec)
    if p.is_dir():
        if not (p / "config.json").is_file():
            raise DataError(p, None, "not a transformers model directory (no config.json)")
        return p
    from ba_llm import parse_spec, resolve_spec

    parsed = parse_spec(spec)
    if parsed.kind not in ("smollm2", "hf"):
        raise UsageError(
            f"--model {spec}: training needs a transformers model (smollm2, hf:DIR or a "
            f"directory), not a {parsed.kind} model"
        )
    if parsed.lora is not None:
        raise UsageError(f"--model {spec}: train on the base model alone, without +lora")
    ms = resolve_spec(parsed)
    assert ms.path is not None
    return Path(ms.path)


def load_tokenizer(base_dir: Path) -> Any:
    from ba_llm import load_tokenizer as load

    tok = load(base_dir)
    if not getattr(tok, "chat_template", None):
        raise DataError(base_dir, None, "the tokenizer has no chat template; prepare the model with `ba-llm prepare`")
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return tok


def _version_tuple(v: str) -> tuple[int, ...]:
    out = []
    for part in v.split(".")[:2]:
        digits = "".join(c for c in part if c.isdigit())
        out.append(int(digits or 0))
    return tuple(out)


def check_bnb4(device: torch.device) -> None:
    """Fail at once, with one line naming the fix, where bnb4 cannot run."""
    try:
        import bitsandbytes as bnb
    except Exception as exc:  # ImportError, or a broken native library
        raise UsageError(f"--quantization bnb4 needs bitsandbytes ({type(exc).__name__}: {exc}); {_BNB_FIX}") from None
    version = getattr(bnb, "__version__", "0")
    if device.type == "cpu" and _version_tuple(version) < BNB_MIN_CPU:
        raise UsageError(f"--quantization bnb4 on CPU needs bitsandbytes>=0.46 (found {version}); {_BNB_FIX}")
    if device.type not in ("cpu", "cuda", "xpu"):
        raise UsageError(f"--quantization bnb4 is not supported on {device.type}; train with --quantization bf16")


def compute_dtype(quantization: str, device: torch.device) -> torch.dtype:
    """The dtype the frozen base model computes in: float32 for ``fp32``, and for ``bf16``
    on a device where bf16 is not the fast dtype (``ba_llm.precision``: a CPU without AMX,
    where bf16 is emulated or slower than float32); bfloat16 otherwise."""
    from ba_llm.precision import native_bf16

    if quantization == "fp32" or (quantization == "bf16" and not native_bf16(device.type)):
        return torch.float32
    return torch.bfloat16


def load_base_model(
    base_dir: Path, quantization: str, device: torch.device, gradient_checkpointing: bool = False
) -> nn.Module:
    """Load the base causal LM frozen, in the requested precision (``compute_dtype``), on
    ``device``."""

    # on the CPU, block-causal attention (falls back to SDPA where it does not apply)
    attn = register_attention() if device.type == "cpu" else "sdpa"
    kwargs: dict[str, Any] = {"attn_implementation": attn}
    if quantization in ("fp32", "bf16"):
        kwargs["dtype"] = compute_dtype(quantization, device)
    elif quantization == "bnb4":
        check_bnb4(device)
        from transformers import BitsAndBytesConfig

        kwargs["dtype"] = torch.bfloat16
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16,
        )
        kwargs["device_map"] = {"": device.index if device.type == "cuda" and device.index is not None else device.type}
    else:  # pragma: no cover - TrainConfig.check rejects it
        raise UsageError(f"unknown quantization {quantization!r}")
    from ba_llm import load_causal_lm

    model = load_causal_lm(base_dir, **kwargs)  # a corrupt folder: one error naming its file
    if quantization != "bnb4":
        model.to(device)
    for p in model.parameters():
        p.requires_grad_(False)
    model.config.use_cache = False
    if gradient_checkpointing:
        enable_checkpointing(model)
    return model


def enable_checkpointing(model: nn.Module) -> None:
    """Checkpoint every decoder layer of ``model`` (non-reentrant: the backward pass runs each
    layer again instead of keeping its activations). transformers 5 names it
    ``activation_checkpointing_enable``; earlier releases ``gradient_checkpointing_enable``.
    Non-reentrant checkpoints do not need the embeddings to require grad, so transformers'
    hook that makes them is removed (it costs a backward pass into the first layer's input;
    peft adds it back when it wraps a checkpointed model: ``ba_lora.recompute`` removes it
    again)."""
    enable = getattr(model, "activation_checkpointing_enable", None)
    if enable is not None:
        enable(activation_checkpointing_kwargs={"use_reentrant": False})
    else:  # pragma: no cover - transformers 4
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    drop_input_grad_hook(model)


def drop_input_grad_hook(model: nn.Module) -> None:
    """Remove the hook transformers (or peft's ``get_peft_model``, on a checkpointed model)
    puts on the embeddings to make their output require grad; a model without one is left
    as it is (transformers 4's ``disable_input_require_grads`` raises there)."""
    if getattr(model, "_require_grads_hooks", None) or getattr(model, "_require_grads_hook", None) is not None:
        model.disable_input_require_grads()


def add_lora(model: nn.Module, r: int, alpha: float, dropout: float, target_modules: Any) -> nn.Module:
    """Wrap ``model`` with fresh LoRA adapters (peft); the adapters are float32."""
    from peft import LoraConfig, get_peft_model

    names = {
        n.rsplit(".", 1)[-1]
        for n, m in model.named_modules()
        if isinstance(m, nn.Linear) or "Linear" in type(m).__name__
    }
    if isinstance(target_modules, list):
        unknown = [t for t in target_modules if t not in names]
        if unknown:
            raise UsageError(
                f"--target-modules: the base model has no linear module named {', '.join(unknown)} "
                f"(it has {', '.join(sorted(names))})"
            )
    cfg = LoraConfig(
        r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=target_modules, bias="none", task_type="CAUSAL_LM"
    )
    return get_peft_model(model, cfg)


class FastDropout(nn.Module):
    """Dropout whose mask takes one 64-bit random draw per three elements (``nn.Dropout``: one per element).

    torch's CPU dropout draws one random number per element (about 9 % of a SmolLM2 LoRA
    step went into it). Here one 64-bit draw (``random_`` on int64, uniform over
    ``[0, 2**63)``) yields three uniform 16-bit lanes (its top lane lacks the sign bit and
    is dropped); an element is zeroed where its lane falls below ``round(p * 65536)``, so
    the drop probability is ``p`` within ``2**-17``. Kept elements are scaled by
    ``1 / (1 - p)`` as in ``nn.Dropout``. Draws come from torch's default generator, so
    ``torch.manual_seed`` and the checkpointed RNG state make it reproducible.
    """

    def __init__(self, p: float):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = p
        self.threshold = round(p * 65536) - 32768  # int16 lanes hold -32768 .. 32767

    def mask(self, shape: torch.Size, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
        """The scaled keep mask (0 or ``1 / (1 - p)``) for a tensor of ``shape``."""
        n = math.prod(shape)
        draws = torch.empty((n + 2) // 3, dtype=torch.int64, device=device).random_()
        lanes = draws.view(torch.int16).view(-1, 4)[:, :3].reshape(-1)[:n].view(shape)
        return (lanes >= self.threshold).to(dtype).mul_(1.0 / (1.0 - self.p))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        return x * self.mask(x.shape, x.dtype, x.device)

    def extra_repr(self) -> str:
        return f"p={self.p}"


def use_fast_dropout(model: nn.Module) -> int:
    """Replace peft's ``nn.Dropout`` LoRA-input dropouts by :class:`FastDropout`; return how many."""
    n = 0
    for module in model.modules():
        drops = getattr(module, "lora_dropout", None)
        if isinstance(drops, nn.ModuleDict):
            for name, d in list(drops.items()):
                if isinstance(d, nn.Dropout):
                    drops[name] = FastDropout(d.p)
                    n += 1
    return n


def trainable_parameters(model: nn.Module) -> list[nn.Parameter]:
    return [p for p in model.parameters() if p.requires_grad]


LOGIT_ROWS = 256  # rows of full-vocabulary logits alive at once in linear_cross_entropy
# the float32 logits of one chunk, kept between chunks and steps per (device, vocabulary):
# [256, 49152] is 50 MB, above glibc's largest mmap threshold (32 MB), so each chunk's
# .float() and logsumexp were fresh mappings (two, plus the softmax's). Kept: peak RSS of
# `benchmarks/bench_train.py --rows 32 --configs after` 1,936-1,939 MB against 2,009-2,027
# before (two runs each, 2026-12-05); the speed did not change beyond the runs' noise.
_FLOAT_LOGITS: dict[tuple[str, int], torch.Tensor] = {}


def _float_logits(logits: torch.Tensor) -> torch.Tensor:
    """``logits`` as float32: itself when it is, else copied into the kept buffer."""
    if logits.dtype == torch.float32:
        return logits
    key = (str(logits.device), logits.shape[1])
    buf = _FLOAT_LOGITS.get(key)
    if buf is None or buf.shape[0] < logits.shape[0]:
        buf = _FLOAT_LOGITS[key] = torch.empty(max(LOGIT_ROWS, logits.shape[0]), logits.shape[1], device=logits.device)
    return buf[: logits.shape[0]].copy_(logits)


class _LinearCrossEntropy(torch.autograd.Function):
    """Summed cross-entropy of ``rows @ weight.T`` against ``target`` for a frozen ``weight``.

    The logits are made ``LOGIT_ROWS`` rows at a time, and each chunk's gradient with respect
    to ``rows`` (``(softmax - onehot) @ weight``) is computed at once in the forward pass,
    so neither the full ``[rows, vocabulary]`` logits nor their log-softmax are kept for the
    backward pass: it only scales the stored ``[rows, hidden]`` gradient. The matrix products
    are the ones autograd would run (one forward, one into the hidden states); no weight
    gradient is computed, which is why ``weight`` must be frozen. The softmax works in place
    on one float32 buffer (:func:`_float_logits`): no chunk allocates a vocabulary-wide tensor
    but its product's.
    """

    @staticmethod
    def forward(ctx: Any, rows: torch.Tensor, weight: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss = torch.zeros((), dtype=torch.float32, device=rows.device)
        grad = torch.empty_like(rows) if ctx.needs_input_grad[0] else None
        for s in range(0, rows.shape[0], LOGIT_ROWS):
            t = target[s : s + LOGIT_ROWS]
            product = torch.matmul(rows[s : s + LOGIT_ROWS], weight.t())
            logits = _float_logits(product)
            picked = logits.gather(1, t[:, None]).squeeze(1)
            top = logits.amax(dim=1, keepdim=True)
            probs = logits.sub_(top).exp_()  # in place: the logits are not needed again
            total = probs.sum(dim=1, keepdim=True)
            loss += (top.squeeze(1) + total.squeeze(1).log() - picked).sum()  # logsumexp - target logit
            if grad is not None:
                probs.div_(total)
                probs[torch.arange(t.shape[0], device=t.device), t] -= 1.0
                # back to the weight's dtype, in the product's memory where it has that dtype
                low = (
                    product.copy_(probs)
                    if product is not probs and product.dtype == weight.dtype
                    else probs.to(weight.dtype)
                )
                grad[s : s + LOGIT_ROWS] = torch.matmul(low, weight)
        ctx.save_for_backward(grad)
        return loss

    @staticmethod
    def backward(ctx: Any, grad_loss: torch.Tensor) -> tuple[torch.Tensor | None, None, None]:
        (grad,) = ctx.saved_tensors
        return (None if grad is None else grad * grad_loss.to(grad.dtype)), None, None


def linear_cross_entropy(rows: torch.Tensor, weight: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``cross_entropy(rows @ weight.T, target, reduction="sum")`` in float32, by
    :class:`_LinearCrossEntropy` where ``weight`` is frozen (the plain product otherwise)."""
    if weight.requires_grad:
        return nn.functional.cross_entropy(torch.matmul(rows, weight.t()).float(), target, reduction="sum")
    return _LinearCrossEntropy.apply(rows, weight, target)


class AnswerLoss(nn.Module):
    """Summed next-token cross-entropy over answer tokens, LM head on answer positions only.

    ``forward`` returns ``(loss_sum, n_tokens)``; the caller divides by the answer-token
    count of the whole optimizer step. Wrapping this module (not the model) in DDP keeps
    gradient synchronisation intact while the decoder and LM head are called directly.
    """

    def __init__(self, model: nn.Module, autocast_dtype: torch.dtype | None = None):
        super().__init__()
        self.model = model
        self.autocast_dtype = autocast_dtype

    def _precision(self, device: torch.device) -> contextlib.AbstractContextManager:
        """With ``autocast_dtype`` (bf16 training): the float32 LoRA matrices compute in bf16
        on bf16 activations (autocast) instead of peft casting every LoRA input to float32;
        the adapters, their gradients and the optimizer stay float32."""
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        from peft.helpers import disable_input_dtype_casting

        stack = contextlib.ExitStack()
        stack.enter_context(torch.autocast(device_type=device.type, dtype=self.autocast_dtype))
        stack.enter_context(disable_input_dtype_casting(self.model))
        return stack

    def _causal_lm(self) -> nn.Module:
        m = self.model
        return m.get_base_model() if hasattr(m, "get_base_model") else m

    def forward(
        self,
        input_ids: torch.Tensor,
        labels: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        embed_noise: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``embed_noise`` (``[B, T, width]``, :mod:`ba_lora.noise`) is added to the input
        embeddings."""
        lm = self._causal_lm()
        target = labels[:, 1:]
        keep = target != IGNORE
        with self._precision(input_ids.device):
            if embed_noise is None:
                out = lm.get_decoder()(input_ids=input_ids, attention_mask=attention_mask, use_cache=False)
            else:
                embeds = lm.get_input_embeddings()(input_ids)
                embeds = embeds + embed_noise.to(embeds.dtype)
                out = lm.get_decoder()(inputs_embeds=embeds, attention_mask=attention_mask, use_cache=False)
            rows = out.last_hidden_state[:, :-1, :][keep]
            head = lm.get_output_embeddings()
            if type(head) is nn.Linear and head.bias is None:
                loss_sum = linear_cross_entropy(rows, head.weight, target[keep])
            else:  # a wrapped or biased head (e.g. trained with modules_to_save): plain autograd
                loss_sum = nn.functional.cross_entropy(head(rows).float(), target[keep], reduction="sum")
        return loss_sum, keep.sum()
