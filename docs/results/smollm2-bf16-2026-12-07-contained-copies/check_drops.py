import json,sys
from ba_llm.stopping import drop_repeated_requirements
old={json.loads(l)['id']:json.loads(l) for l in open(sys.argv[1])}
new={json.loads(l)['id']:json.loads(l) for l in open(sys.argv[2])}
same=changed=other=0
for k,n in new.items():
    o=old[k]
    if n['text']==o['text']: same+=1; continue
    redo,dr=drop_repeated_requirements(o['text'])
    if redo==n['text'] and n['completion_tokens']==o['completion_tokens']:
        changed+=1
    else:
        other+=1; print('DIFF',k, n['completion_tokens'],o['completion_tokens'], n['finish_reason'],o['finish_reason'])
    again,d2=drop_repeated_requirements(n['text'])
    assert again==n['text'], k
print('same',same,'changed-by-drop-only',changed,'other',other, 'dropped items', sum(len(n['dropped'])-len(old[k]['dropped']) for k,n in new.items()))
