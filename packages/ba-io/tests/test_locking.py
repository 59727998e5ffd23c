"""#17.1: one run per output; a second one fails at once and names the lock."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ba_io import UsageError, output_lock
from ba_io.locking import lock_path


def test_a_second_holder_is_refused_and_the_lock_goes_with_the_run(tmp_path):
    out = tmp_path / "out.jsonl"
    with output_lock(out) as path:
        assert path == lock_path(out) and path.read_text().strip() == str(os.getpid())
        with pytest.raises(UsageError, match=rf"^{out}: another run is writing it \(pid {os.getpid()}\), locked in "):
            with output_lock(out):
                pass
    assert not lock_path(out).exists()
    with output_lock(out):  # free again
        pass


def test_a_lock_left_by_a_killed_run_is_taken_over(tmp_path):
    out = tmp_path / "out.jsonl"
    code = f"import os, sys; from ba_io import output_lock\nwith output_lock({str(out)!r}): os.kill(os.getpid(), 9)"
    res = subprocess.run([sys.executable, "-c", code])
    assert res.returncode == -9 and lock_path(out).exists()  # left behind, but no longer locked
    with output_lock(out):
        pass
    assert not lock_path(out).exists()
