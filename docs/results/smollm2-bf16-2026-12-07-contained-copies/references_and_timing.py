import json, time
from ba_llm.stopping import drop_repeated_requirements
from ba_metric.render import render
n=d=0
for l in open('packages/ba-eval/src/ba_eval/data/curated.jsonl'):
    r=json.loads(l); n+=1
    _,dr=drop_repeated_requirements(render(r))
    if dr: d+=1; print('REF', r['id'], [(x.id,x.repeats) for x in dr])
print('references', n, 'with a drop', d)
n=d=0
for s in (42,43):
    for f in ('train_fixed','val_fixed'):
        for l in open(f'/work/run/artifacts-ln{s}/data/template/{f}.jsonl'):
            r=json.loads(l); n+=1
            _,dr=drop_repeated_requirements(render(r))
            if dr: d+=1; print('TEACHER', s, r['id'], [(x.id,x.repeats) for x in dr])
print('teacher', n, 'with a drop', d)
def item(k,n,dd): return f"  - id: {k}{n:05d}\n    description: {dd}\n    priority: High\n"
descs=[f"The system shall allow members to reserve plot {i} for the {i % 7} season with friends." for i in range(5000)]
text="functional_requirements:\n"+"".join(item("FR",i+1,x) for i,x in enumerate(descs+descs))
for _ in range(2):
    t0=time.perf_counter(); tidy,dr=drop_repeated_requirements(text); print('30k lines, 5000 copies', len(dr), round(time.perf_counter()-t0,3))
descs=[" ".join(f"The system shall allow members to reserve plot {i} for a whole season with friends".split()[:k]) for i in range(2000) for k in (8,9,10,12,14)]
text="functional_requirements:\n"+"".join(item("FR",i+1,x) for i,x in enumerate(descs))
t0=time.perf_counter(); tidy,dr=drop_repeated_requirements(text); print('chains 10000 items', len(dr), round(time.perf_counter()-t0,3))
