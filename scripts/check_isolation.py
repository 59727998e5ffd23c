"""Fail when a tox environment can import a ba_* package its package does not declare.

Usage: python scripts/check_isolation.py ba-metric

Reads the package's declared dependencies from its installed metadata and checks that no
other ``ba_*`` top-level module is importable, so "reusable alone" is proven, not assumed.
"""
from __future__ import annotations

import importlib.metadata as md
import pkgutil
import re
import sys


def _declared(dist: str) -> set[str]:
    names = {dist}
    for req in md.requires(dist) or []:
        if "extra ==" in req:
            continue
        name = re.split(r"[ ;<>=!\[~]", req, maxsplit=1)[0].strip()
        if name.startswith("ba-"):
            names |= _declared(name)
    return names


def main() -> int:
    dist = sys.argv[1]
    allowed = {n.replace("-", "_") for n in _declared(dist)}
    present = {m.name for m in pkgutil.iter_modules() if m.name.startswith("ba_")}
    extra = sorted(present - allowed)
    if extra:
        print(f"Error: {dist}: undeclared sibling packages importable: {', '.join(extra)}", file=sys.stderr)
        return 1
    print(f"{dist}: isolated (ba_* importable: {', '.join(sorted(present)) or 'none'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
