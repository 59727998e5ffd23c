"""Every unstated_fact charge in the model documents stored under docs/results (distinct text and concept), and a random sample of 45 (seed 54) to read for misparses."""
import json, glob, random, yaml
from ba_metric import score
from ba_metric.facts import facts
from ba_metric.grounding import fold
seen=set(); out=[]
files=sorted(glob.glob('docs/results/**/*predictions*.jsonl', recursive=True))
for p in files:
    for l in open(p):
        try: r=json.loads(l)
        except Exception: continue
        t=r.get('text'); c=r.get('concept')
        if not isinstance(t,str) or not c or (t,c) in seen: continue
        seen.add((t,c))
        s=score(t,c)
        ids=[d.split(':',1)[1] for d in s.defects if d.startswith('unstated_fact')]
        if not ids: continue
        try: doc=yaml.safe_load(t)
        except Exception: continue
        if not isinstance(doc,dict): continue
        units={'description':doc.get('description')}
        for k in ('functional_requirements','non_functional_requirements','constraints'):
            for it in doc.get(k) or []:
                if isinstance(it,dict): units[it.get('id')]=it.get('description')
        for i in ids: out.append((r.get('id'), str(units.get(i))[:140], sorted(facts(fold(str(units.get(i)))))))
print(len(files),'files',len(seen),'docs',len(out),'charges')
random.seed(54)
for x in random.sample(out, 45): print(x)
