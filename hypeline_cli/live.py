"""``python -m emotion live``: follow a stream, print alerts as JSON lines, export at the end."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from emotion.analysis import DEFAULT_WINDOW_S
from emotion.chat.lag import LAG_DEFAULT_S
from emotion.clock import clock
from emotion.errors import HypelineError
from emotion.export import FORMATS, parse_formats, slugify
from emotion.live.alerts import Alert, AlertSettings
from emotion.live.chat import ChatSettings
from emotion.live.ingest import FAILED, GAVE_UP
from emotion.live.settings import DEFAULT_HOP_S, LiveSettings
from emotion.live.target import NotLiveError, check_target
from emotion.live.webhooks import SIGNATURE_HEADER, check_webhook
from emotion.media.source import is_link
from emotion.scoring.keywords import DEFAULT_KEYWORDS, MAX_KEYWORDS
from emotion.scoring.prompts import DEFAULT_BACKGROUND, DEFAULT_TEMPLATE
from hypeline_cli.analyze_options import keywords_of
from hypeline_cli.common import add_model_args

if TYPE_CHECKING:
    from emotion.live.monitor import Monitor

_print_lock = threading.Lock()


def add_parser(commands: argparse._SubParsersAction) -> None:

    live = commands.add_parser(
        "live",
        help="follow a live stream: alerts as JSON lines, exports when it ends",
        description="Follow a live stream as it happens: one JSON line per alert on stdout, "
        "status on stderr; when it ends (or on Ctrl-C) the analysis is finished and exported "
        "like analyze's.",
    )
    live.add_argument(
        "source",
        help="live channel/stream URL (anything yt-dlp resolves), an HLS .m3u8 URL, or a local "
        "media file with --realtime",
    )
    live.add_argument(
        "--labels", help='moments to alert on, e.g. "cheering crowd, scream" (required)'
    )
    live.add_argument(
        "--background",
        default=", ".join(DEFAULT_BACKGROUND),
        help=f'scored but never alerted on (default "{", ".join(DEFAULT_BACKGROUND)}"; "" for none)',
    )
    live.add_argument("--template", default=DEFAULT_TEMPLATE, help="prompt template (see classify)")
    live.add_argument(
        "--window",
        type=float,
        default=DEFAULT_WINDOW_S,
        help="window length, s (default %(default)s)",
    )
    live.add_argument(
        "--hop",
        type=float,
        default=DEFAULT_HOP_S,
        help="hop between windows, s (default %(default)s)",
    )
    alerts = AlertSettings()
    live.add_argument(
        "--threshold",
        type=float,
        default=alerts.threshold,
        help="probability that fires an alert (default %(default)s)",
    )
    live.add_argument(
        "--cooldown",
        type=float,
        default=alerts.cooldown_s,
        help="at most one alert per label per this many seconds (default %(default)s)",
    )
    live.add_argument(
        "--webhook",
        action="append",
        default=[],
        metavar="URL",
        help="POST each alert here (repeatable); a Discord webhook URL gets Discord's format",
    )
    live.add_argument(
        "--webhook-secret",
        help=f"sign each webhook body: header {SIGNATURE_HEADER}: sha256=HMAC-SHA256(secret, body)",
    )
    live.add_argument(
        "--chat",
        metavar="twitch[:CHANNEL]",
        help="read the channel's Twitch chat (read-only, anonymous) and add its answer to each "
        "alert; the channel comes from a twitch.tv/<channel> link, else name it: twitch:CHANNEL. "
        "With chat, an alert is sent once chat has had its time to answer (the lag + 10 s)",
    )
    live.add_argument(
        "--chat-lag",
        type=float,
        default=LAG_DEFAULT_S,
        metavar="S",
        help="chat's answer to an alert is its 10 s starting this long after the moment "
        "(default %(default)s)",
    )
    live.add_argument(
        "--alert-needs-chat",
        type=float,
        metavar="X",
        help="alert only when chat ran at least X times its usual rate in that span "
        "(default: off; an alert whose chat was not read is sent)",
    )
    live.add_argument(
        "--chat-keywords",
        metavar="LIST",
        help="the emotes, words and two-word phrases counted in chat, as analyze's "
        f'--chat-keywords, e.g. "KEKW, catJAM" (at most {MAX_KEYWORDS}; default: '
        f"{', '.join(DEFAULT_KEYWORDS)})",
    )
    live.add_argument(
        "--realtime", action="store_true", help="read a local file at 1× speed, as if live"
    )
    live.add_argument(
        "--give-up-after",
        type=float,
        default=LiveSettings.give_up_after_s,
        metavar="S",
        help="stop when no audio came for this long although retried (default %(default)s)",
    )
    live.add_argument(
        "--no-record",
        action="store_true",
        help="do not keep the stream's audio (no clips afterwards)",
    )
    live.add_argument(
        "--out", type=Path, help="output folder for the exports (default ./hypeline-out/<stream>/)"
    )
    live.add_argument(
        "--formats",
        default=",".join(FORMATS),
        help=f"exports, from {','.join(FORMATS)} (default all)",
    )
    add_model_args(live)
    live.set_defaults(func=_live)


def _live(args: argparse.Namespace) -> int:
    if args.labels is None:
        raise HypelineError(
            'Say which moments to alert on with --labels, e.g. --labels "cheering, scream".'
        )
    chat = _chat_settings(args)
    # the monitor and the model import torch (seconds): only when a stream is followed
    from emotion.export import write_exports
    from emotion.library.store import Store
    from emotion.live.monitor import Monitor
    from emotion.model.batcher import Batcher
    from emotion.model.clap import load_clap

    settings = LiveSettings.build(
        args.labels,
        args.background,
        template=args.template,
        window_s=args.window,
        hop_s=args.hop,
        threshold=args.threshold,
        cooldown_s=args.cooldown,
        give_up_after_s=args.give_up_after,
        realtime=args.realtime,
        record=not args.no_record,
        webhooks=[check_webhook(u) for u in args.webhook],
        webhook_secret=args.webhook_secret,
        chat=chat,
    )
    formats = parse_formats(args.formats)
    # The source is looked at before the model loads: unreachable, not live or not media
    # ends here in one sentence, with nothing written.
    if not is_link(args.source) and not args.realtime and Path(args.source).expanduser().is_file():
        raise HypelineError(
            f"{args.source} is a file, not a live stream; add --realtime to follow it at 1× "
            "speed as if live, or use `python -m emotion analyze` to analyse it at full speed."
        )
    try:
        target = check_target(args.source, args.realtime)
    except NotLiveError as e:
        raise HypelineError(f"{str(e).rstrip('.')}: use `python -m emotion analyze SOURCE`.") from e
    clap = load_clap(args.model, device=args.device, precision=args.precision)
    monitor = Monitor(
        args.source,
        settings,
        Batcher(clap),
        Store(),
        on_alert=_print_alert,
        on_status=_status,
        on_note=_note,
        target=target,
    )
    _stop_on_signals(monitor)
    monitor.start()
    while not monitor.join(0.5):
        pass
    if monitor.state == FAILED:
        raise HypelineError(monitor.error or "The monitor failed.")
    analysis = monitor.analysis()
    if analysis is None:
        raise HypelineError(
            f"No audio came from {args.source} ({monitor.message}); nothing was analysed. "
            "Check that the stream is live."
        )
    out_dir = args.out or Path("hypeline-out") / slugify(analysis.source.title)
    written = write_exports(analysis, out_dir, formats, on_note=_note)
    gaps = f", {len(monitor.gaps)} gap(s)" if monitor.gaps else ""
    heard = ""
    if chat is not None and monitor.chat is not None:
        heard = f", {monitor.chat.n_messages} chat message(s) from #{chat.channel}"
    print(
        f"hypeline: {monitor.message}; analysis {analysis.analysis_id} finished "
        f"({clock(analysis.duration_s)}{gaps}, {monitor.n_alerts} alert(s){heard}); "
        f"wrote {len(written)} file(s) to {out_dir}/",
        file=sys.stderr,
    )
    if monitor.state == GAVE_UP:
        print(
            "hypeline: gave up waiting for audio; what was heard is kept and exported.",
            file=sys.stderr,
        )
    return 0


def _chat_settings(args: argparse.Namespace) -> ChatSettings | None:
    """``--chat twitch`` (the channel of a twitch.tv link) or ``--chat twitch:CHANNEL``."""
    if args.chat is None:
        if args.alert_needs_chat is not None:
            raise HypelineError("--alert-needs-chat judges the chat's answer; add --chat twitch.")
        if args.chat_keywords is not None:
            raise HypelineError("--chat-keywords are counted in chat; add --chat twitch.")
        return None
    return ChatSettings.of(
        args.chat,
        args.source,
        args.chat_lag,
        args.alert_needs_chat,
        keywords_of(args),
        option="--chat {}",
    )


def _stop_on_signals(monitor: Monitor) -> None:
    """Ctrl-C and SIGTERM stop the monitor, which finishes and exports what it heard."""

    def handler(signum: int, frame: FrameType | None) -> None:
        if monitor.stopping:  # a second Ctrl-C: leave now, resumable later
            raise KeyboardInterrupt
        _status("stopping", "finishing the analysis (Ctrl-C again to leave it resumable)")
        monitor.stop()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def _print_alert(alert: Alert) -> None:
    with _print_lock:
        print(json.dumps(alert.to_dict(), ensure_ascii=False), flush=True)


def _status(state: str, message: str) -> None:
    with _print_lock:
        print(f"hypeline: [{state}] {message}", file=sys.stderr, flush=True)


def _note(note: str) -> None:
    with _print_lock:
        print(f"note: {note}", file=sys.stderr, flush=True)
