"""The answer-only loss: equal to transformers' own loss, and the same gradient however
samples are grouped into padded micro-batches."""

from __future__ import annotations

import pytest
import torch

from ba_io import read_jsonl
from ba_lora.data import collate, encode_rows
from ba_lora.modeling import AnswerLoss, add_lora, load_base_model, load_tokenizer


@pytest.fixture(scope="module")
def setup(tiny_model_dir, data_dir):
    from ba_llm.prompt import load_prompt

    tok = load_tokenizer(tiny_model_dir)
    rows = read_jsonl(data_dir / "train.jsonl", "example-v2")[:4]
    samples, _ = encode_rows(tok, load_prompt(None), rows, max_length=1024)
    torch.manual_seed(0)
    model = load_base_model(tiny_model_dir, "fp32", torch.device("cpu"))
    model = add_lora(model, r=4, alpha=8, dropout=0.0, target_modules="all-linear")
    with torch.no_grad():  # make the adapters non-zero so their gradients are non-trivial
        for n, p in model.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 0.05)
    return tok, samples, model


def _grads(model):
    return {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def test_matches_transformers_loss_on_masked_labels(setup):
    tok, samples, model = setup
    batch = collate(samples[:1], tok.pad_token_id)
    loss_sum, n = AnswerLoss(model)(**batch)
    ref = model(input_ids=batch["input_ids"], labels=batch["labels"]).loss
    assert int(n) == samples[0].n_answer
    assert torch.allclose(loss_sum / n, ref, rtol=1e-5, atol=1e-6)


def test_padded_micro_batch_gives_the_same_loss_and_gradient(setup):
    tok, samples, model = setup
    assert len({s.length for s in samples}) > 1  # the batch really is padded
    loss_mod = AnswerLoss(model)
    total_tokens = sum(s.n_answer for s in samples)

    model.zero_grad()
    sums = []
    for s in samples:  # batch size 1, the reference
        loss_sum, _ = loss_mod(**collate([s], tok.pad_token_id))
        (loss_sum / total_tokens).backward()
        sums.append(float(loss_sum.detach()))
    ref = _grads(model)

    model.zero_grad()
    batch = collate(samples, tok.pad_token_id)
    assert batch["attention_mask"] is not None
    loss_sum, n = loss_mod(**batch)
    (loss_sum / total_tokens).backward()
    got = _grads(model)
    assert int(n) == total_tokens
    assert float(loss_sum) == pytest.approx(sum(sums), rel=1e-5)
    for name in ref:
        assert torch.allclose(ref[name], got[name], rtol=1e-4, atol=1e-7), name
    assert any(g.abs().sum() > 0 for g in ref.values())


def test_lm_head_sees_answer_positions_only(setup, monkeypatch):
    from ba_lora import modeling

    tok, samples, model = setup
    seen = []
    real = modeling.linear_cross_entropy

    def spy(rows, weight, target):
        seen.append((rows.shape[0], weight is model.get_base_model().get_output_embeddings().weight))
        return real(rows, weight, target)

    monkeypatch.setattr(modeling, "linear_cross_entropy", spy)
    AnswerLoss(model)(**collate(samples[:2], tok.pad_token_id))
    assert seen == [(samples[0].n_answer + samples[1].n_answer, True)]


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_chunked_linear_cross_entropy_equals_the_plain_loss_and_gradient(monkeypatch, dtype):
    from ba_lora import modeling

    monkeypatch.setattr(modeling, "LOGIT_ROWS", 7)  # several chunks and a ragged last one
    g = torch.Generator().manual_seed(0)
    weight = torch.randn(50, 16, generator=g).to(dtype)
    target = torch.randint(0, 50, (23,), generator=g)
    rows = torch.randn(23, 16, generator=g).to(dtype).requires_grad_(True)
    ref_rows = rows.detach().clone().requires_grad_(True)

    got = modeling.linear_cross_entropy(rows, weight, target)
    ref = torch.nn.functional.cross_entropy((ref_rows @ weight.t()).float(), target, reduction="sum")
    (got * 0.5).backward()
    (ref * 0.5).backward()
    tol = 1e-5 if dtype == torch.float32 else 3e-2
    assert got.dtype == torch.float32
    assert float(got) == pytest.approx(float(ref), rel=tol)
    assert rows.grad.dtype == dtype
    assert torch.allclose(rows.grad.float(), ref_rows.grad.float(), rtol=tol, atol=tol)


def test_bf16_logits_reuse_one_float32_buffer_across_chunks_and_calls(monkeypatch):
    from ba_lora import modeling

    monkeypatch.setattr(modeling, "LOGIT_ROWS", 7)
    monkeypatch.setattr(modeling, "_FLOAT_LOGITS", {})
    weight = torch.randn(50, 16).bfloat16()
    made = []
    real_empty = torch.empty

    def counting_empty(*shape, **kw):
        made.append(tuple(shape))
        return real_empty(*shape, **kw)

    monkeypatch.setattr(modeling.torch, "empty", counting_empty)
    first = modeling.linear_cross_entropy(torch.randn(23, 16).bfloat16(), weight, torch.randint(0, 50, (23,)))
    again = modeling.linear_cross_entropy(torch.randn(5, 16).bfloat16(), weight, torch.randint(0, 50, (5,)))
    assert made == [(7, 50)]  # one buffer of LOGIT_ROWS x vocabulary for 4 chunks in 2 calls
    assert list(modeling._FLOAT_LOGITS) == [("cpu", 50)]
    assert torch.isfinite(first) and torch.isfinite(again)


def test_a_trainable_lm_head_gets_its_gradient_through_plain_autograd():
    from ba_lora.modeling import linear_cross_entropy

    weight = torch.randn(10, 4, requires_grad=True)
    loss = linear_cross_entropy(torch.randn(3, 4), weight, torch.tensor([1, 2, 3]))
    loss.backward()
    assert weight.grad is not None and weight.grad.abs().sum() > 0


def test_linear_schedule_with_warmup():
    from ba_lora.trainer import lr_factor

    assert [lr_factor(s, total=10, warmup=2) for s in range(4)] == [0.0, 0.5, 1.0, 0.875]
    assert lr_factor(9, total=10, warmup=0) == pytest.approx(0.1)


def test_bf16_autocast_path_matches_the_plain_bf16_path(tiny_model_dir, data_dir, monkeypatch):
    """bf16 training runs the float32 LoRA matrices under autocast; loss and (float32)
    adapter gradients agree with peft's own float32 LoRA path within bf16 precision."""
    from ba_llm.prompt import load_prompt

    monkeypatch.setenv("BA_BF16", "1")  # the bf16 path even on a CPU that emulates bf16 (tiny model)

    tok = load_tokenizer(tiny_model_dir)
    rows = read_jsonl(data_dir / "train.jsonl", "example-v2")[:2]
    samples, _ = encode_rows(tok, load_prompt(None), rows, max_length=1024)
    torch.manual_seed(0)
    model = add_lora(
        load_base_model(tiny_model_dir, "bf16", torch.device("cpu")),
        r=4,
        alpha=8,
        dropout=0.0,
        target_modules="all-linear",
    )
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 0.05)
    batch = collate(samples, tok.pad_token_id)
    out = {}
    for name, dtype in (("plain", None), ("autocast", torch.bfloat16)):
        model.zero_grad()
        loss_sum, n = AnswerLoss(model, dtype)(**batch)
        (loss_sum / n).backward()
        out[name] = (float(loss_sum.detach() / n), _grads(model))
    assert out["autocast"][0] == pytest.approx(out["plain"][0], rel=1e-2)
    for k, g in out["plain"][1].items():
        a = out["autocast"][1][k]
        assert a.dtype == torch.float32
        assert torch.nn.functional.cosine_similarity(a.flatten(), g.flatten(), dim=0) > 0.98, k


