"""Shared fixtures: a tiny random Llama with a ChatML tokenizer (fast), and the real
SmolLM2 prepared once per session into a temporary directory (slow)."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["BA_NO_PROGRESS"] = "1"

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
CORPUS = [
    "title: Community garden plot reservations",
    "description: A mobile app for community garden members to reserve plots.",
    "functional_requirements:\n  - id: FR001\n    description: Members shall reserve a plot.\n    priority: High",
    "non_functional_requirements:\n  - id: NFR001\n    description: Pages load in 2 seconds.\n    priority: Medium",
    "constraints:\n  - id: C001\n    description: The budget is under $20k.\n    priority: Low",
    "Business concept: an online bakery ordering site for local customers and a clinic shift planner.",
]
TEST_PROMPT = {
    "name": "test",
    "system": "You are a business analyst. Answer in YAML.",
    "user_template": "Concept: {concept}\nYAML:",
    "demos": [],
}
CONCEPTS = [
    {"id": "c1", "concept": "A bakery ordering site."},
    {"id": "c2", "concept": "A mobile app for community garden members to reserve plots for a season and log hours."},
    {"id": "c3", "concept": "A clinic shift planner."},
    {"id": "c4", "concept": "An online marketplace for second-hand bicycles with escrow payments and delivery."},
    {"id": "c5", "concept": "A school lunch pre-order app."},
]


def make_tokenizer():
    """A small byte-level BPE with ChatML specials; no pad token (the backend must set one)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tk.train_from_iterator(CORPUS, trainer=trainer)
    tok = PreTrainedTokenizerFast(
        tokenizer_object=tk, bos_token="<|im_start|>", eos_token="<|im_end|>", unk_token="<|endoftext|>"
    )
    tok.chat_template = CHATML
    return tok


def make_tiny_model(path: Path, hidden: int = 64, seed: int = 0) -> Path:
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    tok = make_tokenizer()
    torch.manual_seed(seed)
    cfg = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        initializer_range=0.2,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
    )
    model = LlamaForCausalLM(cfg)
    model.generation_config = GenerationConfig(bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    model.save_pretrained(path, safe_serialization=True)
    tok.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="session")
def tiny_adapter(tmp_path_factory, tiny_model) -> Path:
    """A PEFT LoRA adapter (non-zero B, so it changes outputs) for ``tiny_model``."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(1)
    base = AutoModelForCausalLM.from_pretrained(str(tiny_model))
    peft_model = get_peft_model(
        base, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    )
    out = tmp_path_factory.mktemp("adapter") / "lora"
    peft_model.save_pretrained(str(out))
    return out


@pytest.fixture(scope="session")
def test_prompt():
    from ba_llm.prompt import prompt_from_dict

    return prompt_from_dict(TEST_PROMPT)


@pytest.fixture(scope="session")
def smollm2_models_dir(tmp_path_factory) -> Path:
    """$BA_MODELS_DIR holding a freshly prepared smollm2-135m-instruct (about 20 s)."""
    from ba_llm.base_model import prepare

    root = tmp_path_factory.mktemp("models")
    prepare("smollm2", root / "smollm2-135m-instruct", log=lambda _m: None)
    return root


@pytest.fixture
def smollm2_env(smollm2_models_dir, monkeypatch) -> Path:
    monkeypatch.setenv("BA_MODELS_DIR", str(smollm2_models_dir))
    return smollm2_models_dir / "smollm2-135m-instruct"
