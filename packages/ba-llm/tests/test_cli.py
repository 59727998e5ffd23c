"""The thin ``ba-llm`` CLI: help, exit codes, one-line errors, generate/ask/info/prepare."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ba_io import read_jsonl, run_cli
from ba_llm.cli import _main

DATA = Path(__file__).parent / "data"


def cli(*argv):
    return run_cli(_main, [str(a) for a in argv])


@pytest.mark.parametrize(
    "argv", [["--help"], ["generate", "--help"], ["ask", "--help"], ["prepare", "--help"], ["info", "--help"]]
)
def test_help(argv, capsys):
    assert cli(*argv) == 0
    out = capsys.readouterr().out
    assert "examples:" in out


def test_top_level_help_lists_specs(capsys):
    cli("--help")
    out = capsys.readouterr().out
    for s in ("smollm2", "hf:DIR", "gguf:FILE", "ollama:NAME", "prepare", "info", "ask", "generate"):
        assert s in out


def test_usage_errors_are_one_line(capsys, tmp_path, monkeypatch):
    assert cli("info", "bogus") == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: unknown model spec") and err.count("\n") == 1
    monkeypatch.setenv("BA_MODELS_DIR", str(tmp_path))
    assert cli("ask", "--model", "smollm2", "--concept", "A bakery ordering site.") == 2
    err = capsys.readouterr().err
    assert "make base-model" in err and err.count("\n") == 1
    assert cli() == 2


def test_info_json(tiny_model, capsys):
    assert cli("info", f"hf:{tiny_model}", "--json") == 0
    info = json.loads(capsys.readouterr().out)
    assert info["kind"] == "hf" and info["parameters"] > 0 and "<|im_start|>" in info["chat_template"]


def test_generate_and_ask(tiny_model, tmp_path, capsys):
    concepts = tmp_path / "c.jsonl"
    concepts.write_text(
        '{"id": "a", "concept": "A bakery ordering site for locals."}\n'
        '{"id": "b", "concept": "A clinic shift planner with overtime tracking."}\n'
    )
    out = tmp_path / "p.jsonl"
    rc = cli(
        "generate",
        f"hf:{tiny_model}",
        "--in",
        concepts,
        "--out",
        out,
        "--max-new-tokens",
        4,
        "--fp32",
        "--prompt",
        DATA / "prompt_demos.json",
        "--run",
        1,
    )
    err = capsys.readouterr().err
    assert rc == 0, err
    # the last release's spelling (positional SPEC, --out) still works, with one warning each
    assert "warning: the positional SPEC is deprecated and goes in the next release; use --model SPEC" in err
    assert "warning: --out is deprecated and goes in the next release; use -o/--output" in err
    rows = read_jsonl(out, "prediction")
    assert [r["id"] for r in rows] == ["a", "b"] and rows[0]["prompt"] == "two-shot" and rows[0]["run"] == 1
    assert (
        cli(
            "ask",
            "--model",
            f"hf:{tiny_model}",
            "--concept",
            "A bakery ordering site.",
            "--max-new-tokens",
            3,
            "--json",
        )
        == 0
    )
    row = json.loads(capsys.readouterr().out)
    assert row["id"] == "ask" and row["completion_tokens"] <= 3


def test_generate_bad_concepts_is_data_error(tiny_model, tmp_path, capsys):
    rc = cli("generate", "--model", f"hf:{tiny_model}", "--in", DATA / "concepts_bad.jsonl", "-o", tmp_path / "p.jsonl")
    assert rc == 1
    err = _without_deprecation(capsys.readouterr().err)
    assert "concepts_bad.jsonl:2" in err and err.count("\n") == 1
    assert not (tmp_path / "p.jsonl").exists()


def test_prepare_up_to_date(tmp_path, capsys):
    from ba_llm.base_model import MARKER

    d = tmp_path / "m"
    d.mkdir()
    (d / MARKER).write_text("{}")
    assert cli("prepare", "smollm2", "-o", d) == 0
    assert "up to date" in capsys.readouterr().out


def test_generate_refuses_an_output_that_is_its_input(tiny_model, tmp_path, capsys):
    """The campaign: `generate --in c.jsonl --out c.jsonl` replaced the concepts by predictions, exit 0."""
    concepts = tmp_path / "c.jsonl"
    concepts.write_text('{"id": "a", "concept": "A bakery ordering site for locals."}\n')
    before = concepts.read_text()
    assert cli("generate", "--model", f"hf:{tiny_model}", "--in", concepts, "-o", concepts) == 2
    err = _without_deprecation(capsys.readouterr().err)
    assert err.startswith("Error: --in and -o are the same file") and err.count("\n") == 1
    assert concepts.read_text() == before


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--max-new-tokens", "99999999999"], "is more than the model's context of 2048 tokens; use at most 2048"),
        (["--sample", "--temperature", "nan"], "temperature must be a finite number > 0"),
        (["--sample", "--temperature", "inf"], "temperature must be a finite number > 0"),
        (["--threads", "100000"], "threads must be between 1 and this machine's"),
    ],
)
def test_absurd_decoding_flags_are_one_usage_error(tiny_model, capsys, flags, message):
    """The campaign: a huge --max-new-tokens tried to allocate 76 TB (internal error), NaN/inf temperatures
    reached transformers or the JSON writer, --threads 100000 crashed with SIGSEGV."""
    assert cli("ask", "--model", f"hf:{tiny_model}", "--concept", "A bakery ordering site.", *flags) == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and message in err and err.count("\n") == 1


def test_an_absurd_ollama_timeout_is_refused():
    from ba_llm.backends import OllamaBackend
    from ba_llm.errors import UsageError
    from ba_llm.models import parse_spec

    for bad in (float("nan"), -1.0, 0.0, float("inf")):
        with pytest.raises(UsageError, match="timeout must be a finite number of seconds > 0"):
            OllamaBackend(parse_spec("ollama:x"), timeout=bad, check=False)


def test_generate_refuses_an_output_that_is_not_a_file_before_the_model_loads(tmp_path, capsys):
    """Campaign 4: `-o FIFO` was refused only after every row had been generated."""
    import os

    concepts = tmp_path / "c.jsonl"
    concepts.write_text('{"id": "a", "concept": "A bakery ordering site for locals."}\n')
    os.mkfifo(tmp_path / "fifo")
    assert cli("generate", "--model", "hf:unused", "--in", concepts, "-o", tmp_path / "fifo") == 2
    err = _without_deprecation(capsys.readouterr().err)
    assert "not a regular file" in err and err.count("\n") == 1


def _without_deprecation(err: str) -> str:
    """`ba-llm generate` is deprecated (the one generate is ba-eval's): its first stderr line says so."""
    first, _, rest = err.partition("\n")
    assert first.startswith("warning: ba-llm generate is deprecated and goes in the next release; use ba-eval generate")
    return rest


def test_generate_refuses_an_output_that_is_a_file_of_the_model(tiny_model, tmp_path, capsys):
    """Campaign 13: `generate --model hf:M -o M/config.json` (or a link to it) replaced the
    model's config by predictions, exit 0; the model no longer loaded."""
    import shutil

    model = tmp_path / "m"
    shutil.copytree(tiny_model, model)
    before = (model / "config.json").read_bytes()
    concepts = tmp_path / "c.jsonl"
    concepts.write_text('{"id": "a", "concept": "A bakery ordering site for locals."}\n')
    (tmp_path / "link.json").symlink_to(model / "config.json")
    for out in (model / "config.json", tmp_path / "link.json", model / "new.jsonl"):
        assert cli("generate", "--model", f"hf:{model}", "--in", concepts, "-o", out) == 2
        err = _without_deprecation(capsys.readouterr().err)
        assert "is a file of the model" in err and err.count("\n") == 1, err
    assert (model / "config.json").read_bytes() == before and not (model / "new.jsonl").exists()


def test_a_file_that_is_not_a_whole_gguf_is_one_error_naming_it(tmp_path, capsys):
    """Campaign 18: a cut or forged GGUF gave `ba-llm info` (and `ba-lora export --from`) an
    internal IndexError / ValueError."""
    from ba_llm import find_smollm2_gguf

    (tmp_path / "cut.gguf").write_bytes(find_smollm2_gguf().read_bytes()[:2_000_000])
    (tmp_path / "forged.gguf").write_bytes(b"GGUF\x03\x00\x00\x00" + bytes(range(256)) * 20)
    (tmp_path / "text.gguf").write_text("fake\n")
    for name in ("cut.gguf", "forged.gguf", "text.gguf"):
        assert cli("info", f"gguf:{tmp_path / name}") == 1
        err = capsys.readouterr().err
        assert err.startswith(f"Error: {tmp_path / name}: not a readable GGUF file (") and err.count("\n") == 1, err


def test_a_cut_adapter_is_one_error_naming_its_file_in_ask_and_info(tmp_path, tiny_model, tiny_adapter, capsys):
    """Campaign 22 D8: a truncated adapter_model.safetensors gave `Error: SafetensorError: ...`
    naming no file, exit 1, after the base had loaded."""
    import shutil

    cut = tmp_path / "cut"
    shutil.copytree(tiny_adapter, cut)
    weights = cut / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:40])
    spec = f"hf:{tiny_model}+lora:{cut}"
    for argv in (["info", spec], ["ask", "--model", spec, "--concept", "A bakery app.", "--max-new-tokens", "2"]):
        assert cli(*argv) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"Error: {weights}: not a readable safetensors file (") and err.count("\n") == 1
        assert err.rstrip().endswith("train or copy the adapter again")


