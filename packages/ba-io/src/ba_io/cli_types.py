"""The argparse pieces shared by the ba-* command lines: the CLI contract.

Every console script (ba-metric, which must stay usable alone, keeps a copy of the same
rules) builds its parser from these, so the same thing has the same flag everywhere
(docs/architecture.md, "The command-line contract"):

* :func:`tool_parser` declares ``--version`` and ``--debug`` once; :func:`add_command`
  gives every sub-command a hidden ``--debug`` so it may also come after the command;
* :func:`add_model` (``--model``), :func:`add_output` (``-o/--output``),
  :func:`add_max_new_tokens` (``--max-new-tokens``), :func:`add_seed` (``--seed``, default
  :data:`SEED`);
* :func:`deprecated_alias`: an old spelling keeps working for one release, hidden from
  ``--help``, with a one-line warning on stderr;
* ``ArgumentParser``: one ``Error: ...`` line naming ``--help`` (exit 2) instead of the
  whole usage block; and small ``type=`` converters.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from .errors import one_line

__all__ = [
    "ArgumentParser",
    "SEED",
    "add_command",
    "add_max_new_tokens",
    "add_model",
    "add_output",
    "add_seed",
    "deprecated_alias",
    "fraction",
    "int_between",
    "non_negative_int",
    "output_path",
    "positive_int",
    "tool_parser",
]

#: the one default seed of every command that takes ``--seed``
SEED = 42

#: where a flag goes: a parser, or one of its argument groups
Container = argparse.ArgumentParser | argparse._ArgumentGroup


class ArgumentParser(argparse.ArgumentParser):
    """argparse with the project's error form: one ``Error: ...`` line naming ``--help``
    (exit 2) instead of the whole usage block. Sub-command parsers inherit it. An option
    that has deprecated aliases is required here, after parsing, so that either spelling
    satisfies it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # no abbreviations: "--out A -o B" must not read --out as --output and keep B alone
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, one_line(f"Error: {self.prog}: {message} (see {self.prog} --help)") + "\n")

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        ns, rest = super().parse_known_args(argv, namespace)
        repeated = _repeated_option(self, argv)
        if repeated:
            self.error(f"give {repeated} once: a second value would silently replace the first")
        for old, new_strings in getattr(ns, "_ba_old_used", {}).items():
            if any(_names_option(a, s) for a in argv for s in new_strings):
                self.error(f"give {'/'.join(new_strings)} once: {old} is its old spelling")
        missing = [a for a in getattr(self, "_ba_required", []) if getattr(ns, a.dest, None) is None]
        if missing:
            self.error(
                "the following arguments are required: " + ", ".join("/".join(a.option_strings) for a in missing)
            )
        return ns, rest


def _repeated_option(parser: argparse.ArgumentParser, argv: list[str]) -> str | None:
    """The first single-value option (``-o``, ``--model``...) given twice in ``argv``, in any
    of its spellings, or None. Repeatable options (``append``) and flags may repeat."""
    words = argv[: argv.index("--")] if "--" in argv else argv
    for action in parser._actions:
        if type(action) is not argparse._StoreAction or not action.option_strings:
            continue
        if sum(1 for w in words for s in action.option_strings if _names_option(w, s)) > 1:
            return "/".join(action.option_strings)
    return None


