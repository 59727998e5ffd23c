"""List the functions of packages/*/src longer than a limit, docstrings not counted.

Usage: python scripts/long_functions.py [--limit 60]

The code-health rule (docs/architecture.md): no function over ~60 lines without a reason
written next to it. A reason is a comment starting ``# long:`` on the line above the
``def`` (or its decorators); such functions are listed apart, with the reason.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def body_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines of the function, less its docstring's."""
    total = (node.end_lineno or node.lineno) - node.lineno + 1
    first = node.body[0] if node.body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        total -= (first.end_lineno or first.lineno) - first.lineno + 1
    return total


def reason(lines: list[str], node: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    top = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    above = lines[top - 2].strip() if top >= 2 else ""
    return above[len("# long:") :].strip() if above.startswith("# long:") else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=60)
    args = parser.parse_args(argv)
    long, explained = [], []
    for path in sorted(ROOT.glob("packages/*/src/*/*.py")):
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = body_lines(node)
                if n > args.limit:
                    where = f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({n} lines)"
                    why = reason(lines, node)
                    (explained if why else long).append(f"{where}: {why}" if why else where)
    for line in explained:
        print(f"explained  {line}")
    for line in long:
        print(f"TOO LONG   {line}")
    print(f"{len(long)} over {args.limit} lines without a reason, {len(explained)} with one")
    return 1 if long else 0


if __name__ == "__main__":
    sys.exit(main())
