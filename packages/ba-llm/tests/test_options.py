"""Typed backend options (#15): one dataclass per backend, chosen by the parsed spec's kind
and checked when made, so a wrong option is one usage error before any weights load."""

from __future__ import annotations

import os

import pytest

from ba_llm import LlamaCppOptions, OllamaOptions, TransformersOptions, load_backend, options_for
from ba_llm.errors import UsageError
from ba_llm.options import cli_options


@pytest.mark.parametrize(
    "spec, cls",
    [
        ("smollm2", TransformersOptions),
        ("hf:/some/dir", TransformersOptions),
        ("hf:/some/dir+lora:/a", TransformersOptions),
        ("gguf:/m.gguf", LlamaCppOptions),
        ("ollama:qwen2.5:0.5b", OllamaOptions),
    ],
)
def test_the_options_class_follows_the_spec_kind(spec, cls):
    assert type(options_for(spec)) is cls
    assert options_for(spec) == cls()  # the defaults


def test_an_option_the_backend_does_not_take_names_the_ones_it_does():
    with pytest.raises(UsageError, match=r"the ollama backend takes no option dtype \(its options: backoff_s, "):
        options_for("ollama:m", dtype="float32")
    with pytest.raises(UsageError, match="the llama.cpp backend takes no option timeout"):
        options_for("gguf:/m.gguf", timeout=3)
    with pytest.raises(UsageError, match="the transformers backend takes no option n_ctx"):
        options_for("smollm2", n_ctx=512)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: TransformersOptions(dtype="float16"), "dtype must be auto, bfloat16 or float32"),
        (lambda: TransformersOptions(threads=(os.cpu_count() or 1) + 1), "threads must be between 1 and"),
        (lambda: LlamaCppOptions(n_ctx=0), "n_ctx must be a whole number"),
        (lambda: OllamaOptions(timeout=float("nan")), "timeout must be a finite number"),
        (lambda: OllamaOptions(timeout=-1), "timeout must be a finite number"),
        (lambda: OllamaOptions(retries=-1), "retries must be a whole number"),
    ],
)
def test_bad_values_are_refused_when_the_options_are_made(make, message):
    with pytest.raises(UsageError, match=message):
        make()


def test_the_shared_cli_flags_reach_only_the_backend_that_uses_them():
    assert cli_options("smollm2", threads=1, fp32=True, timeout=5) == TransformersOptions(dtype="float32", threads=1)
    assert cli_options("hf:/d", fp32=False) == TransformersOptions(dtype="auto")
    assert cli_options("gguf:/m.gguf", threads=1, fp32=True, timeout=5) == LlamaCppOptions(threads=1)
    assert cli_options("ollama:m", threads=1, fp32=True, timeout=5) == OllamaOptions(timeout=5)


def test_load_backend_refuses_options_of_another_backend_before_loading():
    with pytest.raises(UsageError, match="OllamaOptions are not the options of the backend of smollm2"):
        load_backend("smollm2", OllamaOptions())
    with pytest.raises(UsageError, match="not both"):
        load_backend("smollm2", TransformersOptions(), threads=1)
    with pytest.raises(UsageError, match="takes no option timeout"):
        load_backend("hf:/nowhere", timeout=3)


def test_values_unused_by_the_chosen_backend_or_decoding_are_still_checked():
    """Campaign 15: `--timeout nan` passed for an hf: model, and `--temperature nan` for a
    greedy run (both unused there, both a typo the user should hear about)."""
    from ba_llm.backends import Decoding

    with pytest.raises(UsageError, match=r"--timeout must be a finite number of seconds > 0, got nan"):
        cli_options("hf:/some/model", timeout=float("nan"))
    for bad in (dict(temperature=float("nan")), dict(temperature=-1.0), dict(top_p=2.0)):
        with pytest.raises(UsageError):
            Decoding(greedy=True, **bad)
    assert Decoding(greedy=True).greedy and Decoding(greedy=True, temperature=0.0).greedy  # 0 says greedy
    with pytest.raises(UsageError):
        Decoding(greedy=False, temperature=0.0)
