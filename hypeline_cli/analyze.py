"""``hypeline analyze``: a VOD (link or file) → highlights and the files editors open."""

from __future__ import annotations

import argparse
from pathlib import Path

from emotion.analysis import Analysis
from emotion.chat.judge import ranked
from emotion.clock import clock
from emotion.errors import ShortsError
from emotion.library.store import Store
from emotion.media.source import Source
from emotion.media.sources import open_source
from emotion.pipeline import run
from emotion.scoring.highlights import HighlightSettings
from hypeline_cli import shorts as posts
from hypeline_cli.analyze_options import add_options, chat_for, exports_of, settings_of, use_pack
from hypeline_cli.common import ProgressBars, default_out, load_model, note


def add_parser(commands: argparse._SubParsersAction) -> None:
    analyze = commands.add_parser(
        "analyze",
        help="find highlights in a VOD (URL or file) and write exports",
        description="Find the moments of a VOD by how they sound and export them.",
    )
    analyze.add_argument("source", help="VOD file path or http(s) URL (anything yt-dlp opens)")
    analyze.add_argument(
        "--list-tracks",
        action="store_true",
        help="print the audio tracks of the source (number, codec, channels, language, title) "
        "and exit",
    )
    add_options(analyze)
    analyze.set_defaults(func=run_analyze)


def run_analyze(args: argparse.Namespace) -> int:
    try:
        return _analyze(args)
    except ShortsError as e:  # a short or the reel refused once the picture is known
        raise posts.flagged(e) from None


def _analyze(args: argparse.Namespace) -> int:
    if args.list_tracks:
        return _list_tracks(args.source)
    # Everything the user typed is checked before any download or model load.
    pack = use_pack(args) if args.pack is not None else None
    settings = settings_of(args)
    exports = exports_of(args)

    def out_dir(source: Source) -> Path:
        return args.out or default_out(source)

    with ProgressBars() as bars:
        clap = load_model(args)
        examples = pack.examples if pack is not None and pack.model == clap.name else []
        result = run(
            args.source,
            clap,
            Store(),
            chat_for(settings, args.chat, args.source),
            out_dir,
            exports,
            batch_size=args.batch_size,
            examples=examples,
            progress=bars.update,
            wait=not args.no_wait,
            on_note=note,
        )
    print(summary(result.analysis, result.out_dir, result.written))
    return 0


def summary(analysis: Analysis, out_dir: Path, written: list[Path]) -> str:
    """The short report on stdout."""
    track = f", audio track {analysis.audio_track}" if analysis.audio_track != 1 else ""
    lines = [
        f"{analysis.source.title} ({clock(analysis.duration_s)}{track}): "
        f"{len(analysis.highlights)} highlight(s) for {', '.join(analysis.labels)}"
    ]
    chat = analysis.chat
    if chat is not None:  # best first, by the rank that chose them
        lines.append(
            f"Chat: {chat.messages:,} messages ({chat.format}), reacting {chat.lag_s:.1f} s "
            f"after the sound; ranked by {chat.rank}."
        )
    scale = analysis.rules.scale if analysis.rules is not None else HighlightSettings.scale
    shown = ranked(analysis.highlights, chat.rank, scale) if chat else analysis.highlights
    for h in shown:
        said = f"  chat ×{h.chat.rate_vs_baseline:.1f}, {h.chat.messages}" if h.chat else ""
        lines.append(
            f"  {clock(h.start_s):>8}–{clock(h.end_s):<8} {h.label}  ({h.score:.2f}){said}"
        )
    if analysis.nonfinite_s > 0:
        lines.append(
            f"Note: {analysis.nonfinite_s:.2f} s of the audio decoded as invalid numbers "
            "(NaN/Inf) and was analysed as silence."
        )
    lines.append(f"Model {analysis.model} ({analysis.precision}).")
    lines.append(f"Wrote {len(written)} file(s) to {out_dir}/")
    return "\n".join(lines)


def _list_tracks(spec: str) -> int:
    with ProgressBars() as bars:
        source = open_source(spec, progress=bars.update)
    print(f"{source.title}: {len(source.audio_tracks)} audio track(s)")
    for t in source.audio_tracks:
        print(f"  {t.describe()}")
    return 0
