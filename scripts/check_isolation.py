"""Fail when a tox environment can import a ba_* package its package does not declare.

Usage: python scripts/check_isolation.py ba-metric [--extras=hf,test]

Reads the package's declared dependencies from its installed metadata (those of the named
extras too, when the environment installs the package with them) and checks that no other
``ba_*`` top-level module is importable, so "reusable alone" is proven, not assumed; and
that the installed wheel ships its ``py.typed`` marker, so users' type checkers read our types.
"""

from __future__ import annotations

import importlib.metadata as md
import pkgutil
import re
import sys


def _declared(dist: str, extras: frozenset[str] = frozenset()) -> set[str]:
    names = {dist}
    for req in md.requires(dist) or []:
        if "extra ==" in req and not any(re.search(rf"extra == ['\"]{re.escape(e)}['\"]", req) for e in extras):
            continue
        name = re.split(r"[ ;<>=!\[~]", req, maxsplit=1)[0].strip()
        if name.startswith("ba-"):
            names |= _declared(name)
    return names


def main() -> int:
    args = [a for a in sys.argv[1:] if a]  # tox passes an empty {env:BA_EXTRAS:} as ''
    extras: frozenset[str] = frozenset()
    if len(args) == 2 and args[1].startswith("--extras="):
        extras = frozenset(e.strip() for e in args[1].split("=", 1)[1].split(",") if e.strip())
    elif len(args) != 1:
        print("usage: check_isolation.py PACKAGE [--extras=a,b]", file=sys.stderr)
        return 2
    dist = args[0]
    allowed = {n.replace("-", "_") for n in _declared(dist, extras)}
    present = {m.name for m in pkgutil.iter_modules() if m.name.startswith("ba_")}
    extra = sorted(present - allowed)
    if extra:
        print(f"Error: {dist}: undeclared sibling packages importable: {', '.join(extra)}", file=sys.stderr)
        return 1
    module = dist.replace("-", "_")
    files = md.files(dist) or []
    if not any(f.name == "py.typed" and f.parent.name == module for f in files):
        print(
            f"Error: {dist}: the installed wheel has no {module}/py.typed (PEP 561): add it to package-data",
            file=sys.stderr,
        )
        return 1
    print(f"{dist}: isolated (ba_* importable: {', '.join(sorted(present)) or 'none'}), typed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
