"""Samples: prompt tokens masked, the prompt equals the generation prompt, data order, micro-batches."""

from __future__ import annotations

import pytest

from ba_io import read_jsonl
from ba_lora.data import IGNORE, Sample, answer_text, collate, encode_row, epoch_steps, micro_batches, padded_length


@pytest.fixture(scope="module")
def tok(tiny_model_dir):
    from ba_lora.modeling import load_tokenizer

    return load_tokenizer(tiny_model_dir)


@pytest.fixture(scope="module")
def rows(data_dir):
    return read_jsonl(data_dir / "train.jsonl", "example-v2")


def test_prompt_tokens_are_masked_and_answer_is_supervised(tok, rows):
    from ba_llm.prompt import load_prompt, render_chat_text, render_messages

    prompt = load_prompt(None)
    row = rows[0]
    s = encode_row(tok, prompt, row, max_length=4096)
    labels = s.labels()
    # the masked prefix is exactly the generation prompt inference feeds the model
    gen_prompt = render_chat_text(tok, render_messages(prompt, row["concept"]), add_generation_prompt=True)
    assert list(s.input_ids[: s.n_prompt]) == tok(gen_prompt, add_special_tokens=False)["input_ids"]
    assert all(x == IGNORE for x in labels[: s.n_prompt])
    assert all(x != IGNORE for x in labels[s.n_prompt :])
    supervised = tok.decode([x for x in labels if x != IGNORE])
    assert supervised.startswith(answer_text(row))
    assert supervised[len(answer_text(row)) :].strip() == "<|im_end|>"
    assert row["concept"] in tok.decode(s.input_ids[: s.n_prompt])
    assert not s.truncated and s.n_answer > 100


def test_truncation_and_prompt_filling_max_length(tok, rows):
    from ba_llm.prompt import load_prompt

    prompt = load_prompt(None)
    full = encode_row(tok, prompt, rows[0], max_length=4096)
    cut = encode_row(tok, prompt, rows[0], max_length=full.n_prompt + 5)
    assert cut.truncated and cut.length == full.n_prompt + 5 and cut.n_answer == 5
    assert cut.input_ids == full.input_ids[: full.n_prompt + 5]
    assert encode_row(tok, prompt, rows[0], max_length=full.n_prompt) is None


def test_epoch_order_is_deterministic_and_covers_every_sample():
    a = epoch_steps(21, 8, seed=42, epoch=0)
    assert a == epoch_steps(21, 8, seed=42, epoch=0)
    assert [len(s) for s in a] == [8, 8, 5]
    assert sorted(i for s in a for i in s) == list(range(21))
    assert a != epoch_steps(21, 8, seed=42, epoch=1)
    assert a != epoch_steps(21, 8, seed=43, epoch=0)


def _s(n: int, p: int = 1) -> Sample:
    return Sample(tuple(range(1, n + 1)), p, f"r{n}")


def test_micro_batches_group_longest_first_within_budget():
    samples = [_s(10), _s(40), _s(30), _s(35), _s(12)]
    assert micro_batches([0, 1, 2, 3, 4], samples, batch_size=1) == [[1], [3], [2], [4], [0]]
    assert micro_batches([0, 1, 2, 3, 4], samples, batch_size=2) == [[1, 3], [2, 4], [0]]
    # token budget: 40*3 = 120 fits, a fourth row would not (160 > 120)
    assert micro_batches([0, 1, 2, 3, 4], samples, batch_size=1, max_tokens=120) == [[1, 3, 2], [4, 0]]


def test_collate_pads_right_and_skips_the_mask_when_unpadded():
    one = collate([_s(5, 2)], pad_id=0)
    assert one["attention_mask"] is None
    assert one["labels"].tolist() == [[IGNORE, IGNORE, 3, 4, 5]]
    two = collate([_s(5, 2), _s(3, 1)], pad_id=0)
    assert two["input_ids"].tolist() == [[1, 2, 3, 4, 5], [1, 2, 3, 0, 0]]
    assert two["attention_mask"].tolist() == [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]
    assert two["labels"].tolist()[1] == [IGNORE, 2, 3, IGNORE, IGNORE]


def test_collate_rounds_the_length_up_to_a_multiple_not_past_the_limit():
    """Padding to a multiple of N tokens: pads at the end, labels ignored, and a single sample
    keeps the mask-free causal path (no real token can see a pad after it)."""
    assert [padded_length(n, 64, 2048) for n in (1, 64, 65, 2000, 2048)] == [64, 64, 128, 2048, 2048]
    assert padded_length(100, 64, 110) == 110 and padded_length(120, 64, 110) == 120
    assert padded_length(65, 0, 2048) == 65
    one = collate([_s(5, 2)], pad_id=0, multiple=4, limit=16)
    assert one["input_ids"].tolist() == [[1, 2, 3, 4, 5, 0, 0, 0]]
    assert one["labels"].tolist() == [[IGNORE, IGNORE, 3, 4, 5, IGNORE, IGNORE, IGNORE]]
    assert one["attention_mask"] is None
    two = collate([_s(5, 2), _s(3, 1)], pad_id=0, multiple=4, limit=16)
    assert two["attention_mask"].tolist() == [[1, 1, 1, 1, 1, 0, 0, 0], [1, 1, 1, 0, 0, 0, 0, 0]]
    same = collate([_s(5, 2), _s(5, 2)], pad_id=0, multiple=4, limit=16)
    assert same["attention_mask"] is None and same["input_ids"].shape == (2, 8)


def test_micro_batches_count_the_padded_size_against_the_token_budget():
    samples = [_s(40), _s(35), _s(30)]
    assert micro_batches([0, 1, 2], samples, batch_size=1, max_tokens=120) == [[0, 1, 2]]
    # padded to 64, three rows take 192 tokens: only one fits in 120
    assert micro_batches([0, 1, 2], samples, 1, max_tokens=128, multiple=64, limit=2048) == [[0, 1], [2]]
