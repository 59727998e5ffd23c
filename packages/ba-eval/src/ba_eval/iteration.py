"""Phase 8.7, continuous iteration (``make iterate``): the state between rounds.

``ITER_DIR/adopted.json`` names the adopted model (round 0: the ``make finetune`` result):
its adapter, its training set and its predictions on the validation split and the curated
set. A round pins it as ``round-K/current.json`` when it starts (:func:`start_round`), makes a
candidate, and :func:`record_round` decides with the curated comparison's adopt rule
(``compare.DECISION_RULE``): the candidate becomes ``adopted.json`` only when the rule adopts
it. Every round, adopted or not, is one row of ``history.jsonl`` (iteration schema), plotted in
``history.png``.
"""

from __future__ import annotations

import datetime as _dt
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ba_io import (
    DataError,
    UsageError,
    atomic_write,
    distinct_paths,
    output_group,
    output_lock,
    read_json,
    read_jsonl,
    sha256_path,
    write_json,
    write_jsonl,
    write_text,
)

__all__ = ["MODEL_KEYS", "start_round", "record_round", "history_markdown", "history_png"]

#: what names a model between rounds
MODEL_KEYS = ("adapter", "train", "val_predictions", "curated_predictions")
CANDIDATE = "next"
REFERENCE = "current"


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def start_round(folder: str | os.PathLike[str], round_no: int, initial: Mapping[str, str]) -> dict[str, Any]:
    """Pin the model round ``round_no`` starts from (``round-K/current.json``) and return it.

    ``adopted.json`` is created from ``initial`` (round 0) when absent. A pin that exists is
    kept (a resumed round goes on from the model it started with). Round K > 1 needs round
    K-1's decision first.

    Raises:
        UsageError: a round number below 1, or the previous round not decided yet.
    """
    if round_no < 1:
        raise UsageError(f"--round must be >= 1, got {round_no}")
    d = Path(folder)
    pin = d / f"round-{round_no}" / "current.json"
    if pin.is_file():
        return read_json(pin)
    if round_no > 1 and not (d / f"round-{round_no - 1}" / "decision.json").is_file():
        raise UsageError(f"round {round_no - 1} in {d} has no decision.json yet; run it first (make iterate)")
    adopted = d / "adopted.json"
    if not adopted.is_file():
        missing = [k for k in MODEL_KEYS if not initial.get(k)]
        if missing:
            raise UsageError(f"{adopted} does not exist; give the starting model's {', '.join(missing)}")
        write_json(adopted, {"round": 0, **{k: os.fspath(initial[k]) for k in MODEL_KEYS}, "since": _now()})
    current = dict(read_json(adopted))
    current["started"] = _now()
    current["started_epoch_s"] = time.time()
    write_json(pin, current)
    return current


def _model_figures(path: str | os.PathLike[str], report: Mapping[str, Any], name: str) -> dict[str, Any]:
    for m in report["models"]:
        if m["name"] == name:
            return {
                "total": m["mean"],
                "total_ci95": m["ci95"],
                "content": m["content_mean"],
                "content_ci95": m["content_ci95"],
                "grounding": m.get("mean_grounding"),
                "runaway_rate": m.get("runaway_rate"),
            }
    raise DataError(path, None, f"the comparison report has no model named {name!r}")


def _paired(path: str | os.PathLike[str], report: Mapping[str, Any]) -> dict[str, Any]:
    for c in report["comparisons"]:
        if c["candidate"] == CANDIDATE:
            return {
                "total_diff": c["mean_diff"],
                "total_p": c["wilcoxon"]["p_value"],
                "content_diff": c["content"]["mean_diff"],
                "content_p": c["content"]["wilcoxon"]["p_value"],
                "adopt": bool(c["adopt"]),
                "decision": c["decision"],
            }
    raise DataError(path, None, f"the comparison report does not compare {CANDIDATE!r} with {REFERENCE!r}")


def _set_figures(report_path: str | os.PathLike[str]) -> dict[str, Any]:
    report = read_json(report_path, "comparison-report")
    if report["reference"] != REFERENCE:
        raise DataError(report_path, None, f"the reference must be the run named {REFERENCE!r} (ba-eval compare --run)")
    return {
        "report": os.fspath(report_path),
        "n": report["n_examples"],
        REFERENCE: _model_figures(report_path, report, REFERENCE),
        CANDIDATE: _model_figures(report_path, report, CANDIDATE),
        **_paired(report_path, report),
    }


def _history(path: Path) -> list[dict[str, Any]]:
    return read_jsonl(path, "iteration") if path.is_file() else []


