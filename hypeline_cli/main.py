"""``hypeline`` (and ``python -m emotion``): the parser over every subcommand, and the exit.

Every user error ends in one sentence on stderr and exit code 2; results go to stdout.
Nothing here imports torch: ``--help`` and a mistyped argument answer at once, and a
subcommand pays for the model only when it runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from emotion.errors import HypelineError
from hypeline_cli import (
    analyze,
    batch,
    classify,
    dashboard,
    evaluate,
    library,
    live,
    review,
    search,
    serve,
    shorts,
    stats,
)
from hypeline_cli.common import flag_hint

# In the order ``--help`` lists them.
COMMANDS = (
    classify,
    analyze,
    batch,
    dashboard,
    serve,
    search,
    library,
    live,
    evaluate,
    review,
    stats,
    shorts,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hypeline",
        description="Hypeline: find the moments in a stream by how they sound (CLAP, zero-shot).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        parser.error(_unrecognized(args, extra))
    try:
        return int(args.func(args))
    except HypelineError as e:
        print(f"hypeline: {e}{flag_hint(e)}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("hypeline: interrupted; run the same command again to resume.", file=sys.stderr)
        return 130


# The positional argument of each command that names a file (or a link).
PATH_ARGS = ("source", "audio", "folder")


def _unrecognized(args: argparse.Namespace, extra: list[str]) -> str:
    """argparse's complaint, or, for an unquoted path with spaces, how to quote it."""
    name = next((n for n in PATH_ARGS if isinstance(getattr(args, n, None), str | Path)), None)
    words = [w for w in extra if not w.startswith("-")]
    if name is None or not words:
        return f"unrecognized arguments: {' '.join(extra)}"
    path = " ".join([str(getattr(args, name)), *words])
    return (
        f"unrecognized arguments: {' '.join(extra)}. A path with spaces needs quotes: "
        f'hypeline {args.command} "{path}" …'
    )
