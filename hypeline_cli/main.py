"""``python -m emotion``: the command line over the library.

Every user error ends in one sentence on stderr and exit code 2; results go to stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from emotion.analysis import DEFAULT_HOP_S, DEFAULT_WINDOW_S, Analysis
from emotion.classify import Classifier
from emotion.clock import clock
from emotion.errors import DeviceError, HypelineError, ModelNotFoundError
from emotion.export import FORMATS, parse_formats, slugify
from emotion.media.audio import check_file
from emotion.model.clap import DEFAULT_MODEL, MODEL_ENV, PRECISION_NAMES
from emotion.progress import Progress
from emotion.scoring.highlights import HighlightSettings
from emotion.scoring.prompts import (
    DEFAULT_BACKGROUND,
    DEFAULT_TEMPLATE,
    check_template,
    prompts_for,
)
from emotion.scoring.windows import check_grid
from service.config import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    MAX_BATCH,
    MAX_JOBS,
    MAX_LABELS,
    MAX_UPLOAD_BYTES,
)


def _add_model_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model")
    group.add_argument(
        "--model",
        help=f"hub id or local folder of a CLAP checkpoint (default: ${MODEL_ENV}, "
        f"else {DEFAULT_MODEL})",
    )
    group.add_argument(
        "--device",
        default="auto",
        help="auto (CUDA, else an Apple GPU, else CPU), cpu, cuda or mps",
    )
    group.add_argument(
        "--precision",
        default="auto",
        choices=list(PRECISION_NAMES),
        help="auto: bf16/fp16 on CUDA, fp16 on Apple GPUs, int8 on x86 CPUs with AVX2 (fp32 "
        "elsewhere); fp32 gives the reference numbers",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m emotion",
        description="Hypeline: find the moments in a stream by how they sound (CLAP, zero-shot).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    classify = commands.add_parser(
        "classify", help="probabilities of labels for one clip (JSON on stdout)"
    )
    classify.add_argument("audio", type=Path, help="audio or video file ffmpeg can read")
    classify.add_argument("--labels", required=True, help='comma-separated, e.g. "piano, guitar"')
    classify.add_argument(
        "--template",
        default=DEFAULT_TEMPLATE,
        help=f'prompt template, {{}} marks the label (default "{DEFAULT_TEMPLATE}"; '
        '"{}" uses the labels verbatim)',
    )
    _add_model_args(classify)
    classify.set_defaults(func=_classify)

    match = commands.add_parser("match", help="cosine similarity of a clip and a text (JSON)")
    match.add_argument("audio", type=Path, help="audio or video file ffmpeg can read")
    match.add_argument("--text", required=True, help='a description, e.g. "a dog barking"')
    _add_model_args(match)
    match.set_defaults(func=_match)

    analyze = commands.add_parser(
        "analyze",
        help="find highlights in a VOD (URL or file) and write exports",
        description="Find the moments of a VOD by how they sound and export them.",
    )
    analyze.add_argument("source", help="VOD file path or http(s) URL (anything yt-dlp opens)")
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
    tracks.add_argument(
        "--list-tracks",
        action="store_true",
        help="print the audio tracks of the source (number, codec, channels, language, title) "
        "and exit",
    )
    grid = analyze.add_argument_group("windows")
    grid.add_argument(
        "--window", type=float, default=DEFAULT_WINDOW_S, help="window length, s (default 10)"
    )
    grid.add_argument(
        "--hop", type=float, default=DEFAULT_HOP_S, help="hop between windows, s (default 5)"
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
        "--threshold",
        type=float,
        default=defaults.threshold,
        help="probability to start a highlight (default 0.5)",
    )
    found.add_argument(
        "--min-duration",
        type=float,
        default=defaults.min_duration_s,
        help="shortest highlight kept, s (default 0)",
    )
    found.add_argument(
        "--merge-gap",
        type=float,
        default=defaults.merge_gap_s,
        help="join highlights of a label closer than this, s (default 5)",
    )
    found.add_argument(
        "--smoothing",
        type=float,
        default=defaults.smoothing_s,
        help="moving average over the timeline, s (default 0: none)",
    )
    found.add_argument("--top-k", type=int, help="keep the N best highlights over all labels")
    out = analyze.add_argument_group("exports")
    out.add_argument("--out", type=Path, help="output folder (default ./hypeline-out/<source>/)")
    out.add_argument(
        "--formats",
        default=",".join(FORMATS),
        help=f"comma-separated, from {','.join(FORMATS)} (default all)",
    )
    out.add_argument("--clips", action="store_true", help="also cut one media clip per highlight")
    out.add_argument(
        "--clip-padding", type=float, default=1.0, help="seconds added around each clip (default 1)"
    )
    out.add_argument(
        "--fps", type=float, help="frame rate for EDL/FCPXML (default: the video's, else 30)"
    )
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
    _add_model_args(analyze)
    analyze.set_defaults(func=_analyze)

    serve = commands.add_parser(
        "serve",
        help="the HTTP API (FastAPI; OpenAPI docs at /docs)",
        description="Serve classify, match and analyses over HTTP, with one model loaded once.",
    )
    serve.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to bind (default {DEFAULT_HOST}; any other needs an API key)",
    )
    serve.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
    )
    serve.add_argument(
        "--api-key", help="required as 'Authorization: Bearer KEY' (default: $HYPELINE_API_KEY)"
    )
    serve.add_argument(
        "--media-root",
        action="append",
        metavar="FOLDER",
        help="a folder whose files clients may analyse by path (repeatable; default none)",
    )
    serve.add_argument(
        "--allow-private-urls",
        action="store_true",
        help="let links reach loopback, private and link-local addresses (refused by default)",
    )
    limits = serve.add_argument_group("limits")
    limits.add_argument(
        "--max-upload-mb",
        type=float,
        default=MAX_UPLOAD_BYTES / 2**20,
        help=f"largest clip upload, MB (default {MAX_UPLOAD_BYTES // 2**20})",
    )
    limits.add_argument(
        "--max-labels",
        type=int,
        default=MAX_LABELS,
        help=f"labels per request (default {MAX_LABELS})",
    )
    limits.add_argument(
        "--max-jobs",
        type=int,
        default=MAX_JOBS,
        help=f"analyses queued or running at once (default {MAX_JOBS})",
    )
    limits.add_argument(
        "--max-batch",
        type=int,
        default=MAX_BATCH,
        help="clips per forward pass when requests arrive together; 1 turns "
        f"micro-batching off (default {MAX_BATCH})",
    )
    serve.add_argument("--log-level", default="info", help="uvicorn's log level (default info)")
    _add_model_args(serve)
    serve.set_defaults(func=_serve)
    search.add_parser(commands)
    library.add_parser(commands)
    live.add_parser(commands)
    evaluate.add_parser(commands)
    review.add_parser(commands)
    stats.add_parser(commands)
    return parser


def _classifier(args: argparse.Namespace, template: str = DEFAULT_TEMPLATE):

    return Classifier.load(
        args.model, device=args.device, precision=args.precision, template=template
    )


def _classify(args: argparse.Namespace) -> int:
    from emotion.scoring.prompts import parse_labels

    labels = parse_labels(args.labels)  # bad input fails before the model loads
    check_template(args.template)
    check_file(args.audio)
    result = _classifier(args, args.template).classify(args.audio, labels)
    print(json.dumps(result.to_dict(), ensure_ascii=False))
    return 0


def _match(args: argparse.Namespace) -> int:
    from emotion.scoring.prompts import parse_labels

    (text,) = parse_labels([args.text], what="texts")
    check_file(args.audio)
    similarity = _classifier(args).match(args.audio, text)
    print(json.dumps({"similarity": round(similarity, 4)}))
    return 0


class ProgressBars:
    """One tqdm bar per stage on stderr (hidden when stderr is not a terminal)."""

    def __init__(self) -> None:
        self._bars: dict[str, tqdm] = {}

    def update(self, p: Progress) -> None:
        bar = self._bars.get(p.stage)
        if bar is None:
            bar = self._bars[p.stage] = tqdm(
                total=100, desc=p.stage, unit="%", file=sys.stderr, disable=None,
                bar_format="{desc:>8} {percentage:3.0f}%|{bar:30}| {postfix}",
            )  # fmt: skip
        if p.fraction is not None:
            bar.n = round(100 * p.fraction, 1)
        bar.set_postfix_str(p.message, refresh=True)

    def __enter__(self) -> ProgressBars:
        return self

    def __exit__(self, *exc: object) -> None:
        for bar in self._bars.values():
            bar.close()


def summary(analysis: Analysis, out_dir: Path, written: list[Path]) -> str:
    """The short report on stdout."""
    track = f", audio track {analysis.audio_track}" if analysis.audio_track != 1 else ""
    lines = [
        f"{analysis.source.title} ({clock(analysis.duration_s)}{track}): "
        f"{len(analysis.highlights)} highlight(s) for {', '.join(analysis.labels)}"
    ]
    for h in analysis.highlights:
        lines.append(f"  {clock(h.start_s):>8}–{clock(h.end_s):<8} {h.label}  ({h.score:.2f})")
    if analysis.nonfinite_s > 0:
        lines.append(
            f"Note: {analysis.nonfinite_s:.2f} s of the audio decoded as invalid numbers "
            "(NaN/Inf) and was analysed as silence."
        )
    lines.append(f"Model {analysis.model} ({analysis.precision}).")
    lines.append(f"Wrote {len(written)} file(s) to {out_dir}/")
    return "\n".join(lines)


def _analyze(args: argparse.Namespace) -> int:
    from emotion.analysis import embed_source, score
    from emotion.export import write_exports
    from emotion.library.store import Store
    from emotion.media.sources import open_source, source_identity
    from emotion.model.clap import load_clap
    from emotion.scoring.prompts import check_prompts

    if args.list_tracks:
        return _list_tracks(args.source)
    # Everything the user typed is checked before any download or model load.
    pack = _use_pack(args) if args.pack is not None else None
    if args.labels is None:
        raise HypelineError(
            'Say which moments to find with --labels, e.g. --labels "win celebration, laughter".'
        )
    labels, background = check_prompts(args.labels, args.background)
    check_template(args.template)
    check_grid(args.window, args.hop)
    settings = HighlightSettings(
        threshold=args.threshold,
        min_duration_s=args.min_duration,
        merge_gap_s=args.merge_gap,
        top_k=args.top_k,
        smoothing_s=args.smoothing,
    )
    settings.check()
    formats = parse_formats(args.formats)

    with ProgressBars() as bars:
        clap = load_clap(args.model, device=args.device, precision=args.precision)
        # Before any download: each prompt must fit the checkpoint's text tower.
        prompts = [*labels, *background]
        clap.check_prompts(prompts_for(prompts, args.template), prompts)
        source = open_source(args.source, progress=bars.update)
        track = source.check_track(args.audio_track)
        store = Store()
        record = embed_source(
            clap, store, source, source_identity(source), args.window, args.hop,
            batch_size=args.batch_size, progress=bars.update, audio_track=track,
            wait=not args.no_wait, on_note=_note,
        )  # fmt: skip
        adapter = None
        if args.learn:
            from emotion.scoring.adapt import describe, learn

            extra = pack.examples if pack is not None and pack.model == clap.name else []
            adapter = learn(store, clap, labels, background, args.template, extra)
            for report in adapter.reports:
                _note(f"learned {describe(report)}")
        analysis = score(
            record, store.vectors(record), clap, labels, background, args.template, settings,
            adapter=adapter,
        )  # fmt: skip
        store.set_last_labels(record.id, labels)
        out_dir = args.out or Path("hypeline-out") / slugify(source.title)
        written = write_exports(
            analysis, out_dir, formats, clips=args.clips, clip_padding_s=args.clip_padding,
            fps=args.fps, on_note=_note, progress=bars.update,
        )  # fmt: skip
    print(summary(analysis, out_dir, written))
    return 0


def _use_pack(args: argparse.Namespace):
    """Fill what the command line left at its defaults from ``--pack``; the pack."""
    from emotion.scoring.packs import load_pack

    pack = load_pack(args.pack)
    defaults = HighlightSettings()
    if args.labels is None:
        args.labels = ", ".join(pack.labels)
    if args.background == ", ".join(DEFAULT_BACKGROUND):
        args.background = ", ".join(pack.background)
    if args.template == DEFAULT_TEMPLATE:
        args.template = pack.template
    for arg, name in (("threshold", "threshold"), ("min_duration", "min_duration_s"),
                      ("merge_gap", "merge_gap_s"), ("smoothing", "smoothing_s")):  # fmt: skip
        if getattr(args, arg) == getattr(defaults, name):
            setattr(args, arg, getattr(pack.settings, name))
    if args.top_k is None:
        args.top_k = pack.settings.top_k
    return pack


def _serve(args: argparse.Namespace) -> int:
    # The web stack lives in the service/ package beside the library, imported only here.
    from service.server import serve

    return serve(args)


def _note(note: str) -> None:
    print(f"note: {note}", file=sys.stderr)


def _list_tracks(spec: str) -> int:
    from emotion.media.sources import open_source

    with ProgressBars() as bars:
        source = open_source(spec, progress=bars.update)
    print(f"{source.title}: {len(source.audio_tracks)} audio track(s)")
    for t in source.audio_tracks:
        print(f"  {t.describe()}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except HypelineError as e:
        print(f"hypeline: {e}{_flag_hint(e)}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("hypeline: interrupted; run the same command again to resume.", file=sys.stderr)
        return 130


def _flag_hint(e: HypelineError) -> str:
    """The CLI's own words for the fix the library describes (it never names a flag)."""
    if isinstance(e, ModelNotFoundError):
        return " (--model PATH_OR_ID)"
    if isinstance(e, DeviceError):
        return " (--device cpu)"
    return ""
