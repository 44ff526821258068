"""``python -m emotion search``: the best moments of the whole library for a text or an example."""

from __future__ import annotations

import argparse
import json
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from emotion.clock import clock
from emotion.errors import SearchError
from emotion.library.store import Store
from emotion.scoring.prompts import DEFAULT_TEMPLATE, check_template
from emotion.search import (
    DEFAULT_MIN_SCORE,
    DEFAULT_TOP,
    MAX_TOP,
    Hit,
    Query,
    clip_query,
    moment_query,
    parse_moment,
    search,
    text_query,
)
from hypeline_cli.common import add_model_args, load_model


def add_parser(commands: argparse._SubParsersAction) -> None:

    parser = commands.add_parser(
        "search",
        help="the best-matching moments over every analysed VOD, for a text or an example",
        description="Search every analysis in the library made with the model for a text, a "
        "clip, or a moment already in the library.",
    )
    parser.add_argument("query", nargs="?", help='what the moment sounds like, e.g. "a siren"')
    parser.add_argument(
        "--like",
        metavar="FILE|ID@H:MM:SS",
        help="search by example: an audio/video clip, or a moment of an analysis "
        "(its id and a time, e.g. 3@1:23:45)",
    )
    parser.add_argument(
        "--vod", type=int, action="append", metavar="ID", help="only this analysis (repeatable)"
    )
    parser.add_argument("--since", metavar="YYYY-MM-DD", help="only VODs aired on or after")
    parser.add_argument("--until", metavar="YYYY-MM-DD", help="only VODs aired on or before")
    parser.add_argument(
        "--top", type=int, default=DEFAULT_TOP, help=f"how many moments (default {DEFAULT_TOP})"
    )
    parser.add_argument(
        "--template", default=DEFAULT_TEMPLATE, help="prompt template for a text query"
    )
    parser.add_argument(
        "--min-score",
        type=float,
        default=DEFAULT_MIN_SCORE,
        help="leave out moments whose best cosine is lower (default "
        f"{DEFAULT_MIN_SCORE:g}: below it, less like the query than unrelated sound)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    add_model_args(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Everything typed is checked before the model loads.
    if (args.query is None) == (args.like is None):
        raise SearchError(
            "Give a text to search for, or --like with a clip or a moment (e.g. --like 3@1:23:45), "
            "not both."
        )
    if not 1 <= args.top <= MAX_TOP:
        raise SearchError(f"--top must be between 1 and {MAX_TOP}.")
    check_template(args.template)
    since_s = _day(args.since, "--since")
    until_s = _day(args.until, "--until", end=True)
    moment = None
    if args.like is not None and not Path(args.like).exists() and "@" in args.like:
        moment = parse_moment(args.like)
    elif args.like is not None and not Path(args.like).is_file():
        raise SearchError(
            f"{args.like} is neither a file nor a moment; give a clip's path, or an analysis "
            "id and a time like 3@1:23:45."
        )

    store = Store()
    query: Query
    if moment is not None:
        # A stored moment needs no model: its vectors are already in the library.
        query = moment_query(store, *moment)
        models = [store.analysis(moment[0]).model]
    else:
        clap = load_model(args)
        if args.like is not None:
            query = clip_query(clap, Path(args.like))
        else:
            query = text_query(clap, args.query, args.template)
        models = [clap.name]
    hits = search(
        store, query, models, args.vod, since_s, until_s, args.top, min_score=args.min_score
    )
    if args.json:
        for hit in hits:
            print(json.dumps(hit.to_dict(), ensure_ascii=False))
    else:
        print(table(hits, query.description))
    return 0


def table(hits: list[Hit], description: str) -> str:
    """The default output: one line per moment, times as h:mm:ss."""
    lines = [
        f"{len(hits)} moment(s) for {description!r}",
        "  #  score   start     end      id  title",
    ]
    for rank, hit in enumerate(hits, 1):
        lines.append(
            f"{rank:>3}  {hit.score:.3f}  {clock(hit.start_s, hours=True):>7}  "
            f"{clock(hit.end_s, hours=True):>7}  {hit.analysis_id:>4}  {hit.title}"
        )
    return "\n".join(lines)


def _day(text: str | None, flag: str, end: bool = False) -> float | None:
    """A local calendar day → epoch seconds of its start (or of its end, for ``end``)."""
    if text is None:
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise SearchError(f"{flag} {text!r} is not a date; write it as YYYY-MM-DD.") from None
    start = datetime(day.year, day.month, day.day)
    if end:
        start += timedelta(days=1)
    return time.mktime(start.timetuple()) - (1e-3 if end else 0.0)
