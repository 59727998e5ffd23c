import json
import subprocess
import sys

import ba_datagen


def test_concepts_and_synth_end_to_end(tmp_path, dg_cli):
    r = dg_cli("concepts", "--n", "30", "--seed", "42", "-o", "c.jsonl", cwd=tmp_path)
    assert (r.returncode, r.stdout, r.stderr) == (0, "30 concepts across 15 domains -> c.jsonl\n", "")
    r = dg_cli(
        "synth",
        "--teacher",
        "template",
        "--in",
        "c.jsonl",
        "--out",
        "raw.jsonl",
        "--rejects",
        "raw.rejects.jsonl",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("30 concepts: 30 written -> raw.jsonl, 0 rejected in ")
    assert len((tmp_path / "raw.jsonl").read_text().splitlines()) == 30


def test_missing_input_is_exit_2(tmp_path, dg_cli):
    r = dg_cli("synth", "--in", "nope.jsonl", "-o", "o.jsonl", cwd=tmp_path)
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr == ("Error: input file not found: nope.jsonl (make them with `ba-datagen concepts`)\n")


def test_malformed_concepts_are_exit_1_with_file_and_line(dg_data, dg_cli):
    r = dg_cli("synth", "--in", "concepts_broken.jsonl", "-o", "o.jsonl", cwd=dg_data)
    assert r.returncode == 1
    assert r.stderr == "Error: concepts_broken.jsonl:2: invalid JSON: Expecting value (column 25)\n"
    r = dg_cli("synth", "--in", "concepts_dup_id.jsonl", "-o", "o.jsonl", cwd=dg_data)
    assert (r.returncode, r.stderr) == (1, "Error: concepts_dup_id.jsonl:2: duplicate id 'k1' (first on line 1)\n")


def test_wrong_types_are_exit_1_with_the_json_path(tmp_path, dg_cli):
    (tmp_path / "c.jsonl").write_text(
        '{"id": "a", "concept": "A long enough concept text."}\n{"id": 7, "concept": "Another long enough concept."}\n'
    )
    r = dg_cli("synth", "--in", "c.jsonl", "-o", "o.jsonl", cwd=tmp_path)
    assert (r.returncode, r.stderr) == (1, "Error: c.jsonl:2: id: 7 is not of type 'string'\n")


def test_rejects_reported(dg_data, dg_cli):
    r = dg_cli("synth", "--in", "concepts_mixed.jsonl", "-o", "raw.jsonl", cwd=dg_data)
    assert r.returncode == 0
    assert r.stdout.startswith("3 concepts: 2 written -> raw.jsonl, 1 rejected in ")
    assert len((dg_data / "raw.rejects.jsonl").read_text().splitlines()) == 1


def test_usage_errors(tmp_path, dg_cli):
    r = dg_cli("synth", "--in", "x", "-o", "y", "--sample", cwd=tmp_path)
    assert (r.returncode, r.stderr) == (2, "Error: --sample applies only to LLM teachers, not --teacher template\n")
    r = dg_cli("concepts", "--n", "0", "-o", "c.jsonl", cwd=tmp_path)
    assert r.returncode == 2 and "--n: must be >= 1, got 0" in r.stderr
    r = dg_cli("synth", "--teacher", "bogus:thing", "--in", "x", "-o", "y", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.startswith("Error: unknown model spec 'bogus:thing'")


def test_dash_is_not_a_rejects_file(tmp_path, dg_cli):
    """Campaign 27: `synth --rejects -` wrote the rejected rows to a file named `-`."""
    r = dg_cli("synth", "--in", "x", "-o", "y", "--rejects", "-", cwd=tmp_path)
    assert r.returncode == 2 and "'-' (standard output) is not an output of this command" in r.stderr
    assert not (tmp_path / "-").exists()


def test_version_help_and_prompt(tmp_path, dg_cli):
    r = dg_cli("--version", cwd=tmp_path)
    assert r.stdout == f"ba-datagen {ba_datagen.__version__}\n"
    for args in (["--help"], ["synth", "--help"], ["concepts", "--help"]):
        r = dg_cli(*args, cwd=tmp_path)
        assert r.returncode == 0 and "example" in r.stdout
    r = dg_cli("prompt", cwd=tmp_path)
    assert json.loads(r.stdout)["name"] == "ba-datagen-teacher"


def test_template_path_does_not_load_torch(tmp_path):
    code = (
        "import sys, ba_datagen.cli as c\n"
        "try:\n c.main(['concepts','--n','3','--out','c.jsonl'])\nexcept SystemExit: pass\n"
        "try:\n c.main(['synth','--in','c.jsonl','--out','r.jsonl'])\nexcept SystemExit: pass\n"
        "print(sorted(m for m in ('torch', 'transformers', 'ba_llm') if m in sys.modules))"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env={"BA_NO_PROGRESS": "1"}
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1] == "[]"


def test_public_api():
    assert ba_datagen.__all__ == sorted(ba_datagen.__all__)
    assert set(ba_datagen.__all__) == {
        "Draft",
        "LLMTeacher",
        "STRUCTURES",
        "SynthResult",
        "Teacher",
        "TemplateError",
        "TemplateTeacher",
        "__version__",
        "domains",
        "generate_concepts",
        "load_teacher_prompt",
        "make_teacher",
        "partial_path",
        "synth",
        "teacher_setup",
        "write_document",
    }
