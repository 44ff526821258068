"""``hypeline batch``: many VODs (files, folders, a list, a channel) with analyze's options."""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from emotion.batch import CSV_NAME, Done, Outcome, run_batch
from emotion.batch_inputs import expand
from emotion.clock import clock
from emotion.engines import (
    DEFAULT_DECODERS,
    ENGINES,
    LOCAL,
    Tally,
    check_decoders,
    check_engine,
    open_engine,
)
from emotion.export import slugify
from emotion.library.store import Store
from emotion.media.source import Source
from emotion.pipeline import run
from emotion.progress import Progress, ProgressFn
from hypeline_cli import analyze_options
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
    links.add_argument(
        "--keep-media",
        choices=("yes", "no"),
        default="yes",
        help="no: delete each link's download once its VOD is embedded and its exports "
        "written (the analysis stays searchable; analysing the link again downloads it "
        "again); your own files are never deleted (default %(default)s)",
    )
    engines = batch.add_argument_group("engine")
    engines.add_argument(
        "--engine",
        choices=ENGINES,
        default=LOCAL,
        help="local: a few VODs decoded at once feeding this process's model; ray: decoding "
        "as Ray tasks and the model in Ray actors (one per GPU, else per node), this process "
        'writing the library (pip install "hypeline[ray]") (default %(default)s)',
    )
    engines.add_argument(
        "--decoders",
        type=int,
        default=DEFAULT_DECODERS,
        metavar="N",
        help="VODs decoded at once (each its own ffmpeg), per model (default %(default)s; "
        "1: one VOD after another)",
    )
    engines.add_argument(
        "--ray-address",
        metavar="auto|ray://HOST:10001",
        help="the Ray cluster: auto (the one this machine joined with `ray start`) or a Ray "
        "Client address (default: start a local Ray instance on this machine's CPUs)",
    )
    analyze_options.add_options(
        batch,
        out_help="output folder: one sub-folder per VOD and batch.csv (default: ./hypeline-out/)",
    )
    batch.set_defaults(func=run_batch_command)


def run_batch_command(args: argparse.Namespace) -> int:
    # Everything typed is checked before any download or model load.
    pack = analyze_options.use_pack(args) if args.pack is not None else None
    settings = analyze_options.settings_of(args)
    exports = analyze_options.exports_of(args)
    out: Path = args.out or Path.cwd() / "hypeline-out"
    check_engine(args.engine, args.ray_address)
    check_decoders(args.decoders)
    items = expand(args.inputs, limit=args.limit, since=args.since, until=args.until, on_note=note)
    print(f"{len(items)} VOD(s) to analyse", file=sys.stderr)
    cancel = threading.Event()  # set when the batch stops: the VODs in flight stop too
    with ProgressBars() as bars:
        clap = load_model(args)
        examples = pack.examples if pack is not None and pack.model == clap.name else []
        store = Store()

        def folder(source: Source) -> Path:
            return out / slugify(source.title)

        with open_engine(
            args.engine, clap, decoders=args.decoders, address=args.ray_address, on_note=note
        ) as engine:
            lanes = _Lanes(bars.update, engine.lanes)
            batch_size = args.batch_size or engine.batch_size

            def one(spec: str) -> Done:
                tally = Tally(engine.embedder)
                with lanes.progress() as progress:
                    result = run(
                        spec,
                        clap,
                        store,
                        analyze_options.chat_for(settings, args.chat, spec),
                        folder,
                        exports,
                        batch_size=batch_size,
                        examples=examples,
                        progress=progress,
                        cancel=cancel,
                        wait=not args.no_wait,
                        on_note=note,
                        embedder=tally,
                    )
                a = result.analysis
                return Done(
                    a.source.title,
                    a.analysis_id,
                    len(a.window_starts_s),
                    len(a.highlights),
                    tally.windows,
                    a.source.path,
                )

            outcomes = run_batch(
                items,
                one,
                out,
                lanes=engine.lanes,
                cancel=cancel,
                progress=bars.update,
                on_outcome=_said,
                on_note=note,
                store=store,
                keep_media=args.keep_media == "yes",
            )
    print(summary(outcomes, out))
    return 0 if all(o.ok for o in outcomes) else 1


def _said(outcome: Outcome) -> None:
    if not outcome.ok:
        note(f"{outcome.spec}: {outcome.error}")


def summary(outcomes: list[Outcome], out: Path) -> str:
    """The table on stdout: each VOD, its windows (and how many this run embedded: 0 for
    one already in the library), highlights and time, or its error."""
    failed = [o for o in outcomes if not o.ok]
    lines = [
        f"{len(outcomes) - len(failed)} of {len(outcomes)} VOD(s) analysed"
        + (f", {len(failed)} failed" if failed else "")
    ]
    lines.append(
        f"  {'VOD':<40} {'windows':>8} {'embedded':>8} {'highlights':>10} {'time':>8}  error"
    )
    for o in outcomes:
        name = (o.title or o.spec)[-40:]
        if o.ok:
            lines.append(
                f"  {name:<40} {o.windows:>8} {o.embedded:>8} {o.highlights:>10} "
                f"{clock(o.seconds):>8}"
            )
        else:
            lines.append(f"  {name:<40} {'':>8} {'':>8} {'':>10} {clock(o.seconds):>8}  {o.error}")
    if removed := [o for o in outcomes if o.removed_bytes]:
        freed_mb = sum(o.removed_bytes for o in removed) / 1e6
        lines.append(
            f"Deleted the downloads of {len(removed)} VOD(s) ({freed_mb:.1f} MB); "
            "their analyses stay in the library"
        )
    lines.append(f"Wrote {out / CSV_NAME}")
    return "\n".join(lines)


class _Lanes:
    """Each VOD in flight gets its own progress bars (``embed 2``…) while several run at
    once: the lowest number free when it starts. One lane keeps the plain names."""

    def __init__(self, update: ProgressFn, lanes: int) -> None:
        self._update, self._lanes = update, lanes
        self._free = list(range(1, lanes + 1))
        self._guard = threading.Lock()

    @contextlib.contextmanager
    def progress(self) -> Iterator[ProgressFn]:
        if self._lanes <= 1:
            yield self._update
            return
        with self._guard:
            number = self._free.pop(0)

        def update(p: Progress) -> None:
            self._update(Progress(f"{p.stage} {number}", p.fraction, p.message, p.eta_s))

        try:
            yield update
        finally:
            with self._guard:
                self._free.append(number)
                self._free.sort()
