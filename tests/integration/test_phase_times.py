"""scripts/phase_times.py: the time covered by a run whose phases overlap (make finetune's evaluations
run EVAL_JOBS at a time) counts the shared time once; the total still adds every phase up."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "phase_times.py"
_spec = importlib.util.spec_from_file_location("phase_times", _SCRIPT)
assert _spec is not None and _spec.loader is not None
phase_times = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(phase_times)


def _entry(phase: str, seconds: float, finished: str, started: str | None = None) -> dict:
    entry = {"phase": phase, "seconds": seconds, "max_rss_mb": 10.0, "exit_code": 0, "finished": finished}
    if started is not None:
        entry["started"] = started
    return entry


def test_overlapping_phases_count_once_in_the_covered_time(tmp_path: Path, capsys) -> None:
    log = tmp_path / "timings.jsonl"
    entries = [
        _entry("train", 10.0, "2026-12-07T10:00:10+00:00", "2026-12-07T10:00:00.000+00:00"),
        # two evaluations side by side: 10:00:10-10:00:40 and 10:00:15.5-10:00:35.5
        _entry("eval-a", 30.0, "2026-12-07T10:00:40+00:00", "2026-12-07T10:00:10.000+00:00"),
        _entry("eval-b", 20.0, "2026-12-07T10:00:36+00:00", "2026-12-07T10:00:15.500+00:00"),
        # an older entry without `started`: it ended at 10:01:00 after 5 s
        _entry("compare", 5.0, "2026-12-07T10:01:00+00:00"),
    ]
    log.write_text("".join(json.dumps(e) + "\n" for e in entries), encoding="utf-8")
    assert phase_times.covered_seconds(entries) == 45.0
    assert phase_times.main(["phase_times.py", str(log)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2].split()[:2] == ["total", "65.0"]
    assert lines[-1].split()[-1] == "45.0"


def test_a_gap_between_phases_is_not_counted_and_entries_without_times_are_left_out() -> None:
    spaced = [
        _entry("a", 10.0, "2026-12-07T10:00:10+00:00", "2026-12-07T10:00:00.000+00:00"),
        _entry("b", 10.0, "2026-12-07T10:01:10+00:00", "2026-12-07T10:01:00.000+00:00"),
    ]
    assert phase_times.covered_seconds(spaced) == 20.0
    assert phase_times.covered_seconds([*spaced, {"phase": "c", "seconds": 3.0}]) == 20.0
    assert phase_times.covered_seconds([{"phase": "a", "seconds": 3.0}]) is None
