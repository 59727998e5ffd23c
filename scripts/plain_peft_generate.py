"""Greedy documents the way a new user would make them, without ba-llm: plain transformers +
peft (``PeftModel.from_pretrained``, the tokenizer's chat template, ``generate(do_sample=False)``),
one concept at a time, written as prediction rows so ``ba-eval parity`` can compare them with
what the reports scored.

Usage:
  python scripts/plain_peft_generate.py --base artifacts/models/smollm2-135m-instruct \\
      --adapter artifacts/finetuning/smollm2-bf16 --in artifacts/data/template/val_fixed.jsonl \\
      --out /tmp/val-plain.jsonl [--max-new-tokens 640] [--dtype float32|bfloat16]

It deliberately uses none of ba-llm's generation code (the adapter's prompt.json is read as
plain JSON), so a difference to ba-eval's documents shows where ba-llm and a user's own code
part ways: prompt rendering, stop handling, precision, padding.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", required=True)
    ap.add_argument("--adapter", required=True)
    ap.add_argument("--in", dest="inp", required=True, help="concept rows (id, concept), e.g. val_fixed.jsonl")
    ap.add_argument("--out", required=True)
    ap.add_argument("--max-new-tokens", type=int, default=640)
    ap.add_argument("--dtype", choices=("float32", "bfloat16"), default="float32")
    ap.add_argument("--limit", type=int)
    a = ap.parse_args()

    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    prompt = json.loads((Path(a.adapter) / "prompt.json").read_text(encoding="utf-8"))
    tok = AutoTokenizer.from_pretrained(a.adapter)
    model = AutoModelForCausalLM.from_pretrained(a.base, dtype=getattr(torch, a.dtype))
    model = PeftModel.from_pretrained(model, a.adapter).eval()
    rows = [json.loads(line) for line in Path(a.inp).read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = rows[: a.limit] if a.limit else rows
    with open(a.out, "w", encoding="utf-8") as out:
        for i, row in enumerate(rows, 1):
            messages = [{"role": "system", "content": prompt["system"]}]
            for demo in prompt.get("demos") or []:
                messages += [
                    {"role": "user", "content": prompt["user_template"].format(concept=demo["concept"])},
                    {"role": "assistant", "content": demo["document"]},
                ]
            messages.append({"role": "user", "content": prompt["user_template"].format(concept=row["concept"])})
            ids = tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)[
                "input_ids"
            ]
            t0 = time.perf_counter()
            with torch.no_grad():
                gen = model.generate(
                    input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False, max_new_tokens=a.max_new_tokens
                )
            new = gen[0, ids.shape[1] :]
            text = tok.decode(new, skip_special_tokens=True)
            finish = "length" if len(new) >= a.max_new_tokens and new[-1].item() != tok.eos_token_id else "stop"
            out.write(
                json.dumps(
                    {
                        "id": row["id"],
                        "concept": row["concept"],
                        "model": f"plain-peft:{a.adapter}",
                        "run": 0,
                        "text": text,
                        "prompt_tokens": int(ids.shape[1]),
                        "completion_tokens": int(len(new)),
                        "latency_s": round(time.perf_counter() - t0, 3),
                        "finish_reason": finish,
                        "backend": f"transformers+peft ({a.dtype}, batch 1)",
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
            out.flush()
            print(f"{i}/{len(rows)} {row['id']} {len(new)} tokens", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
