"""``highlights.srt``: one subtitle cue per highlight, so any player shows the moments."""

from __future__ import annotations

from pathlib import Path

from emotion.analysis import Analysis
from emotion.export.timefmt import by_start, srt_time


def cue_text(label: str, score: float) -> str:
    """``win celebration (0.93)``: the label on one line, with its peak probability."""
    return f"{' '.join(label.split())} ({score:.2f})"


def write(analysis: Analysis, path: Path) -> list[str]:
    """Write ``highlights.srt``; cues of different labels may overlap, as SRT allows."""
    cues = [
        f"{i}\n{srt_time(h.start_s)} --> {srt_time(h.end_s)}\n{cue_text(h.label, h.score)}\n"
        for i, h in enumerate(by_start(analysis.highlights), start=1)
    ]
    path.write_text("\n".join(cues), encoding="utf-8")
    return []
