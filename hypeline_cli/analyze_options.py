"""``analyze``'s options, shared with ``batch``: the flags (``add_options``) and what they
become, checked before any download or model load: the pipeline's settings
(``settings_of``, a pack filling what was left at defaults: ``use_pack``), a VOD's chat
(``chat_for``) and what to write (``exports_of``)."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from emotion.analysis import DEFAULT_HOP_S, DEFAULT_WINDOW_S
from emotion.chat.judge import RANKS
from emotion.errors import HypelineError, ShortsError
from emotion.export import FORMATS, parse_formats
from emotion.media.chat_download import fetch_chat
from emotion.media.source import is_link
from emotion.pipeline import Settings
from emotion.pipeline_export import ExportSettings
from emotion.scoring.highlights import (
    RELATIVE_THRESHOLD,
    SCALES,
    HighlightSettings,
    parse_thresholds,
)
from emotion.scoring.keywords import DEFAULT_KEYWORDS, MAX_KEYWORDS, parse_keywords
from emotion.scoring.packs import load_pack
from emotion.scoring.prompts import DEFAULT_BACKGROUND, DEFAULT_TEMPLATE, Prompts
from hypeline_cli import shorts as posts
from hypeline_cli.common import add_model_args, note

OUT_HELP = (
    "output folder (default: hypeline-out/<name>/ beside a local file, in the current folder "
    "for a link)"
)


def add_options(analyze: argparse.ArgumentParser, out_help: str = OUT_HELP) -> None:
    """What to find and what to write: shared by ``analyze`` and ``batch``."""
    analyze.add_argument(
        "--labels", help='moments to find, e.g. "win celebration, fail frustration" (required)'
    )
    analyze.add_argument(
        "--background",
        default=", ".join(DEFAULT_BACKGROUND),
        help="scored but never highlighted, so ordinary audio has somewhere to go "
        f'(default "{", ".join(DEFAULT_BACKGROUND)}"; "" for none)',
    )
    analyze.add_argument(
        "--template", default=DEFAULT_TEMPLATE, help="prompt template (see classify)"
    )
    tracks = analyze.add_argument_group("audio track")
    tracks.add_argument(
        "--audio-track",
        type=int,
        metavar="N",
        help="which audio track to analyse, numbered from 1 as OBS does "
        "(default: the file's default track)",
    )
    grid = analyze.add_argument_group("windows")
    grid.add_argument(
        "--window",
        type=float,
        default=DEFAULT_WINDOW_S,
        help="window length, s (default %(default)s)",
    )
    grid.add_argument(
        "--hop",
        type=float,
        default=DEFAULT_HOP_S,
        help="hop between windows, s (default %(default)s)",
    )
    grid.add_argument(
        "--batch-size", type=int, help="windows per forward pass (default 8 on CPU, 64 on CUDA)"
    )
    analyze.add_argument(
        "--no-wait",
        action="store_true",
        help="when another process is analysing this VOD, exit (code 2) instead of following "
        "it to the end and scoring its result",
    )
    found = analyze.add_argument_group("highlights")
    defaults = HighlightSettings()
    found.add_argument(
        "--scale",
        choices=SCALES,
        help="what thresholds measure: the probability (absolute), or how far above this "
        f"VOD's usual level for the prompt, in spreads (relative) (default {defaults.scale}, "
        "or the pack's)",
    )
    found.add_argument(
        "--threshold",
        metavar="VALUE[,PROMPT=VALUE…]",
        help=f"where a highlight starts, in the scale's units (default {defaults.threshold:g} "
        f'absolute, {RELATIVE_THRESHOLD:g} relative); per prompt: "laughter=0.4,jump scare '
        'scream=0.7", or both: "0.5,laughter=0.4"',
    )
    found.add_argument(
        "--min-duration",
        type=float,
        default=defaults.min_duration_s,
        help="shortest highlight kept, s (default %(default)s)",
    )
    found.add_argument(
        "--merge-gap",
        type=float,
        default=defaults.merge_gap_s,
        help="join highlights of a label closer than this, s (default %(default)s)",
    )
    found.add_argument(
        "--smoothing",
        type=float,
        default=defaults.smoothing_s,
        help="moving average over the timeline, s (default %(default)s: none)",
    )
    found.add_argument("--top-k", type=int, help="keep the N best highlights over all labels")
    chat = analyze.add_argument_group("chat replay")
    chat.add_argument(
        "--chat",
        type=Path,
        metavar="FILE|auto",
        help="the VOD's chat replay (TwitchDownloader JSON, yt-dlp rechat or live_chat JSON, "
        "chat-downloader JSON, or CSV time_s,author,text), or auto: a link's own chat replay "
        "as its site offers it (Twitch VODs, YouTube live replays); each highlight gets "
        "chat's reaction, and highlights are ranked by it; stored with the analysis",
    )
    chat.add_argument(
        "--rank",
        choices=RANKS,
        help="what orders highlights and what --top-k keeps: sound, chat (its rate vs the "
        "usual), or both (sound × a chat factor within ×0.5…×2) (default both with chat, "
        "else sound)",
    )
    chat.add_argument(
        "--chat-keywords",
        metavar="LIST",
        help="the emotes, words and two-word phrases counted in chat, comma-separated, e.g. "
        f'"KEKW, LUL, clip it" (at most {MAX_KEYWORDS}; default: {", ".join(DEFAULT_KEYWORDS)}); '
        "emote names match case-sensitively, words and phrases in any case",
    )
    chat.add_argument(
        "--chat-moments",
        action="store_true",
        help='also report chat spikes with no sound behind them, as "chat spike" moments',
    )
    out = analyze.add_argument_group("exports")
    out.add_argument(
        "--out",
        type=Path,
        help=out_help,
    )
    out.add_argument(
        "--formats",
        default=",".join(FORMATS),
        help=f"comma-separated, from {','.join(FORMATS)} (default all)",
    )
    out.add_argument("--clips", action="store_true", help="also cut one media clip per highlight")
    out.add_argument(
        "--clip-padding",
        type=float,
        default=ExportSettings.clip_padding_s,
        help="seconds added around each clip (default %(default)s)",
    )
    out.add_argument(
        "--fps", type=float, help="frame rate for EDL/FCPXML (default: the video's, else 30)"
    )
    out.add_argument(
        "--thumbnails",
        action="store_true",
        help="also write thumbnails/: one JPEG still per highlight, picked at its peak "
        "(none for an audio-only source)",
    )
    made = analyze.add_argument_group("shorts and reel", "as `hypeline shorts ID` makes them")
    made.add_argument(
        "--shorts",
        action="store_true",
        help="also write shorts/: one vertical short (1080×1920) per exported highlight",
    )
    posts.add_post_options(made)
    learned = analyze.add_argument_group("prompt packs and picks")
    learned.add_argument(
        "--pack",
        type=Path,
        help="prompt pack JSON: labels, background, template and thresholds for what the "
        "command line leaves at its defaults, and its learned picks",
    )
    learned.add_argument(
        "--learn",
        action="store_true",
        help="adapt labels to the moments kept and rejected in the library (review) and pack",
    )
    add_model_args(analyze)


AUTO = Path("auto")  # --chat auto


def settings_of(args: argparse.Namespace) -> Settings:
    """The pipeline's settings from the command line (a pack fills what was left at defaults)."""
    if args.labels is None:
        raise HypelineError(
            'Say which moments to find with --labels, e.g. --labels "win celebration, laughter".'
        )
    default, per_prompt = parse_thresholds(args.threshold or "")
    rules = {"threshold": default} if default is not None else {}
    highlights = HighlightSettings.on_scale(
        args.scale or HighlightSettings.scale,
        **rules,
        per_prompt=per_prompt,
        min_duration_s=args.min_duration,
        merge_gap_s=args.merge_gap,
        top_k=args.top_k,
        smoothing_s=args.smoothing,
    )
    return Settings(
        prompts=Prompts.parse(args.labels, args.background, args.template),
        highlights=highlights,
        window_s=args.window,
        hop_s=args.hop,
        audio_track=args.audio_track,
        learn=args.learn,
        chat=None if args.chat == AUTO else args.chat,  # per VOD: chat_for
        rank=args.rank,
        chat_moments=args.chat_moments,
        chat_keywords=keywords_of(args),
    ).check()


