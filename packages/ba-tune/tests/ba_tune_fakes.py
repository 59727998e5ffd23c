"""The fake local model used by ba-tune's tests (a unique module name: several packages'
tests share one pytest session in `make test-fast`)."""

from __future__ import annotations

import re

MARKERS = re.compile(r"`\[\[ ## (\w+) ## \]\]`")
GOOD_WORD = "thorough"


def fake_document(user_text: str, items: int) -> str:
    """A YAML requirements document with ``items`` requirements per category."""
    concept = user_text.split("\n")[1] if "\n" in user_text else user_text

    def cat(prefix: str, what: str) -> str:
        return "".join(
            f"  - id: {prefix}{i:03d}\n    description: The system shall {what} number {i} for this concept.\n"
            f"    priority: High\n"
            for i in range(1, items + 1)
        )

    return (
        f"title: Fake product\ndescription: {concept}\n"
        f"functional_requirements:\n{cat('FR', 'support the user task')}"
        f"non_functional_requirements:\n{cat('NFR', 'meet the response-time target')}"
        f"constraints:\n{cat('C', 'respect the budget limit')}"
    )


class FakeModel:
    """Stands in for a local model behind :class:`ba_tune.lm.BaLLMEngine`.

    * BA task calls (no ``[[ ## field ## ]]`` request in the prompt, as ba-tune's adapter
      renders them through ba-llm) get a YAML document. With ``sensitive=True`` the
      document is richer when the system text contains ``GOOD_WORD``; otherwise the answer
      ignores the instruction entirely.
    * DSPy's own calls (instruction proposer) get every requested output field filled in;
      ``proposed_instruction`` alternates between one mentioning ``GOOD_WORD`` and a plain
      one. ``observations`` comes back without markers, to exercise the lenient parse.
    """

    def __init__(self, sensitive: bool = True, good_items: int = 4, poor_items: int = 1):
        self.sensitive = sensitive
        self.good_items = good_items
        self.poor_items = poor_items
        self.task_calls = 0
        self.proposer_calls = 0
        self.proposals = 0
        self.seen_task_messages: list[list[dict]] = []

    def __call__(self, messages, *, max_new_tokens, temperature, top_p, seed):
        last = messages[-1]["content"]
        fields = MARKERS.findall(last)
        if not fields:
            self.task_calls += 1
            self.seen_task_messages.append([dict(m) for m in messages])
            system = messages[0]["content"] if messages[0]["role"] == "system" else ""
            good = self.sensitive and GOOD_WORD in system
            text = fake_document(last, self.good_items if good else self.poor_items)
        else:
            self.proposer_calls += 1
            fields = [f for f in fields if f != "completed"]
            if fields == ["observations"]:
                text = "The examples are business concepts for small organisations."
            else:
                parts = []
                for name in fields:
                    if name == "proposed_instruction":
                        self.proposals += 1
                        value = (
                            f"Write four specific requirements per category and be {GOOD_WORD}."
                            if self.proposals % 2
                            else "Write a short requirements document."
                        )
                    else:
                        value = f"A fake {name.replace('_', ' ')}."
                    parts.append(f"[[ ## {name} ## ]]\n{value}")
                text = "\n\n".join(parts) + "\n\n[[ ## completed ## ]]"
        n_in = sum(len(m["content"].split()) for m in messages)
        return text, n_in, len(text.split()), "stop"
