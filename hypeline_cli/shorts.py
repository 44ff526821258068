"""``python -m emotion shorts ANALYSIS_ID``: vertical shorts of an analysis's highlights.

The analysis is scored from its stored vectors (``emotion.pipeline.moments``) and the
highlights its exports hold (the kept ones when there are keeps) become
``shorts/NN-<label>-<h-mm-ss>.mp4`` (``emotion.export.shorts``). A short already there is
kept, so running it again makes only the missing ones. ``--reel`` also writes ``reel.mp4``,
the best highlights joined into one 16:9 video (``emotion.export.reel``); ``--no-shorts``
makes only the reel.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emotion.clock import clock
from emotion.errors import HypelineError, SearchError, ShortsError
from emotion.export.post_settings import (
    DEFAULT_MAX_S,
    LAYOUTS,
    ReelSettings,
    ShortSettings,
    parse_length_s,
)
from emotion.export.reel import write_reel
from emotion.export.shorts import write_shorts
from emotion.library.store import Store
from emotion.pipeline import Settings, moments
from emotion.pipeline_export import for_export
from emotion.scoring.highlights import HighlightSettings
from emotion.scoring.presets import DEFAULT_PRESET
from emotion.scoring.prompts import DEFAULT_BACKGROUND, Prompts
from hypeline_cli.common import ProgressBars, add_model_args, default_out, load_model, note

# The flag behind each setting the library may refuse (its sentences name none).
FLAGS = {
    "layout": "--layout",
    "max_s": "--short-max S",
    "crop_x": "--crop-x F",
    "facecam": "--facecam X,Y,W,H",
    "title": "--title T",
    "length_s": "--reel-length L",
    "spacing_s": "--reel-spacing L",
}


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "shorts",
        help="vertical shorts (1080×1920) of an analysis's highlights",
        description="Render one vertical short per highlight of an analysis in the library "
        "(the kept ones when there are keeps) into OUT/shorts/: H.264 + AAC at -14 LUFS, 3 s "
        "to --short-max, starting and ending at a quiet point. Shorts already there are kept.",
    )
    parser.add_argument("analysis_id", type=int, help="the analysis (see `library list`)")
    parser.add_argument(
        "--out",
        type=Path,
        help="folder to write shorts/ into (default: hypeline-out/<name>/ as analyze writes)",
    )
    parser.add_argument(
        "--labels",
        help="moments to find (default: the labels the analysis was last scored with, else "
        "the stream-emotions preset)",
    )
    parser.add_argument(
        "--background",
        default=", ".join(DEFAULT_BACKGROUND),
        help='scored, never highlighted ("" for none)',
    )
    parser.add_argument(
        "--threshold",
        type=float,
        help=f"highlight threshold (default {HighlightSettings.threshold})",
    )
    add_post_options(parser)
    parser.add_argument("--no-shorts", action="store_true", help="with --reel: write only the reel")
    add_model_args(parser)
    parser.set_defaults(func=run_shorts)


def add_post_options(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """How shorts look and what goes in the reel: shared by ``shorts`` and ``analyze`` (and
    so ``batch``); ``settings_of`` reads them."""
    parser.add_argument(
        "--layout",
        default=ShortSettings.layout,
        help=f"{', '.join(LAYOUTS)}: the frame over a blurred copy (default), a 9:16 crop, or "
        "the face cam on top of the gameplay",
    )
    parser.add_argument(
        "--crop-x",
        type=float,
        metavar="F",
        help="crop: where the window sits, 0 (left) to 1 (right); default the centre",
    )
    parser.add_argument(
        "--facecam",
        type=parse_rect,
        metavar="X,Y,W,H",
        help="split: the face cam's rectangle in the video's pixels",
    )
    parser.add_argument(
        "--title",
        default=ShortSettings.title,
        help='title line, with {label} and {time} ("" for none)',
    )
    parser.add_argument(
        "--short-max",
        type=float,
        default=DEFAULT_MAX_S,
        metavar="S",
        help=f"longest short in seconds (default {DEFAULT_MAX_S:g}, at most 180)",
    )
    parser.add_argument(
        "--reel",
        action="store_true",
        help="also write OUT/reel.mp4: the best highlights joined by crossfades (16:9), with "
        "its own YouTube chapters in reel-chapters.txt",
    )
    parser.add_argument(
        "--reel-length",
        type=parse_length,
        default=ReelSettings.length_s,
        metavar="L",
        help="the reel's longest length: 180, 3m or 2m30s (default 3m)",
    )
    parser.add_argument(
        "--reel-spacing",
        type=parse_length,
        default=ReelSettings.spacing_s,
        metavar="L",
        help="at most one reel moment per this much of the VOD (default 5m)",
    )


# The options of each, by argparse's name and ShortSettings' / ReelSettings' field.
SHORT_ARGS = {
    "layout": "layout",
    "short_max": "max_s",
    "crop_x": "crop_x",
    "facecam": "facecam",
    "title": "title",
}
REEL_ARGS = {"reel_length": "length_s", "reel_spacing": "spacing_s"}


def settings_of(
    args: argparse.Namespace, *, check: bool = True
) -> tuple[ShortSettings, ReelSettings]:
    """The shorts' and the reel's settings from the command line, checked unless told not
    to; a refusal names its flag."""
    shorts = ShortSettings(**{f: getattr(args, a) for a, f in SHORT_ARGS.items()})
    reel = ReelSettings(**{f: getattr(args, a) for a, f in REEL_ARGS.items()})
    if check:
        try:
            shorts.check()
            reel.check()
        except ShortsError as e:
            raise flagged(e) from None
    return shorts, reel


def flagged(e: ShortsError) -> ShortsError:
    """``e`` with the flag behind its setting named (once: the result names no setting)."""
    flag = FLAGS.get(e.setting or "")
    return type(e)(f"{e} ({flag})", None) if flag else e


def parse_length(text: str) -> float:
    """``"3m"``, ``"180"``, ``"2m30s"`` → seconds, for argparse."""
    try:
        return parse_length_s(text)
    except HypelineError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def parse_rect(text: str) -> tuple[int, int, int, int]:
    """``"0,0,480,270"`` → (0, 0, 480, 270)."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 4 or not all(p.isdigit() for p in parts):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a rectangle; write x,y,width,height in pixels, e.g. 0,0,480,270"
        )
    x, y, w, h = (int(p) for p in parts)
    return x, y, w, h


