#!/bin/bash
# job.sh SEED PEN SET [LASTN]
s=$1; pen=$2; set=$3; n=${4:-64}
A=/work/run/artifacts-ln$s
if [ $set = curated ]; then IN=curated; else IN=$A/data/template/val_fixed.jsonl; fi
tag=p$pen-n$n-$s-$set
mkdir -p /tmp/s63/out
cd /work/run && BA_PEN=$pen BA_PEN_N=$n PYTHONPATH=/tmp/s63/wt/packages/ba-llm/src BA_LLM_THREADS=1 OMP_NUM_THREADS=1 /usr/bin/time -f "%e s %M KB" /work/main/.venv/bin/ba-eval generate --runs 1 --max-new-tokens 640 \
  --model hf:$A/models/smollm2-135m-instruct+lora:$A/finetuning/smollm2-bf16 --in $IN -o /tmp/s63/out/$tag.jsonl > /tmp/s63/out/$tag.log 2>&1
echo "$tag rc=$? $(tail -1 /tmp/s63/out/$tag.log)"
