"""ba_lora.recompute: the longest micro-batches recompute some decoder layers, with the same
loss and gradients and fewer activations kept."""

from __future__ import annotations

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from ba_lora.lean import use_lean_activations
from ba_lora.modeling import AnswerLoss, add_lora, enable_checkpointing, use_fast_dropout
from ba_lora.recompute import FLOAT32_CPU_ABOVE, LayerRecompute, default_above, layers_to_recompute

LAYERS = 4


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    shape = dict(vocab_size=300, hidden_size=64, intermediate_size=160, num_hidden_layers=LAYERS)
    model = LlamaForCausalLM(LlamaConfig(**shape, num_attention_heads=4, num_key_value_heads=2))
    for p in model.parameters():
        p.requires_grad_(False)
    use_lean_activations(model)  # as ba-lora train runs it: the lean layers inside the checkpoints
    return model


def _forward_keeping(loss_mod: AnswerLoss, ids: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, int]:
    """The loss, and the bytes its forward keeps for the backward pass (parameters aside)."""
    saved: dict[int, tuple[int, torch.Tensor]] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        if not isinstance(t, torch.nn.Parameter):  # held here, so no address is freed and reused
            saved[t.untyped_storage().data_ptr()] = (t.untyped_storage().nbytes(), t)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss, _ = loss_mod(ids, labels)
    return loss, sum(n for n, _ in saved.values())


def _run(
    above: int | None, every: bool = False, dropout: float = 0.0, trained_b: bool = False
) -> tuple[list[torch.Tensor], list[torch.Tensor], list[int], list[int]]:
    """Three micro-batches of 16, 40 and 64 tokens; their losses, the LoRA gradients, the
    layers recomputed and the bytes kept for the backward pass, per micro-batch.
    ``trained_b``: LoRA's B matrices non-zero (as after some steps; peft starts them at 0, so
    the LoRA path, and its dropout, would not reach the loss)."""
    model = _model()
    if every:
        enable_checkpointing(model)  # what load_base_model does for --gradient-checkpointing
    torch.manual_seed(1)
    lora = add_lora(model, 4, 8, dropout, "all-linear")
    if trained_b:
        gen = torch.Generator().manual_seed(2)  # its own generator: the global stream is untouched
        with torch.no_grad():
            for name, p in lora.named_parameters():
                if "lora_B" in name:
                    p.copy_(torch.randn(p.shape, generator=gen) * 0.02)
    if dropout:
        assert use_fast_dropout(lora) > 0  # as ba-lora train runs on a CPU
    recompute = LayerRecompute(lora, above) if above is not None else None  # as ba-lora train: after LoRA
    loss_mod = AnswerLoss(lora, None)
    losses, counts, kept = [], [], []
    for rows, width in ((1, 16), (1, 40), (2, 32)):
        ids = torch.randint(0, 300, (rows, width))
        labels = ids.clone()
        labels[:, : width // 3] = -100
        counts.append(recompute.set_for(ids.numel()) if recompute else 0)
        loss, nbytes = _forward_keeping(loss_mod, ids, labels)
        loss.backward()
        losses.append(loss.detach())
        kept.append(nbytes)
    grads = [p.grad.clone() for p in lora.parameters() if p.requires_grad]
    return losses, grads, counts, kept


def test_recomputing_layers_keeps_less_and_changes_no_bit():
    losses, grads, counts, kept = _run(None)
    off_losses, off_grads, off_counts, off_kept = _run(0)
    some_losses, some_grads, some_counts, some_kept = _run(24)
    assert counts == off_counts == [0, 0, 0]
    assert _run(0, every=True)[2] == [LAYERS] * 3  # --gradient-checkpointing: every layer, every time
    # 16 tokens: none; 40: ceil(4 x (1 - 24/40)) = 2; 64 (2 rows of 32): ceil(4 x 0.625) = 3
    assert some_counts == [0, 2, 3]
    for other_losses, other_grads in ((off_losses, off_grads), (some_losses, some_grads)):
        assert all(torch.equal(a, b) for a, b in zip(losses, other_losses))
        assert len(grads) == len(other_grads) > 0 and all(torch.equal(a, b) for a, b in zip(grads, other_grads))
    assert off_kept == kept  # 0: nothing installed, nothing changes
    assert some_kept[0] == kept[0]  # under the threshold: as much as without
    assert some_kept[1] < 0.7 * kept[1] and some_kept[2] < 0.6 * kept[2], (some_kept, kept)


def test_recomputed_layers_draw_the_same_lora_dropout_masks():
    """With LoRA dropout, a recomputed layer must drop the same inputs as its first forward
    (the checkpoint restores the random state before recomputing and gives it back after),
    and the layers after it the same as without recomputing."""
    losses, grads, _, _ = _run(0, dropout=0.3, trained_b=True)
    some_losses, some_grads, some_counts, _ = _run(24, dropout=0.3, trained_b=True)
    no_drop_losses, no_drop_grads, _, _ = _run(0, trained_b=True)
    assert some_counts == [0, 2, 3]
    # the same first micro-batch (drawn before any mask) gives another loss and other
    # gradients with dropout: the masks reach the loss
    assert not torch.equal(losses[0], no_drop_losses[0])
    assert not all(torch.equal(a, b) for a, b in zip(grads, no_drop_grads))
    assert all(torch.equal(a, b) for a, b in zip(losses, some_losses))
    assert len(grads) == len(some_grads) > 0 and all(torch.equal(a, b) for a, b in zip(grads, some_grads))


def test_no_checkpoint_runs_without_gradients_or_outside_training():
    """Every layer switched on, its checkpoint function replaced by one that fails: a forward
    without gradients (generation, validation loss) or in eval mode never calls it."""
    model = _model()
    recompute = LayerRecompute(model, 8)
    assert recompute.set_for(10**6) == LAYERS

    def fail(*args, **kwargs):
        raise AssertionError("a layer was checkpointed")

    for layer in recompute.layers:
        layer._gradient_checkpointing_func = fail
    ids = torch.randint(0, 300, (1, 12))
    model.train()
    with torch.no_grad():
        model(ids)
    model.eval()
    model(ids)
    model.train()
    with pytest.raises(AssertionError, match="checkpointed"):
        model(ids)  # the same forward with gradients does use it


@pytest.mark.parametrize(
    ("tokens", "above", "layers"),
    [
        (100, 0, 0),
        (384, 384, 0),
        (385, 384, 1),
        (768, 384, 15),
        (896, 384, 18),
        (10**6, 384, 30),
        (10, 1, 27),
        (768, 256, 20),
        (384, 256, 10),
        (896, 256, 22),
        (384, 128, 20),  # the float32 default since 2026-12-06
        (768, 128, 25),
        (896, 128, 26),
    ],
)
def test_layers_to_recompute(tokens, above, layers):
    assert layers_to_recompute(30, tokens, above) == layers


def test_the_default_recomputes_only_float32_on_a_cpu():
    assert default_above("cpu", True) == FLOAT32_CPU_ABOVE > 0
    assert default_above("cpu", False) == 0
    assert default_above("cuda", True) == 0


def test_a_model_without_checkpointable_layers_is_said_to_recompute_nothing():
    """The trainer warns when the threshold is on and no layer can be recomputed (a custom
    architecture); never when it is off, nor for a transformers decoder."""
    plain = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Linear(4, 4))
    recompute = LayerRecompute(plain, 256)
    assert recompute.recomputes_nothing and recompute.layers == []
    assert recompute.set_for(10**6) == 0
    assert not LayerRecompute(plain, 0).recomputes_nothing
    assert not LayerRecompute(_model(), 256).recomputes_nothing
