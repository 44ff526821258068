"""The small time helpers the writers share: SRT times, frame rates, timecode, rationals.

Clock strings for people live in ``emotion/clock.py``.
"""

from __future__ import annotations

import math
from fractions import Fraction

from emotion.analysis import Analysis
from emotion.clock import split_ms
from emotion.scoring.highlights import Highlight

DEFAULT_FPS = 30.0  # for editors' timelines when the source has no video (or an unknown rate)


def by_start(highlights: list[Highlight]) -> list[Highlight]:
    """Highlights in time order (ties: the longer first, then by label) for every time-based file."""
    return sorted(highlights, key=lambda h: (h.start_s, -h.end_s, h.label))


def media_duration_s(analysis: Analysis) -> float:
    """The VOD's length: the decoded audio's (exact), else the container's, else the last window's end."""
    if analysis.duration_s:
        return float(analysis.duration_s)
    if analysis.source.duration_s:
        return float(analysis.source.duration_s)
    ends = [h.end_s for h in analysis.highlights]
    if len(analysis.window_starts_s):
        ends.append(float(analysis.window_starts_s[-1]) + analysis.window_s)
    return max(ends, default=0.0)


def srt_time(seconds: float) -> str:
    """``HH:MM:SS,mmm``, e.g. ``00:01:05,250``."""
    h, m, s, ms = split_ms(seconds)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def slug_time(seconds: float) -> str:
    """``h-mm-ss`` for file names, e.g. ``0-01-05`` (whole seconds, rounded down)."""
    m, s = divmod(math.floor(max(0.0, seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}-{m:02d}-{s:02d}"


def fps_of(analysis: Analysis) -> float:
    """The frame rate for editors' files: the source video's, else ``DEFAULT_FPS``."""
    fps = analysis.source.fps
    return float(fps) if fps and fps > 0 else DEFAULT_FPS


def frame_duration(fps: float) -> Fraction:
    """One frame as an exact fraction of a second: 25 → 1/25, 29.97 → 1001/30000."""
    nominal = round(fps)
    if abs(fps - nominal) < 0.005:
        return Fraction(1, nominal)
    ntsc = round(fps * 1.001)  # 23.976, 29.97, 59.94... are n*1000/1001
    if abs(fps - ntsc * 1000 / 1001) < 0.005:
        return Fraction(1001, ntsc * 1000)
    return 1 / Fraction(fps).limit_denominator(1000)


def to_frames(seconds: float, frame: Fraction) -> int:
    """The nearest whole frame to ``seconds`` at frames of ``frame`` seconds."""
    return max(0, round(Fraction(seconds) / frame))


def timecode(frames: int, timebase: int) -> str:
    """Non-drop-frame ``HH:MM:SS:FF`` of a frame count at an integer timebase (30 for 29.97)."""
    seconds, ff = divmod(frames, timebase)
    m, s = divmod(seconds, 60)
    h, m = divmod(m, 60)
    return f"{h:02d}:{m:02d}:{s:02d}:{ff:02d}"


def rational(seconds: Fraction) -> str:
    """FCPXML time: ``0s``, ``12s``, ``1001/30000s``."""
    if seconds == 0:
        return "0s"
    if seconds.denominator == 1:
        return f"{seconds.numerator}s"
    return f"{seconds.numerator}/{seconds.denominator}s"


def from_rational(value: str) -> Fraction:
    """Parse an FCPXML time (``0s``, ``12s``, ``1001/30000s``) back to seconds."""
    return Fraction(value.removesuffix("s"))
