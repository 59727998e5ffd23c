"""Recompute some decoder layers in the backward pass, as many as a micro-batch's length needs.

A decoder layer keeps its activations for the backward pass, in proportion to the tokens of
the micro-batch. ``--gradient-checkpointing`` keeps none (every layer is run again in the
backward pass: ~30 % more step time) whatever the length. :class:`LayerRecompute` recomputes
only as many layers as keep the others' activations within ``above`` tokens' worth:

    layers recomputed = ceil(layers x (1 - above / tokens))     (0 when tokens <= above)

so a short micro-batch costs nothing and the longest ones pay the most. Recomputing runs the
same operations again (non-reentrant ``torch.utils.checkpoint``), so the loss and the
gradients are the same as without it.

Why it exists: on a CPU without native bf16 (AVX2 only) the model computes in float32, which
doubles the activations. SmolLM2's training then peaked at 3,106 MiB (2026-12-06, the longest
sample 858 tokens), over the 2.5 GB the project allows a phase. The float32 default
(:data:`FLOAT32_CPU_ABOVE`) and its measurement: the ba-lora README.
"""

from __future__ import annotations

from torch import nn

__all__ = ["FLOAT32_CPU_ABOVE", "LayerRecompute", "default_above"]

#: ``--checkpoint-above``'s default where the model computes in float32 on a CPU (tokens)
FLOAT32_CPU_ABOVE = 128  # 256 until 2026-12-06 (whole phases 2,294-2,634 MiB; at 128: 2,105-2,703 MiB in six)


def default_above(device_type: str, float32: bool) -> int:
    """``--checkpoint-above`` when it is not given: :data:`FLOAT32_CPU_ABOVE` for float32
    on a CPU, else 0 (off: bf16 activations fit, and a GPU has its own budget)."""
    return FLOAT32_CPU_ABOVE if device_type == "cpu" and float32 else 0


def layers_to_recompute(layers: int, tokens: int, above: int) -> int:
    """How many of ``layers`` a micro-batch of ``tokens`` recomputes (module docstring)."""
    if above <= 0 or tokens <= above:
        return 0
    return min(layers, -(-layers * (tokens - above) // tokens))  # the ceiling in integers: no float rounding


class LayerRecompute:
    """Switch checkpointing on for the first N decoder layers of ``model`` before each
    micro-batch (:meth:`set_for`), N from its token count."""

    def __init__(self, model: nn.Module, above: int):
        from transformers.modeling_layers import GradientCheckpointingLayer

        self.above = above
        self.layers = [m for m in model.modules() if isinstance(m, GradientCheckpointingLayer)]
        from .modeling import drop_input_grad_hook, enable_checkpointing

        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        if above and self.layers:
            # transformers gives each layer its checkpoint function; then all start off
            enable_checkpointing(base)
            self.set_for(0)
        elif any(getattr(layer, "gradient_checkpointing", False) for layer in self.layers):
            drop_input_grad_hook(base)  # --gradient-checkpointing: peft's get_peft_model added it back

    @property
    def recomputes_nothing(self) -> bool:
        """The threshold is on, but the model has no decoder layer transformers can checkpoint
        (a custom architecture): every micro-batch keeps all its activations."""
        return bool(self.above) and not self.layers

    def set_for(self, tokens: int) -> int:
        """Checkpoint the layers a micro-batch of ``tokens`` tokens needs; returns how many
        layers it recomputes. With ``above`` 0 the layers stay as they are (every one of them
        under ``--gradient-checkpointing``, none otherwise)."""
        if self.above:
            n = layers_to_recompute(len(self.layers), tokens, self.above)
            for i, layer in enumerate(self.layers):
                layer.gradient_checkpointing = i < n
        return sum(bool(getattr(layer, "gradient_checkpointing", False)) for layer in self.layers)
