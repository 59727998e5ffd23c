"""The LLM teacher through a fake backend (the seam ``LLMTeacher(backend=...)``)."""

import json
from types import SimpleNamespace

import pytest

from ba_datagen import LLMTeacher, generate_concepts, load_teacher_prompt, partial_path, synth
from ba_io import validate, write_jsonl
from ba_llm import Completion
from ba_llm.stopping import Dropped

GOOD = """Here is the document:
```yaml
title: {title}
description: A requirements document for the concept, written by a fake teacher model for the tests.
functional_requirements:
  - id: FR01
    description: The system shall allow users to do the first thing.
    priority: High
  - id: FR02
    description: The system shall allow users to do the second thing.
    priority: Medium
non_functional_requirements:
  - id: NFR01
    description: Pages shall load within 2 seconds for 95% of requests.
    priority: Medium
constraints:
  - id: C01
    description: The budget is under $20k.
    priority: High
```"""


class FakeBackend:
    """Answers by the concept's position in its batch; records every conversation."""

    name = "fake"

    def __init__(self, answers, fail_on_call=None):
        self.spec = SimpleNamespace(spec="fake:teacher")
        self.answers, self.fail_on_call = answers, fail_on_call
        self.calls, self.seen = 0, []

    def complete(self, conversations, decoding, *, batch_size=8, on_done=None):
        self.calls += 1
        if self.calls == self.fail_on_call:
            raise KeyboardInterrupt
        out = []
        for messages in conversations:
            concept = messages[-1]["content"]
            self.seen.append(messages)
            kind = self.answers(concept)
            text = {
                "good": GOOD.format(title="Fake teacher document"),
                "junk": "Sorry, I cannot help with that.",
                "error": "",
            }[kind]
            out.append(
                Completion(
                    text=text,
                    prompt_tokens=10,
                    completion_tokens=len(text.split()),
                    latency_s=0.01,
                    finish_reason="error" if kind == "error" else "stop",
                    dropped=[Dropped("FR03", "FR01", "  - id: FR03")] if kind == "good" else [],
                )
            )
        return out


def _setup(tmp_path, n=6):
    concepts = generate_concepts(n, seed=11)
    src = tmp_path / "c.jsonl"
    write_jsonl(src, concepts, "concept")
    return concepts, src, tmp_path / "raw.jsonl", tmp_path / "rej.jsonl"


def test_llm_teacher_keeps_raw_text_and_parses_it(tmp_path):
    concepts, src, out, rej = _setup(tmp_path)
    junk = {concepts[1]["concept"], concepts[4]["concept"]}
    errors = {concepts[2]["concept"]}

    def answers(user_message):
        concept = user_message.split("\n")[1]
        return "junk" if concept in junk else "error" if concept in errors else "good"

    backend = FakeBackend(answers)
    teacher = LLMTeacher("fake:teacher", backend=backend, batch_size=4)
    result = synth(src, out, teacher, rejects=rej, show_progress=False)
    assert (result.written, result.rejected) == (3, 3)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == [concepts[i]["id"] for i in (0, 3, 5)]
    for row in rows:
        assert validate(row, "example-v1") == []
        assert row["teacher"] == "fake:teacher"
        assert row["text"].startswith("Here is the document:")
        assert [i["id"] for i in row["functional_requirements"]] == ["FR01", "FR02"]  # as the teacher wrote
        assert row["completion_tokens"] > 0 and row["finish_reason"] == "stop"
        # what ba-llm dropped from the teacher's answer stays on record
        assert row["dropped"] == [{"id": "FR03", "repeats": "FR01", "text": "  - id: FR03"}]
    rejects = {r["id"]: r for r in map(json.loads, rej.read_text().splitlines())}
    assert set(rejects) == {concepts[i]["id"] for i in (1, 2, 4)}
    assert rejects[concepts[1]["id"]]["reason"].startswith("unparseable teacher output: ")
    assert rejects[concepts[1]["id"]]["text"] == "Sorry, I cannot help with that."
    assert rejects[concepts[1]["id"]]["line"] == 2
    assert rejects[concepts[2]["id"]]["reason"] == "generation failed"
    # the teacher prompt, rendered by ba_llm: system + one demo pair + the concept
    messages = backend.seen[0]
    prompt = load_teacher_prompt()
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[0]["content"] == prompt.system
    assert messages[-1]["content"] == prompt.user_template.format(concept=concepts[0]["concept"])


def test_llm_teacher_document_missing_fields_is_rejected(tmp_path):
    concepts, src, out, rej = _setup(tmp_path, n=1)

    class TitleOnly(FakeBackend):
        def complete(self, conversations, decoding, *, batch_size=8, on_done=None):
            return [Completion("title: Only a title here", 5, 5, 0.0, "length") for _ in conversations]

    synth(src, out, LLMTeacher("fake", backend=TitleOnly(None)), rejects=rej, show_progress=False)
    (reject,) = map(json.loads, rej.read_text().splitlines())
    assert reject["reason"] == (
        "teacher output lacks description, functional_requirements, "
        "non_functional_requirements, constraints (the output was cut at --max-new-tokens)"
    )
    assert reject["finish_reason"] == "length" and reject["text"] == "title: Only a title here"
    assert out.read_text() == ""


def test_llm_teacher_resumes_after_interruption(tmp_path):
    concepts, src, out, rej = _setup(tmp_path, n=7)
    first = FakeBackend(lambda c: "good", fail_on_call=3)
    with pytest.raises(KeyboardInterrupt):
        synth(src, out, LLMTeacher("fake", backend=first, batch_size=2), rejects=rej, show_progress=False)
    assert len(partial_path(out).read_text().splitlines()) == 4 and not out.exists()
    second = FakeBackend(lambda c: "good")
    result = synth(src, out, LLMTeacher("fake", backend=second, batch_size=2), rejects=rej, show_progress=False)
    assert len(second.seen) == 3  # only the unfinished concepts were asked again
    assert (result.written, result.rejected, result.resumed) == (7, 0, 4)
    ids = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    assert ids == [c["id"] for c in concepts]


