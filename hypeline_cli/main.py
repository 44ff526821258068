"""``hypeline`` (and ``python -m emotion``): the parser over every subcommand, and the exit.

Every user error ends in one sentence on stderr and exit code 2; results go to stdout.
Nothing here imports torch: ``--help`` and a mistyped argument answer at once, and a
subcommand pays for the model only when it runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from emotion.errors import HypelineError
from hypeline_cli import (
    analyze,
    classify,
    evaluate,
    library,
    live,
    review,
    search,
    serve,
    stats,
)
from hypeline_cli.common import flag_hint

# In the order ``--help`` lists them.
COMMANDS = (classify, analyze, serve, search, library, live, evaluate, review, stats)


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
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except HypelineError as e:
        print(f"hypeline: {e}{flag_hint(e)}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("hypeline: interrupted; run the same command again to resume.", file=sys.stderr)
        return 130
