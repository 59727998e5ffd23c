"""``ba-eval``: generate predictions, benchmark candidates, compare models with statistics.

Parsing and error mapping only; the work is in the library modules.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ba_io import (
    UsageError,
    add_command,
    add_max_new_tokens,
    add_model,
    add_output,
    add_seed,
    deprecated_alias,
    fraction,
    int_between,
    output_folder_path,
    output_group,
    output_path,
    positive_int,
    read_json,
    run_cli,
    tool_parser,
    write_json,
    write_jsonl,
    write_text,
)
from ba_llm.backends import BATCH_SIZE

from . import __version__

MAX_RUNS = 1000  # runs x concepts rows are planned in memory
MAX_BOOTSTRAP = 1_000_000  # 8 MB per resampled mean; more changes no reported digit

_EPILOG = """examples:
  ba-eval generate --model hf:artifacts/models/smollm2-135m-instruct --in val_fixed.jsonl \\
      -o artifacts/eval/baseline.jsonl --runs 3
  ba-eval benchmark --model smollm2 --model ollama:llama3.2:1b --dataset curated \\
      -o artifacts/benchmarks/select.json
  ba-eval compare --run baseline=baseline.jsonl --run finetuned=finetuned.jsonl \\
      -o artifacts/reports --print-table
  ba-eval curated -o curated.jsonl
  ba-eval summary-table artifacts/reports/comparison.json
  ba-eval parity --reference finetuned-bf16.jsonl --candidate gguf-f16.jsonl -o parity-f16.json