def test_llm_teacher_wrong_types_are_rejected_with_the_schema_path(tmp_path):
    concepts, src, out, rej = _setup(tmp_path, n=1)
    text = GOOD.format(title="Fine").replace("  - id: C01\n", "  - ident: C01\n")

    class NoId(FakeBackend):
        def complete(self, conversations, decoding, *, batch_size=8, on_done=None):
            return [Completion(text, 5, 5, 0.0, "stop") for _ in conversations]

    synth(src, out, LLMTeacher("fake", backend=NoId(None)), rejects=rej, show_progress=False)
    (reject,) = map(json.loads, rej.read_text().splitlines())
    assert reject["reason"] == "not a v1 example: constraints -> 0: 'id' is a required property"


def test_packaged_teacher_prompt_is_valid_and_its_demo_scores_full_marks():
    from importlib import resources

    from ba_metric import parse, score

    data = json.loads(resources.files("ba_datagen").joinpath("prompts/teacher.json").read_text())
    assert validate(data, "prompt") == []
    prompt = load_teacher_prompt()
    (demo,) = prompt.demos
    assert score(demo["document"], demo["concept"]).total == 1.0
    assert parse(demo["document"])["functional_requirements"][0]["id"] == "FR001"
    assert "{concept}" in prompt.user_template


def test_custom_prompt_file(tmp_path):
    p = tmp_path / "p.json"
    p.write_text(json.dumps({"name": "mine", "system": "Be brief.", "user_template": "Concept: {concept}"}))
    backend = FakeBackend(lambda c: "good")
    teacher = LLMTeacher("fake", prompt=p, backend=backend)
    teacher.write([{"id": "a", "concept": "A bakery app for ordering bread."}])
    assert backend.seen[0] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Concept: A bakery app for ordering bread."},
    ]


def _interrupted(tmp_path, teacher, n=7):
    """A synth run of ``teacher`` killed after its first batch: (src, out, rej, partial bytes)."""
    concepts, src, out, rej = _setup(tmp_path, n=n)
    with pytest.raises(KeyboardInterrupt):
        synth(src, out, teacher, rejects=rej, show_progress=False)
    return src, out, rej, partial_path(out).read_bytes()


def test_a_resume_with_another_teacher_is_refused_and_keeps_the_partial_file(tmp_path):
    """Campaign 22 D1: rows of an hf: teacher were kept under a resumed --teacher template run."""
    from ba_datagen import TemplateTeacher
    from ba_io import DataError

    teacher = LLMTeacher("fake", backend=FakeBackend(lambda c: "good", fail_on_call=2), batch_size=2)
    src, out, rej, before = _interrupted(tmp_path, teacher)
    with pytest.raises(DataError, match="written by teacher 'fake'.*--restart"):
        synth(src, out, TemplateTeacher(), rejects=rej, show_progress=False)
    assert partial_path(out).read_bytes() == before and not out.exists()


def test_a_resume_with_another_prompt_or_decoding_is_refused(tmp_path):
    """Campaign 22 D2: concepts answered with the first --prompt were kept beside the second's."""
    from ba_io import DataError

    p = tmp_path / "p.json"
    p.write_text(json.dumps({"name": "mine", "system": "Be brief.", "user_template": "Concept: {concept}"}))
    first = LLMTeacher("fake", backend=FakeBackend(lambda c: "good", fail_on_call=2), batch_size=2)
    src, out, rej, before = _interrupted(tmp_path, first)
    for other in (
        LLMTeacher("fake", prompt=p, backend=FakeBackend(lambda c: "good"), batch_size=2),
        LLMTeacher("fake", max_new_tokens=99, backend=FakeBackend(lambda c: "good"), batch_size=2),
    ):
        with pytest.raises(DataError, match="another prompt, decoding or model files"):
            synth(src, out, other, rejects=rej, show_progress=False)
        assert partial_path(out).read_bytes() == before
    same = LLMTeacher("fake", backend=FakeBackend(lambda c: "good"), batch_size=2)
    result = synth(src, out, same, rejects=rej, show_progress=False)
    assert (result.written, result.resumed) == (7, 2)


def test_a_teachers_setup_follows_its_model_files(tmp_path):
    """An hf: teacher retrained in place between the kill and the resume is another setup."""
    from ba_datagen import teacher_setup

    model = tmp_path / "m"
    model.mkdir()
    (model / "config.json").write_text("{}")
    before = teacher_setup(LLMTeacher(f"hf:{model}"))
    assert teacher_setup(LLMTeacher(f"hf:{model}")) == before  # nothing read or loaded
    (model / "model.safetensors").write_bytes(b"x" * 10)
    assert teacher_setup(LLMTeacher(f"hf:{model}")) != before


def test_rows_of_an_older_synth_without_a_setup_are_not_resumed(tmp_path):
    from ba_datagen import TemplateTeacher
    from ba_io import DataError

    concepts, src, out, rej = _setup(tmp_path, n=3)
    old = {"id": concepts[0]["id"], "concept": concepts[0]["concept"], "teacher": "template", "title": "x"}
    partial_path(out).write_text(json.dumps(old, separators=(",", ":")) + "\n")
    with pytest.raises(DataError, match="older version of synth"):
        synth(src, out, TemplateTeacher(), rejects=rej, show_progress=False)
