"""merge (bf16 safetensors) and export (Ollama Modelfile + llama.cpp GGUF LoRA adapter)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import make_adapter, run_cli

from ba_io import read_json


@pytest.fixture(scope="module")
def tiny_adapter(tiny_model_dir, tmp_path_factory):
    return make_adapter(tiny_model_dir, tmp_path_factory.mktemp("adapter") / "lora", scale=0.2)


def test_gguf_adapter_names_shapes_and_metadata(tiny_adapter, tmp_path):
    import gguf

    from ba_lora.export import write_gguf_adapter

    path = write_gguf_adapter(tiny_adapter, tmp_path / "a.gguf", name="tiny-ba")
    r = gguf.GGUFReader(str(path))
    fields = {k: f.contents() for k, f in r.fields.items()}
    assert fields["general.architecture"] == "llama" and fields["general.type"] == "adapter"
    assert fields["adapter.type"] == "lora" and fields["adapter.lora.alpha"] == 16.0
    assert fields["general.name"] == "tiny-ba"
    shapes = {t.name: tuple(t.data.shape) for t in r.tensors}
    # 2 layers x 7 linear modules x (a, b)
    assert len(shapes) == 28
    assert shapes["blk.0.attn_q.weight.lora_a"] == (8, 64) and shapes["blk.0.attn_q.weight.lora_b"] == (64, 8)
    assert shapes["blk.1.attn_k.weight.lora_b"] == (32, 8)  # 2 kv heads x 16
    assert shapes["blk.1.ffn_down.weight.lora_a"] == (8, 128) and shapes["blk.1.ffn_down.weight.lora_b"] == (64, 8)
    assert not list(tmp_path.glob("*.tmp"))


def test_merge_gives_the_adapted_model(tiny_adapter, tiny_model_dir, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    res = run_cli("merge", "--adapter", str(tiny_adapter), "--output", str(tmp_path / "merged"))
    assert res.returncode == 0, res.stderr
    merged = AutoModelForCausalLM.from_pretrained(str(tmp_path / "merged"))
    assert merged.dtype == torch.bfloat16
    assert (tmp_path / "merged" / "model.safetensors").is_file() and (tmp_path / "merged" / "tokenizer.json").is_file()
    base = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir), dtype=torch.float32)
    ref = PeftModel.from_pretrained(base, str(tiny_adapter)).eval()
    ids = torch.tensor([[1, 200, 3000, 45, 9, 77, 1200]])
    with torch.no_grad():
        want = ref(ids).logits
        got = merged.float()(ids).logits
        plain = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir))(ids).logits
    assert (got - want).abs().max() < 0.05 < (plain - want).abs().max()


def test_merge_replaces_only_its_own_earlier_merge_and_refuses_the_users_folder(tiny_adapter, tmp_path):
    """#17: merge deleted whatever folder --output named (shutil.rmtree), and used a fixed .tmp name."""
    mine = tmp_path / "thesis"
    mine.mkdir()
    (mine / "thesis.tex").write_text("mine", encoding="utf-8")
    model_like = tmp_path / "my-model"  # campaign 15: only model-like names, and no merge marker
    model_like.mkdir()
    (model_like / "config.json").write_text('{"my": "settings"}', encoding="utf-8")
    (model_like / "prompt.json").write_text("notes", encoding="utf-8")
    fake_marker = tmp_path / "marked"  # campaign 16: an empty or foreign file at the marker's name
    fake_marker.mkdir()
    (fake_marker / "ba-lora-merged.json").write_text('{"note": "mine"}', encoding="utf-8")
    (fake_marker / "config.json").write_text('{"my": "config"}', encoding="utf-8")
    for target in (mine, tiny_adapter, model_like, fake_marker):
        res = run_cli("merge", "--adapter", str(tiny_adapter), "--output", str(target))
        assert res.returncode == 2 and res.stderr.count("\n") == 1 and res.stderr.startswith("Error: "), res.stderr
    assert (mine / "thesis.tex").read_text() == "mine" and sorted(p.name for p in mine.iterdir()) == ["thesis.tex"]
    assert (tiny_adapter / "adapter_model.safetensors").is_file()
    assert (model_like / "config.json").read_text(encoding="utf-8") == '{"my": "settings"}'
    assert (fake_marker / "config.json").read_text(encoding="utf-8") == '{"my": "config"}'

    merged = tmp_path / "merged"
    for _ in range(2):  # an earlier merge (it carries the marker) is replaced whole
        res = run_cli("merge", "--adapter", str(tiny_adapter), "--output", str(merged))
        assert res.returncode == 0, res.stderr
    assert (merged / "ba-lora-merged.json").is_file() and (merged / "model.safetensors").is_file()
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob("*.lock"))
    # campaign 3: a file the user added to an earlier merge was deleted with it
    (merged / "NOTES.md").write_text("mine", encoding="utf-8")
    res = run_cli("merge", "--adapter", str(tiny_adapter), "--output", str(merged))
    assert res.returncode == 2 and "did not write (NOTES.md)" in res.stderr, res.stderr
    assert (merged / "NOTES.md").read_text() == "mine"


