"""YouTube chapters: valid by YouTube's rules, or the nearest valid list with a note."""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from emotion.analysis import Analysis
from emotion.export import chapters
from emotion.media.source import Source
from emotion.scoring.highlights import Highlight

LINE = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d\d) (\S.*)$")


def parse(text: str) -> list[tuple[int, str]]:
    """``[(start_s, title)]`` from chapters.txt; fails on a line YouTube would not read."""
    out = []
    for line in text.splitlines():
        m = LINE.match(line)
        assert m, f"not a chapter line: {line!r}"
        h, mnt, s, title = m.groups()
        assert int(s) < 60 and (h is None or int(mnt) < 60)
        out.append((int(h or 0) * 3600 + int(mnt) * 60 + int(s), title))
    return out


def problems(text: str, duration_s: float) -> list[str]:
    """What YouTube would reject the list for (it then ignores all of it)."""
    found = []
    marks = parse(text)
    if not marks or text.splitlines()[0].split(" ")[0] != "0:00":
        found.append("first line is not 0:00")
    if len(marks) < 3:
        found.append("fewer than 3 chapters")
    starts = [t for t, _ in marks] + [duration_s]
    if any(b <= a for a, b in pairwise(starts)):
        found.append("not ascending")
    if any(b - a < 10 for a, b in pairwise(starts)):
        found.append("a chapter shorter than 10 s")
    return found


def analysis_of(duration_s: float, highlights: list[Highlight], title: str = "VOD") -> Analysis:
    return Analysis(
        source=Source(Path("vod.mp4"), title, duration_s),
        model="m",
        window_s=10.0,
        hop_s=5.0,
        template="{}",
        labels=["win", "laugh"],
        background=["quiet"],
        window_starts_s=np.zeros(0),
        scores=np.zeros((0, 3), dtype=np.float32),
        highlights=highlights,
    )


def write(
    tmp_path: Path, duration_s: float, highlights: list[Highlight], title: str = "VOD"
) -> tuple[str, list[str]]:
    path = tmp_path / "chapters.txt"
    notes = chapters.write(analysis_of(duration_s, highlights, title), path)
    return path.read_text(encoding="utf-8"), notes


def hl(label: str, start_s: float, end_s: float) -> Highlight:
    return Highlight(label, start_s, end_s, start_s, 0.9)


def test_the_validator_catches_each_rule() -> None:
    assert problems("0:00 a\n0:10 b\n0:20 c\n", 30) == []
    assert problems("0:05 a\n0:15 b\n0:25 c\n", 40) == ["first line is not 0:00"]
    assert problems("0:00 a\n0:10 b\n", 30) == ["fewer than 3 chapters"]
    assert "not ascending" in problems("0:00 a\n0:30 b\n0:20 c\n", 60)
    assert problems("0:00 a\n0:10 b\n0:15 c\n", 60) == ["a chapter shorter than 10 s"]
    assert problems("0:00 a\n0:10 b\n0:20 c\n", 25) == ["a chapter shorter than 10 s"]


def test_one_chapter_per_highlight_with_quiet_stretches_between(tmp_path: Path) -> None:
    text, notes = write(
        tmp_path, 120, [hl("laugh", 60, 64), hl("win", 12.7, 18), hl("win", 35, 45)]
    )
    assert parse(text) == [
        (0, "Intro"),
        (12, "win"),  # rounded down: the chapter starts just before the moment
        (22, "VOD"),  # the highlight ends at 18 s, but a chapter lasts at least 10 s
        (35, "win"),
        (45, "VOD"),
        (60, "laugh"),
        (70, "VOD"),
    ]
    assert problems(text, 120) == [] and notes == []


def test_the_stretches_between_are_named_for_the_vod_else_stream(tmp_path: Path) -> None:
    # YouTube shows every chapter's title: a stretch between highlights carries the VOD's.
    text, _ = write(tmp_path, 60, [hl("win", 20, 22)], title="Friday  night\nracing")
    assert parse(text) == [(0, "Intro"), (20, "win"), (30, "Friday night racing")]
    text, _ = write(tmp_path, 60, [hl("win", 50, 55)], title="  ")
    assert parse(text) == [(0, "Intro"), (25, "Stream"), (50, "win")]
    assert problems(text, 60) == []


def test_highlights_4_s_apart_are_merged(tmp_path: Path) -> None:
    text, notes = write(tmp_path, 60, [hl("win", 20, 22), hl("laugh", 24, 27)])
    assert parse(text) == [(0, "Intro"), (20, "win / laugh"), (30, "VOD")]
    assert problems(text, 60) == []
    assert len(notes) == 1 and "merged" in notes[0]


def test_a_single_late_highlight_is_padded_to_three_chapters(tmp_path: Path) -> None:
    text, notes = write(tmp_path, 60, [hl("win", 50, 55)])
    assert parse(text) == [(0, "Intro"), (25, "VOD"), (50, "win")]
    assert problems(text, 60) == []
    assert len(notes) == 1 and "Added 1 neutral chapter" in notes[0]


def test_an_early_highlight_opens_the_list(tmp_path: Path) -> None:
    text, notes = write(tmp_path, 45, [hl("win", 4, 8)])
    assert parse(text)[0] == (0, "win")
    assert problems(text, 45) == [] and len(notes) == 1


def test_a_highlight_in_the_last_10_s_starts_its_chapter_10_s_before_the_end(
    tmp_path: Path,
) -> None:
    text, notes = write(tmp_path, 100, [hl("win", 30, 35), hl("laugh", 95, 99)])
    assert parse(text)[-1] == (90, "laugh")
    assert problems(text, 100) == [] and "last 10 s" in notes[0]


def test_a_25_s_vod_gets_a_file_and_a_clear_note(tmp_path: Path) -> None:
    text, notes = write(tmp_path, 25, [hl("win", 8, 12)])
    assert parse(text) == [(0, "win")]
    assert problems(text, 25) == ["fewer than 3 chapters"]  # the only rule it cannot meet
    assert any("25 s long" in n and "ignore" in n for n in notes)


def test_short_vod_where_padding_must_spread_evenly(tmp_path: Path) -> None:
    text, notes = write(tmp_path, 30, [hl("win", 15, 17)])
    assert parse(text) == [(0, "Intro"), (10, "win"), (20, "VOD")]
    assert problems(text, 30) == [] and notes


def test_no_highlights_writes_only_the_intro(tmp_path: Path) -> None:
    text, notes = write(tmp_path, 600, [])
    assert text == "0:00 Intro\n"
    assert "No highlights" in notes[0]


def test_hour_long_vods_use_h_mm_ss(tmp_path: Path) -> None:
    text, _ = write(tmp_path, 7200, [hl("win", 600, 610), hl("laugh", 3723.9, 3730)])
    lines = text.splitlines()
    assert lines[0] == "0:00 Intro" and "10:00 win" in lines and "1:02:03 laugh" in lines
    assert problems(text, 7200) == []


@pytest.mark.parametrize("seed", range(300))
def test_random_highlights_always_give_a_valid_list(tmp_path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    duration_s = float(rng.choice([30, 31, 45, 60, 95, 600, 4000]) + rng.uniform(0, 1))
    highlights = []
    for _ in range(rng.integers(1, 25)):
        start = float(rng.uniform(0, duration_s))
        end = min(duration_s, start + float(rng.uniform(0.5, 30)))
        highlights.append(hl(str(rng.choice(["win", "laugh", "scream"])), start, end))
    text, _ = write(tmp_path, duration_s, highlights)
    assert problems(text, duration_s) == [], text
