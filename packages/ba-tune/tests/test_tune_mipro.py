"""Full MIPROv2 compiles driven by the fake model: export, program state, log, baseline path."""

from __future__ import annotations

import json
from statistics import mean

import pytest
from ba_tune_fakes import GOOD_WORD, FakeModel, fake_document

from ba_io import UsageError, validate
from ba_llm.prompt import load_prompt, render_messages
from ba_metric import score
from ba_tune.data import load_examples
from ba_tune.program import BARequirements, split_system
from ba_tune.tune import MiproSettings, is_program_state, output_paths, run_mipro


def expected_mean(concepts, items):
    base = load_prompt(None)
    return round(mean(score(fake_document(base.render_user(c), items)).total for c in concepts), 4)


@pytest.fixture
def sets(data_dir):
    return load_examples(data_dir / "train.jsonl"), load_examples(data_dir / "val.jsonl")


@pytest.fixture
def light_run(tmp_path, fake_lm_factory, sets):
    lm, model = fake_lm_factory(sensitive=True)
    train, val = sets
    result = run_mipro(
        lm,
        train,
        val,
        tmp_path / "prompts" / "optimized.json",
        settings=MiproSettings(auto="light", seed=42),
        info={"model": "fake"},
    )
    return result, model, val, tmp_path / "prompts"


def test_light_run_finds_the_better_instruction(light_run):
    result, model, val, _ = light_run
    concepts = [e.concept for e in val]
    poor, good = expected_mean(concepts, model.poor_items), expected_mean(concepts, model.good_items)
    assert good > poor  # the fake model gives the optimiser a signal under this metric
    assert result.baseline_score == pytest.approx(poor, abs=1e-4)
    assert result.best_score == pytest.approx(good, abs=1e-4)
    assert result.improved
    assert model.proposals >= 2 and model.task_calls > len(val) * 10


def test_exported_prompt_is_valid_and_renders_what_was_scored(light_run):
    result, model, val, out = light_run
    data = json.loads((out / "optimized.json").read_text())
    assert validate(data, "prompt") == []
    prompt = load_prompt(out / "optimized.json")
    assert prompt.name == "mipro-optimized"
    assert GOOD_WORD in prompt.system
    default_rules = split_system(load_prompt(None).system)[1]
    assert prompt.system.endswith(default_rules)  # the format rules are kept verbatim
    assert prompt.user_template == load_prompt(None).user_template
    for demo in prompt.demos:
        assert score(demo["document"]).total > 0
    # faithful: the exported prompt renders exactly the messages the model saw when scored
    for example in val:
        assert render_messages(prompt, example.concept) in model.seen_task_messages
    src = prompt.source
    assert src["scores"] == {
        "baseline": round(result.baseline_score, 4),
        "best": round(result.best_score, 4),
        "improved": True,
    }
    assert src["settings"]["auto"] == "light" and src["settings"]["seed"] == 42
    assert src["settings"]["metric"] == "ba_metric.ba_requirements_metric"
    assert src["inputs"] == {"model": "fake"}


def test_program_state_is_json_and_reloads_to_the_prompt(light_run):
    result, _, _, out = light_run
    path = out / "optimized.program.json"
    raw = path.read_bytes()
    assert not raw.startswith(b"\x80")  # not a pickle stream
    state = json.loads(raw)
    assert set(state) == {"generate", "metadata"}
    assert not list(out.glob("*.pkl")) and not list(out.glob(".*tmp*"))
    prompt = load_prompt(out / "optimized.json")
    program = BARequirements("", "")
    program.load(str(path))
    instruction, rules = split_system(prompt.system)
    assert program.generate.signature.instructions == instruction
    assert state["generate"]["signature"]["fields"][1]["description"] == rules
    assert len(program.generate.demos) == len(prompt.demos)