def test_a_newline_in_the_adapter_path_stays_inside_the_modelfile_comment(tiny_adapter, tmp_path):
    """The campaign: `--adapter $'ad\nSYSTEM pwned'` wrote `SYSTEM pwned.` as a Modelfile instruction."""
    from ba_lora.export import export_ollama

    adapter = tmp_path / "ad\nSYSTEM pwned"
    shutil.copytree(tiny_adapter, adapter)
    export_ollama(adapter, tmp_path / "ex", from_="smollm2:135m", merged=())
    lines = (tmp_path / "ex" / "Modelfile").read_text().splitlines()
    assert lines[0].startswith("# Written by ba-lora export from ") and lines[0].endswith("ad\\nSYSTEM pwned.")
    assert not any(line.startswith("SYSTEM pwned") for line in lines)


def test_export_is_locked_refuses_the_adapter_folder_and_a_foreign_modelfile(tiny_adapter, tmp_path):
    from ba_io import UsageError, output_lock
    from ba_lora.export import export_ollama

    out = tmp_path / "ollama"
    with output_lock(out):  # another export of the same folder is running
        with pytest.raises(UsageError, match="another run is writing it"):
            export_ollama(tiny_adapter, out, from_="smollm2:135m", merged=())
    assert not out.exists() or not any(out.iterdir())
    with pytest.raises(UsageError, match="same file"):
        export_ollama(tiny_adapter, tiny_adapter, from_="smollm2:135m", merged=())
    out.mkdir(exist_ok=True)
    (out / "Modelfile").write_text("FROM llama3\nSYSTEM my own\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"holds files ba-lora export did not write \(Modelfile\)"):
        export_ollama(tiny_adapter, out, from_="smollm2:135m", merged=())
    assert (out / "Modelfile").read_text() == "FROM llama3\nSYSTEM my own\n"
    (out / "Modelfile").unlink()
    # round-2 campaign: user files without a Modelfile (adapter.gguf, prompt.json) were replaced
    for name in ("adapter.gguf", "prompt.json"):
        (out / name).write_text("mine", encoding="utf-8")
        with pytest.raises(UsageError, match=f"did not write \\({name}\\)"):
            export_ollama(tiny_adapter, out, from_="smollm2:135m", merged=())
        assert (out / name).read_text() == "mine"
        (out / name).unlink()
    export_ollama(tiny_adapter, out, from_="smollm2:135m", merged=())
    export_ollama(tiny_adapter, out, from_="smollm2:135m", merged=())  # its own earlier export is replaced
    assert sorted(p.name for p in out.iterdir()) == ["Modelfile", "adapter.gguf", "export.json", "prompt.json"]
    (out / "notes.txt").write_text("mine", encoding="utf-8")  # added to an export: kept, and refused
    with pytest.raises(UsageError, match=r"did not write \(notes.txt\)"):
        export_ollama(tiny_adapter, out, from_="smollm2:135m", merged=())
    assert not list(tmp_path.glob("*.tmp")) and not list(out.glob("*.tmp"))
    junk = tmp_path / "junk.gguf"
    junk.write_text("not a gguf", encoding="utf-8")
    with pytest.raises(UsageError, match="not a GGUF file"):
        export_ollama(tiny_adapter, tmp_path / "ex2", from_=str(junk), merged=())
    with pytest.raises(UsageError, match="more than the model's context"):
        export_ollama(tiny_adapter, tmp_path / "ex2", from_="smollm2:135m", merged=(), max_new_tokens=10**11)


def test_export_needs_from_for_a_base_without_gguf(tiny_adapter, tmp_path, tiny_model_dir):
    res = run_cli("export", "--adapter", str(tiny_adapter), "--output", str(tmp_path / "ollama"))
    assert res.returncode == 2
    assert res.stderr.strip() == (
        f"Error: {tiny_model_dir} was not prepared from a GGUF by ba-llm; pass --from with the Ollama model "
        "or GGUF file of the same base weights"
    )


def test_export_writes_modelfile(tiny_adapter, tmp_path, data_dir):
    adapter = tmp_path / "adapter"
    shutil.copytree(tiny_adapter, adapter)
    shutil.copyfile(data_dir / "prompt_demo.json", adapter / "prompt.json")
    out = tmp_path / "ollama"
    res = run_cli(
        "export", "--adapter", str(adapter), "--output", str(out), "--from", "smollm2:135m", "--name", "tiny-ba"
    )  # an Ollama model name: no GGUF file to merge into
    assert res.returncode == 2 and "a merged GGUF is built from the base model's GGUF file" in res.stderr
    assert not out.exists() or not any(out.iterdir())
    res = run_cli(
        "export",
        "--adapter",
        str(adapter),
        "--output",
        str(out),
        "--from",
        "smollm2:135m",
        "--name",
        "tiny-ba",
        "--merged",
        "none",
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == f"build it with: ollama create tiny-ba -f {out / 'Modelfile'}"
    text = (out / "Modelfile").read_text()
    prompt = read_json(out / "prompt.json", "prompt")
    assert "FROM smollm2:135m\nADAPTER ./adapter.gguf\n" in text
    assert f'SYSTEM """{prompt["system"]}"""' in text
    demo = prompt["demos"][0]
    assert f'MESSAGE user """{prompt["user_template"].format(concept=demo["concept"])}"""' in text
    assert f'MESSAGE assistant """{demo["document"]}"""' in text
    for stop in ("<|im_end|>", "<|im_start|>"):
        assert f'PARAMETER stop "{stop}"' in text
    assert "PARAMETER temperature 0\n" in text and "PARAMETER top_k 1\n" in text
    assert "PARAMETER repeat_penalty 1\n" in text  # Ollama's default is 1.1: not the scored decoding
    assert "PARAMETER num_predict 640" in text  # the same token limit as make finetune's evaluation
    template = text.split('TEMPLATE """', 1)[1].split('"""', 1)[0]
    assert "<|im_start|>system\n{{ .System }}<|im_end|>\n" in template
    assert "<|im_start|>user\n{{ .Content }}<|im_end|>\n" in template
    assert "<|im_start|>assistant\n" in template
    assert (out / "adapter.gguf").stat().st_size > 0


@pytest.mark.parametrize(
    "flag, value, message",
    [
        (
            "--from",
            'llama3\nSYSTEM """pwned"""',
            "--from 'llama3\\nSYSTEM \"\"\"pwned\"\"\"': give one Ollama model name",
        ),
        ("--from", 'smollm2" x', "without quotes or control characters"),
        ("--from", "my model.gguf", "not a file, and an Ollama model name has no spaces"),
        ("--name", "tiny\necho pwned", "--name 'tiny\\necho pwned': use letters, digits and . _ : / - only"),
        ("--name", "a b", "use letters, digits"),
        ("--name", "tiny-ba\n", "use letters, digits"),  # campaign 24: $ matched before a final newline
        ("--from", "/dev/zero", "a folder or device, not a GGUF file"),  # campaign 24: became FROM /dev/zero
        ("--from", ".", "a folder or device, not a GGUF file"),
    ],
)
def test_export_refuses_values_that_would_add_lines_to_the_modelfile_or_the_hint(
    tiny_adapter, tmp_path, flag, value, message
):
    """#17.7: --from with a newline wrote extra Modelfile instructions; --name printed a second shell line."""
    args = {"--from": "smollm2:135m", "--name": "tiny-ba", flag: value}
    out = tmp_path / "ollama"
    res = run_cli(
        "export", "--adapter", str(tiny_adapter), "--output", str(out), *[x for kv in args.items() for x in kv]
    )
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and res.stderr.startswith("Error: ") and message in res.stderr
    assert not out.exists()


def _greedy(llm, ids, n):
    out = []
    for t in llm.generate(ids, temp=0.0, top_k=1, reset=True):
        out.append(t)
        if len(out) >= n:
            break
    return out


@pytest.mark.slow
@pytest.mark.integration
def test_llama_cpp_runs_the_exported_adapter_like_the_merged_model(smollm2_dir, tmp_path):
    """The embedded Q4_1 GGUF + the exported GGUF adapter in llama.cpp behaves like the
    merged transformers model (same greedy tokens, logits within quantisation noise), and
    unlike llama.cpp without the adapter."""
    llama_cpp = pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (ba-llm[gguf])")
    from safetensors.torch import load_file, save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ba_llm import find_smollm2_gguf
    from ba_llm.prompt import load_prompt, render_chat_text, render_messages

    # a strong adapter on every linear layer, strongest on q/k (whose rows llama.cpp permutes)
    adapter = make_adapter(smollm2_dir, tmp_path / "lora", scale=0.05)
    qk = make_adapter(smollm2_dir, tmp_path / "qk", targets=["q_proj", "k_proj"], scale=0.3)
    w = load_file(str(adapter / "adapter_model.safetensors"))
    w.update(load_file(str(qk / "adapter_model.safetensors")))
    save_file(w, str(adapter / "adapter_model.safetensors"))

    out = tmp_path / "ollama"
    res = run_cli("export", "--adapter", str(adapter), "--output", str(out), "--name", "smollm2-test")
    assert res.returncode == 0, res.stderr
    gguf_base = str(find_smollm2_gguf().resolve())
    # self-contained: relative paths only, the base GGUF linked (or copied) in
    assert "FROM ./base.gguf\nADAPTER ./adapter.gguf\n" in (out / "Modelfile").read_text()
    assert (out / "base.gguf").read_bytes() == Path(gguf_base).read_bytes()
    for q in ("f16", "q8_0"):
        text = (out / f"Modelfile.{q}").read_text()
        assert f"FROM ./model-{q}.gguf\n" in text and "ADAPTER" not in text and 'PARAMETER stop "<|im_end|>"' in text
    assert sorted(p.name for p in out.iterdir()) == [
        "Modelfile",
        "Modelfile.f16",
        "Modelfile.q8_0",
        "adapter.gguf",
        "base.gguf",
        "export.json",
        "model-f16.gguf",
        "model-q8_0.gguf",
        "prompt.json",
    ]
    res = run_cli("merge", "--adapter", str(adapter), "--output", str(tmp_path / "merged"))
    assert res.returncode == 0, res.stderr

    tok = AutoTokenizer.from_pretrained(str(smollm2_dir))
    text = render_chat_text(tok, render_messages(load_prompt(None), "A mobile app for dog walkers to book walks."))
    ids = tok(text, add_special_tokens=False)["input_ids"]
    merged = AutoModelForCausalLM.from_pretrained(str(tmp_path / "merged"), dtype=torch.float32).eval()
    n = 10
    with torch.no_grad():
        hf = merged.generate(torch.tensor([ids]), max_new_tokens=n, do_sample=False)[0, len(ids) :].tolist()
        seq = ids + hf
        hf_logits = merged(torch.tensor([seq])).logits[0, len(ids) - 1 :].numpy()
    top2 = np.sort(hf_logits, axis=-1)[:, -2:]
    margin = top2[:, 1] - top2[:, 0]

    def run(lora, model=gguf_base):
        kw = dict(model_path=str(model), n_ctx=1024, verbose=False, logits_all=True, n_threads=2, seed=0)
        if lora:
            kw["lora_path"] = lora
        llm = llama_cpp.Llama(**kw)
        greedy = _greedy(llm, ids, n)
        llm.reset()
        llm.eval(seq)
        return greedy, np.array(llm.scores[len(ids) - 1 : len(seq)])

    plain_greedy, plain_logits = run(None)
    lora_greedy, lora_logits = run(str(out / "adapter.gguf"))
    # greedy tokens agree up to the first near-tie of the merged model (Q4_1 noise may flip a tie)
    clear = next((i for i, m in enumerate(margin[:n]) if m < 0.1), n)
    assert clear >= 3, margin
    assert lora_greedy[:clear] == hf[:clear]
    assert plain_greedy[:clear] != lora_greedy[:clear]  # the adapter really changes llama.cpp's output
    decided = margin > 0.5
    assert (lora_logits.argmax(-1)[decided] == hf_logits.argmax(-1)[decided]).all()
    noise = np.abs(lora_logits - hf_logits).mean()
    effect = np.abs(lora_logits - plain_logits).mean()
    assert effect > 3 * noise, (effect, noise)
    # the merged GGUFs hold the merged model itself: same greedy tokens; f16 closer to it than the
    # Q4_1 base + adapter, q8_0 (the Q4_1-dequantised base quantised once more) within twice that
    for q, bound in (("f16", 0.5), ("q8_0", 2.0)):
        greedy, logits = run(None, out / f"model-{q}.gguf")
        assert greedy[:clear] == hf[:clear], q
        assert (logits.argmax(-1)[decided] == hf_logits.argmax(-1)[decided]).all(), q
        merged_noise = np.abs(logits - hf_logits).mean()
        assert merged_noise < bound * noise and merged_noise < effect / 10, (q, merged_noise, noise, effect)


def test_the_default_name_obeys_the_name_rule(tiny_adapter, tmp_path):
    """Campaign 3: with no --name the folder's name was used unchecked: a newline in it
    printed a second shell line after the `ollama create` hint."""
    out = tmp_path / "o\nPARAMETER x"
    res = run_cli("export", "--adapter", str(tiny_adapter), "-o", str(out), "--merged", "none")
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "pass --name" in res.stderr, res.stderr
    assert not out.exists()


def test_a_broken_adapter_is_one_error_naming_its_file(tiny_adapter, tmp_path):
    """Campaign 15: a broken adapter_config.json or a truncated adapter_model.safetensors
    gave "Error: JSONDecodeError: ..." / "SafetensorError: ..." with no file named."""
    for name, damage in (("adapter_config.json", b"{not json"), ("adapter_model.safetensors", None)):
        bad = tmp_path / f"bad-{name}"
        shutil.copytree(tiny_adapter, bad)
        data = (bad / name).read_bytes()
        (bad / name).write_bytes(damage if damage is not None else data[: len(data) // 2])
        for cmd in (("merge", "--adapter", str(bad), "--output", str(tmp_path / "m")),
                    ("export", "--adapter", str(bad), "--output", str(tmp_path / "e"), "--from", "smollm2:135m")):  # fmt: skip
            res = run_cli(*cmd)
            assert res.returncode == 1 and res.stderr.count("\n") == 1, res.stderr
            assert res.stderr.startswith(f"Error: {bad / name}: ") and "re-save or re-train" in res.stderr, res.stderr
        assert not (tmp_path / "m").exists() and not (tmp_path / "e").exists()


@pytest.mark.parametrize("damage", ["truncated", "missing", "wrong shape"])
def test_a_broken_tokenizer_is_one_error_line_naming_the_model_in_train(tiny_model_dir, data_dir, tmp_path, damage):
    """Campaign 42 (A D3), 43 (B r5): `ba-lora train` on a model whose tokenizer.json was cut
    short, gone or of the wrong shape ended in `Error: JSONDecodeError: ...` or `ValueError: Couldn't instantiate the
    backend tokenizer`, exit 1, naming no file; `ba-eval generate` named the folder."""
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, broken)
    tokenizer = broken / "tokenizer.json"
    if damage == "truncated":
        tokenizer.write_bytes(tokenizer.read_bytes()[:1000])
    elif damage == "wrong shape":  # campaign 43 (B r5): valid JSON, a plain Exception from tokenizers
        tokenizer.write_text('{"version": "1.0", "model": 5}')
    else:
        tokenizer.unlink()
    out = tmp_path / "run"
    res = run_cli("train", "--train", str(data_dir / "train.jsonl"), "--model", str(broken), "-o", str(out))
    assert res.returncode == 2, res.stderr
    assert res.stderr.startswith(f"Error: {broken}: cannot load the tokenizer") and res.stderr.count("\n") == 1
    assert not out.exists()


@pytest.mark.parametrize("damage", ["weights", "config"])
def test_a_corrupt_base_is_one_error_line_in_train_and_merge(tiny_adapter, tiny_model_dir, data_dir, tmp_path, damage):
    """Campaign 17: a corrupt model.safetensors in the base gave `ba-lora train` and `merge` a
    bare SafetensorError (exit 1), a config.json with `"hidden_size": -5` a two-line
    StrictDataclass error, and a failed train left an empty --output folder behind."""
    import json
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, broken)
    if damage == "weights":
        (broken / "model.safetensors").write_bytes(b"\xff" * 8 + b"{")
        named = broken / "model.safetensors"
    else:
        cfg = json.loads((broken / "config.json").read_text())
        (broken / "config.json").write_text(json.dumps({**cfg, "hidden_size": -5}))
        named = broken / "config.json"
    out = tmp_path / "run"
    res = run_cli("train", "--train", str(data_dir / "train.jsonl"), "--model", str(broken), "-o", str(out))
    assert res.returncode == 2 and res.stderr.startswith(f"Error: {named}: ") and res.stderr.count("\n") == 1
    assert not out.exists()
    res = run_cli("merge", "--adapter", str(tiny_adapter), "--model", str(broken), "-o", str(tmp_path / "merged"))
    assert res.returncode == 2 and res.stderr.startswith(f"Error: {named}: ") and res.stderr.count("\n") == 1
    assert not (tmp_path / "merged").exists()