"""


# long: one add_argument per flag, in --help order; split up, the CLI would be read in several places
def _parser() -> argparse.ArgumentParser:
    p = tool_parser(
        "ba-eval", __version__, "Evaluate requirements-writing models: predictions, benchmark, comparison.", _EPILOG
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    g = add_command(
        sub,
        "generate",
        help="write prediction runs (resumable)",
        description="Generate RUNS independent prediction runs of a model over concept rows (fields id, "
        "concept) and append them to OUT as prediction rows; rerunning skips (id, run) pairs "
        "already in OUT. --decoding auto is greedy for one run and sampling for several; greedy "
        "with --runs > 1 writes one run and records why in decoding.note.",
        epilog="example:\n  ba-eval generate --model hf:artifacts/models/smollm2-135m-instruct+lora:"
        "artifacts/finetuning/smollm2-bf16 \\\n      --in artifacts/data/template/val_fixed.jsonl "
        "-o artifacts/eval/finetuned.jsonl --runs 3",
    )
    add_model(g, required=True, help="ba-llm model spec: smollm2, hf:DIR[+lora:DIR], gguf:FILE, ollama:NAME")
    g.add_argument(
        "--prompt",
        help="prompt file (default: the model's own: a +lora: adapter's prompt.json, else the packaged default prompt)",
    )
    g.add_argument("--in", dest="inp", required=True, help="concept/example JSONL, or 'curated'")
    add_output(g, dest="out", required=True, help="prediction JSONL (appended to, resumable)", old=("--out",))
    g.add_argument(
        "--runs", type=int_between(1, MAX_RUNS), default=1, help=f"independent runs, 1..{MAX_RUNS} (default 1)"
    )
    g.add_argument(
        "--decoding",
        choices=["auto", "greedy", "sample"],
        default="auto",
        help="auto: greedy for one run, sampling for several (default)",
    )
    g.add_argument("--temperature", type=float, default=0.7, help="sampling temperature (default 0.7)")
    g.add_argument("--top-p", type=float, default=0.95, help="nucleus sampling top_p (default 0.95)")
    add_seed(g, help="base seed; run r samples with seed + r")
    add_max_new_tokens(g, default=768)
    g.add_argument("--batch-size", type=positive_int, default=BATCH_SIZE, help=f"default {BATCH_SIZE}")
    g.add_argument("--limit", type=positive_int, help="only the first N concepts")
    g.add_argument("--overwrite", action="store_true", help="start OUT afresh instead of resuming")
    g.add_argument(
        "--timings", type=output_path, help="also write load/generation seconds and token counts to this JSON file"
    )

    b = add_command(
        sub,
        "benchmark",
        help="phase 8.1: benchmark candidate models, select one",
        description="Run each candidate greedily over the dataset (in its own process) and report mean score "
        "and SD, YAML-valid rate, component pass rates, grounding, elapsed seconds, completion "
        "tokens/s and peak RSS; select the best mean among candidates at or above the threshold. "
        "Writes OUTPUT (JSON) and OUTPUT with .md.",
        epilog="example:\n  ba-eval benchmark --model smollm2 --model ollama:qwen2.5:0.5b --dataset curated "
        "-o artifacts/benchmarks/select.json",
    )
    models = b.add_argument(
        "--model", dest="models", action="append", required=True, metavar="SPEC", help="a candidate (repeatable)"
    )
    deprecated_alias(b, models, "--models")
    b.add_argument("--dataset", required=True, help="concept/example JSONL, or 'curated' for the packaged set")
    add_output(b, required=True, metavar="REPORT.json", help="report JSON path; the Markdown goes next to it (.md)")
    b.add_argument("--limit", type=positive_int, help="only the first N examples")
    b.add_argument("--threshold", type=fraction, default=0.65, help="selection threshold on mean score (default 0.65)")
    b.add_argument(
        "--prompt",
        help="prompt file (default: the model's own: a +lora: adapter's prompt.json, else the packaged default prompt)",
    )
    add_max_new_tokens(b, default=768)
    b.add_argument("--batch-size", type=positive_int, default=BATCH_SIZE, help=f"default {BATCH_SIZE}")
    add_seed(b, help="bootstrap seed")
    b.add_argument("--print-table", action="store_true", help="print the summary table to stdout")

    c = add_command(
        sub,
        "compare",
        help="phase 8.5: compare models' prediction runs with statistics",
        description="Compare prediction files (the first --run is the reference) on the examples present with "
        "all runs in every file, on the rubric total and on the content score: mean, SD across "
        "runs, bootstrap 95% CI, paired Wilcoxon, Cohen's d_z / Hedges' g_z, and the decision "
        "(adopt when neither total nor content is significantly worse and one of them gains "
        ">= 5 points with p < 0.05). Writes comparison.json, comparison.md, comparison.png, "
        "comparison.html (each model's documents side by side, defects highlighted) and "
        "scored/NAME.scored.jsonl under OUT_DIR.",
        epilog="example:\n  ba-eval compare --run baseline=artifacts/eval/smollm2/baseline.jsonl \\\n"
        "      --run finetuned=artifacts/eval/smollm2/finetuned.jsonl -o artifacts/reports",
    )
    c.add_argument(
        "--run", action="append", required=True, metavar="NAME=FILE", help="a model's predictions (repeatable)"
    )
    add_output(
        c, dest="out_dir", metavar="DIR", required=True, help="folder for the reports", old=("--out-dir",), folder=True
    )
    add_seed(c, help="bootstrap seed")
    c.add_argument(
        "--bootstrap",
        type=int_between(1, MAX_BOOTSTRAP),
        default=10_000,
        help=f"bootstrap resamples, 1..{MAX_BOOTSTRAP:,} (default 10000)",
    )
    c.add_argument("--print-table", action="store_true", help="print the summary table to stdout")

    k = add_command(
        sub,
        "curated",
        help="write the packaged curated evaluation set",
        description="Copy the packaged curated set (dataset v2 rows: concepts with reference documents) to a file.",
        epilog="example:\n  ba-eval curated -o artifacts/data/curated.jsonl",
    )
    add_output(k, dest="out", required=True, help="output JSONL", old=("--out",))

    t = add_command(
        sub,
        "summary-table",
        help="print a compact table of reports",
        description="Print model, total and content with 95% CIs, grounding, runaway rate and "
        "completion tokens/s of comparison or benchmark reports; several reports "
        "(LABEL=PATH) share one table with a 'set' column.",
        epilog="example:\n  ba-eval summary-table artifacts/reports/comparison.json\n"
        "  ba-eval summary-table val=artifacts/reports/smollm2-bf16/val/comparison.json \\\n"
        "      curated=artifacts/reports/smollm2-bf16/curated/comparison.json",
    )
    t.add_argument("report", nargs="+", metavar="[LABEL=]REPORT", help="comparison.json or a benchmark report")

    q = add_command(
        sub,
        "parity",
        help="do two prediction files give the same documents?",
        description="Pair two greedy prediction files by id (run 0): the share of identical "
        "documents, mean total and content of each and their differences, tokens/s, "
        "and for every document that differs the first line where it diverges. Exit "
        "1 when a mean difference exceeds --tolerance (an exported model that writes "
        "something else than the trained one), 0 otherwise.",
        epilog="example:\n  ba-eval parity --reference artifacts/eval/smollm2/val/finetuned-bf16.jsonl "
        "\\\n      --candidate artifacts/export/val-gguf-f16.jsonl -o artifacts/export/parity-f16.json",
    )
    q.add_argument("--reference", required=True, metavar="FILE", help="predictions of the model the reports scored")
    q.add_argument("--candidate", required=True, metavar="FILE", help="predictions of the exported / other model")
    add_output(q, metavar="REPORT.json", help="write the full report (parity-report schema)")
    q.add_argument(
        "--tolerance", type=fraction, default=0.02, help="largest mean total / content difference (default 0.02)"
    )
    q.add_argument(
        "--names",
        nargs=2,
        metavar=("REF", "CAND"),
        default=("reference", "candidate"),
        help="labels for the two sides in the report",
    )
    _add_iteration_commands(sub)
    return p


def _add_iteration_commands(sub: argparse._SubParsersAction) -> None:
    """``failures``, ``iterate-start`` and ``iterate-record``: phase 8.7 (``make iterate``)."""
    f = add_command(
        sub,
        "failures",
        help="8.7: where a model's documents fail (defect kinds, domains, concept shapes)",
        description="Score run 0 of a prediction file over generated concept rows and group the failing "
        "documents (not passed, or content below --content-below) by defect kind and by the concept's "
        "domain, structure, style and language. Writes OUT (failure-analysis schema) with the worst groups "
        "as targets for `ba-datagen concepts --focus`, and OUT's .md and .html beside it.",
        epilog="example:\n  ba-eval failures --predictions round-1/eval.jsonl --concepts round-1/eval-concepts.jsonl "
        "\\\n      -o round-1/failures.json",
    )
    f.add_argument("--predictions", required=True, metavar="FILE", help="prediction JSONL (ba-eval generate)")
    f.add_argument("--concepts", required=True, metavar="FILE", help="the concept rows they were made from")
    add_output(f, required=True, metavar="FAILURES.json", help="the analysis (.md and .html written beside it)")
    f.add_argument(
        "--content-below", type=fraction, default=0.85, help="a document fails below this content score (0.85)"
    )

    s = add_command(
        sub,
        "iterate-start",
        help="8.7: pin the model a round starts from",
        description="Write ITER_DIR/round-K/current.json from ITER_DIR/adopted.json (created from the "
        "--adapter/--train/--val-predictions/--curated-predictions of the starting model when absent) "
        "and print it. A round that was started keeps its pin.",
        epilog="example:\n  ba-eval iterate-start --dir artifacts/iterations --round 1 --adapter artifacts/finetuning/"
        "smollm2-bf16 \\\n      --train train_fixed.jsonl --val-predictions val.jsonl --curated-predictions curated.jsonl",
    )
    r = add_command(
        sub,
        "iterate-record",
        help="8.7: decide a round (adopt rule on the curated set) and update the history",
        description="Adopt the round's candidate when the curated comparison (ba-eval compare --run "
        "current=... --run next=...) adopts it; write round-K/decision.json, history.jsonl, history.png and, "
        "when adopted, adopted.json, all together.",
        epilog="example:\n  ba-eval iterate-record --dir artifacts/iterations --round 1 --adapter round-1/adapter "
        "--train round-1/train.jsonl \\\n      --val-predictions round-1/eval/val.jsonl --curated-predictions "
        "round-1/eval/curated.jsonl \\\n      --curated-report round-1/report/curated/comparison.json "
        "--val-report round-1/report/val/comparison.json \\\n      --failures round-1/failures.json "
        "--added round-1/data/targeted_fixed.jsonl",
    )
    for q in (s, r):
        q.add_argument(
            "--dir", required=True, metavar="ITER_DIR", type=output_folder_path, help="the iterations folder"
        )
        q.add_argument("--round", type=positive_int, required=True, help="round number (1, 2, ...)")
        q.add_argument("--adapter", help="the model's adapter folder")
        q.add_argument("--train", help="the dataset it was trained on")
        q.add_argument("--val-predictions", metavar="FILE", help="its predictions on the validation split")
        q.add_argument("--curated-predictions", metavar="FILE", help="its predictions on the curated set")
    r.add_argument("--curated-report", required=True, metavar="JSON", help="comparison.json, current vs next, curated")
    r.add_argument("--val-report", required=True, metavar="JSON", help="comparison.json, current vs next, val split")
    r.add_argument("--failures", required=True, metavar="JSON", help="the round's failure analysis")
    r.add_argument("--added", required=True, metavar="JSONL", help="the targeted rows the round added")
    r.add_argument("--added-rejects", nargs="*", default=[], metavar="JSONL", help="their rejects files")


def _generate(a: argparse.Namespace) -> int:
    from ba_io import check_side_output, check_writable, distinct_paths, json_object_with, output_target
    from ba_io.locking import lock_path
    from ba_llm import check_not_a_model_file

    from .datasets import resolve_dataset
    from .generation import run_generate, write_timings

    # before any model work: --timings is neither the input, the predictions nor their lock
    distinct_paths(
        ("--in", resolve_dataset(a.inp)),  # campaign 22: the packaged curated set is an input too
        ("--prompt", a.prompt),
        ("-o", a.out),
        ("-o's lock file", lock_path(os.path.realpath(a.out))),  # beside the file a linked -o names
        ("--timings", a.timings),
    )
    if a.timings:
        output_target(a.timings)  # a FIFO or a folder there: refused now, not after the generation
        check_writable(a.timings)  # campaign 24: an unwritable folder failed only after the generation
        check_not_a_model_file(a.model, a.timings, "--timings")  # campaign 12: it replaced the model's config.json
        # campaign 31: benchmark's child run replaced a user's file put at its NAME.timings.json
        # mid-run; a timings file replaces only nothing or an earlier one, checked again at its commit
        check_side_output(a.timings, "a generation's timings", json_object_with("out", "model", "generated"))
    s = run_generate(
        a.model,
        a.inp,
        a.out,
        prompt_path=a.prompt,
        runs=a.runs,
        decoding=a.decoding,
        temperature=a.temperature,
        top_p=a.top_p,
        seed=a.seed,
        max_new_tokens=a.max_new_tokens,
        batch_size=a.batch_size,
        limit=a.limit,
        overwrite=a.overwrite,
    )
    if a.timings:
        write_timings(a.timings, s)
    tps = s.completion_tokens_per_s
    speed = f", {tps:.1f} completion tokens/s" if tps else ""
    print(
        f"{a.out}: {s.generated} predictions generated, {s.skipped} already present "
        f"(runs {', '.join(map(str, s.runs))}){speed}",
        file=sys.stderr,
    )
    if s.note:
        print(f"note: {s.note}", file=sys.stderr)
    return 0


def _benchmark(a: argparse.Namespace) -> int:
    from .benchmark import run_benchmark
    from .report import benchmark_markdown, summary_table, tag_output

    report = run_benchmark(
        a.models,
        a.dataset,
        a.output,
        limit=a.limit,
        threshold=a.threshold,
        prompt=a.prompt,
        max_new_tokens=a.max_new_tokens,
        batch_size=a.batch_size,
        seed=a.seed,
    )
    out = Path(a.output)
    md = out.with_suffix(".md")
    with output_group():  # campaign 18: the report stayed when its Markdown failed
        write_json(out, report, schema="benchmark-report")
        write_text(md, tag_output(benchmark_markdown(report), out))
    print(f"wrote {out} and {md}: {report['decision']}", file=sys.stderr)
    if a.print_table:
        print(summary_table(report))
    return 0


def _check_compare_outputs(out: Path, names: list[str]) -> None:
    """Campaign 17: a comparison.md, comparison.json or scored file of the user's in OUT_DIR
    was replaced, and a linked comparison.html written through. Each report file may replace
    only nothing or an earlier comparison's own file (never a link), before any work."""
    from ba_io import (
        check_side_folder,
        check_side_output,
        first_line_is,
        head_contains,
        json_object_with,
        jsonl_rows_with,
    )

    from .html import HTML_MARKER
    from .plots import PNG_MARKER
    from .report import COMPARISON_MD_HEADING

    report = json_object_with("reference", "n_examples", "models", "comparisons")
    check_side_output(out / "comparison.json", "a comparison report", report)
    check_side_output(out / "comparison.md", "a comparison's Markdown", first_line_is(COMPARISON_MD_HEADING))
    check_side_output(out / "comparison.html", "a comparison's HTML page", head_contains(HTML_MARKER))
    # campaign 32: any PNG there was taken for ours once a report was there (a user's chart was
    # replaced); only one carrying the marker is
    check_side_output(out / "comparison.png", "a comparison's figure", head_contains(PNG_MARKER))
    check_side_folder(out / "scored", "the scored rows")
    for name in names:
        check_side_output(
            out / "scored" / f"{name}.scored.jsonl", "a comparison's scored rows", jsonl_rows_with("score", "breakdown")
        )


