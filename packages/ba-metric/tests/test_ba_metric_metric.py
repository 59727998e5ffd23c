"""ba_requirements_metric: DSPy-style calls without dspy."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import yaml

from ba_metric import DEFAULT_THRESHOLD, ba_requirements_metric, render, render_category, score


class Prediction:
    """Mimics dspy.Prediction: attribute access, AttributeError for unknown fields."""

    def __init__(self, **fields):
        self._store = fields

    def __getattr__(self, name):
        try:
            return self.__dict__["_store"][name]
        except KeyError:
            raise AttributeError(name) from None


EXAMPLE = SimpleNamespace(concept="A garden app")


def test_default_threshold():
    assert DEFAULT_THRESHOLD == 0.72


def test_returns_float_total_without_trace(perfect):
    assert ba_requirements_metric(EXAMPLE, render(perfect)) == 1.0
    assert isinstance(ba_requirements_metric(EXAMPLE, "nonsense"), float)


def test_returns_bool_with_trace(perfect, data_dir):
    assert ba_requirements_metric(EXAMPLE, render(perfect), trace=[]) is True
    fr01 = (data_dir / "fr01_ids.yaml").read_text()  # 0.769
    assert ba_requirements_metric(EXAMPLE, fr01, trace=object()) is True
    assert ba_requirements_metric(EXAMPLE, fr01, trace=object(), threshold=0.8) is False
    assert ba_requirements_metric(EXAMPLE, "nonsense", trace=[]) is False


def test_prediction_with_string_fields(perfect):
    fields = {k: (render_category(v) if isinstance(v, list) else v) for k, v in perfect.items()}
    assert ba_requirements_metric(EXAMPLE, Prediction(**fields)) == 1.0


def test_prediction_with_list_fields(perfect):
    assert ba_requirements_metric(EXAMPLE, Prediction(**perfect)) == 1.0


@pytest.mark.parametrize("field", ["requirements", "document", "text"])
def test_prediction_with_one_whole_document_field(perfect, field):
    assert ba_requirements_metric(EXAMPLE, Prediction(**{field: "```yaml\n" + render(perfect) + "```"})) == 1.0
    assert ba_requirements_metric(EXAMPLE, {field: render(perfect)}) == 1.0


def test_dict_and_nested_dict_predictions(perfect):
    assert ba_requirements_metric(EXAMPLE, perfect) == 1.0
    assert ba_requirements_metric(EXAMPLE, {"document": perfect}) == 1.0
    assert ba_requirements_metric(EXAMPLE, {"reasoning": "x", **perfect}) == 1.0


def test_partial_prediction_scores_like_score(perfect):
    pred = Prediction(
        title=perfect["title"], functional_requirements=yaml.safe_dump(perfect["functional_requirements"])
    )
    expected = score({"title": perfect["title"], "functional_requirements": perfect["functional_requirements"]}).total
    assert ba_requirements_metric(EXAMPLE, pred) == expected


@pytest.mark.parametrize(
    "pred", [None, 42, object(), Prediction(), b"\xff", {"x": 1}, SimpleNamespace(requirements=None)]
)
def test_unusable_predictions_score_zero(pred):
    assert ba_requirements_metric(EXAMPLE, pred) == 0.0


def test_self_referencing_prediction_does_not_loop():
    class Loop:
        def __getattr__(self, name):
            return self if name == "requirements" else None

    assert ba_requirements_metric(None, Loop()) == 0.0


def test_gepa_style_call(perfect):
    assert ba_requirements_metric(EXAMPLE, render(perfect), None, "predict", None) == 1.0


def test_example_concept_does_not_enter_the_total(perfect):
    assert ba_requirements_metric(SimpleNamespace(concept="Payroll"), render(perfect)) == 1.0
