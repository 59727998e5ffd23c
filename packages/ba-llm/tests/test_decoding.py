"""The decoding loop: rows that end leave the batch, and the tokens are generate()'s."""

from __future__ import annotations

import pytest
from conftest import CONCEPTS

from ba_llm import decoding
from ba_llm.decoding import Row, decode
from ba_llm.prompt import render_messages

STEPS = 24


@pytest.fixture(scope="module")
def batch(tiny_backend_f32, test_prompt):
    tok = tiny_backend_f32.tokenizer
    texts = [tiny_backend_f32.render(render_messages(test_prompt, c["concept"])) for c in CONCEPTS]
    enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    assert len(set(enc["attention_mask"].sum(1).tolist())) > 1  # prompts of different lengths, left-padded
    return enc


@pytest.fixture(scope="module")
def tiny_backend_f32(tiny_model):
    from ba_llm import load_backend

    with load_backend(f"hf:{tiny_model}", dtype="float32") as b:
        yield b


def _generate(model, enc, stop: list[int], steps: int = STEPS) -> list[list[int]]:
    """transformers' own greedy generate() with a static cache: each row up to its first stop id."""
    import torch
    from transformers import GenerationConfig

    cfg = GenerationConfig(
        max_new_tokens=steps,
        do_sample=False,
        eos_token_id=stop,
        pad_token_id=stop[0],
        cache_implementation="static",
        disable_compile=True,
    )
    with torch.inference_mode():
        out = model.generate(**enc, generation_config=cfg)[:, enc["input_ids"].shape[1] :].tolist()
    return [row[: row.index(stop[0])] if stop[0] in row else row for row in out]


def _decode(model, enc, stop, *, looping=lambda rows: [False] * len(rows), check_every=8, steps=STEPS) -> list[Row]:
    import torch

    with torch.inference_mode():
        return decode(
            model,
            enc["input_ids"],
            enc["attention_mask"],
            max_new_tokens=steps,
            stop_ids=stop,
            choose=lambda logits: logits.argmax(-1),
            looping=looping,
            check_every=check_every,
        )


def _batch_sizes(model, monkeypatch) -> list[int]:
    """Record the number of rows of every forward call of ``model``."""
    sizes: list[int] = []
    forward = model.forward

    def counting(*args, **kwargs):
        sizes.append(kwargs["input_ids"].shape[0])
        return forward(*args, **kwargs)

    monkeypatch.setattr(model, "forward", counting)
    return sizes


def _a_stop_token_ending_rows_at_different_steps(free: list[list[int]]) -> int:
    """A token that, taken as the end of turn, ends some rows early and at different steps
    and leaves at least one row running to the limit (so rows leave a batch that goes on)."""
    best = None
    for token in sorted({t for row in free for t in row}):
        ends = [row.index(token) for row in free if token in row]
        if 2 <= len(ends) < len(free) and len(set(ends)) >= 2 and max(ends) < STEPS - 4:
            best = token
            break
    assert best is not None, "the tiny model's free run has no token that ends rows at different steps"
    return best


def test_greedy_rows_are_generates_while_ended_rows_leave_the_batch(tiny_backend_f32, batch, monkeypatch):
    model = tiny_backend_f32.model
    free = _generate(model, batch, [len(tiny_backend_f32.tokenizer) + 5])  # an id never produced: no row stops
    assert all(len(row) == STEPS for row in free)
    stop = _a_stop_token_ending_rows_at_different_steps(free)
    expected = _generate(model, batch, [stop])

    sizes = _batch_sizes(model, monkeypatch)
    rows = _decode(model, batch, [stop])
    assert [r.tokens for r in rows] == expected
    assert [r.reason for r in rows] == ["stop" if stop in f else "length" for f in free]
    # the shared prompt once for one row, then every row that ended left the batch; the rows
    # still running were all that was computed
    assert sizes[0] == 1 and sizes[1] == len(CONCEPTS) and sizes[-1] == sum(r.reason == "length" for r in rows)
    assert sizes[1:] == sorted(sizes[1:], reverse=True)
    assert sum(sizes[1:]) < len(CONCEPTS) * len(sizes[1:])


