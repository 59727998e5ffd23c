"""End-to-end training on the tiny Llama: outputs, schema, loaders, early stopping,
--max-steps, micro-batch equivalence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import run_cli, train_args
from safetensors.torch import load_file

from ba_io import read_json, sha256_file, validate
from ba_lora.config import TrainConfig
from ba_lora.recompute import default_above
from ba_lora.trainer import train


@pytest.fixture(scope="module")
def trained(tiny_model_dir, tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("train") / "run"
    res = run_cli(
        *train_args(
            tiny_model_dir,
            out,
            data_dir,
            "--epochs",
            "2",
            "--lr",
            "5e-3",
            "--save-steps",
            "1",
            "--eval-metric",
            "2",
            "--eval-max-new-tokens",
            "8",
        )
    )
    assert res.returncode == 0, res.stderr
    return out, res


def test_output_directory_layout(trained):
    out, res = trained
    names = {p.name for p in out.iterdir()}
    assert {
        "adapter_config.json",
        "adapter_model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "prompt.json",
        "training_info.json",
        "loss_curve.png",
        "runs",
    } <= names
    assert "checkpoints" not in names  # removed after success without --keep-checkpoints
    assert not any(n.endswith(".tmp") for n in names)
    assert (out / "loss_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert any(p.name.startswith("events.out.tfevents") for p in (out / "runs").iterdir())
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert summary["status"] == "completed" and summary["steps"] == 4


def test_training_info_is_valid_and_complete(trained, data_dir):
    out, _ = trained
    info = read_json(out / "training_info.json")
    assert validate(info, "training-info") == []
    assert set(info["parameters"]) == set(TrainConfig.__dataclass_fields__)
    assert info["parameters"]["lr"] == 5e-3 and info["parameters"]["grad_accum"] == 8
    assert info["datasets"]["train"] == {
        "path": str(data_dir / "train.jsonl"),
        "sha256": sha256_file(data_dir / "train.jsonl"),
        "rows": 12,
    }
    assert info["datasets"]["val"]["rows"] == 4
    assert [e["epoch"] for e in info["epochs"]] == [1, 2]
    for e in info["epochs"]:
        assert e["train_loss"] > 0 and e["val_loss"] > 0 and 0 <= e["metric"] <= 1 and e["steps"] == 2
        assert 0 <= e["content"] <= 1 and len(e["contents"]) == 2
        assert abs(sum(e["contents"]) / 2 - e["content"]) < 1e-9
    # with --eval-metric the best epoch is the one with a higher content score beyond its noise
    # (at least the min delta, 0.01), or a content not lower beyond it and a lower validation loss
    from ba_lora.trainer import content_noise

    e1, e2 = info["epochs"]
    noise = content_noise(e2["contents"], e1["contents"], 0.01)
    gain = e2["content"] - e1["content"]
    kept_by = (
        "content" if gain > noise else "val_loss" if gain >= -noise and e2["val_loss"] < e1["val_loss"] - 0.01 else None
    )
    assert info["best_by"] == "content" and info["best_epoch"] == (2 if kept_by else 1)
    # each epoch records what made it the new best (None: it was not)
    assert (e1["kept_by"], e2["kept_by"]) == ("first", kept_by)
    assert info["status"] == "completed" and info["steps"] == 4
    # batch size 1, each sample padded to a multiple of 64 tokens (--pad-to-multiple)
    assert info["tokens"]["computed"] % 64 == 0
    assert info["tokens"]["computed"] >= info["tokens"]["real"] > info["tokens"]["answer"] > 0
    assert info["tokens_per_second"] > 0 and info["durations"]["train"] > 0
    assert info["limits"] == {"train_limit": None, "val_limit": None, "max_steps": None}
    assert info["trainable_parameters"] == 2 * 2 * 8 * (64 + 64) + 2 * 2 * 8 * (64 + 32)  # 2 layers: q,o + k,v; r=8
    prompt = read_json(out / "prompt.json", "prompt")
    from ba_llm.prompt import load_prompt

    assert prompt == load_prompt(None).to_dict() and info["prompt"]["sha256"] == load_prompt(None).sha256


def test_adapter_loads_with_peft_and_ba_llm(trained, tiny_model_dir):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    out, _ = trained
    base = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir), dtype=torch.float32)
    model = PeftModel.from_pretrained(base, str(out))
    saved = load_file(str(out / "adapter_model.safetensors"))
    b = [k for k in saved if "lora_B" in k][0]
    assert saved[b].abs().sum() > 0  # trained, not the zero init
    loaded = {n: p for n, p in model.named_parameters() if "lora_B" in n}
    assert any(torch.equal(p.detach(), saved[b]) for p in loaded.values())

    from ba_llm import generate, resolve_spec

    spec = f"hf:{tiny_model_dir}+lora:{out}"
    resolve_spec(spec)  # checks the adapter fits the base
    rows = generate(
        spec, [{"id": "x", "concept": "A bakery ordering app."}], max_new_tokens=4, progress=False, dtype="float32"
    )
    assert rows[0]["id"] == "x" and rows[0]["completion_tokens"] <= 4


def test_second_run_without_resume_is_refused(trained, tiny_model_dir, data_dir):
    out, _ = trained
    res = run_cli(*train_args(tiny_model_dir, out, data_dir))
    assert res.returncode == 2
    assert res.stderr.strip().splitlines()[-1] == (
        f"Error: {out} holds an earlier run; pass --resume to continue it or --overwrite to start over"
    )


def _cfg(model_dir: Path, out: Path, data_dir: Path, **kw) -> TrainConfig:
    base = dict(
        train=str(data_dir / "train.jsonl"),
        val=str(data_dir / "val.jsonl"),
        output=str(out),
        base_model=str(model_dir),
        quantization="fp32",
        max_length=384,
        save_steps=0,
    )
    return TrainConfig(**{**base, **kw})


def test_early_stopping_keeps_the_best_epoch(tiny_model_dir, tmp_path, data_dir):
    out = tmp_path / "es"
    info = train(
        _cfg(
            tiny_model_dir, out, data_dir, epochs=6, grad_accum=6, early_stopping_min_delta=100.0, keep_checkpoints=True
        )
    )
    assert info["status"] == "early_stopped"
    assert [e["epoch"] for e in info["epochs"]] == [1, 2, 3]  # best at 1, then 2 epochs without improvement
    assert info["best_epoch"] == 1
    best = load_file(str(out / "checkpoints" / "best" / "adapter_model.safetensors"))
    final = load_file(str(out / "adapter_model.safetensors"))
    assert best.keys() == final.keys() and all(torch.equal(best[k], final[k]) for k in best)


def test_max_steps_stops_mid_epoch(tiny_model_dir, tmp_path, data_dir):
    info = train(
        _cfg(tiny_model_dir, tmp_path / "ms", data_dir, max_steps=1, grad_accum=4, train_limit=10, val_limit=2)
    )
    assert info["status"] == "max_steps" and info["steps"] == 1
    assert info["epochs"][0]["complete"] is False and info["epochs"][0]["steps"] == 1
    assert info["limits"] == {"train_limit": 10, "val_limit": 2, "max_steps": 1}
    assert info["datasets"]["train"]["rows"] == 10 and info["samples"]["val"] == 2


def _one_epoch_each(model_dir: Path, tmp_path: Path, data_dir: Path, **variants: dict) -> dict:
    """One epoch at lr 1e-2 per named variant of the settings: {name: (training_info, adapter weights)}."""
    runs = {}
    for name, kw in variants.items():
        info = train(
            _cfg(
                model_dir,
                tmp_path / name,
                data_dir,
                epochs=1,
                lr=1e-2,
                lora_dropout=0.0,
                early_stopping_patience=0,
                max_length=1024,
                **kw,
            )
        )
        runs[name] = (info, load_file(str(tmp_path / name / "adapter_model.safetensors")))
    return runs


def test_micro_batch_grouping_does_not_change_the_result(tiny_model_dir, tmp_path, data_dir):
    """batch 1 x accum 6, batch 3 x accum 2, a token budget and samples padded to a multiple
    of 64 tokens give the same training."""
    runs = _one_epoch_each(
        tiny_model_dir,
        tmp_path,
        data_dir,
        b1=dict(batch_size=1, grad_accum=6, pad_to_multiple=0),
        b3=dict(batch_size=3, grad_accum=2, pad_to_multiple=0),
        tok=dict(batch_size=1, grad_accum=6, micro_batch_tokens=2048, pad_to_multiple=0),
        pad=dict(batch_size=1, grad_accum=6, pad_to_multiple=64),
    )
    ref_info, ref_w = runs["b1"]
    assert ref_info["tokens"]["padding_fraction"] == 0.0
    for name in ("b3", "tok", "pad"):
        info, w = runs[name]
        assert info["tokens"]["padding_fraction"] > 0  # really batched with padding
        assert info["epochs"][0]["train_loss"] == pytest.approx(ref_info["epochs"][0]["train_loss"], rel=1e-5)
        assert info["epochs"][0]["val_loss"] == pytest.approx(ref_info["epochs"][0]["val_loss"], rel=1e-5)
        for k in ref_w:
            assert torch.allclose(w[k], ref_w[k], rtol=1e-3, atol=1e-6), (name, k)


def test_embedding_noise_changes_training_but_not_with_the_batching(tiny_model_dir, tmp_path, data_dir):
    """--neftune-alpha: the same noisy training with batch 1 and with padded batches of 3 (the
    noise is drawn per sample), and another training than without noise."""
    runs = _one_epoch_each(
        tiny_model_dir,
        tmp_path,
        data_dir,
        plain=dict(batch_size=1, grad_accum=6, neftune_alpha=0.0),
        b1=dict(batch_size=1, grad_accum=6, neftune_alpha=5.0),
        b3=dict(batch_size=3, grad_accum=2, neftune_alpha=5.0),
    )
    (b1, w1), (b3, w3), (plain, w0) = runs["b1"], runs["b3"], runs["plain"]
    assert b3["tokens"]["padding_fraction"] > 0 and b1["parameters"]["neftune_alpha"] == 5.0
    assert b3["epochs"][0]["train_loss"] == pytest.approx(b1["epochs"][0]["train_loss"], rel=1e-5)
    assert b3["epochs"][0]["val_loss"] == pytest.approx(b1["epochs"][0]["val_loss"], rel=1e-5)
    assert b1["epochs"][0]["train_loss"] != plain["epochs"][0]["train_loss"]
    for k in w1:
        assert torch.allclose(w3[k], w1[k], rtol=1e-3, atol=1e-6), k
    # the noise moved the adapter (its weights differ by far more than the batching's rounding)
    moved = max(float((w1[k] - w0[k]).abs().max() / (w0[k].abs().max() + 1e-12)) for k in w1)
    same = max(float((w1[k] - w3[k]).abs().max() / (w1[k].abs().max() + 1e-12)) for k in w1)
    assert moved > 100 * same and moved > 1e-3, (moved, same)


def test_best_epoch_by_content_and_early_stopping_on_it():
    from ba_lora.trainer import TrainerState, _track_best

    cfg = TrainConfig(train="t.jsonl", output="o", val="v.jsonl", eval_metric=2, early_stopping_min_delta=0.01)
    st = TrainerState()
    seen = []
    # val loss keeps falling while the documents get worse: content decides
    for epoch, (loss, content) in enumerate([(0.9, 0.50), (0.8, 0.70), (0.795, 0.705), (0.6, 0.40)]):
        st.epoch = epoch
        seen.append(_track_best(st, cfg, loss, content))
    assert seen == ["first", "content", None, None]
    assert st.best_epoch == 2 and st.best_content == 0.70 and st.bad_epochs == 2
    # content within the delta: an epoch no worse on content and clearly lower on val loss is
    # the better adapter (the seed-43 NEFTune run's two epochs), and so is one lower by less
    # than the delta (without per-concept scores the noise is the delta)
    st3 = TrainerState()
    for epoch, (loss, content) in enumerate([(0.1759, 0.894), (0.1154, 0.900), (0.09, 0.899), (0.085, 0.85)]):
        st3.epoch = epoch
        seen.append(_track_best(st3, cfg, loss, content))
    assert seen[4:] == ["first", "val_loss", "val_loss", None]
    assert st3.best_epoch == 3 and st3.best_content == 0.899 and st3.bad_epochs == 1
    # without --eval-metric the validation loss decides
    st2 = TrainerState()
    cfg2 = TrainConfig(train="t.jsonl", output="o", val="v.jsonl")
    kept = []
    for epoch, (loss, content) in enumerate([(0.9, None), (0.8, None), (0.85, None)]):
        st2.epoch = epoch
        kept.append(_track_best(st2, cfg2, loss, content))
    assert kept == ["first", "val_loss", None]
    assert st2.best_epoch == 2 and st2.best_val == 0.8 and st2.bad_epochs == 1


def test_content_decides_the_epoch_only_beyond_its_noise():
    """lever-counts, 2026-12-07: epoch 1 0.912, epoch 2 0.902 on its 4 concepts (these are
    their scores, docs/results/smollm2-bf16-2026-12-07-epoch-choice/epochs.txt), validation
    loss 0.181 then 0.123; epoch 2 was 11.8 curated content points better. A 0.010 drop
    against a noise of 0.080 is noise: the lower validation loss decides. A drop on every
    concept is not."""
    from ba_lora.trainer import TrainerState, _track_best, content_noise

    cfg = TrainConfig(train="t.jsonl", output="o", val="v.jsonl", eval_metric=4, early_stopping_min_delta=0.01)
    e1 = [0.9571, 0.92, 0.82, 0.95]
    e2 = [0.8571, 1.0, 0.85, 0.9]
    assert abs(sum(e1) / 4 - sum(e2) / 4 - 0.01) < 1e-9
    assert abs(content_noise(e2, e1, 0.01) - 0.0804) < 1e-3
    st = TrainerState()
    assert _track_best(st, cfg, 0.181, sum(e1) / 4, e1) == "first"
    st.epoch = 1
    assert _track_best(st, cfg, 0.123, sum(e2) / 4, e2) == "val_loss"
    assert st.best_epoch == 2 and st.best_contents == e2 and st.best_val == 0.123
    # every concept 0.03 lower: clearly worse content, whatever the validation loss says
    worse = [c - 0.03 for c in e1]
    assert content_noise(worse, e1, 0.01) == 0.01
    st2 = TrainerState()
    _track_best(st2, cfg, 0.181, sum(e1) / 4, e1)
    st2.epoch = 1
    assert _track_best(st2, cfg, 0.123, sum(worse) / 4, worse) is None
    assert st2.best_epoch == 1 and st2.bad_epochs == 1
    # a content gain within the noise and no lower validation loss is no improvement either
    up = [0.9571, 0.92, 0.86, 0.95]  # +0.01 mean, noise 0.02
    st3 = TrainerState()
    _track_best(st3, cfg, 0.181, sum(e1) / 4, e1)
    st3.epoch = 1
    assert _track_best(st3, cfg, 0.2, sum(up) / 4, up) is None
    # ... and beyond the noise it is (+0.04 on every concept: the noise is the min delta),
    # however the validation loss moved
    clear = [c + 0.04 for c in e1]
    st3.epoch = 2
    assert _track_best(st3, cfg, 0.3, sum(clear) / 4, clear) == "content" and st3.best_epoch == 3
    # one concept changing is one standard error: never beyond the noise, whatever its size
    one = [0.0, 0.92, 0.82, 0.95]
    assert abs(content_noise(one, e1, 0.01) - 2 * 0.9571 / 4) < 1e-9
    # one concept, or scores missing (a checkpoint of an older version): the noise is the delta
    assert content_noise([0.5], [0.9], 0.01) == 0.01 and content_noise(None, e1, 0.01) == 0.01
    # a score that is not a number cannot decide anything: the noise is the delta, not a crash
    assert content_noise([float("nan"), 0.5, 0.7, 0.1], e1, 0.01) == 0.01


def test_the_best_epochs_content_survives_a_resume():
    """The trainer state a checkpoint saves (its __dict__ as JSON) brings best_contents back;
    an older checkpoint without it loads with None (the noise is then the min delta)."""
    from ba_lora.trainer import TrainerState

    st = TrainerState(best_content=0.9, best_contents=[1.0, 0.8], best_epoch=1, best_val=0.2)
    saved = json.loads(json.dumps(dict(st.__dict__)))  # what Trainer._state_dict saves
    known = {k: v for k, v in saved.items() if k in TrainerState.__dataclass_fields__}
    assert TrainerState(**known) == st
    del known["best_contents"]
    assert TrainerState(**known).best_contents is None


SMALL = dict(train_limit=4, val_limit=2)  # one step of 4 micro-batches: the rule is tested in test_recompute.py


def test_recomputing_layers_does_not_change_the_result(tiny_model_dir, tmp_path, data_dir):
    """--checkpoint-above (its float32 default here: fp32 on the CPU) and --gradient-checkpointing
    train the same adapter as keeping every activation; training_info says what was recomputed."""
    runs = _one_epoch_each(
        tiny_model_dir,
        tmp_path,
        data_dir,
        off=dict(checkpoint_above=0, **SMALL),
        default=dict(**SMALL),
        every=dict(gradient_checkpointing=True, **SMALL),
    )
    (off, off_w), (default, default_w), (every, every_w) = runs["off"], runs["default"], runs["every"]
    run = off["recompute"]["layers_run"]
    assert run > 0 and off["recompute"] == {"above_tokens": 0, "layers_recomputed": 0, "layers_run": run}
    expected = default_above(default["device"].split(":")[0], True)  # fp32: float32 on this device
    assert default["recompute"]["above_tokens"] == expected
    assert default["recompute"]["layers_run"] == run
    if expected:  # on a CPU: FLOAT32_CPU_ABOVE (128), and these samples are longer
        assert 0 < default["recompute"]["layers_recomputed"] <= run
    assert every["recompute"]["layers_recomputed"] == run
    assert default["epochs"][0]["train_loss"] == off["epochs"][0]["train_loss"]
    assert default["epochs"][0]["val_loss"] == off["epochs"][0]["val_loss"]
    assert all(torch.equal(default_w[k], off_w[k]) for k in off_w)
    for k in off_w:  # whole layers recomputed, without the lean norms and MLPs: the same operations
        assert torch.allclose(every_w[k], off_w[k], rtol=1e-5, atol=1e-7), k
