"""concept-counts.py SRC LABEL: of 210 generated concepts at seeds 42 and 43, how many name a
regulation, with the ba-datagen source at SRC (main's packages/ba-datagen/src, or lever-regs')."""
import sys
sys.path.insert(0, sys.argv[1])
from ba_datagen.concepts import generate_concepts  # noqa: E402
for seed in (42, 43):
    rows = generate_concepts(210, seed=seed)
    n = sum(any(c.startswith(("comply with ", "cumplir el ")) for c in r["facts"]["constraints"]) for r in rows)
    print(f"{sys.argv[2]} seed {seed}: {n} of 210 concepts name a regulation")