def _compare(a: argparse.Namespace) -> int:
    from ba_io import distinct_paths, output_target

    from .compare import compare_runs, parse_run_arg
    from .html import write_comparison_html
    from .plots import comparison_png
    from .report import comparison_markdown, summary_table

    runs = [parse_run_arg(v) for v in a.run]
    out = output_target(a.out_dir, directory=True)  # a file or a device there: exit 2 before any work

    # before any work: no report file is one of the prediction files (two runs may share a file)
    outputs = [out / n for n in ("comparison.json", "comparison.md", "comparison.png", "comparison.html")]
    outputs += [out / "scored" / f"{name}.scored.jsonl" for name in dict(runs)]
    inputs = {os.path.realpath(path): (f"--run {name}", path) for name, path in reversed(runs)}
    distinct_paths(*inputs.values(), *((f"the report {o.name}", o) for o in outputs))
    _check_compare_outputs(out, [name for name, _ in runs])
    result = compare_runs(runs, seed=a.seed, n_bootstrap=a.bootstrap)
    with output_group():  # every report file or none; comparison.json (make's target) appears last
        write_json(out / "comparison.json", result.report, schema="comparison-report")
        for name, rows in result.scored.items():
            write_jsonl(out / "scored" / f"{name}.scored.jsonl", rows, schema="scored-prediction")
        png = comparison_png(result.report, out / "comparison.png")
        write_text(out / "comparison.md", comparison_markdown(result.report))
        write_comparison_html(result.report, result.scored, out / "comparison.html", png_path=png)
    print(
        f"wrote comparison.json, comparison.md, comparison.png, comparison.html to {out} "
        f"({result.report['n_examples']} examples, {result.report['dropped']['n']} dropped)",
        file=sys.stderr,
    )
    for c in result.report["comparisons"]:
        print(c["decision"], file=sys.stderr)
    if a.print_table:
        print(summary_table(result.report))
    return 0


