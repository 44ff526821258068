"""Clock strings for people: one home for how Hypeline writes a time of day in a VOD.

``clock`` is the short form every face shows (tables, timelines, progress, chapters);
``clock_ms`` adds the milliseconds where a file needs them (the CSV's readable columns).
"""

from __future__ import annotations

import math

from emotion.errors import HypelineError


def split_ms(seconds: float) -> tuple[int, int, int, int]:
    """``(hours, minutes, seconds, milliseconds)``, rounded to the millisecond (never < 0)."""
    total_ms = max(0, round(seconds * 1000))
    s, ms = divmod(total_ms, 1000)
    m, s = divmod(s, 60)
    h, m = divmod(m, 60)
    return h, m, s, ms


def clock(seconds: float, hours: bool = False) -> str:
    """``m:ss``, or ``h:mm:ss`` from one hour on, to the whole second: ``0:00``, ``1:02:03``.

    ``hours=True`` always writes the hours (``0:01:05``), so that times across VODs of any
    length line up in a table.
    """
    m, s = divmod(max(0, round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h or hours else f"{m}:{s:02d}"


def clock_ms(seconds: float) -> str:
    """``h:mm:ss.mmm``, e.g. ``0:01:05.250``."""
    h, m, s, ms = split_ms(seconds)
    return f"{h}:{m:02d}:{s:02d}.{ms:03d}"


def parse_clock(text: str) -> float:
    """``"1:02:03"``, ``"2:03"``, ``"123"`` or ``"83.5"`` → seconds; anything else is refused."""
    parts = text.strip().split(":")
    try:
        if not 1 <= len(parts) <= 3 or any(not p.strip() or "-" in p for p in parts):
            raise ValueError(text)
        *whole, last = parts
        seconds = float(last)
        minutes = [int(part) for part in whole]
        # Past the first field, minutes and seconds stay under 60 ("1:75" is a typo).
        if whole and (seconds >= 60 or any(m >= 60 for m in minutes[1:])):
            raise ValueError(text)
        for i, part in enumerate(reversed(minutes)):
            seconds += part * 60 ** (i + 1)
        if seconds < 0 or not math.isfinite(seconds):
            raise ValueError(text)
    except ValueError:
        raise HypelineError(
            f"{text.strip()!r} is not a time; give it as h:mm:ss, m:ss or seconds, e.g. 1:02:03."
        ) from None
    return seconds