def _round_row(
    round_no: int,
    current: Mapping[str, Any],
    candidate: Mapping[str, str],
    *,
    curated: dict[str, Any],
    val: dict[str, Any],
    failures: str | os.PathLike[str],
    added: str | os.PathLike[str],
    rejected: int,
) -> dict[str, Any]:
    """The history row of a round (iteration schema)."""
    fa = read_json(failures, "failure-analysis")
    info_path = Path(candidate["adapter"]) / "training_info.json"
    info = read_json(info_path) if info_path.is_file() else {}
    adopt = curated["adopt"]
    return {
        "round": round_no,
        "started": current.get("started"),
        "finished": _now(),
        "wall_s": round(time.time() - float(current.get("started_epoch_s") or time.time()), 1),
        "current": {k: current[k] for k in MODEL_KEYS},
        "current_round": current.get("round", 0),
        "candidate": {k: os.fspath(candidate[k]) for k in MODEL_KEYS},
        "failures": {
            "path": os.fspath(failures),
            "n": fa["n"],
            "failing": fa["failing"],
            "mean_total": fa["mean_total"],
            "mean_content": fa["mean_content"],
            "top_defects": [x["kind"] for x in fa["defects"][:5]],
            "targets": fa["targets"],
        },
        "data_added": {
            "path": os.fspath(added),
            "rows": len(read_jsonl(added)),
            "rejected": rejected,
            "sha256": sha256_path(added),
            "train_rows": len(read_jsonl(candidate["train"])),
        },
        "training": {
            "epochs": len(info.get("epochs") or []),
            "best_epoch": info.get("best_epoch"),
            "steps": info.get("steps"),
            "train_seconds": (info.get("durations") or {}).get("train"),
            "tokens_per_second": info.get("tokens_per_second"),
        },
        "curated": curated,
        "val": val,
        "adopted": adopt,
        "decision": (
            f"adopted round {round_no}'s model: {curated['decision']}"
            if adopt
            else f"kept the model of round {current.get('round', 0)}: {curated['decision']}"
        ),
    }


def record_round(
    folder: str | os.PathLike[str],
    round_no: int,
    candidate: Mapping[str, str],
    *,
    curated_report: str | os.PathLike[str],
    val_report: str | os.PathLike[str],
    failures: str | os.PathLike[str],
    added: str | os.PathLike[str],
    added_rejects: list[str] | None = None,
) -> dict[str, Any]:
    """Decide round ``round_no``: adopt ``candidate`` (MODEL_KEYS paths) when the curated
    comparison's rule adopts it, and write together ``round-K/decision.json``,
    ``history.jsonl`` (this round's row, replacing an earlier one of the same round),
    ``history.png`` and, when adopted, ``adopted.json``. Returns the history row."""
    d = Path(folder)
    pin = d / f"round-{round_no}" / "current.json"
    if not pin.is_file():
        raise UsageError(f"{pin} does not exist: round {round_no} was not started (ba-eval iterate-start)")
    missing = [k for k in MODEL_KEYS if not candidate.get(k)]
    if missing:
        raise UsageError(f"give the candidate's {', '.join(missing)}")
    _check_history_pages(d)
    _check_inputs_are_not_outputs(
        d,
        round_no,
        [
            ("--curated-report", curated_report),
            ("--val-report", val_report),
            ("--failures", failures),
            ("--added", added),
            *[("--added-rejects", p) for p in added_rejects or ()],
            *[(f"--{k.replace('_', '-')}", candidate[k]) for k in MODEL_KEYS if k != "adapter"],
        ],
    )
    row = _round_row(
        round_no,
        read_json(pin),
        candidate,
        curated=_set_figures(curated_report),
        val=_set_figures(val_report),
        failures=failures,
        added=added,
        rejected=sum(len(read_jsonl(p)) for p in added_rejects or () if Path(p).is_file()),
    )
    adopt = row["adopted"]
    history_path = d / "history.jsonl"
    # campaign 26: two rounds recorded at once both read the history before either wrote
    # it, and one row was lost; the read and the commit now follow each other whole
    with output_lock(history_path, wait_s=HISTORY_WAIT_S):
        _check_no_later_round(d, round_no)
        history = [h for h in _history(history_path) if h["round"] != round_no] + [row]
        history.sort(key=lambda h: h["round"])
        with output_group():
            write_json(d / f"round-{round_no}" / "decision.json", row, "iteration")
            write_jsonl(history_path, history, "iteration")
            write_text(d / "history.md", history_markdown(history))
            history_png(history, d / "history.png")
            if adopt:
                write_json(d / "adopted.json", {"round": round_no, **row["candidate"], "since": row["finished"]})
    return row


def _check_inputs_are_not_outputs(folder: Path, round_no: int, inputs: list[tuple[str, Any]]) -> None:
    """No input of a round may be one of the files it writes (campaign 38: a link
    ``round-1/decision.json -> failures.json`` had the --failures input replaced by the
    decision row, exit 0); each is remembered, so a link put there later is refused too."""
    outputs = [
        ("decision.json", folder / f"round-{round_no}" / "decision.json"),
        ("history.md", folder / "history.md"),
        ("history.png", folder / "history.png"),
        ("adopted.json", folder / "adopted.json"),
        ("history.jsonl", folder / "history.jsonl"),
    ]
    distinct_paths(*outputs)
    for flag, path in inputs:
        if path:
            distinct_paths((flag, path), *outputs)