def test_the_loop_rule_ends_a_row_at_the_check(tiny_backend_f32, batch):
    model = tiny_backend_f32.model
    never = [len(tiny_backend_f32.tokenizer) + 5]
    free = _generate(model, batch, never)
    asked: list[list[list[int]]] = []

    def first_row_loops(rows):
        asked.append([list(r) for r in rows])
        return [len(asked) == 1] + [False] * (len(rows) - 1)

    rows = _decode(model, batch, never, looping=first_row_loops, check_every=4)
    # asked every 4 tokens with the open rows' generated tokens; the first row ended at the first check
    assert [len(rows_asked[0]) for rows_asked in asked] == [4 * k for k in range(1, len(asked) + 1)]
    assert len(asked[0]) == len(CONCEPTS) and len(asked[1]) == len(CONCEPTS) - 1
    assert rows[0] == Row(free[0][:4], "stop")
    assert [r.tokens for r in rows[1:]] == free[1:] and {r.reason for r in rows[1:]} == {"length"}


def test_ended_rows_wait_in_the_batch_until_a_quarter_of_it_has_ended(tiny_backend_f32, batch, monkeypatch):
    model = tiny_backend_f32.model
    never = [len(tiny_backend_f32.tokenizer) + 5]
    free = _generate(model, batch, never)
    calls = {"n": 0}

    def one_row_at_the_first_check(rows):
        calls["n"] += 1
        return [calls["n"] == 1] + [False] * (len(rows) - 1)

    monkeypatch.setattr(decoding, "DROP_SHARE", 0.5)  # 5 rows: two must end before any leaves
    sizes = _batch_sizes(model, monkeypatch)
    rows = _decode(model, batch, never, looping=one_row_at_the_first_check, check_every=4)
    assert sizes[0] == 1  # the shared prompt
    assert set(sizes[1:]) == {len(CONCEPTS)}  # one ended row of five stayed in the batch to the end
    assert rows[0] == Row(free[0][:4], "stop")
    assert [r.tokens for r in rows[1:]] == free[1:]


def test_the_cache_grows_with_the_rows_and_the_tokens_stay_generates(tiny_backend_f32, batch, monkeypatch):
    model = tiny_backend_f32.model
    stop = _a_stop_token_ending_rows_at_different_steps(_generate(model, batch, [len(tiny_backend_f32.tokenizer) + 5]))
    expected = _generate(model, batch, [stop])
    lengths: list[int] = []
    sizes: list[int] = []
    forward = model.forward

    def recording(*args, **kwargs):
        lengths.append(kwargs["cache"].layers[0].max_cache_len)
        sizes.append(kwargs["input_ids"].shape[0])
        return forward(*args, **kwargs)

    trims: list[int] = []
    monkeypatch.setattr(model, "forward", recording)
    monkeypatch.setattr(decoding, "GROW_BY", 5)
    monkeypatch.setattr(decoding, "release_free_memory", lambda: trims.append(len(lengths)) or True)
    rows = _decode(model, batch, [stop])
    assert [r.tokens for r in rows] == expected
    prompt = batch["input_ids"].shape[1]
    # allocated for the prompt and 5 more positions, then 5 at a time as the rows reach the
    # end, never past the prompt plus max_new_tokens
    assert lengths[0] == prompt + 5 and lengths == sorted(lengths)
    assert sorted(set(lengths)) == [*range(prompt + 5, prompt + STEPS, 5), prompt + STEPS]
    # the heap's freed pages go back to the system after every growth and every drop of rows
    # (glibc keeps the old buffers' pages otherwise: base-model curated peak 2,320 -> 2,050 MiB)
    growths = len(set(lengths)) - 1
    drops = sum(1 for a, b in zip(sizes, sizes[1:]) if b < a)
    assert growths >= 3 and drops >= 1 and len(trims) == growths + drops


def test_the_prompt_every_row_shares_is_computed_once_and_the_tokens_stay_generates(
    tiny_backend_f32, batch, monkeypatch
):
    model = tiny_backend_f32.model
    ids, mask = batch["input_ids"], batch["attention_mask"]
    shared = decoding.shared_prefix(ids, mask)
    assert shared >= decoding.MIN_SHARED  # the system prompt and the user turn's opening
    stop = _a_stop_token_ending_rows_at_different_steps(_generate(model, batch, [len(tiny_backend_f32.tokenizer) + 5]))
    expected = _generate(model, batch, [stop])
    shapes: list[tuple[int, int]] = []
    forward = model.forward

    def recording(*args, **kwargs):
        shapes.append(tuple(kwargs["input_ids"].shape))
        return forward(*args, **kwargs)

    monkeypatch.setattr(model, "forward", recording)
    shared_rows = _decode(model, batch, [stop])
    # the prefix for one row, then each row's own prompt tokens (behind its padding), then one token per step
    width = ids.shape[1]
    assert shapes[:2] == [(1, shared), (len(CONCEPTS), width - shared)]
    assert {s[1] for s in shapes[2:]} == {1}
    assert [r.tokens for r in shared_rows] == expected

    shapes.clear()
    monkeypatch.setattr(decoding, "MIN_SHARED", width + 1)  # nothing long enough to share
    whole_rows = _decode(model, batch, [stop])
    assert shapes[0] == (len(CONCEPTS), width)
    assert whole_rows == shared_rows