def test_log_records_baseline_trials_and_time(light_run):
    result, _, val, out = light_run
    log = json.loads((out / "optimized.log.json").read_text())
    assert log == result.log
    trials = log["trials"]
    assert trials[0]["kind"] == "baseline" and trials[0]["score"] == log["baseline_score"]
    assert len(trials) == 1 + 10  # auto=light with demos: 10 trials, all on the full valset (<= 50)
    assert all(t["kind"] == "full" and t["n"] == len(val) for t in trials[1:])
    assert all(set(t["params"]) == {"instruction", "demo_set"} for t in trials)
    assert log["best_score"] == max(t["score"] for t in trials)
    assert log["improved"] is True and "optimised prompt was written" in log["decision"]
    assert len(log["instruction_candidates"]) == 3 and log["num_demo_sets"] == 6
    assert log["time"]["elapsed_s"] >= 0 and log["time"]["started"] <= log["time"]["finished"]
    assert log["lm_calls"]["task"]["calls"] > 0 and log["lm_calls"]["task"]["errors"] == 0
    assert log["outputs"]["prompt_sha256"] == load_prompt(out / "optimized.json").sha256


def test_no_candidate_beats_baseline_writes_the_baseline_prompt(tmp_path, fake_lm_factory, sets):
    lm, model = fake_lm_factory(sensitive=False)
    train, val = sets
    result = run_mipro(lm, train, val, tmp_path / "optimized.json", settings=MiproSettings(auto="light"))
    assert not result.improved
    base = load_prompt(None)
    written = load_prompt(tmp_path / "optimized.json")
    assert written.sha256 == base.sha256 and written.name == base.name and written.demos == ()
    assert written.source["scores"]["improved"] is False
    log = json.loads((tmp_path / "optimized.log.json").read_text())
    assert log["improved"] is False
    assert log["decision"].startswith("no candidate beat the baseline")
    assert log["best_score"] == log["baseline_score"] == expected_mean([e.concept for e in val], model.poor_items)
    assert len({t["score"] for t in log["trials"]}) == 1
    state = json.loads((tmp_path / "optimized.program.json").read_text())
    assert is_program_state(str(tmp_path / "optimized.program.json"))  # a rerun may replace it
    assert state["generate"]["demos"] == []
    assert state["generate"]["signature"]["instructions"] == split_system(base.system)[0]


def test_same_seed_same_result(tmp_path, fake_lm_factory, sets):
    train, val = sets
    runs = []
    for name in ("a", "b"):
        lm, _ = fake_lm_factory(sensitive=True)
        res = run_mipro(
            lm,
            train,
            val,
            tmp_path / name / "optimized.json",
            settings=MiproSettings(auto=None, num_trials=4, num_candidates=4, seed=7),
        )
        runs.append(res)
    a, b = runs
    assert a.prompt.to_dict() == b.prompt.to_dict()
    assert [(t["params"], t["score"]) for t in a.log["trials"]] == [(t["params"], t["score"]) for t in b.log["trials"]]
    assert len(a.log["trials"]) == 1 + 4 and a.log["settings"]["auto"] is None


def test_proposer_without_program_and_data_context_uses_fewer_calls(tmp_path, fake_lm_factory, sets):
    train, val = sets
    calls = {}
    for aware in (True, False):
        lm, model = fake_lm_factory(sensitive=True)
        res = run_mipro(
            lm,
            train,
            val,
            tmp_path / str(aware) / "optimized.json",
            settings=MiproSettings(auto=None, num_trials=3, num_candidates=3, program_aware=aware, data_aware=aware),
        )
        calls[aware] = model.proposer_calls
        assert res.log["settings"]["program_aware"] is aware and res.log["settings"]["data_aware"] is aware
    assert calls[False] == 3  # one proposal call per instruction candidate
    assert calls[True] > calls[False]


def test_instruction_only_optimisation(tmp_path, fake_lm_factory, sets):
    train, val = sets
    lm, _ = fake_lm_factory(sensitive=True)
    res = run_mipro(
        lm,
        train,
        val,
        tmp_path / "optimized.json",
        settings=MiproSettings(
            auto=None, num_trials=3, num_candidates=3, max_bootstrapped_demos=0, max_labeled_demos=0
        ),
    )
    assert res.prompt.demos == ()
    assert all(set(t["params"]) == {"instruction"} or t["kind"] == "baseline" for t in res.log["trials"])