def _curated(a: argparse.Namespace) -> int:
    from ba_io import read_jsonl

    from .datasets import curated_path

    rows = read_jsonl(curated_path(), "example-v2")
    n = write_jsonl(a.out, rows, schema="example-v2")
    print(f"wrote {n} curated examples to {a.out}", file=sys.stderr)
    return 0


def _summary(a: argparse.Namespace) -> int:
    from .report import report_kind, summary_tables

    reports = []
    for value in a.report:
        label, sep, path = value.partition("=")
        if not sep:
            label, path = None, value
        report = read_json(path)
        try:
            kind = report_kind(report)
        except ValueError:
            raise UsageError(f"{os.fspath(path)}: not a comparison or benchmark report") from None
        read_json(path, schema=f"{kind}-report")  # a hand-edited report: one line naming the field
        reports.append((label, report))
    print(summary_tables(reports))
    return 0


def _parity(a: argparse.Namespace) -> int:
    from ba_io import distinct_paths

    from .parity import format_parity, parity

    distinct_paths(("--reference", a.reference), ("--candidate", a.candidate), ("-o", a.output))
    for name in a.names:
        if not name or not name.isprintable() or any(c.isspace() for c in name):
            raise UsageError(f"--names {name!r}: use printable names without spaces, e.g. transformers gguf-f16")
    report = parity(a.reference, a.candidate, tolerance=a.tolerance, names=tuple(a.names))
    if a.output:
        write_json(a.output, report, schema="parity-report")
    print(format_parity(report))
    if not report["passed"]:
        why = (
            f"{len(report['missing_in_candidate'])} documents missing"
            if report["missing_in_candidate"]
            else f"a mean difference beyond +/-{report['tolerance']:g}"
        )
        print(f"Error: {a.candidate}: not the documents of {a.reference} ({why})", file=sys.stderr)
        return 1
    return 0


