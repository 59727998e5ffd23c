"""ba-lora train with gradient checkpointing on every K-th decoder layer only (a probe, not shipped).
K=0: no checkpointing at all (plain ba-lora train). The other layers keep the lean activations."""

import os
import sys

import ba_lora.trainer as t
from ba_lora import modeling
from ba_lora.lean import use_lean_activations

K = int(os.environ.get("K", "1"))
orig = modeling.load_base_model


def patched(base_dir, quantization, device, gradient_checkpointing=False):
    model = orig(base_dir, quantization, device, True)
    layers = model.model.layers
    for i, layer in enumerate(layers):
        if i % K != 0:
            layer.gradient_checkpointing = False
            use_lean_activations(layer)
    print(
        f"probe: {sum(bool(layer.gradient_checkpointing) for layer in layers)} of {len(layers)} layers checkpointed",
        file=sys.stderr,
    )
    return model


t.load_base_model = patched
from ba_lora.cli import main  # noqa: E402

sys.argv[0] = "ba-lora"
sys.exit(main())