def test_an_adapter_run_prints_no_library_warning(tiny_model, tiny_adapter):
    """Campaign 24: every +lora generation printed peft's FutureWarning about transformers'
    deprecated `is_gradient_checkpointing` on stderr, a line the user cannot act on."""
    import subprocess
    import sys

    code = "import sys; from ba_llm.cli import main; sys.exit(main(sys.argv[1:]))"
    spec = f"hf:{tiny_model}+lora:{tiny_adapter}"
    argv = ["ask", "--model", spec, "--concept", "A bakery ordering site.", "--max-new-tokens", "2", "--fp32"]
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr, done.stderr


def test_a_concept_longer_than_the_context_is_one_error_naming_it(tiny_model, tmp_path, capsys):
    """Campaign 24: past the model's context (2,048 tokens here) `ask` and `generate` wrote
    noise with exit 0; now the concept is named before any generation."""
    long = "bakery " * 3000
    assert cli("ask", "--model", f"hf:{tiny_model}", "--concept", long, "--max-new-tokens", 4, "--fp32") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("Error: concept 'ask': its prompt is ")
    assert "more than the model's context of 2048 tokens" in err[-1]
    concepts = tmp_path / "c.jsonl"
    concepts.write_text(
        json.dumps({"id": "short", "concept": "A bakery ordering site."})
        + "\n"
        + json.dumps({"id": "huge", "concept": long})
        + "\n"
    )
    out = tmp_path / "p.jsonl"
    assert cli("generate", f"hf:{tiny_model}", "--in", concepts, "--out", out, "--max-new-tokens", 4, "--fp32") == 2
    assert "Error: concept 'huge': its prompt is " in capsys.readouterr().err
    assert not out.exists()


