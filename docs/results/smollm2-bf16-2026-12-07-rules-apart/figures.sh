#!/bin/bash
# figures of the rules-apart lever against the default's stored documents (today's metric)
cd /work/main
D=docs/results/smollm2-bf16-2026-12-07-rules-apart
DEF=docs/results/smollm2-bf16-2026-12-07-contained-copies
for S in 42 43; do
  L=/work/run/artifacts-lr$S/eval/smollm2
  [ -f $L/curated/finetuned-bf16.jsonl ] || continue
  mkdir -p $D/s$S
  cp $L/curated/finetuned-bf16.jsonl $D/s$S/curated-predictions.jsonl
  cp $L/val/finetuned-bf16.jsonl $D/s$S/val-predictions.jsonl
  cp /work/run/artifacts-lr$S/finetuning/smollm2-bf16/training_info.json $D/s$S/training_info.json 2>/dev/null
  /work/main/.venv/bin/ba-eval compare --run default=$DEF/s$S/curated-predictions.jsonl --run lever=$D/s$S/curated-predictions.jsonl -o $D/s$S/curated-vs-default --print-table 2>&1 | tail -4
  /work/main/.venv/bin/ba-eval compare --run default=$DEF/s$S/val-predictions.jsonl --run lever=$D/s$S/val-predictions.jsonl -o $D/s$S/val-vs-default --print-table 2>&1 | tail -3
done