def tool_parser(prog: str, version: str, description: str, epilog: str | None = None) -> ArgumentParser:
    """The top-level parser of a console script, with ``--version`` and ``--debug``."""
    p = ArgumentParser(
        prog=prog, description=description, epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--version", action="version", version=f"{prog} {version}")
    p.add_argument("--debug", action="store_true", help="show the traceback on errors (or set BA_DEBUG=1)")
    return p


def add_command(
    sub: Any, name: str, *, help: str, description: str | None = None, epilog: str | None = None, **kwargs: Any
) -> ArgumentParser:
    """A sub-command parser (``sub`` from ``add_subparsers``) that also accepts ``--debug``."""
    c = sub.add_parser(
        name,
        help=help,
        description=description or help,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        **kwargs,
    )
    c.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return c


def _names_option(arg: str, option: str) -> bool:
    """Whether the command-line word ``arg`` gives ``option`` (``--output X``,
    ``--output=X``, ``-o X``, ``-oX``)."""
    if option.startswith("--"):
        return arg == option or arg.startswith(option + "=")
    return arg.startswith(option) and not arg.startswith("--")


class _Deprecated(argparse.Action):
    """An old spelling: stores into the new option's ``dest`` and warns on stderr."""

    def __init__(
        self, option_strings: Sequence[str], dest: str, new: str = "", append: bool = False, **kwargs: Any
    ) -> None:
        self.new, self.append = new, append
        kwargs["default"] = argparse.SUPPRESS
        kwargs["help"] = argparse.SUPPRESS
        kwargs.pop("required", None)
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: str | None = None) -> None:
        used = getattr(namespace, "_ba_old_used", None)
        if used is None:
            used = {}
            namespace._ba_old_used = used
        if option_string not in used:  # one warning per spelling, however often it is given
            print(
                f"warning: {option_string} is deprecated and goes in the next release; use {self.new}", file=sys.stderr
            )
        used[option_string] = tuple(self.new.split("/"))
        if self.nargs == 0:
            values = self.const
        if self.append:  # the old spelling of a repeatable option adds to the same list
            values = [*(getattr(namespace, self.dest, None) or []), values]
        setattr(namespace, self.dest, values)


def deprecated_alias(parser: Container, action: argparse.Action, *old: str) -> None:
    """Accept ``old`` spellings of ``action``'s option (hidden, with a warning). A required
    ``action`` is then checked after parsing, so the old spelling satisfies it too."""
    if not old:
        return
    new = "/".join(action.option_strings)
    kwargs: dict[str, Any] = {"nargs": action.nargs, "type": action.type, "choices": action.choices}
    if action.nargs == 0:
        kwargs = {"nargs": 0, "const": action.const}
    kwargs["append"] = isinstance(action, argparse._AppendAction)
    parser.add_argument(*old, dest=action.dest, action=_Deprecated, new=new, metavar=action.metavar, **kwargs)
    if action.required:
        assert isinstance(parser, argparse.ArgumentParser), "a required option with aliases belongs to a parser"
        action.required = False
        parser._ba_required = [*getattr(parser, "_ba_required", []), action]  # type: ignore[attr-defined]


def add_output(
    parser: Container,
    *,
    help: str,
    required: bool = False,
    dest: str = "output",
    metavar: str = "OUT",
    old: Sequence[str] = (),
    folder: bool = False,
) -> argparse.Action:
    """``-o/--output``: where a command writes its (primary) output: a path, never ``-``
    (campaign 26: `fix -o -` wrote a file named ``-``; no command here writes its output to
    standard output). A file output (``folder=False``) refuses a path ending in ``/``."""
    kind = output_folder_path if folder else output_path
    action = parser.add_argument("-o", "--output", dest=dest, metavar=metavar, required=required, help=help, type=kind)
    deprecated_alias(parser, action, *old)
    return action


def output_path(text: str) -> str:
    """The ``type`` of every flag naming a file a command writes (``--rejects``,
    ``--train-out``...): ``-`` is refused, not written as a file named ``-`` (campaign 27),
    and so is a path ending in ``/``, which names a folder (campaign 29: `synth -o sub/`
    wrote a file named ``sub``); so is one whose last part is ``.`` or ``..`` (campaign 30:
    `-o notes.txt/.` replaced notes.txt, which ``Path`` reads it as)."""
    output_folder_path(text)
    if names_a_folder(text):
        folder = text.rstrip("/") or "/"
        example = (
            f" (e.g. {os.path.join(folder, 'out.jsonl')})" if text.endswith("/") and not names_a_folder(folder) else ""
        )
        raise argparse.ArgumentTypeError(
            f"'{text}' names a folder (it ends in '/', '.' or '..'); this option writes a file: give a file path{example}"
        )
    return text