def test_a_huge_prompt_is_refused_before_it_is_tokenized(tiny_model, tmp_path, capsys, monkeypatch):
    """Campaign 26: a 10 MB prompt file was tokenized whole (10-19 s, 2.25 GB) before the
    context check refused it, and transformers printed its own warning line first."""
    from transformers import PreTrainedTokenizerBase

    prompt = tmp_path / "huge.json"
    system = "You are an analyst. " * 100_000  # 2 MB: more than 2,048 tokens of any vocabulary here
    prompt.write_text(json.dumps({"name": "huge", "system": system, "user_template": "{concept}"}))
    tokenized: list[int] = []
    real_call = PreTrainedTokenizerBase.__call__

    def counting_call(self, text=None, *args, **kwargs):
        tokenized.append(len(text) if isinstance(text, str) else 0)
        return real_call(self, text, *args, **kwargs)

    monkeypatch.setattr(PreTrainedTokenizerBase, "__call__", counting_call)
    argv = ["ask", "--model", f"hf:{tiny_model}", "--prompt", prompt, "--concept", "A bakery.", "--max-new-tokens", 4]
    assert cli(*argv, "--fp32") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("Error: concept 'ask': its prompt is 2,0") and "characters" in err[-1], err
    assert len(err) == 1 and not [n for n in tokenized if n > 1_000_000], (err, tokenized)