def run_shorts(args: argparse.Namespace) -> int:
    try:
        return _shorts(args)
    except ShortsError as e:
        raise flagged(e) from None


def _shorts(args: argparse.Namespace) -> int:
    # Everything typed is checked before the model loads.
    shorts, reel = settings_of(args)
    if args.no_shorts and not args.reel:
        raise ShortsError("--no-shorts leaves nothing to make; add --reel to make only the reel.")
    store = Store()
    try:
        record = store.analysis(args.analysis_id)
    except KeyError:
        raise SearchError(
            f"There is no analysis {args.analysis_id} in this library; run `library list` to "
            "see the ids."
        ) from None
    if not record.complete:
        raise HypelineError(
            f"{record.title} is still being analysed; make its shorts once it has finished."
        )
    labels = args.labels or list(record.last_labels) or list(DEFAULT_PRESET.labels)
    rules = {} if args.threshold is None else {"threshold": args.threshold}
    settings = Settings(
        prompts=Prompts.parse(labels, args.background),
        highlights=HighlightSettings.on_scale(HighlightSettings.scale, **rules),
        window_s=record.window_s,
        hop_s=record.hop_s,
    ).check()
    out = args.out or default_out(record.source)
    with ProgressBars() as bars:
        clap = load_model(args)
        analysis = for_export(moments(record, store, clap, settings, on_note=note), store)
        written = (
            []
            if args.no_shorts
            else write_shorts(
                record.source,
                analysis.highlights,
                out,
                shorts,
                bars.update,
                audio_track=record.audio_track,
                on_note=note,
            )
        )
        made = None
        if args.reel:
            made = write_reel(
                record.source.path,
                analysis.highlights,
                out,
                reel,
                bars.update,
                audio_track=record.audio_track,
                has_video=record.source.has_video,
                on_note=note,
            )
    if not args.no_shorts:
        print(f"{record.title}: {len(written)} short(s) in {out / 'shorts'}/", file=sys.stderr)
    if made is not None:
        print(
            f"{record.title}: a {clock(made.duration_s)} reel of {len(made.parts)} "
            f"moment(s) in {out}/",
            file=sys.stderr,
        )
        written += [made.path, *([made.chapters] if made.chapters else [])]
    for path in written:
        print(path)
    return 0
