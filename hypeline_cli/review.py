"""``python -m emotion review ANALYSIS_ID``: keep, reject or trim moments of a label.

Picks are stored in the library with their time span, which names the window embeddings
they stand for; ``analyze --learn`` and the dashboard's "Learn from my picks" learn from
every pick of the library. A trim (``--trim 1:20=-2,+3``) moves the edges of the highlight
found at that start, and every export of the analysis has the trimmed times.
"""

from __future__ import annotations

import argparse
import re

from emotion.clock import clock
from emotion.errors import HypelineError
from emotion.library.records import MAX_TRIM_S, Trim, review_key
from emotion.library.store import Store

_TIME = r"(?:\d+(?::[0-5]?\d){0,2}(?:\.\d+)?)"
_SPAN = re.compile(rf"^\s*({_TIME})\s*(?:-\s*({_TIME}))?\s*$")
_SHIFT = r"(?:[+-]?\d+(?:\.\d+)?)"
_TRIM = re.compile(rf"^\s*({_TIME})\s*=\s*({_SHIFT})\s*,\s*({_SHIFT})\s*$")


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "review",
        help="keep or reject moments of an analysis (picks to learn from)",
        description="Store kept and rejected moments of a label in the library. Times are "
        "h:mm:ss, m:ss or seconds, optionally a span (1:20-1:35); a moment without an end is "
        "one window long. With no --keep or --reject, prints the analysis's picks.",
    )
    parser.add_argument("analysis_id", type=int, help="the analysis (see the dashboard or API)")
    parser.add_argument("--label", help="the moment's label, e.g. laughter")
    parser.add_argument(
        "--keep", action="append", default=[], metavar="TIME", help="a moment to keep (repeatable)"
    )
    parser.add_argument(
        "--reject",
        action="append",
        default=[],
        metavar="TIME",
        help="a moment to reject (repeatable)",
    )
    parser.add_argument(
        "--trim",
        action="append",
        default=[],
        metavar="START=IN,OUT",
        help=f"move the edges of the highlight starting at START by IN and OUT seconds "
        f"(negative: earlier; at most {MAX_TRIM_S:g} s each), e.g. 1:20=-2,+3; 1:20=0,0 undoes "
        "it (repeatable)",
    )
    parser.set_defaults(func=_review)


def parse_span(text: str) -> tuple[float, float | None]:
    """``"1:20"`` → (80, None); ``"1:20-1:35"`` → (80, 95); seconds are accepted too."""
    match = _SPAN.match(text)
    if match is None:
        raise HypelineError(
            f"{text!r} is not a time; write it as m:ss, h:mm:ss or seconds (or a span, 1:20-1:35)."
        )
    start_s = _seconds(match.group(1))
    end_s = None if match.group(2) is None else _seconds(match.group(2))
    if end_s is not None and end_s <= start_s:
        raise HypelineError(f"The span {text!r} ends before it starts; give start-end.")
    return start_s, end_s


def parse_trim(text: str) -> tuple[float, Trim]:
    """``"1:20=-2,+3"`` → (80, Trim(-2, 3)): the highlight's start as found, and the trim."""
    match = _TRIM.match(text)
    if match is None:
        raise HypelineError(
            f"{text!r} is not a trim; write the highlight's start, then how far to move its "
            "start and end in seconds, e.g. 1:20=-2,+3."
        )
    return _seconds(match.group(1)), Trim(float(match.group(2)), float(match.group(3))).check()


def _seconds(text: str) -> float:
    total = 0.0
    for part in text.split(":"):
        total = total * 60 + float(part)
    return total


def _review(args: argparse.Namespace) -> int:
    keep = [parse_span(t) for part in args.keep for t in part.split(",")]
    reject = [parse_span(t) for part in args.reject for t in part.split(",")]
    trims = [parse_trim(t) for t in args.trim]
    if (keep or reject or trims) and not args.label:
        raise HypelineError('Say which label the moments are of with --label, e.g. "laughter".')
    store = Store()
    try:
        record = store.analysis(args.analysis_id)
    except KeyError:
        raise HypelineError(
            f"There is no analysis {args.analysis_id} in the library; check the number."
        ) from None
    length_s = record.duration_s or record.n_done * record.hop_s
    for start_s, _end_s in [*keep, *reject, *((t, None) for t, _ in trims)]:
        if start_s >= length_s:
            raise HypelineError(
                f"{clock(start_s)} is past the end of {record.title} ({clock(length_s)}); "
                "check the time."
            )
    for spans, accepted in ((keep, True), (reject, False)):
        for start_s, end_s in spans:
            store.set_review(record.id, args.label, start_s, accepted, end_s=end_s)
    stored = [p for p in store.all_reviews() if p.analysis_id == record.id]
    ends = {review_key(p.label, p.start_s): p.end_s for p in stored}
    for start_s, trim in trims:  # checked against the moment's span where the library has it
        store.set_trim(
            record.id, args.label, start_s, trim, ends.get(review_key(args.label, start_s))
        )
    print(f"{record.title}: {len(stored)} pick(s)")
    for p in stored:
        end = f"–{clock(p.end_s)}" if p.end_s is not None else ""
        print(f"  {'keep  ' if p.kept else 'reject'} {p.label}  {clock(p.start_s)}{end}")
    for (label, start_s), trim in sorted(store.trims(record.id).items()):
        print(
            f"  trim   {label}  {clock(start_s)}: start {trim.start_shift_s:+g} s, "
            f"end {trim.end_shift_s:+g} s"
        )
    return 0
