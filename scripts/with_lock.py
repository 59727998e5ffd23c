"""Run a command while holding an exclusive lock on a file; exit with the command's status.

``make test`` runs two tox environments at a time, and every environment builds the ba-*
packages it installs from their source folders. setuptools builds inside the source folder
(``build/``, ``src/*.egg-info``), so two builds of one folder at the same time can fail
(pypa/setuptools#3119). tox.ini runs every pip install of the environments through this
script, on one lock file, so they take turns; the tests themselves still run side by side.

usage: python scripts/with_lock.py LOCKFILE COMMAND [ARG ...]
"""

from __future__ import annotations

import fcntl
import subprocess
import sys


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print("usage: python scripts/with_lock.py LOCKFILE COMMAND [ARG ...]", file=sys.stderr)
        return 2
    with open(argv[1], "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or the process ends
        return subprocess.call(argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
