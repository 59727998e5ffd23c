"""late-peak-steps.py TRAIN.jsonl PROMPT.json SEED (run in a clone with artifacts/models): the padded length of every micro-batch of each optimizer step of a make finetune training (batch size 1, grad-accum 4, pad to 64), longest first as ba-lora runs them; columns: epoch, global step, lengths, sum."""
import json, sys
from transformers import AutoTokenizer
from ba_llm.prompt import load_prompt
from ba_lora.data import encode_rows, epoch_steps, padded_length
train, prompt_path, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
tok = AutoTokenizer.from_pretrained("artifacts/models/smollm2-135m-instruct")
prompt = load_prompt(prompt_path)
rows = [json.loads(l) for l in open(train)]
samples, _ = encode_rows(tok, prompt, rows, 2048)
for epoch in (0, 1):
    for k, idx in enumerate(epoch_steps(len(samples), 4, seed, epoch)):
        lens = sorted((padded_length(samples[i].length, 64, 2048) for i in idx), reverse=True)
        print(epoch + 1, epoch * 48 + k + 1, lens, sum(lens))