def keywords_of(args: argparse.Namespace) -> tuple[str, ...]:
    """``--chat-keywords`` checked (the default list without it)."""
    if args.chat_keywords is None:
        return DEFAULT_KEYWORDS
    try:
        return parse_keywords(args.chat_keywords)
    except HypelineError as e:
        raise HypelineError(f"{str(e).rstrip('.')} (--chat-keywords).") from None


def chat_for(settings: Settings, chat: Path | None, spec: str) -> Settings:
    """``settings`` for one VOD: with ``--chat auto``, its link's chat replay when the site
    offers one (fetched once, kept beside the downloads), else a note and sound alone."""
    if chat != AUTO:
        return settings
    if not is_link(spec):
        note(f"--chat auto reads a link's chat; for {spec} give its chat file: --chat FILE.")
        return settings
    if (path := fetch_chat(spec)) is None:
        note(f"{spec} offers no chat replay: its highlights are judged by sound alone.")
        return settings
    return dataclasses.replace(settings, chat=path).check()


def exports_of(args: argparse.Namespace) -> ExportSettings:
    """What to write, checked. A shorts option without ``--shorts`` (or a reel option without
    ``--reel``) is refused, not ignored: it says the user expects what would not be made."""
    shorts, reel = posts.settings_of(args, check=False)
    for asked, given, what, flag in (
        (args.shorts, shorts, "the shorts", "--shorts"),
        (args.reel, reel, "the reel", "--reel"),
    ):
        plain = type(given)()
        fields = dataclasses.fields(given)
        changed = [f.name for f in fields if getattr(given, f.name) != getattr(plain, f.name)]
        if changed and not asked:
            option = posts.FLAGS[changed[0]].split()[0]
            raise ShortsError(
                f"{option} shapes {what}, which only {flag} makes; add {flag}, "
                f"or leave {option} out."
            )
    shorts, reel = posts.settings_of(args)
    return ExportSettings(
        formats=tuple(parse_formats(args.formats)),
        clips=args.clips,
        clip_padding_s=args.clip_padding,
        fps=args.fps,
        thumbnails=args.thumbnails,
        shorts=shorts if args.shorts else None,
        reel=reel if args.reel else None,
    )


def use_pack(args: argparse.Namespace):
    """Fill what the command line left at its defaults from ``--pack``; the pack."""
    pack = load_pack(args.pack)
    defaults = HighlightSettings()
    if args.labels is None:
        args.labels = ", ".join(pack.labels)
    if args.background == ", ".join(DEFAULT_BACKGROUND):
        args.background = ", ".join(pack.background)
    if args.template == DEFAULT_TEMPLATE:
        args.template = pack.template
    args.scale = args.scale or pack.settings.scale
    if args.threshold is None and args.scale == pack.settings.scale:
        rules = pack.settings.per_prompt
        args.threshold = ",".join(
            [f"{pack.settings.threshold:g}", *(f"{k}={v:g}" for k, v in rules)]
        )
    for arg, name in (
        ("min_duration", "min_duration_s"),
        ("merge_gap", "merge_gap_s"),
        ("smoothing", "smoothing_s"),
    ):
        if getattr(args, arg) == getattr(defaults, name):
            setattr(args, arg, getattr(pack.settings, name))
    if args.top_k is None:
        args.top_k = pack.settings.top_k
    if args.chat_keywords is None and pack.chat_keywords is not None:
        args.chat_keywords = ",".join(pack.chat_keywords)
    return pack
