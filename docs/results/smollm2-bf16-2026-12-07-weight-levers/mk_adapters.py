"""Build the two post-hoc lever adapters from a default run's folder (stored checkpoints).
L1 tail average: the mean of the LoRA parameters saved at steps 50, 60, 70, 80, 90, 96 (epoch 2).
L2 shrink: the step-96 (kept) adapter with lora_alpha x 0.8 (its delta scaled by 0.8)."""
import json, shutil, sys, torch
from pathlib import Path
from safetensors.torch import load_file, save_file
run = Path(sys.argv[1]); out = Path(sys.argv[2]); steps = [50, 60, 70, 80, 90, 96]
files = ["adapter_config.json", "adapter_model.safetensors", "chat_template.jinja", "prompt.json",
         "tokenizer.json", "tokenizer_config.json"]
for name in ("tail", "shrink"):
    d = out / name; d.mkdir(parents=True, exist_ok=True)
    for f in files: shutil.copy2(run / f, d / f)
sd = [load_file(str(run / f"checkpoints/step-{s:08d}/adapter_model.safetensors")) for s in steps]
final = load_file(str(run / "adapter_model.safetensors"))
assert set(sd[-1]) == set(final) and all(torch.equal(sd[-1][k], final[k]) for k in final), "step 96 != kept adapter"
mean = {k: (sum(s[k].float() for s in sd) / len(sd)).to(final[k].dtype).contiguous() for k in final}
save_file(mean, str(out / "tail/adapter_model.safetensors"), metadata={"format": "pt"})
cfg = json.loads((run / "adapter_config.json").read_text())
print("alpha", cfg["lora_alpha"], "r", cfg["r"], "dtype", next(iter(final.values())).dtype)
cfg["lora_alpha"] = cfg["lora_alpha"] * 0.8
(out / "shrink/adapter_config.json").write_text(json.dumps(cfg, indent=2))
