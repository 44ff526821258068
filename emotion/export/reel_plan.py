"""Which stretches of the VOD a reel shows: the best highlights by score, spaced apart and
cut to ``MAX_PART_S``, in VOD order, their edges moved to quiet points, each placed in
the reel with a crossfade per join; and the reel's own YouTube chapters, one per part.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from emotion.clock import clock
from emotion.export.chapters import MIN_CHAPTER_S, MIN_CHAPTERS
from emotion.export.post_settings import MIN_PART_S, ReelSettings
from emotion.export.spans import quiet_edges, short_span
from emotion.scoring.highlights import Highlight

MAX_PART_S = 30.0  # one long highlight would otherwise take most of a 3-minute reel
CROSSFADE_S = 0.5


@dataclass(frozen=True)
class Part:
    """One stretch of the VOD in the reel, and where it starts in the reel."""

    highlight: Highlight
    start_s: float
    end_s: float
    reel_start_s: float = 0.0

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


# ---------------------------------------------------------------------------- the plan


def plan_reel(
    highlights: Sequence[Highlight], duration_s: float | None, settings: ReelSettings
) -> list[Part]:
    """The parts in VOD order: best score first, none within ``spacing_s`` of a taken one
    (peak to peak) or overlapping it, until the reel (crossfades taken off) is full."""
    taken: list[Part] = []
    total_s = 0.0
    for h in sorted(highlights, key=lambda h: (-h.score, h.start_s, h.label)):
        if any(abs(h.peak_s - p.highlight.peak_s) < settings.spacing_s for p in taken):
            continue
        room_s = settings.length_s - total_s + (CROSSFADE_S if taken else 0.0)
        if room_s < MIN_PART_S:
            break
        start_s, end_s = short_span(h, duration_s, min(MAX_PART_S, room_s))
        if end_s - start_s < MIN_PART_S - 1e-6:
            continue  # a VOD shorter than a part
        if any(start_s < p.end_s and p.start_s < end_s for p in taken):
            continue
        taken.append(Part(h, start_s, end_s))
        total_s += end_s - start_s - (CROSSFADE_S if len(taken) > 1 else 0.0)
    return place(sorted(taken, key=lambda p: p.start_s))


def quiet_parts(
    path: Path, audio_track: int, parts: list[Part], duration_s: float | None
) -> list[Part]:
    """Each part's edges moved to a quiet point near them (as a short's), no longer than
    planned and never into its neighbours; a part that would end too short stays as it was."""
    moved: list[Part] = []
    for i, part in enumerate(parts):
        start_s, end_s = quiet_edges(
            path, audio_track, part.start_s, part.end_s, duration_s, part.duration_s
        )
        start_s = max(start_s, moved[-1].end_s if moved else 0.0)
        end_s = min(end_s, parts[i + 1].start_s if i + 1 < len(parts) else end_s)
        if end_s - start_s < MIN_PART_S:
            start_s, end_s = part.start_s, part.end_s
        moved.append(Part(part.highlight, start_s, end_s))
    return moved


def place(parts: list[Part]) -> list[Part]:
    """The parts with their start in the reel: the lengths before, less a crossfade per join."""
    placed, at_s = [], 0.0
    for part in parts:
        placed.append(Part(part.highlight, part.start_s, part.end_s, at_s))
        at_s += part.duration_s - CROSSFADE_S
    return placed


def reel_length_s(parts: Sequence[Part]) -> float:
    """The reel's length: its parts' lengths less one crossfade per join."""
    return sum(p.duration_s for p in parts) - CROSSFADE_S * max(0, len(parts) - 1)


# ---------------------------------------------------------------------------- chapters


def reel_chapters(parts: Sequence[Part], length_s: float) -> tuple[list[str], str | None]:
    """The ``M:SS Title`` lines of one chapter per part, and why YouTube would refuse them
    (None when it accepts them: from 0:00, at least 3, each at least 10 s)."""
    starts = [math.floor(p.reel_start_s) for p in parts]
    lines = [
        f"{clock(at_s)} {' '.join(p.highlight.label.split()) or 'Highlight'} "
        f"({clock(p.highlight.start_s)})"
        for at_s, p in zip(starts, parts, strict=True)
    ]
    if len(parts) < MIN_CHAPTERS:
        return lines, (
            f"the reel has {len(parts)} part(s) and YouTube needs {MIN_CHAPTERS} chapters; "
            "lower the threshold or the spacing for more moments."
        )
    ends = [*starts[1:], math.floor(length_s)]
    short = sum(1 for a, b in zip(starts, ends, strict=True) if b - a < MIN_CHAPTER_S)
    if short:
        return lines, (
            f"{short} part(s) are shorter than YouTube's {MIN_CHAPTER_S} s chapters; keep "
            "longer highlights for the reel."
        )
    return lines, None


__all__ = ["plan_reel", "reel_chapters"]
