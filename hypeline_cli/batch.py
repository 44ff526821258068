"""``hypeline batch``: many VODs (files, folders, a list, a channel) with analyze's options."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emotion.batch import CSV_NAME, Done, Outcome, expand, run_batch
from emotion.clock import clock
from emotion.export import slugify
from emotion.library.store import Store
from emotion.media.source import Source
from emotion.pipeline import run
from hypeline_cli import analyze
from hypeline_cli.common import ProgressBars, load_model, note


def add_parser(commands: argparse._SubParsersAction) -> None:
    batch = commands.add_parser(
        "batch",
        help="analyse many VODs: files, folders, a list file, a channel or playlist link",
        description="Analyse many VODs, each as `analyze` would (one analysis each in the "
        "library, resumed when run again), and report how each went in batch.csv.",
    )
    batch.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="VOD files, folders (searched for media files), .txt lists of paths and links "
        "(one a line, # comments), or channel / playlist links",
    )
    links = batch.add_argument_group("channels and playlists")
    links.add_argument("--limit", type=int, help="at most N VODs of each channel or playlist")
    links.add_argument("--since", metavar="YYYYMMDD", help="only VODs of this date or later")
    links.add_argument("--until", metavar="YYYYMMDD", help="only VODs of this date or earlier")
    analyze.add_options(batch, out_help="output folder: one sub-folder per VOD and batch.csv "
                        "(default: ./hypeline-out/)")  # fmt: skip
    batch.set_defaults(func=run_batch_command)


def run_batch_command(args: argparse.Namespace) -> int:
    # Everything typed is checked before any download or model load.
    pack = analyze.use_pack(args) if args.pack is not None else None
    settings = analyze.settings_of(args)
    exports = analyze.exports_of(args)
    out: Path = args.out or Path.cwd() / "hypeline-out"
    items = expand(args.inputs, limit=args.limit, since=args.since, until=args.until, on_note=note)
    print(f"{len(items)} VOD(s) to analyse", file=sys.stderr)
    with ProgressBars() as bars:
        clap = load_model(args)
        examples = pack.examples if pack is not None and pack.model == clap.name else []
        store = Store()

        def folder(source: Source) -> Path:
            return out / slugify(source.title)

        def one(spec: str) -> Done:
            result = run(
                spec, clap, store, analyze.chat_for(settings, args.chat, spec), folder, exports, batch_size=args.batch_size,
                examples=examples, progress=bars.update, wait=not args.no_wait, on_note=note,
            )  # fmt: skip
            a = result.analysis
            return Done(a.source.title, a.analysis_id, len(a.window_starts_s), len(a.highlights))

        outcomes = run_batch(items, one, out, progress=bars.update, on_outcome=_said)
    print(summary(outcomes, out))
    return 0 if all(o.ok for o in outcomes) else 1


def _said(outcome: Outcome) -> None:
    if not outcome.ok:
        note(f"{outcome.spec}: {outcome.error}")


def summary(outcomes: list[Outcome], out: Path) -> str:
    """The table on stdout: each VOD, its windows, highlights and time, or its error."""
    failed = [o for o in outcomes if not o.ok]
    lines = [f"{len(outcomes) - len(failed)} of {len(outcomes)} VOD(s) analysed"
             + (f", {len(failed)} failed" if failed else "")]  # fmt: skip
    lines.append(f"  {'VOD':<40} {'windows':>8} {'highlights':>10} {'time':>8}  error")
    for o in outcomes:
        name = (o.title or o.spec)[-40:]
        if o.ok:
            lines.append(f"  {name:<40} {o.windows:>8} {o.highlights:>10} {clock(o.seconds):>8}")
        else:
            lines.append(f"  {name:<40} {'':>8} {'':>10} {clock(o.seconds):>8}  {o.error}")
    lines.append(f"Wrote {out / CSV_NAME}")
    return "\n".join(lines)
