"""The command-line contract (docs/architecture.md), checked on every console script as a
user sees it: `--help` of each tool and sub-command.

The same thing has the same flag in every tool: the model a command runs is `--model`, a
command's output is `-o/--output`, a token limit is `--max-new-tokens`, a seed is `--seed`
with the one default 42; `--version` and `--debug` are declared once per tool and `--debug`
is also accepted after a sub-command. The last release's spellings are hidden from `--help`.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent

#: every console script and its sub-commands
COMMANDS = {
    "ba-metric": ["score", "summary"],
    "ba-io": ["validate", "schemas"],
    "ba-llm": ["prepare", "info", "ask", "generate"],
    "ba-datagen": ["concepts", "synth", "prompt"],
    "ba-dataset-tools": ["validate", "audit", "fix", "filter", "split", "stats", "export"],
    "ba-tune": ["mipro"],
    "ba-lora": ["train", "merge", "export"],
    "ba-eval": ["generate", "benchmark", "compare", "curated", "summary-table", "parity"],
}
PAIRS = [(tool, cmd) for tool, cmds in COMMANDS.items() for cmd in cmds]

#: the sub-commands that write one primary output (a file or a folder)
WRITES = {
    ("ba-metric", "score"), ("ba-io", "validate"), ("ba-llm", "prepare"), ("ba-llm", "generate"),
    ("ba-datagen", "concepts"), ("ba-datagen", "synth"), ("ba-dataset-tools", "audit"),
    ("ba-dataset-tools", "fix"), ("ba-dataset-tools", "filter"), ("ba-dataset-tools", "export"),
    ("ba-tune", "mipro"), ("ba-lora", "train"), ("ba-lora", "merge"), ("ba-lora", "export"),
    ("ba-eval", "generate"), ("ba-eval", "benchmark"), ("ba-eval", "compare"), ("ba-eval", "curated"),
    ("ba-eval", "parity"),
}  # fmt: skip
#: the sub-commands that run a model (ba-datagen synth names its teacher: 'template' or a spec)
RUNS_A_MODEL = {
    ("ba-llm", "ask"), ("ba-llm", "generate"), ("ba-tune", "mipro"), ("ba-lora", "train"),
    ("ba-lora", "merge"), ("ba-lora", "export"), ("ba-eval", "generate"), ("ba-eval", "benchmark"),
}  # fmt: skip
#: the sub-commands that generate text
GENERATES = {
    ("ba-llm", "ask"), ("ba-llm", "generate"), ("ba-datagen", "synth"), ("ba-tune", "mipro"),
    ("ba-lora", "export"), ("ba-eval", "generate"), ("ba-eval", "benchmark"),
}  # fmt: skip
#: spellings of the last release: still accepted (with a warning), never shown
OLD = {"--out", "--out-dir", "--base-model", "--models", "--max-tokens", "--dest"}

_OPTION = re.compile(r"^\s{2,}((?:-\w(?: \S+)?, )?--[\w-]+)", re.M)


def _help(*argv: str) -> str:
    res = subprocess.run([str(BIN / argv[0]), *argv[1:], "--help"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return res.stdout


@pytest.fixture(scope="module")
def helps() -> dict[tuple[str, str], str]:
    return {(tool, cmd): _help(tool, cmd) for tool, cmd in PAIRS}


def _options(text: str) -> set[str]:
    found: set[str] = set()
    for m in _OPTION.finditer(text):
        found |= {part.split(" ")[0] for part in m.group(1).split(", ")}
    return found


@pytest.mark.parametrize("tool", COMMANDS)
def test_every_tool_declares_version_and_debug_once(tool):
    text = _help(tool)
    assert _options(text) >= {"--version", "--debug", "-h", "--help"}, text
    res = subprocess.run([str(BIN / tool), "--version"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and re.fullmatch(rf"{tool} \d+\.\d+\.\d+\n", res.stdout), res.stdout


@pytest.mark.parametrize("tool, cmd", PAIRS)
def test_debug_is_accepted_after_every_sub_command(tool, cmd):
    res = subprocess.run([str(BIN / tool), cmd, "--debug", "--help"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr


def test_the_same_flag_names_for_the_same_things(helps):
    problems = []
    for (tool, cmd), text in helps.items():
        opts = _options(text)
        where = f"{tool} {cmd}"
        if OLD & opts:
            problems.append(f"{where}: shows the old spelling {sorted(OLD & opts)}")
        if ((tool, cmd) in WRITES) != ({"-o", "--output"} <= opts):
            problems.append(f"{where}: its output flag should be -o/--output (writes: {(tool, cmd) in WRITES})")
        if (tool, cmd) in RUNS_A_MODEL and "--model" not in opts:
            problems.append(f"{where}: runs a model but has no --model")
        if (tool, cmd) in GENERATES and "--max-new-tokens" not in opts:
            problems.append(f"{where}: generates but has no --max-new-tokens")
        if "--seed" in opts and not re.search(r"--seed N\s[^\n]*(\n\s{20,}[^\n]*)*\(default: 42\)", text):
            problems.append(f"{where}: --seed does not default to 42")
    assert not problems, "\n".join(problems)


def test_an_old_spelling_still_works_with_one_warning(tmp_path):
    res = subprocess.run(
        [str(BIN / "ba-datagen"), "concepts", "--n", "2", "--out", str(tmp_path / "c.jsonl")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    assert res.stderr == "warning: --out is deprecated and goes in the next release; use -o/--output\n"
    assert len((tmp_path / "c.jsonl").read_text().splitlines()) == 2


def test_a_closed_pipe_is_a_quiet_exit_0(tmp_path):
    """One exit-code policy: the reader stopped reading (`| head -c1`), which is not our
    failure: the command exits as it would have (ba-io's run_cli, behind every other tool,
    has the same rule: its unit tests)."""
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(f'{{"id": "c{i:05d}", "concept": "{"x" * 200}"}}\n' for i in range(20000)))
    script = f"set -o pipefail; {BIN / 'ba-metric'} score {rows} --field concept | head -c1 >/dev/null; echo $?"
    res = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=300)
    assert res.stdout.strip() == "0", res.stderr
    assert "Traceback" not in res.stderr


def test_a_closed_pipe_keeps_a_failure(tmp_path):
    """Campaign 4: `ba-dataset-tools validate bad.jsonl | true` exited 0 although it found
    invalid rows; the closed pipe may drop output, never the verdict."""
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{}\n" * 3000)
    script = f"set -o pipefail; {BIN / 'ba-dataset-tools'} validate {bad} --schema example-v2 | true; echo $?"
    res = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=300)
    assert res.stdout.strip() == "1", res.stderr[-500:]
    assert "Traceback" not in res.stderr


def test_one_generate_the_old_one_hidden_with_a_warning(tmp_path):
    """One generate (ba-eval generate); ba-llm generate stays for a release, hidden from the
    command list, and says so when used."""
    assert not re.search(r"^\s+generate\b", _help("ba-llm"), re.M)
    assert "Deprecated" in _help("ba-llm", "generate")
    (tmp_path / "c.jsonl").write_text('{"id": "c1", "concept": "A bakery that takes orders online for pickup."}\n')
    res = subprocess.run(
        [str(BIN / "ba-llm"), "generate", "--model", "hf:" + str(tmp_path / "missing"), "--in",
         str(tmp_path / "c.jsonl"), "-o", str(tmp_path / "p.jsonl")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert res.stderr.startswith("warning: ba-llm generate is deprecated and goes in the next release; use ba-eval")
    assert res.returncode == 2 and not (tmp_path / "p.jsonl").exists()


#: the modules a console script may import before its start-up hook is in place: its package,
#: and the hook's own module (ba-io's, or ba-metric's)
def _before_the_hook(tool: str) -> set[str]:
    package = tool.replace("-", "_")
    hook = "ba_metric._startup" if package == "ba_metric" else "ba_io.startup"
    return {package, hook.split(".")[0], hook}


@pytest.mark.parametrize("tool", COMMANDS)
def test_a_ctrl_c_at_any_import_before_a_tools_hook_is_one_line(tmp_path, tool):
    """Campaign 41: a Ctrl-C while a console script was still importing its package printed a
    traceback; campaign 42 (B D2): ba-lora, ba-tune and ba-llm imported argparse before ba-io's
    hook. Here the Ctrl-C comes at the first import of any module but the package and its hook's
    module (a meta-path finder raises it): the hook must be in place before anything else loads."""
    script = tmp_path / tool
    script.write_text(
        "import sys\n"
        "class CtrlC:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name not in {sorted(_before_the_hook(tool))!r}:\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, CtrlC())\n"
        f"from {tool.replace('-', '_')}.cli import main\n"
        "sys.exit(main(['--help']))\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=120
    )
    assert done.stderr == "Interrupted.\n", done.stderr
    assert done.returncode == 130
