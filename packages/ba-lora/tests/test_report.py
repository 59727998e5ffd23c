"""The in-training metric generates through ba-llm's own backend (one generation path)."""

from __future__ import annotations

import pytest
import torch


def test_in_training_answers_are_the_documents_ba_llm_generates(tiny_model_dir):
    """#15: ba_lora.report had its own greedy loop that stopped only on eos; now the per-epoch
    metric reads exactly what ba-llm (and so ba-eval) writes for the same weights."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    import ba_llm
    from ba_lora.report import generate_answers

    concepts = ["A bakery ordering site for locals.", "A clinic shift planner.", "Members reserve garden plots."]
    prompt = ba_llm.default_prompt()
    model = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir), dtype=torch.float32)
    tok = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    model.train()
    side = tok.padding_side
    ours = generate_answers(model, tok, prompt, concepts, max_new_tokens=12, batch_size=2)
    assert model.training and tok.padding_side == side  # the caller's state is restored
    rows = ba_llm.generate(
        f"hf:{tiny_model_dir}",
        [{"id": f"c{i}", "concept": c} for i, c in enumerate(concepts)],
        prompt,
        max_new_tokens=12,
        batch_size=2,
        progress=False,
        dtype="float32",
    )
    assert ours == [r["text"] for r in rows]
    assert all(isinstance(t, str) for t in ours)


# the writer's own thread fails too; in a CLI ba_io.run_cli says so in one warning line
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_tensorboard_log_removed_mid_run_is_one_warning_and_training_goes_on(tmp_path, capsys):
    """Campaigns 34-35: removing OUTPUT/runs/ while a run trained ended it with an internal
    `Error: FileNotFoundError: ...events.out.tfevents...` (exit 1)."""
    import shutil

    from ba_lora.report import TensorBoard

    tb = TensorBoard(tmp_path / "runs")
    tb.scalars(1, train__loss=1.0)
    shutil.rmtree(tmp_path / "runs")
    tb.scalars(2, train__loss=1.0)
    tb.close()  # its flush meets the missing folder
    tb.scalars(3, train__loss=1.0)
    err = capsys.readouterr().err
    assert tb.writer is None
    assert err.count("warning: the TensorBoard log cannot be written") == 1
    assert err.rstrip("\n").endswith("training goes on without it") and "Traceback" not in err