def test_the_prefix_moves_before_the_padding_and_every_token_keeps_its_position():
    import torch

    pad = 0
    ids = torch.tensor(
        [
            [pad, pad, 7, 8, 9, 10, 11],
            [7, 8, 9, 10, 12, 13, 14],
            [pad, pad, pad, 7, 8, 9, 15],
        ]
    )
    mask = (torch.arange(7)[None, :] >= torch.tensor([[2], [0], [3]])).long()
    moved_ids, moved_mask = decoding.prefix_first(ids, mask, 3)
    assert moved_ids.tolist() == [
        [7, 8, 9, pad, pad, 10, 11],
        [7, 8, 9, 10, 12, 13, 14],
        [7, 8, 9, pad, pad, pad, 15],
    ]
    assert moved_mask.tolist() == [[1, 1, 1, 0, 0, 1, 1], [1] * 7, [1, 1, 1, 0, 0, 0, 1]]
    for b in range(3):  # the same real tokens at the same positions (position ids come from the mask)
        before = mask[b].cumsum(0) - 1
        after = moved_mask[b].cumsum(0) - 1
        assert ids[b][mask[b] == 1].tolist() == moved_ids[b][moved_mask[b] == 1].tolist()
        assert before[mask[b] == 1].tolist() == after[moved_mask[b] == 1].tolist()
    assert ids[0].tolist() == [pad, pad, 7, 8, 9, 10, 11]  # the input is not changed


def test_the_shared_prefix_is_what_every_row_starts_with_and_leaves_each_row_a_token(monkeypatch):
    import torch

    monkeypatch.setattr(decoding, "MIN_SHARED", 2)

    def left_padded(rows: list[list[int]]):
        width = max(map(len, rows))
        ids = torch.tensor([[0] * (width - len(r)) + r for r in rows])
        mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows])
        return ids, mask

    assert decoding.shared_prefix(*left_padded([[5, 6, 7, 8], [5, 6, 7, 9, 9]])) == 3
    # a row that is all prefix keeps its last token: its logits start its answer
    assert decoding.shared_prefix(*left_padded([[5, 6, 7], [5, 6, 7, 8, 9]])) == 2
    assert decoding.shared_prefix(*left_padded([[5, 6, 7], [4, 6, 7]])) == 0  # differ at once
    assert decoding.shared_prefix(*left_padded([[5, 6, 7], [5, 4, 7]])) == 0  # 1 < MIN_SHARED
    assert decoding.shared_prefix(*left_padded([[5, 6, 7, 8]])) == 0  # one row: nothing to share
    assert decoding.shared_prefix(*left_padded([[5, 6, 7, 8], [5, 6, 7, 8], [5, 6, 1, 8]])) == 2


def test_a_cache_with_sliding_window_layers_is_whole_from_the_start_and_never_grows(monkeypatch):
    """Gemma-2/3 mix sliding-window and full layers; the first layer's length is the window's,
    so growing by it cut the full layers' buffers (a review found the crash past the window)."""
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    cfg = Qwen2Config(
        vocab_size=100,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        use_sliding_window=True,
        sliding_window=8,
        max_position_embeddings=512,
        layer_types=["sliding_attention", "full_attention"],
    )
    model = Qwen2ForCausalLM(cfg).eval()
    ids = torch.randint(3, 100, (2, 6))
    enc = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    gen = GenerationConfig(
        max_new_tokens=30, do_sample=False, eos_token_id=[999], pad_token_id=0, cache_implementation="static"
    )
    with torch.inference_mode():
        expected = model.generate(**enc, generation_config=gen, disable_compile=True)[:, 6:].tolist()
    monkeypatch.setattr(decoding, "GROW_BY", 4)  # far past the window of 8 within 30 tokens
    rows = _decode(model, enc, [999], steps=30)
    assert [r.tokens for r in rows] == expected and {r.reason for r in rows} == {"length"}