def _failures(a: argparse.Namespace) -> int:
    from ba_io import check_side_output, distinct_paths, first_line_is, head_contains

    from .failures import (
        FAILURES_HTML_MARKER,
        FAILURES_MD_HEADING,
        analyse_failures,
        failures_html,
        failures_markdown,
    )
    from .report import names_output, tag_output

    out = Path(a.output)
    md, page = out.with_suffix(".md"), out.with_suffix(".html")
    distinct_paths(
        ("--predictions", a.predictions), ("--concepts", a.concepts), ("-o", out), ("the .md", md), ("the .html", page)
    )
    # campaign 30: a user's F.md and F.html beside `-o F.json` were replaced, exit 0; campaign
    # 32: `-o F` replaced those of `-o F.json` (each page names its report: tag_output)
    check_side_output(md, f"the Markdown of {out.name}", names_output(first_line_is(FAILURES_MD_HEADING), out))
    check_side_output(page, f"the HTML page of {out.name}", names_output(head_contains(FAILURES_HTML_MARKER), out))
    analysis = analyse_failures(a.predictions, a.concepts, content_below=a.content_below)
    with output_group():
        write_json(out, analysis, schema="failure-analysis")
        write_text(md, tag_output(failures_markdown(analysis), out))
        write_text(page, tag_output(failures_html(analysis), out))
    t = analysis["targets"]
    print(
        f"{analysis['failing']} of {analysis['n']} documents fail; targets: "
        + "; ".join(f"{k} {', '.join(v) if v else '(all)'}" for k, v in t.items())
        + f" -> {out}",
        file=sys.stderr,
    )
    return 0


