"""NEFTune's embedding noise: its size, its independence from batching and padding, and the
loss module's use of it."""

from __future__ import annotations

import pytest
import torch

from ba_io import read_jsonl
from ba_lora.data import collate, encode_rows
from ba_lora.modeling import AnswerLoss, add_lora, load_base_model, load_tokenizer
from ba_lora.noise import batch_noise, noise_seed, sample_noise


def test_sample_noise_is_uniform_within_its_bound_and_reproducible():
    n = sample_noise(300, 64, 5.0, 7)
    bound = 5.0 / (300 * 64) ** 0.5
    assert n.shape == (300, 64) and n.dtype == torch.float32
    assert float(n.abs().max()) <= bound
    assert float(n.abs().max()) > 0.95 * bound  # spans the interval, not a narrower one
    assert abs(float(n.mean())) < 0.02 * bound
    assert torch.equal(n, sample_noise(300, 64, 5.0, 7))
    assert not torch.equal(n, sample_noise(300, 64, 5.0, 8))


def test_noise_seeds_differ_by_seed_epoch_and_row():
    seeds = {noise_seed(s, e, i) for s in (0, 42) for e in (0, 1) for i in (0, 1, 2)}
    assert len(seeds) == 12


def test_a_samples_noise_does_not_depend_on_its_batch_or_padding():
    alone = batch_noise([5], [7], 7, 16, 5.0, 42, 1)
    batched = batch_noise([3, 5], [9, 7], 64, 16, 5.0, 42, 1)
    assert torch.equal(batched[1, :7], alone[0])
    assert not batched[1, 7:].any() and not batched[0, 9:].any()  # the padding gets none
    assert batched[0, :9].abs().min() > 0
    assert not torch.equal(batch_noise([5], [7], 7, 16, 5.0, 42, 0), alone)  # another epoch


@pytest.fixture(scope="module")
def setup(tiny_model_dir, data_dir):
    from ba_llm.prompt import load_prompt

    tok = load_tokenizer(tiny_model_dir)
    rows = read_jsonl(data_dir / "train.jsonl", "example-v2")[:2]
    samples, _ = encode_rows(tok, load_prompt(None), rows, max_length=1024)
    torch.manual_seed(0)
    model = load_base_model(tiny_model_dir, "fp32", torch.device("cpu"))
    return tok, samples, add_lora(model, r=4, alpha=8, dropout=0.0, target_modules="all-linear")


def test_the_loss_module_adds_the_noise_to_the_input_embeddings(setup):
    tok, samples, model = setup
    loss_mod = AnswerLoss(model)
    batch = collate(samples, tok.pad_token_id)
    longest, width = batch["input_ids"].shape[1], model.get_input_embeddings().embedding_dim
    plain, n = loss_mod(**batch)
    zero, n0 = loss_mod(**batch, embed_noise=torch.zeros(len(samples), longest, width))
    assert int(n0) == int(n) and torch.allclose(zero, plain, rtol=1e-6)
    lengths = [s.length for s in samples]
    noisy, _ = loss_mod(**batch, embed_noise=batch_noise([0, 1], lengths, longest, width, 5.0, 42, 0))
    assert not torch.allclose(noisy, plain, rtol=1e-6)
    # what the decoder got: the embeddings plus the noise, nothing else
    seen = {}

    def grab(mod, args, kwargs):
        seen["h"] = args[0] if args else kwargs["hidden_states"]

    hook = model.get_base_model().model.layers[0].register_forward_pre_hook(grab, with_kwargs=True)
    try:
        noise = batch_noise([0, 1], lengths, longest, width, 5.0, 42, 0)
        loss_mod(**batch, embed_noise=noise)
    finally:
        hook.remove()
    expect = model.get_input_embeddings()(batch["input_ids"]) + noise
    assert torch.allclose(seen["h"], expect)