#: how long recording a round waits for another one's (reading the history, writing four files)
HISTORY_WAIT_S = 60.0


def _check_no_later_round(folder: Path, round_no: int) -> None:
    """Campaign 26: recording round K again after round K+1 was decided rewound
    ``adopted.json`` to round K's model; every later round started from the model that was
    adopted then, so deciding K again would leave their decisions resting on nothing."""
    later = sorted(
        int(p.parent.name.removeprefix("round-"))
        for p in folder.glob("round-*/decision.json")
        if p.parent.name.removeprefix("round-").isdigit() and int(p.parent.name.removeprefix("round-")) > round_no
    )
    if later:
        raise UsageError(
            f"{folder}: round {later[-1]} was decided after round {round_no}, from the model adopted then; nothing "
            f"was written: to decide round {round_no} again, move the later round folders aside (and adopted.json "
            "when it names one of them), or iterate in a new folder"
        )


def _ci(fig: Mapping[str, Any], key: str) -> str:
    lo, hi = fig[f"{key}_ci95"]
    return f"{fig[key]:.3f} [{lo:.3f}, {hi:.3f}]"


def history_markdown(history: Sequence[Mapping[str, Any]]) -> str:
    """One table row per round: what failed, what was added, curated and val figures of
    current and next with the paired p values, the decision and the round's wall time."""
    lines = [
        HISTORY_MD_HEADING,
        "",
        "| round | failing (fresh concepts) | targets | rows added (rejected) | curated total: current -> next (p) "
        "| curated content: current -> next (p) | val content: current -> next (p) | decision | wall |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for h in history:
        f, c, v = h["failures"], h["curated"], h["val"]
        targets = "; ".join(f"{k}: {', '.join(t)}" for k, t in f["targets"].items() if t) or "(all)"
        lines.append(
            f"| {h['round']} | {f['failing']}/{f['n']} | {targets} | {h['data_added']['rows']} "
            f"({h['data_added']['rejected']}) | {_ci(c['current'], 'total')} -> {_ci(c['next'], 'total')} "
            f"({c['total_p']:.3g}) | {_ci(c['current'], 'content')} -> {_ci(c['next'], 'content')} "
            f"({c['content_p']:.3g}) | {v['current']['content']:.3f} -> {v['next']['content']:.3f} "
            f"({v['content_p']:.3g}) | {'adopted' if h['adopted'] else 'kept current'} | {h['wall_s'] / 60:.1f} min |"
        )
    lines += ["", "Decisions:", ""] + [f"- round {h['round']}: {h['decision']}" for h in history]
    return "\n".join(lines) + "\n"


#: the PNG ``Software`` text of history.png (how iterate-record knows an earlier one of its own)
HISTORY_PNG_MARKER = b"ba-eval iterate"
HISTORY_MD_HEADING = "# make iterate: history"


def _check_history_pages(d: Path) -> None:
    """history.md and history.png replace only nothing or an earlier history of this folder
    (campaign 31: a user's were replaced, exit 0); checked again at the commit (ba-io)."""
    from ba_io import check_side_output, first_line_is, head_contains

    check_side_output(d / "history.md", "an iteration history's Markdown", first_line_is(HISTORY_MD_HEADING))
    # campaign 32: any PNG there was taken for ours from the second round on (a user's chart
    # was replaced); only one carrying the marker is
    check_side_output(d / "history.png", "an iteration history's plot", head_contains(HISTORY_PNG_MARKER))


def history_png(history: Sequence[Mapping[str, Any]], path: str | os.PathLike[str]) -> None:
    """Curated total and content (with 95% CIs) of the adopted model after each round."""
    import matplotlib

    matplotlib.use("Agg")
    import io

    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    rounds = [0] + [h["round"] for h in history]
    for key, label in (("total", "curated total"), ("content", "curated content")):
        side = [history[0]["curated"][REFERENCE]] if history else []
        side += [h["curated"][CANDIDATE if h["adopted"] else REFERENCE] for h in history]
        ys = [s[key] for s in side]
        lo = [s[key] - s[f"{key}_ci95"][0] for s in side]
        hi = [s[f"{key}_ci95"][1] - s[key] for s in side]
        ax.errorbar(rounds[: len(ys)], ys, yerr=[lo, hi], marker="o", capsize=3, label=label)
    for h in history:
        cand = h["curated"][CANDIDATE]
        ax.plot([h["round"]], [cand["content"]], "x", color="grey")
    ax.set_xlabel("round (0: make finetune)")
    ax.set_ylabel("score (adopted model; x: candidate content)")
    ax.set_ylim(0, 1.05)
    ax.set_xticks(rounds)
    ax.legend(loc="lower right")
    ax.set_title("make iterate: the adopted model on the curated set")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": HISTORY_PNG_MARKER.decode()})
    plt.close(fig)
    with atomic_write(path, "wb") as f:
        f.write(buf.getvalue())
