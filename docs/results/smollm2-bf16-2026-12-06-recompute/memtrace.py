import sys, os
def rss():
    d = {}
    for line in open('/proc/self/status'):
        if line.startswith(('VmRSS', 'VmHWM', 'RssAnon', 'RssFile')):
            k, v = line.split(':'); d[k] = int(v.split()[0]) // 1024
    return d
def say(what): print(f"MEM {what}: {rss()}", file=sys.stderr, flush=True)
import ba_lora.trainer as t
from ba_lora import modeling
orig_load = t.load_base_model
def load(*a, **k):
    say("before load"); m = orig_load(*a, **k); say("after load"); return m
t.load_base_model = load
orig_step = t._Run.step
def step(self, idxs):
    say(f"before step {idxs}"); r = orig_step(self, idxs); say("after step"); return r
t._Run.step = step
orig_fwd = modeling.AnswerLoss.forward
def fwd(self, *a, **k):
    r = orig_fwd(self, *a, **k); say(f"after forward {a[0].shape if a else k['input_ids'].shape}"); return r
modeling.AnswerLoss.forward = fwd
if os.environ.get("TRIM"):
    import torch
    from ba_llm.memory import release_free_memory
    ob = torch.Tensor.backward
    def bw(self, *a, **k):
        r = ob(self, *a, **k); say("after backward"); release_free_memory(); say("after trim"); return r
    torch.Tensor.backward = bw
from ba_lora.cli import main
sys.argv[0] = 'ba-lora'
sys.exit(main())
