"""FastDropout: nn.Dropout's semantics (drop rate, scaling, eval identity, gradient,
seeded reproducibility) from a quarter of the random draws; and the swap into peft."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ba_lora.modeling import FastDropout, add_lora, load_base_model, use_fast_dropout


@pytest.mark.parametrize("p", [0.05, 0.1, 0.5])
def test_drop_rate_and_scaling(p):
    torch.manual_seed(0)
    x = torch.ones(400_001)  # not a multiple of 3: the last draw is cut
    y = FastDropout(p).train()(x)
    dropped = (y == 0).float().mean().item()
    # 400k Bernoulli(p) draws: the standard error is below 8e-4
    assert abs(dropped - p) < 4e-3
    kept = y[y != 0]
    assert torch.allclose(kept, torch.full_like(kept, 1 / (1 - p)))


def test_lanes_are_independent_of_position():
    """Each of the three 16-bit lanes taken from a 64-bit draw drops at the same rate."""
    torch.manual_seed(1)
    y = FastDropout(0.25).train()(torch.ones(3 * 100_000)).view(-1, 3)
    rates = (y == 0).float().mean(0)
    assert torch.all((rates - 0.25).abs() < 6e-3), rates


def test_eval_mode_and_zero_rate_are_identity():
    x = torch.randn(7, 5)
    assert FastDropout(0.3).eval()(x) is x
    assert FastDropout(0.0).train()(x) is x


def test_same_seed_same_mask_and_gradient_is_the_mask():
    x = torch.randn(33, 17, dtype=torch.bfloat16, requires_grad=True)
    d = FastDropout(0.2).train()
    torch.manual_seed(5)
    y1 = d(x)
    torch.manual_seed(5)
    y2 = d(x)
    assert torch.equal(y1, y2)
    y1.float().sum().backward()
    mask = (y1 != 0).to(torch.bfloat16) * (1 / 0.8)
    assert torch.allclose(x.grad.float(), mask.float(), rtol=1e-2)
    assert y1.dtype == torch.bfloat16


def test_rejects_bad_rate():
    with pytest.raises(ValueError):
        FastDropout(1.0)


def test_use_fast_dropout_replaces_every_lora_dropout(tiny_model_dir):
    model = add_lora(
        load_base_model(tiny_model_dir, "fp32", torch.device("cpu")),
        r=4,
        alpha=8,
        dropout=0.1,
        target_modules=["q_proj", "v_proj"],
    )
    before = sum(isinstance(m, nn.Dropout) for m in model.modules())
    n = use_fast_dropout(model)
    assert n == before > 0
    assert not any(isinstance(m, nn.Dropout) for m in model.modules())
    assert sum(isinstance(m, FastDropout) and m.p == 0.1 for m in model.modules()) == n
    # the adapter's saved weights do not change: dropout has no state
    assert not any("dropout" in k for k in model.state_dict())