def names_a_folder(text: str) -> bool:
    """``text`` ends in ``/`` or its last part is ``.`` or ``..``: the name of a folder,
    whatever is there (``pathlib`` would read ``x/.`` as ``x``)."""
    seps = "/" + (os.altsep or "")
    return text.endswith(tuple(seps)) or text.rstrip(seps).rsplit("/", 1)[-1] in (".", "..")


def output_folder_path(text: str) -> str:
    """The ``type`` of a flag naming a folder a command writes: any path but ``-`` and the
    empty one (campaign 33: `-o ""`, an unset variable, named the current folder)."""
    if not text.strip():  # campaign 34: `-o ' '` wrote files named ' ', ' .md' and ' .html'
        raise argparse.ArgumentTypeError("the path is empty (an unset variable?); give a path")
    if text == "-":
        raise argparse.ArgumentTypeError("'-' (standard output) is not an output of this command; give a file path")
    from .jsonio import reserved_for

    kept_for = reserved_for(text)  # campaigns 35, 40, 41 and 42
    if kept_for is not None:
        raise argparse.ArgumentTypeError(f"'{text}' is a name ba-io keeps for {kept_for}; choose another name")
    return text


def add_model(
    parser: Container,
    *,
    help: str,
    required: bool = False,
    default: str | None = None,
    dest: str = "model",
    nargs: Any = None,
    old: Sequence[str] = (),
) -> argparse.Action:
    """``--model SPEC``: the model a command runs (a ba-llm spec)."""
    action = parser.add_argument(
        "--model", dest=dest, metavar="SPEC", required=required, default=default, nargs=nargs, help=help
    )
    deprecated_alias(parser, action, *old)
    return action


def add_max_new_tokens(
    parser: Container,
    *,
    default: int,
    help: str | None = None,
    dest: str = "max_new_tokens",
    maximum: int | None = None,
    old: Sequence[str] = (),
) -> argparse.Action:
    """``--max-new-tokens N``: the generation limit in tokens."""
    action = parser.add_argument(
        "--max-new-tokens",
        dest=dest,
        type=int_between(1, maximum),
        default=default,
        metavar="N",
        help=help or "most tokens generated per document (default: %(default)s)",
    )
    deprecated_alias(parser, action, *old)
    return action


#: seeds are 32-bit: torch, numpy and llama.cpp all take them (a larger one overflowed
#: inside the generation, after the model had loaded)
SEED_MAX = 2**32 - 1


def add_seed(parser: Container, *, help: str) -> argparse.Action:
    """``--seed N`` with the one default, :data:`SEED`; 0 to :data:`SEED_MAX`."""
    return parser.add_argument(
        "--seed", type=int_between(0, SEED_MAX), default=SEED, metavar="N", help=f"{help} (default: %(default)s)"
    )


def int_between(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """``type=int_between(1, 1000)``: an integer in ``[minimum, maximum]`` (no upper bound
    when ``maximum`` is None); ``must be >= 1, got 0`` / ``must be at most 1,000, got 5000``."""

    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum:,}, got {value}")
        return value

    return convert


_int_at_least = int_between


positive_int = _int_at_least(1)
positive_int.__name__ = positive_int.__qualname__ = "positive_int"
positive_int.__doc__ = """``type=positive_int``: an integer >= 1.

Raises:
    argparse.ArgumentTypeError: ``expected an integer, got 'x'`` or ``must be >= 1, got 0``
        (argparse prints it as ``argument --n: must be >= 1, got 0``, exit 2).
"""

non_negative_int = _int_at_least(0)
non_negative_int.__name__ = non_negative_int.__qualname__ = "non_negative_int"
non_negative_int.__doc__ = "``type=non_negative_int``: an integer >= 0 (messages as :func:`positive_int`)."


def fraction(text: str) -> float:
    """``type=fraction``: a number between 0 and 1 (a threshold, a tolerance, a share).

    Raises:
        argparse.ArgumentTypeError: ``expected a number, got 'x'`` or ``must be between 0 and
            1, got 2`` (NaN is outside too).
    """
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value
