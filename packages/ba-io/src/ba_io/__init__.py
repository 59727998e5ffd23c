"""ba-io: schemas, validated JSON/JSONL I/O, atomic writes and the shared CLI error mapping."""

from .cli_types import (
    SEED,
    ArgumentParser,
    add_command,
    add_max_new_tokens,
    add_model,
    add_output,
    add_seed,
    deprecated_alias,
    fraction,
    int_between,
    non_negative_int,
    positive_int,
    tool_parser,
)
from .errors import BaError, DataError, UsageError
from .hashing import sha256_file, sha256_path, sha256_text
from .jsonio import (
    JsonlLine,
    append_jsonl,
    atomic_path,
    atomic_write,
    iter_jsonl,
    iter_jsonl_lines,
    output_group,
    output_target,
    read_json,
    read_jsonl,
    reject_record,
    sweep_stale_tmp,
    write_json,
    write_jsonl,
)
from .locking import output_lock
from .paths import check_not_under_file, check_replaceable_folder, default_rejects, distinct_paths, folder_files
from .progress import progress
from .runcli import run_cli
from .schemas import ValidationIssue, load_schema, schema_names, validate

__version__ = "0.1.0"

__all__ = [
    "SEED",
    "ArgumentParser",
    "add_command",
    "add_max_new_tokens",
    "add_model",
    "add_output",
    "add_seed",
    "deprecated_alias",
    "tool_parser",
    "BaError",
    "DataError",
    "JsonlLine",
    "UsageError",
    "ValidationIssue",
    "append_jsonl",
    "atomic_path",
    "atomic_write",
    "check_not_under_file",
    "check_replaceable_folder",
    "folder_files",
    "default_rejects",
    "distinct_paths",
    "fraction",
    "int_between",
    "iter_jsonl",
    "iter_jsonl_lines",
    "load_schema",
    "positive_int",
    "non_negative_int",
    "output_group",
    "output_lock",
    "output_target",
    "progress",
    "read_json",
    "read_jsonl",
    "reject_record",
    "run_cli",
    "schema_names",
    "sha256_file",
    "sha256_path",
    "sha256_text",
    "sweep_stale_tmp",
    "validate",
    "write_json",
    "write_jsonl",
]