def _model_args(a: argparse.Namespace) -> dict[str, str]:
    return {
        k: v
        for k, v in (
            ("adapter", a.adapter),
            ("train", a.train),
            ("val_predictions", a.val_predictions),
            ("curated_predictions", a.curated_predictions),
        )
        if v
    }


def _iterate_start(a: argparse.Namespace) -> int:
    import json

    from .iteration import start_round

    current = start_round(a.dir, a.round, _model_args(a))
    print(json.dumps(current, ensure_ascii=False))
    return 0


def _iterate_record(a: argparse.Namespace) -> int:
    from .iteration import record_round

    row = record_round(
        a.dir,
        a.round,
        _model_args(a),
        curated_report=a.curated_report,
        val_report=a.val_report,
        failures=a.failures,
        added=a.added,
        added_rejects=a.added_rejects,
    )
    c = row["curated"]
    print(
        f"round {row['round']}: curated total {c['current']['total']:.3f} -> {c['next']['total']:.3f} "
        f"(p {c['total_p']:.3g}), content {c['current']['content']:.3f} -> {c['next']['content']:.3f} "
        f"(p {c['content_p']:.3g}); {row['decision']}",
        file=sys.stderr,
    )
    return 0


_COMMANDS = {
    "generate": _generate,
    "benchmark": _benchmark,
    "compare": _compare,
    "curated": _curated,
    "summary-table": _summary,
    "parity": _parity,
    "failures": _failures,
    "iterate-start": _iterate_start,
    "iterate-record": _iterate_record,
}


def _main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    return _COMMANDS[args.command](args)


def main(argv: list[str] | None = None) -> None:
    """Console entry point ``ba-eval``."""
    sys.exit(run_cli(_main, argv))


if __name__ == "__main__":  # pragma: no cover
    main()
