"""ba_llm.attention: SDPA over the filled part of a static KV cache gives the same attention
and the same greedy documents as SDPA over the whole cache."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from ba_llm import attention  # noqa: E402


def _mask(lengths: list[int], filled: int, size: int, *, left_pad: int = 0) -> torch.Tensor:
    """A boolean decode mask ``[rows, 1, 1, size]``: row r may attend to keys
    ``left_pad .. filled`` (its left padding and the cache's empty tail are masked)."""
    m = torch.zeros(len(lengths), 1, 1, size, dtype=torch.bool)
    for r, n in enumerate(lengths):
        m[r, 0, 0, filled - n + left_pad : filled] = True
    return m


def test_filled_length_of_boolean_and_additive_masks():
    m = _mask([3, 5], filled=7, size=12)
    assert attention.filled_length(m) == 7
    additive = torch.zeros(m.shape).masked_fill(~m, torch.finfo(torch.float32).min)
    assert attention.filled_length(additive) == 7
    assert attention.filled_length(torch.zeros(2, 1, 1, 4, dtype=torch.bool)) == 0


class _Module(torch.nn.Module):
    num_key_value_groups = 2
    is_causal = True


def test_same_attention_as_sdpa_over_the_whole_cache_with_the_tail_cut(monkeypatch):
    from transformers.integrations import sdpa_attention

    torch.manual_seed(0)
    rows, kv_heads, size, d = 3, 2, 40, 16
    q = torch.randn(rows, 4, 1, d)
    k = torch.randn(rows, kv_heads, size, d)
    v = torch.randn(rows, kv_heads, size, d)
    k[:, :, 23:] = 0.0  # a static cache's empty tail
    v[:, :, 23:] = 0.0
    m = _mask([20, 23, 9], filled=23, size=size)
    whole, _ = sdpa_attention.sdpa_attention_forward(_Module(), q, k, v, m, scaling=d**-0.5)
    seen: list[int] = []
    real = sdpa_attention.sdpa_attention_forward

    def spy(module, query, key, value, mask, **kw):
        seen.append(key.shape[2])
        return real(module, query, key, value, mask, **kw)

    monkeypatch.setattr(sdpa_attention, "sdpa_attention_forward", spy)
    cut, _ = attention.attention_forward(_Module(), q, k, v, m, scaling=d**-0.5)
    assert seen == [23]
    torch.testing.assert_close(cut, whole, rtol=1e-6, atol=1e-6)


def test_a_mask_changed_in_place_is_measured_again(monkeypatch):
    from transformers.integrations import sdpa_attention

    seen: list[int] = []
    monkeypatch.setattr(
        sdpa_attention, "sdpa_attention_forward", lambda _m, q, k, v, mask, **kw: seen.append(k.shape[2])
    )
    q, k = torch.randn(2, 4, 1, 8), torch.randn(2, 2, 10, 8)
    m = _mask([3, 4], filled=4, size=10)
    attention.attention_forward(_Module(), q, k, k, m)
    attention.attention_forward(_Module(), q, k, k, m)  # the next layer of the same pass
    m[:, :, :, 4] = True  # a cache that grew in place, in the same tensor
    attention.attention_forward(_Module(), q, k, k, m)
    assert seen == [4, 4, 5]


def test_a_full_or_absent_mask_is_passed_through(monkeypatch):
    from transformers.integrations import sdpa_attention

    seen: list[int] = []
    monkeypatch.setattr(
        sdpa_attention, "sdpa_attention_forward", lambda _m, q, k, v, mask, **kw: seen.append(k.shape[2])
    )
    q, k = torch.randn(1, 4, 5, 8), torch.randn(1, 2, 5, 8)
    attention.attention_forward(_Module(), q, k, k, None)
    attention.attention_forward(_Module(), q, k, k, torch.ones(1, 1, 5, 5, dtype=torch.bool))
    assert seen == [5, 5]


def test_the_backend_generates_the_same_greedy_text_as_plain_sdpa(tiny_model, test_prompt):
    from conftest import CONCEPTS

    from ba_llm import Decoding, load_backend
    from ba_llm.prompt import render_messages

    conversations = [render_messages(test_prompt, c["concept"]) for c in CONCEPTS]
    backend = load_backend(f"hf:{tiny_model}")
    assert backend.model.config._attn_implementation == attention.NAME
    ours = backend.complete(conversations, Decoding(max_new_tokens=48), batch_size=5)
    backend.model.set_attn_implementation("sdpa")
    plain = backend.complete(conversations, Decoding(max_new_tokens=48), batch_size=5)
    assert [c.text for c in ours] == [c.text for c in plain]
    assert sum(c.completion_tokens for c in ours) > 5 * 10  # the rows decoded well past their prompts
