"""``python -m emotion stats``: the mood mix of every VOD in the library, re-scored."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from emotion.analytics import best_clips, library_stats, parse_date
from emotion.clock import clock
from emotion.errors import HypelineError
from emotion.library.store import Store
from emotion.scoring.highlights import HighlightSettings
from emotion.scoring.packs import load_pack
from emotion.scoring.presets import DEFAULT_PRESET
from emotion.scoring.prompts import (
    DEFAULT_BACKGROUND,
    DEFAULT_TEMPLATE,
    check_prompts,
    check_template,
)
from hypeline_cli.common import ProgressBars, add_model_args, load_model


def add_parser(commands: argparse._SubParsersAction) -> None:

    parser = commands.add_parser(
        "stats",
        help="mood mix and highlights per hour of every VOD analysed with the model",
        description="Re-score every analysis in the library made with the model against the "
        "labels, and print each VOD's mood mix (minutes and share per prompt) and highlights "
        "per hour.",
    )
    parser.add_argument("--labels", help="moments to count (default: the stream-emotions preset)")
    parser.add_argument(
        "--background",
        default=", ".join(DEFAULT_BACKGROUND),
        help='scored, never highlighted ("" for none)',
    )
    parser.add_argument("--template", default=DEFAULT_TEMPLATE, help="prompt template")
    parser.add_argument("--since", metavar="YYYY-MM-DD", help="only streams aired on or after")
    parser.add_argument("--until", metavar="YYYY-MM-DD", help="only streams aired before")
    parser.add_argument(
        "--threshold", type=float, default=HighlightSettings().threshold, help="highlight threshold"
    )
    parser.add_argument("--pack", help="prompt pack JSON for labels, background and template")
    parser.add_argument("--json", action="store_true", help="everything as JSON, with best-of")
    parser.add_argument(
        "--best", type=int, default=20, metavar="N", help="how many moments best-of keeps (20)"
    )
    parser.add_argument(
        "--clips", type=Path, metavar="FOLDER", help="cut the best-of moments into FOLDER"
    )
    add_model_args(parser)
    parser.set_defaults(func=_stats)


def _stats(args: argparse.Namespace) -> int:
    labels, background, template = args.labels, args.background, args.template
    settings = HighlightSettings(threshold=args.threshold)
    if args.pack:
        pack = load_pack(args.pack)
        labels = labels or ", ".join(pack.labels)
        if background == ", ".join(DEFAULT_BACKGROUND):
            background = ", ".join(pack.background)
        template = pack.template if template == DEFAULT_TEMPLATE else template
        settings = pack.settings
    label_list, background_list = check_prompts(labels or list(DEFAULT_PRESET.labels), background)
    check_template(template)
    settings.check()
    if args.best < 1:
        raise HypelineError("--best must be at least 1.")
    dates = []
    for name in ("since", "until"):
        text = getattr(args, name)
        try:
            dates.append(None if text is None else parse_date(text))
        except ValueError:
            raise HypelineError(
                f"--{name} {text!r} is not a date; write it as YYYY-MM-DD."
            ) from None
    with ProgressBars() as bars:
        clap = load_model(args)
        stats = library_stats(
            Store(),
            clap,
            label_list,
            background_list,
            template,
            settings,
            dates[0],
            dates[1],
            best_of=args.best,
            progress=bars.update,
        )
        if args.clips is not None:
            written = best_clips(Store(), stats.best, args.clips, progress=bars.update)
            print(f"Cut {len(written)} best-of clip(s) into {args.clips}/", file=sys.stderr)
    if args.json:
        print(json.dumps(stats.to_dict(), ensure_ascii=False))
        return 0
    if not stats.vods:
        print(f"No finished analysis made with {clap.name} in that range; analyse a VOD first.")
        return 0
    for v in stats.vods:
        print(
            f"{v.date}  {v.title}  ({v.duration_s / 60:.0f} min, "
            f"{v.highlights_per_hour:.1f} highlights/h)"
        )
        for prompt, minutes in sorted(v.minutes.items(), key=lambda kv: -kv[1]):
            bg = "  (background)" if prompt in background_list else ""
            print(f"  {prompt:<32} {minutes:7.1f} min  {100 * v.share[prompt]:5.1f}%{bg}")
    print(f"best of ({len(stats.best)}):")
    for m in stats.best:
        print(f"  {m.score:.2f}  {m.title}  {clock(m.start_s)}–{clock(m.end_s)}  {m.label}")
    return 0
