import json,sys,yaml
# for each newly dropped item: the dropped text and the kept item's text (from the raw answer rebuilt: kept id is the id as written, look it up in dropped or in the new doc before renumbering is unknown -> search by words)
from ba_llm.stopping import _words, _contained
old={json.loads(l)['id']:json.loads(l) for l in open(sys.argv[1])}
for l in open(sys.argv[2]):
    r=json.loads(l)
    od={d['text'] for d in old[r['id']]['dropped']}
    new=[d for d in r['dropped'] if d['text'] not in od]
    if not new: continue
    doc=yaml.safe_load(r['text'])
    items=[it.get('description') for c in ('functional_requirements','non_functional_requirements','constraints') for it in (doc.get(c) or [])]
    for d in new:
        desc=d['text'].split('description:',1)[1].split('\n')[0].strip()
        w=_words(desc.lower())
        hosts=[x for x in items if _contained(w,_words(str(x).lower()))]
        print(r['id'], d['id'],'->',d['repeats']); print('    dropped:',desc); print('    kept   :',hosts[:1])
