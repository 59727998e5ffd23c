"""Concatenate prediction files with their ids suffixed: pool.py OUT FILE:SUFFIX ..."""
import json, sys
with open(sys.argv[1], "w") as out:
    for spec in sys.argv[2:]:
        path, suffix = spec.rsplit(":", 1)
        for line in open(path):
            row = json.loads(line)
            row["id"] = f"{row['id']}-{suffix}"
            row["model"] = "pooled"
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
