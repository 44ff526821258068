"""The time helpers the export formats share."""

from __future__ import annotations

from fractions import Fraction

import pytest

from emotion.clock import clock, clock_ms
from emotion.export.timefmt import (
    frame_duration,
    from_rational,
    rational,
    slug_time,
    srt_time,
    timecode,
    to_frames,
)


def test_clock_strings() -> None:
    assert clock_ms(65.25) == "0:01:05.250"
    assert clock_ms(3723.0004) == "1:02:03.000"
    assert clock_ms(59.9996) == "0:01:00.000"  # rounds to the ms, carrying into the minute
    assert srt_time(65.25) == "00:01:05,250"
    assert srt_time(36000.5) == "10:00:00,500"
    assert clock(0) == "0:00" and clock(754) == "12:34" and clock(3723) == "1:02:03"
    # Tables across VODs always show the hours, so their columns line up.
    assert clock(65, hours=True) == "0:01:05" and clock(3723, hours=True) == "1:02:03"
    assert clock(59.6) == "1:00" and clock(3599.5) == "1:00:00"  # whole seconds, carried
    assert slug_time(65.9) == "0-01-05" and slug_time(3723) == "1-02-03"


@pytest.mark.parametrize(
    ("fps", "frame"),
    [
        (25.0, Fraction(1, 25)),
        (30.0, Fraction(1, 30)),
        (29.97, Fraction(1001, 30000)),
        (29.97002997, Fraction(1001, 30000)),
        (23.976, Fraction(1001, 24000)),
        (59.94, Fraction(1001, 60000)),
        (60.0, Fraction(1, 60)),
        (12.5, Fraction(2, 25)),
    ],
)
def test_frame_duration(fps: float, frame: Fraction) -> None:
    assert frame_duration(fps) == frame


def test_timecode_and_frames() -> None:
    assert to_frames(10.0, Fraction(1, 25)) == 250
    assert to_frames(12.52, Fraction(1, 25)) == 313
    assert timecode(313, 25) == "00:00:12:13"
    assert timecode(30 * 3600 + 1, 30) == "01:00:00:01"
    assert to_frames(3600.0, Fraction(1001, 30000)) == 107892  # 29.97 NDF drifts behind
    assert timecode(107892, 30) == "00:59:56:12"


def test_rational_round_trip() -> None:
    assert rational(Fraction(0)) == "0s"
    assert rational(Fraction(12)) == "12s"
    assert rational(300 * Fraction(1001, 30000)) == "1001/100s"
    assert rational(Fraction(1001, 30000)) == "1001/30000s"
    for value in ("0s", "12s", "1001/30000s"):
        assert rational(from_rational(value)) == value
