"""MIPROv2 with a trial record: every evaluated candidate's parameters, instruction and score.

MIPROv2 keeps its own ``trial_logs`` but overwrites full-evaluation entries in minibatch
mode; this subclass records each evaluation as it happens through MIPROv2's logging hooks
(private methods of DSPy 3.4, hence the pinned DSPy range).
"""

from __future__ import annotations

import re
from typing import Any

from dspy.teleprompt import MIPROv2
from dspy.teleprompt.utils import get_signature

__all__ = ["RecordingMIPROv2", "params_from_labels"]

_LABEL = re.compile(r"Predictor (\d+): (Instruction|Few-Shot Set) (\d+)")


def params_from_labels(labels) -> dict[str, int]:
    """``["Predictor 0: Instruction 2", "Predictor 0: Few-Shot Set 1"]`` -> ``{"instruction": 2, "demo_set": 1}``.

    Predictor indices other than 0 are kept as ``instruction_<i>`` / ``demo_set_<i>``.
    """
    if isinstance(labels, str):
        labels = labels.split(",")
    out: dict[str, int] = {}
    for label in labels:
        m = _LABEL.search(str(label))
        if not m:
            continue
        pred, what, idx = int(m.group(1)), m.group(2), int(m.group(3))
        key = "instruction" if what == "Instruction" else "demo_set"
        out[key if pred == 0 else f"{key}_{pred}"] = idx
    return out


def _describe(program: Any) -> dict[str, Any]:
    predictor = program.predictors()[0]
    return {"instruction": get_signature(predictor).instructions, "num_demos": len(predictor.demos or [])}


class RecordingMIPROv2(MIPROv2):
    """:class:`dspy.teleprompt.MIPROv2` that fills ``self.records`` and ``self.instruction_candidates``.

    Scores are DSPy's (percent of the metric mean, 0-100) as MIPROv2 reports them.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.records: list[dict[str, Any]] = []
        self.instruction_candidates: list[str] = []
        self.num_demo_sets: int = 0

    def _record(self, trial: int, kind: str, score: float, n: int, params: dict, program: Any) -> None:
        self.records.append(
            {"trial": trial, "kind": kind, "params": params, "score": score, "n": n, **_describe(program)}
        )

    def _propose_instructions(self, *args, **kwargs):
        candidates = super()._propose_instructions(*args, **kwargs)
        self.instruction_candidates = list(candidates.get(0, []))
        return candidates

    def _bootstrap_fewshot_examples(self, *args, **kwargs):
        demo_candidates = super()._bootstrap_fewshot_examples(*args, **kwargs)
        self.num_demo_sets = len(demo_candidates[0]) if demo_candidates else 0
        return demo_candidates

    def _log_minibatch_eval(
        self,
        score,
        best_score,
        batch_size,
        chosen_params,
        score_data,
        trial,
        adjusted_num_trials,
        trial_logs,
        trial_num,
        candidate_program,
        total_eval_calls,
    ):
        self._record(trial_num, "minibatch", score, batch_size, params_from_labels(chosen_params), candidate_program)
        return super()._log_minibatch_eval(
            score,
            best_score,
            batch_size,
            chosen_params,
            score_data,
            trial,
            adjusted_num_trials,
            trial_logs,
            trial_num,
            candidate_program,
            total_eval_calls,
        )

    def _log_normal_eval(
        self,
        score,
        best_score,
        chosen_params,
        score_data,
        trial,
        num_trials,
        trial_logs,
        trial_num,
        valset,
        batch_size,
        candidate_program,
        total_eval_calls,
    ):
        self._record(trial_num, "full", score, batch_size, params_from_labels(chosen_params), candidate_program)
        return super()._log_normal_eval(
            score,
            best_score,
            chosen_params,
            score_data,
            trial,
            num_trials,
            trial_logs,
            trial_num,
            valset,
            batch_size,
            candidate_program,
            total_eval_calls,
        )

    def _perform_full_evaluation(
        self,
        trial_num,
        adjusted_num_trials,
        param_score_dict,
        fully_evaled_param_combos,
        evaluate,
        valset,
        *args,
        **kwargs,
    ):
        before = set(fully_evaled_param_combos)
        result = super()._perform_full_evaluation(
            trial_num,
            adjusted_num_trials,
            param_score_dict,
            fully_evaled_param_combos,
            evaluate,
            valset,
            *args,
            **kwargs,
        )
        new = [k for k in fully_evaled_param_combos if k not in before]
        if new:
            entry = fully_evaled_param_combos[new[0]]
            self._record(
                trial_num + 1, "full", entry["score"], len(valset), params_from_labels(new[0]), entry["program"]
            )
        return result