def test_bf16_computes_in_float32_where_the_cpu_has_no_native_bf16(tiny_model_dir, monkeypatch):
    from ba_lora.modeling import compute_dtype

    cpu = torch.device("cpu")
    monkeypatch.setenv("BA_BF16", "0")
    assert compute_dtype("bf16", cpu) == torch.float32 == compute_dtype("fp32", cpu)
    assert next(load_base_model(tiny_model_dir, "bf16", cpu).parameters()).dtype == torch.float32
    monkeypatch.setenv("BA_BF16", "1")
    assert compute_dtype("bf16", cpu) == torch.bfloat16
    assert next(load_base_model(tiny_model_dir, "bf16", cpu).parameters()).dtype == torch.bfloat16


def test_padding_to_a_multiple_gives_the_same_loss_and_gradient(setup):
    """Pads after the last real token change nothing a real token computes (causal mask) and
    carry no label: ``--pad-to-multiple`` keeps the loss and every LoRA gradient."""
    tok, samples, model = setup
    loss_mod = AnswerLoss(model)
    for s in samples[:2]:
        model.zero_grad()
        ref_sum, ref_n = loss_mod(**collate([s], tok.pad_token_id))
        ref_sum.backward()
        ref = _grads(model)
        model.zero_grad()
        batch = collate([s], tok.pad_token_id, multiple=64, limit=1024)
        assert batch["input_ids"].shape[1] % 64 == 0 and batch["input_ids"].shape[1] > s.length
        got_sum, got_n = loss_mod(**batch)
        got_sum.backward()
        assert int(got_n) == int(ref_n)
        assert float(got_sum) == pytest.approx(float(ref_sum), rel=1e-5)
        for name, g in _grads(model).items():  # float32 rounding of longer sums aside
            assert (ref[name] - g).abs().max() <= 1e-5 * ref[name].abs().max(), name