def test_every_call_failing_is_an_error(tmp_path, sets):
    from ba_tune.lm import make_lm

    def broken(messages, **kw):
        raise RuntimeError("out of memory")

    train, val = sets
    lm = make_lm("smollm2", generate=broken)
    with pytest.raises(Exception, match="out of memory"):
        run_mipro(
            lm,
            train,
            val,
            tmp_path / "optimized.json",
            settings=MiproSettings(auto=None, num_trials=2, num_candidates=2, max_bootstrapped_demos=1),
        )
    assert not (tmp_path / "optimized.json").exists()


def test_failing_task_calls_are_an_error_not_a_zero_baseline(tmp_path, sets):
    from ba_tune.lm import make_lm

    proposer = FakeModel()

    def task_calls_die(messages, **kw):
        if "[[ ## " not in messages[-1]["content"]:
            raise RuntimeError("task call died")
        return proposer(messages, **kw)

    train, val = sets
    lm = make_lm("smollm2", generate=task_calls_die)
    with pytest.raises(UsageError, match="every model call failed; last error: RuntimeError: task call died"):
        run_mipro(
            lm,
            train,
            val,
            tmp_path / "optimized.json",
            settings=MiproSettings(auto=None, num_trials=2, num_candidates=3, max_bootstrapped_demos=1),
        )
    assert not (tmp_path / "optimized.json").exists()


@pytest.mark.parametrize(
    "settings, message",
    [
        (MiproSettings(auto="huge"), "--auto must be one of light, medium, heavy"),
        (MiproSettings(auto=None, num_trials=3), "--num-trials and --num-candidates go together"),
        (MiproSettings(metric_threshold=1.5), "--metric-threshold must be in [0, 1]"),
        (MiproSettings(num_threads=0), "--num-threads must be at least 1"),
        (MiproSettings(max_bootstrapped_demos=0), "--max-bootstrapped-demos 0 needs --max-labeled-demos 0 too"),
        (MiproSettings(objective="loss"), "--objective must be one of total, content, mean"),
    ],
)
def test_bad_settings(settings, message):
    with pytest.raises(UsageError) as err:
        settings.check()
    assert str(err.value).startswith(message)


def test_objective_chooses_what_the_metric_returns(tmp_path, fake_lm_factory, sets):
    from ba_tune.tune import _metric

    concept = "Members of a community garden reserve plots and borrow tools from the shed."
    frs = ["Members shall be able to reserve a plot.", "Members shall be able to borrow a tool from the shed."]
    doc = {
        "title": "Community garden plot reservations",
        "description": "An app for community garden members to reserve plots and borrow tools from the shed.",
        "functional_requirements": [
            {"id": f"FR{i:03d}", "description": t, "priority": "High"} for i, t in enumerate(frs, 1)
        ],
        "non_functional_requirements": [
            {"id": f"NFR{i:03d}", "description": t, "priority": "High"} for i, t in enumerate(frs, 1)
        ],
        "constraints": [
            {"id": "C001", "description": "The app must run on iOS.", "priority": "High"},
            {"id": "C002", "description": "The app must run on Android.", "priority": "Low"},
        ],
    }
    example = {"concept": concept}
    s = score(doc, concept)
    assert s.total == 1.0 and s.content < 0.7  # the NFRs copy the FRs
    assert _metric(0.72)(example, doc) == s.total
    assert _metric(0.72, "content")(example, doc) == s.content
    assert _metric(0.72, "mean")(example, doc) == pytest.approx((s.total + s.content) / 2)
    train, val = sets
    lm, _ = fake_lm_factory(sensitive=True)
    res = run_mipro(
        lm,
        train,
        val,
        tmp_path / "optimized.json",
        settings=MiproSettings(auto=None, num_trials=2, num_candidates=2, objective="mean"),
    )
    assert res.log["settings"]["objective"] == "mean"


def test_output_paths():
    assert [str(p) for p in output_paths("a/optimized.json")] == [
        "a/optimized.json",
        "a/optimized.program.json",
        "a/optimized.log.json",
    ]
    with pytest.raises(UsageError, match="-o must be a .json file"):
        output_paths("a/optimized.yaml")


def test_empty_sets_are_refused(tmp_path, fake_lm_factory):
    lm, _ = fake_lm_factory()
    with pytest.raises(UsageError, match="must not be empty"):
        run_mipro(lm, [], [], tmp_path / "o.json")
