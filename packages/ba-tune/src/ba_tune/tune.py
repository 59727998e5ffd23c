"""``ba-tune mipro``: optimise the BA prompt with MIPROv2 and export it as a prompt file.

Outputs (next to each other): ``<out>`` (prompt file, ``prompt`` schema), ``<stem>.program.json``
(the DSPy program state, JSON, no pickle) and ``<stem>.log.json`` (settings, baseline score,
every trial, best score, decision, timing).
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import os
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import dspy

from ba_io import UsageError, atomic_path, json_object_with, output_group, write_json
from ba_llm.prompt import Prompt, load_prompt, prompt_from_dict
from ba_metric import ba_requirements_metric
from ba_metric.metric import OBJECTIVES

from .mipro import RecordingMIPROv2
from .program import BAAdapter, program_from_prompt, prompt_for

__all__ = ["MiproSettings", "TuneResult", "is_program_state", "run_mipro", "output_paths", "save_program_json"]

AUTO_CHOICES = ("light", "medium", "heavy")
METRIC_NAME = "ba_metric.ba_requirements_metric"


@dataclass
class MiproSettings:
    """MIPROv2 settings. ``auto=None`` needs ``num_trials`` and ``num_candidates``."""

    auto: str | None = "light"
    seed: int = 42
    metric_threshold: float = 0.72
    #: what MIPROv2 maximises: the rubric "total", the "content" score or their "mean"
    objective: str = "total"
    num_threads: int = 1
    max_bootstrapped_demos: int = 4
    max_labeled_demos: int = 4
    num_trials: int | None = None
    num_candidates: int | None = None
    program_aware: bool = True
    data_aware: bool = True

    def check(self) -> None:
        if self.auto is not None and self.auto not in AUTO_CHOICES:
            raise UsageError(f"--auto must be one of {', '.join(AUTO_CHOICES)} (got {self.auto!r})")
        if (self.num_trials is None) != (self.num_candidates is None):
            raise UsageError("--num-trials and --num-candidates go together (they replace --auto)")
        if (
            self.num_trials is not None
            and self.num_candidates is not None
            and (self.num_trials < 1 or self.num_candidates < 1)
        ):
            raise UsageError("--num-trials and --num-candidates must be at least 1")
        if self.objective not in OBJECTIVES:
            raise UsageError(f"--objective must be one of {', '.join(OBJECTIVES)} (got {self.objective!r})")
        if not 0.0 <= self.metric_threshold <= 1.0:
            raise UsageError(f"--metric-threshold must be in [0, 1] (got {self.metric_threshold})")
        if self.num_threads < 1:
            raise UsageError("--num-threads must be at least 1")
        if self.max_bootstrapped_demos < 0 or self.max_labeled_demos < 0:
            raise UsageError("demo counts must not be negative")
        if self.max_bootstrapped_demos == 0 and self.max_labeled_demos > 0:
            # MIPROv2 draws each shuffled demo set's size from [1, max_bootstrapped_demos]
            raise UsageError(
                "--max-bootstrapped-demos 0 needs --max-labeled-demos 0 too (instruction-only "
                "optimisation); MIPROv2's bootstrapped demo sets need at least 1"
            )


@dataclass
class TuneResult:
    prompt_path: Path
    program_path: Path
    log_path: Path
    baseline_score: float
    best_score: float
    improved: bool
    prompt: Prompt
    log: dict


def output_paths(out: str | Path) -> tuple[Path, Path, Path]:
    """``optimized.json`` -> (``optimized.json``, ``optimized.program.json``, ``optimized.log.json``)."""
    out = Path(out)
    if out.suffix != ".json":
        raise UsageError(f"-o must be a .json file (got {out})")
    stem = out.with_suffix("")
    return out, Path(f"{stem}.program.json"), Path(f"{stem}.log.json")


def save_program_json(program: dspy.Module, path: Path) -> None:
    """``program.save(..., save_program=False)`` (JSON state), written atomically by path
    (``ba_io.atomic_path``: a tmp file of its own, renamed with the other outputs)."""
    with atomic_path(path) as tmp:
        json_tmp = tmp.with_name(tmp.name + ".json")  # DSPy picks the format by the suffix
        try:
            program.save(str(json_tmp), save_program=False)
            os.replace(json_tmp, tmp)
        finally:
            json_tmp.unlink(missing_ok=True)


#: what :func:`save_program_json` writes, recognised before a rerun replaces it: DSPy's JSON
#: state records the versions it was saved with (campaign 16: any JSON object with a
#: ``metadata`` key of the user's was taken for one)
is_program_state = json_object_with("metadata.dependency_versions.dspy")


def _metric(threshold: float, objective: str = "total"):
    return functools.partial(ba_requirements_metric, threshold=threshold, objective=objective)


def _engine_stats(lm: Any) -> dict | None:
    engine = getattr(lm, "engine", None)
    if engine is None or not hasattr(engine, "calls"):
        return None
    return {
        "calls": engine.calls,
        "errors": engine.errors,
        "last_error": engine.last_error,
        "output_tokens": getattr(engine, "output_tokens", None),
    }


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@contextlib.contextmanager
def _quiet_dspy(verbose: bool):
    """MIPROv2 prints a lot to stdout; send it to stderr (or drop it) so stdout stays clean."""
    logger = logging.getLogger("dspy")
    level = logger.level
    logger.setLevel(logging.INFO if verbose else logging.CRITICAL)
    sink = sys.stderr if verbose else io.StringIO()
    try:
        with contextlib.redirect_stdout(sink):
            yield
    finally:
        logger.setLevel(level)


def run_mipro(
    task_lm: dspy.BaseLM,
    trainset: list,
    valset: list,
    out: str | Path,
    *,
    settings: MiproSettings | None = None,
    prompt_lm: dspy.BaseLM | None = None,
    base_prompt: Prompt | None = None,
    info: dict | None = None,
    verbose: bool = False,
) -> TuneResult:
    """Optimise the prompt with MIPROv2 and write the prompt, program and log files.

    ``task_lm`` answers the BA task, ``prompt_lm`` (default: ``task_lm``) proposes
    instructions. ``base_prompt`` (default: ba-llm's packaged prompt) is the baseline; its
    first paragraph is the instruction MIPROv2 rewrites. When no candidate scores above
    the baseline on the full valset, the baseline prompt is written and the log says so.
    ``info`` is merged into the log's ``inputs`` (model specs, file paths, limits).

    The steps: :func:`_optimizer` and :func:`_compile_kwargs` set MIPROv2 up, it compiles,
    :func:`_outcome` reads the baseline and best scores, :func:`_chosen_prompt` makes the
    prompt file of the winner, :func:`_log` the log, and :func:`_write` writes the three.
    """
    settings = settings or MiproSettings()
    settings.check()
    if not trainset or not valset:
        raise UsageError("the train and val sets must not be empty")
    paths = output_paths(out)
    base = base_prompt or load_prompt(None)
    student = program_from_prompt(base)
    optimizer = _optimizer(settings, task_lm, prompt_lm, verbose)

    started, t0 = _now(), time.perf_counter()
    with dspy.context(lm=task_lm, adapter=BAAdapter(base.user_template)), _quiet_dspy(verbose):
        best = optimizer.compile(student, **_compile_kwargs(settings, trainset, valset))
    elapsed = time.perf_counter() - t0

    outcome = _outcome(best, task_lm, prompt_lm)
    chosen = best if outcome.improved else student
    optimizer_settings = {
        "optimizer": "dspy.teleprompt.MIPROv2",
        "dspy_version": dspy.__version__,
        "metric": METRIC_NAME,
        **asdict(settings),
        "num_train": len(trainset),
        "num_val": len(valset),
    }
    prompt = _chosen_prompt(chosen, base, outcome, optimizer_settings, info, paths[0])
    log = _log(
        outcome, student, optimizer, len(valset), optimizer_settings, prompt, paths, info,
        {"started": started, "finished": _now(), "elapsed_s": round(elapsed, 1)},
    )  # fmt: skip
    _write(paths, chosen, prompt, log)
    return TuneResult(*paths, outcome.baseline, outcome.best, outcome.improved, prompt, log)


@dataclass(frozen=True)
class _Outcome:
    """What a MIPROv2 run found: the baseline's and the best candidate's full-valset scores
    in [0, 1], and the model-call counts of each LM."""

    baseline: float
    best: float
    task_stats: dict | None
    prompt_stats: dict | None

    @property
    def improved(self) -> bool:
        return self.best > self.baseline

    @property
    def scores(self) -> dict[str, Any]:
        return {"baseline": round(self.baseline, 4), "best": round(self.best, 4), "improved": self.improved}


def _optimizer(
    settings: MiproSettings, task_lm: dspy.BaseLM, prompt_lm: dspy.BaseLM | None, verbose: bool
) -> RecordingMIPROv2:
    return RecordingMIPROv2(
        metric=_metric(settings.metric_threshold, settings.objective),
        prompt_model=prompt_lm or task_lm,
        task_model=task_lm,
        auto=settings.auto,
        num_candidates=settings.num_candidates,
        num_threads=settings.num_threads,
        seed=settings.seed,
        max_bootstrapped_demos=settings.max_bootstrapped_demos,
        max_labeled_demos=settings.max_labeled_demos,
        metric_threshold=settings.metric_threshold,
        verbose=verbose,
    )


def _compile_kwargs(settings: MiproSettings, trainset: list, valset: list) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "trainset": trainset,
        "valset": valset,
        "seed": settings.seed,
        "program_aware_proposer": settings.program_aware,
        "data_aware_proposer": settings.data_aware,
    }
    if settings.auto is None:
        kwargs["num_trials"] = settings.num_trials
    # MIPROv2 minibatches only for valsets over 50; a minibatch never exceeds the valset
    kwargs["minibatch"] = len(valset) > 50
    kwargs["minibatch_size"] = min(35, len(valset))
    return kwargs


def _outcome(best: dspy.Module, task_lm: dspy.BaseLM, prompt_lm: dspy.BaseLM | None) -> _Outcome:
    """The scores MIPROv2 reported; every model call failing is a usage error, not a 0.0."""
    trial_logs = getattr(best, "trial_logs", None) or {}
    if 1 not in trial_logs or "full_eval_score" not in trial_logs[1]:
        raise RuntimeError("MIPROv2 did not report the baseline score")  # pragma: no cover - DSPy contract
    baseline = float(trial_logs[1]["full_eval_score"]) / 100.0
    best_score = float(getattr(best, "score", trial_logs[1]["full_eval_score"])) / 100.0
    task_stats, prompt_stats = _engine_stats(task_lm), _engine_stats(prompt_lm) if prompt_lm else None
    failures = [s for s in (task_stats, prompt_stats) if s and s["errors"]]
    if failures and baseline == 0.0 and best_score == 0.0:
        raise UsageError(f"every model call failed; last error: {failures[0]['last_error']}")
    return _Outcome(baseline, best_score, task_stats, prompt_stats)


def _chosen_prompt(
    chosen: dspy.Module, base: Prompt, outcome: _Outcome, optimizer_settings: dict, info: dict | None, where: Path
) -> Prompt:
    """The prompt file of the chosen program, with its provenance, checked like any prompt file."""
    source = {
        "author": "ba-tune mipro",
        "base_prompt": {"name": base.name, "sha256": base.sha256},
        "settings": optimizer_settings,
        "scores": outcome.scores,
        **({"inputs": dict(info)} if info else {}),
    }
    name = "mipro-optimized" if outcome.improved else base.name
    prompt = prompt_for(
        chosen.generate.signature, chosen.generate.demos or [], base.user_template, name=name, source=source
    )
    return prompt_from_dict(prompt.to_dict(), where=str(where))  # schema + template check


def _log(
    outcome: _Outcome,
    student: dspy.Module,
    optimizer: RecordingMIPROv2,
    n_val: int,
    optimizer_settings: dict,
    prompt: Prompt,
    paths: tuple[Path, Path, Path],
    info: dict | None,
    time_info: dict,
) -> dict[str, Any]:
    """The log file: settings, every trial (the baseline first), scores, decision, timing."""
    baseline, best = outcome.baseline, outcome.best
    decision = (
        f"candidate beat the baseline ({best:.4f} > {baseline:.4f}); the optimised prompt was written"
        if outcome.improved
        else f"no candidate beat the baseline ({baseline:.4f}); the baseline prompt was written"
    )
    records = [
        {
            "trial": 1,
            "kind": "baseline",
            "params": {"instruction": 0, "demo_set": 0},
            "score": round(baseline, 4),
            "n": n_val,
            "instruction": student.generate.signature.instructions,
            "num_demos": len(student.generate.demos or []),
        }
    ]
    records += [{**r, "score": round(float(r["score"]) / 100.0, 4)} for r in optimizer.records]
    return {
        "command": "ba-tune mipro",
        "inputs": dict(info or {}),
        "settings": optimizer_settings,
        "baseline_score": outcome.scores["baseline"],
        "best_score": outcome.scores["best"],
        "improved": outcome.improved,
        "decision": decision,
        "score_scale": "mean ba_requirements_metric over the examples, in [0, 1]",
        "instruction_candidates": optimizer.instruction_candidates,
        "num_demo_sets": optimizer.num_demo_sets,
        "trials": records,
        "lm_calls": {"task": outcome.task_stats, "prompt": outcome.prompt_stats},
        "time": time_info,
        "outputs": {"prompt": str(paths[0]), "program": str(paths[1]), "prompt_sha256": prompt.sha256},
    }


def _write(paths: tuple[Path, Path, Path], chosen: dspy.Module, prompt: Prompt, log: dict) -> None:
    """The program, the prompt and the log, committed together (``ba_io.output_group``)."""
    prompt_path, program_path, log_path = paths
    prompt_path.parent.mkdir(parents=True, exist_ok=True)
    with output_group():  # renamed in reverse order: the prompt, make's target, appears last
        write_json(prompt_path, prompt.to_dict(), schema="prompt")
        save_program_json(chosen, program_path)
        write_json(log_path, log)
